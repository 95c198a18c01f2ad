import { readFileSync, readdirSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** The service's database: embedded PGlite by default, a real Postgres when DATABASE_URL is set. */
export interface Db {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs fn in one transaction: all of it commits, or none of it. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly kind: "pglite" | "postgres";
}
export type Queryable = Pick<Db, "query">;

export interface OpenDbOptions {
  /** postgres://… for a real server; otherwise PGlite under dataDir. */
  databaseUrl?: string;
  /** Directory for the embedded database (created if missing). */
  dataDir: string;
}

/** The embedded database's buffer pool (Postgres' shared_buffers). */
export const embeddedSharedBuffers = "16MB";

async function openPglite(dataDir: string): Promise<Db> {
  const { PGlite } = await import("@electric-sql/pglite");
  mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(join(dataDir, "pglite"), {
    // Postgres' default 128 MB buffer pool is set up at every start (~0.3 s of a cold start in
    // wasm); the embedded database is small and the OS page cache holds its files anyway.
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${embeddedSharedBuffers}`],
  });
  return {
    kind: "pglite",
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await pg.query<T>(sql, params)).rows }),
    transaction: (fn) =>
      pg.transaction((tx) =>
        fn({ query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await tx.query<T>(sql, params)).rows }) }),
      ),
    close: () => pg.close(),
  };
}

async function openPostgres(databaseUrl: string): Promise<Db> {
  const { Pool } = await import("pg");
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  await pool.query("select 1");
  return {
    kind: "postgres",
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await pool.query(sql, params)).rows as T[] }),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const result = await fn({
          query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as T[] }),
        });
        await client.query("commit");
        return result;
      } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

const migrationsDir = join(__dirname, "migrations");

/**
 * Applies the forward-only migrations in app/db/migrations (NNN_name.sql, in name order) that
 * have not run yet, each in its own transaction. Returns the names it applied.
 */
export async function migrate(db: Db): Promise<string[]> {
  await db.query("create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())");
  const done = new Set((await db.query<{ name: string }>("select name from schema_migrations")).rows.map((r) => r.name));
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  for (const file of files) {
    if (done.has(file)) continue;
    const sql = readFileSync(join(migrationsDir, file), "utf8");
    await db.transaction(async (tx) => {
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query("insert into schema_migrations (name) values ($1)", [file]);
    });
    applied.push(file);
  }
  return applied;
}

/** Splits a migration on `;` at line ends (migrations keep one statement per `;`-terminated block). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter((s) => s.length > 0);
}

export async function openDb(options: OpenDbOptions): Promise<Db> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPglite(options.dataDir);
}
