import { readFileSync, readdirSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { MaestroError } from "../../lib/errors";

/** The service's database: embedded PGlite by default, a real Postgres when DATABASE_URL is set. */
export interface Db {
  /** One statement; retried while the database is unreachable (see OpenDbOptions.retryBudgetMs). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /**
   * Runs fn in one transaction: all of it commits, or none of it. A transaction that failed on a
   * lost connection before its commit is re-run; one whose commit was in flight is re-run only when
   * it is `idempotent` (fn itself finds what an earlier attempt committed), otherwise it fails
   * with CommitOutcomeUnknownError.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: { idempotent?: boolean }): Promise<T>;
  /** One round trip, no retry, at most timeoutMs: what readiness reports. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
  readonly kind: "pglite" | "postgres";
}
export type Queryable = Pick<Db, "query">;

export interface OpenDbOptions {
  /** postgres://… for a real server; otherwise PGlite under dataDir. */
  databaseUrl?: string;
  /** Directory for the embedded database (created if missing). */
  dataDir: string;
  /**
   * How long a statement or transaction keeps being retried while the server is unreachable
   * (restart, failover, a network cut) before the error reaches the caller. @default 20000
   */
  retryBudgetMs?: number;
  /** Told about connection errors the pool absorbed (a server restart kills idle connections). */
  onConnectionError?: (err: Error) => void;
}

/** A commit was sent but its answer was lost with the connection: it may or may not have happened. */
export class CommitOutcomeUnknownError extends MaestroError<"COMMIT_OUTCOME_UNKNOWN"> {
  constructor(readonly cause: Error) {
    super("COMMIT_OUTCOME_UNKNOWN", `the connection was lost while committing; the transaction may have committed: ${cause.message}`, {
      cause,
    });
  }
}

/** SQLSTATE classes and codes that mean "try again": the server went away or is starting, or a conflict. */
const transientSqlStates = new Set(["57P01", "57P02", "57P03", "53300", "40001", "40P01"]);
const transientNodeCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND"]);
const transientMessages =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|not queryable|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

/** Whether err is one a retry can cure (lost or refused connection, server restarting, serialization conflict). */
export function isTransientDbError(err: unknown): boolean {
  if (err instanceof CommitOutcomeUnknownError) return true;
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (!e) return false;
  const code = typeof e.code === "string" ? e.code : "";
  if (transientSqlStates.has(code) || code.startsWith("08") || transientNodeCodes.has(code)) return true;
  return typeof e.message === "string" && transientMessages.test(e.message);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs attempt until it succeeds, fails with a non-transient error, or budgetMs has passed. */
async function withRetry<T>(
  budgetMs: number,
  attempt: () => Promise<T>,
  retryable: (err: unknown) => boolean = isTransientDbError,
): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return await attempt();
    } catch (err) {
      if (!retryable(err) || Date.now() + delay > deadline) throw err;
      await sleep(delay);
    }
  }
}

/** The folder under MAESTRO_DATA_DIR that holds the embedded database's files. */
export const pgliteFolder = "pglite";

/** The embedded database's buffer pool (Postgres' shared_buffers). */
export const embeddedSharedBuffers = "16MB";

async function openPglite(dataDir: string): Promise<Db> {
  const { PGlite } = await import("@electric-sql/pglite");
  mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(join(dataDir, pgliteFolder), {
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
    ping: async () => {
      await pg.query("select 1");
    },
    close: () => pg.close(),
  };
}

async function openPostgres(options: OpenDbOptions & { databaseUrl: string }): Promise<Db> {
  const { Pool } = await import("pg");
  const budget = options.retryBudgetMs ?? 20_000;
  const pool = new Pool({
    connectionString: options.databaseUrl,
    max: 10,
    // A cut network must not hang a request forever: connecting and each statement are bounded,
    // and the retry above turns the timeout into another attempt.
    connectionTimeoutMillis: 3000,
    query_timeout: 15_000,
    keepAlive: true,
  });
  // An idle pooled connection that the server closes (restart, failover) is reported here and
  // dropped by the pool; without a listener Node would end the process on the 'error' event.
  pool.on("error", (err) => options.onConnectionError?.(err));
  const transactionOnce = async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    // A checked-out connection's errors surface on its next query; this only keeps them from
    // becoming an unhandled 'error' event.
    const onError = (err: Error) => options.onConnectionError?.(err);
    client.on("error", onError);
    let lost: Error | undefined;
    let committing = false;
    try {
      await client.query("begin");
      const result = await fn({
        query: async <R>(sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as R[] }),
      });
      committing = true;
      await client.query("commit");
      return result;
    } catch (err) {
      if (isTransientDbError(err)) lost = err as Error;
      else await client.query("rollback").catch(() => undefined);
      if (committing && lost) throw new CommitOutcomeUnknownError(lost);
      throw err;
    } finally {
      client.off("error", onError);
      client.release(lost); // a connection that failed is destroyed, not returned to the pool
    }
  };
  await withRetry(budget, () => pool.query("select 1"));
  return {
    kind: "postgres",
    query: async <T>(sql: string, params?: unknown[]) => ({
      rows: (await withRetry(budget, () => pool.query(sql, params))).rows as T[],
    }),
    transaction: (fn, txOptions = {}) =>
      withRetry(
        budget,
        () => transactionOnce(fn),
        (err) => (err instanceof CommitOutcomeUnknownError ? txOptions.idempotent === true : isTransientDbError(err)),
      ),
    ping: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          pool.query("select 1"),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => pool.end(),
  };
}

const migrationsDir = join(__dirname, "migrations");

/** Advisory lock keys (pg_advisory_xact_lock): one named critical section each, across replicas. */
export const advisoryLocks = {
  migrate: 7_260_001,
  auditChain: 7_260_002,
  wormSink: 7_260_003,
  scimSync: 7_260_004,
} as const;

/**
 * Applies the forward-only migrations in app/db/migrations (NNN_name.sql, in name order) that
 * have not run yet, each in its own transaction. Returns the names it applied. Replicas starting
 * together take turns (an advisory lock), and each re-checks what the one before it applied.
 */
export async function migrate(db: Db): Promise<string[]> {
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  // Nothing to apply: no DDL at all, so a service logged in as a role without CREATE (maestro_service,
  // after the owner migrated) starts.
  if ((await db.query<{ t: string | null }>("select to_regclass('schema_migrations')::text as t")).rows[0].t !== null) {
    const done = new Set((await db.query<{ name: string }>("select name from schema_migrations")).rows.map((r) => r.name));
    if (files.every((f) => done.has(f))) return [];
  }
  const lock = db.kind === "postgres" ? `select pg_advisory_xact_lock(${advisoryLocks.migrate})` : "select 1";
  await db.transaction(
    async (tx) => {
      await tx.query(lock);
      await tx.query("create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())");
    },
    { idempotent: true },
  );
  const applied: string[] = [];
  for (const file of files) {
    const sql = readFileSync(join(migrationsDir, file), "utf8");
    const ran = await db.transaction(
      async (tx) => {
        await tx.query(lock);
        if ((await tx.query("select 1 from schema_migrations where name = $1", [file])).rows.length > 0) return false;
        for (const statement of splitStatements(sql)) await tx.query(statement);
        await tx.query("insert into schema_migrations (name) values ($1)", [file]);
        return true;
      },
      { idempotent: true },
    ); // re-checked under the lock, so a retry after a lost commit is safe
    if (ran) applied.push(file);
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
  return options.databaseUrl ? openPostgres({ ...options, databaseUrl: options.databaseUrl }) : openPglite(options.dataDir);
}
