import { execFile, execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./net";

const run = promisify(execFile);

/** Debian's PostgreSQL 15 server binaries (initdb, pg_ctl, postgres, pg_basebackup). */
export const postgresBinDir = "/usr/lib/postgresql/15/bin";

/** Why a real Postgres cannot start here, or undefined when it can (for describeWithService). */
export const postgresMissing: string | undefined = ["initdb", "pg_ctl", "postgres", "pg_basebackup"].every((b) =>
  existsSync(join(postgresBinDir, b)),
)
  ? undefined
  : `PostgreSQL 15 server binaries in ${postgresBinDir} (apt-get install postgresql-15)`;

/** Postgres refuses to run as root: as root, servers run as the Debian `postgres` user. */
export const serverUser: { uid: number; gid: number } | undefined =
  process.getuid?.() === 0
    ? { uid: Number(execFileSync("id", ["-u", "postgres"]).toString()), gid: Number(execFileSync("id", ["-g", "postgres"]).toString()) }
    : undefined;

/** Makes a path (recursively) owned by the server user when running as root. */
export function giveToServerUser(path: string): void {
  if (!serverUser) return;
  execFileSync("chown", ["-R", `${serverUser.uid}:${serverUser.gid}`, path]);
}

export interface RunningPostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly dataDir: string;
  /** The tmp dir holding the data dir, the log and the socket; removed by stop(). */
  readonly dir: string;
  /** One statement on a fresh connection (each call is its own transaction unless it says otherwise). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Lines for postgresql.conf (they travel with base backups), e.g. { archive_mode: "on" }. */
  settings?: Record<string, string | number>;
  /** Keep the tmp dir after stop() (for a test that still reads it). @default false */
  keepDir?: boolean;
}

const quote = (v: string | number) => (typeof v === "number" ? String(v) : `'${v.replace(/'/g, "''")}'`);

/** initdb + pg_ctl start of a real Postgres 15 on a free loopback port, in a tmp dir. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  if (postgresMissing) throw new Error(`cannot start Postgres: ${postgresMissing}`);
  const dir = mkdtempSync(join(tmpdir(), "maestro-pg-"));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, "data");
  mkdirSync(dataDir, { mode: 0o700 });
  if (serverUser) chownSync(dataDir, serverUser.uid, serverUser.gid);
  const asServer = { ...(serverUser ?? {}), env: { ...process.env, LC_ALL: "C" } };
  await run(join(postgresBinDir, "initdb"), ["-D", dataDir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"], asServer);
  const port = await freePort();
  const settings = {
    port,
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    fsync: "off",
    lc_messages: "C",
    ...options.settings,
  };
  appendFileSync(
    join(dataDir, "postgresql.conf"),
    Object.entries(settings)
      .map(([k, v]) => `${k} = ${quote(v)}\n`)
      .join(""),
  );
  const logFile = join(dir, "postgres.log");
  const pgCtl = (args: string[]) => run(join(postgresBinDir, "pg_ctl"), ["-D", dataDir, ...args], asServer);
  if (serverUser) chownSync(dir, serverUser.uid, serverUser.gid);
  await pgCtl(["-l", logFile, "-w", "-t", "30", "start"]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const { Client } = await import("pg");
  return {
    port,
    url,
    dataDir,
    dir,
    async query<T>(sql: string, params?: unknown[]) {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as T[];
      } finally {
        await client.end();
      }
    },
    async stop() {
      await pgCtl(["-m", "immediate", "-w", "stop"]).catch(() => undefined);
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Server settings that archive every WAL segment into `<archive>/wal` (pitr.sh's `local` driver
 * layout) and record commit times, so a restore's end point can be proven.
 */
export function localArchiveSettings(archive: string): Record<string, string | number> {
  return {
    wal_level: "replica",
    archive_mode: "on",
    archive_command: `test ! -f '${archive}/wal/%f' && cp '%p' '${archive}/wal/%f'`,
    track_commit_timestamp: "on",
    max_wal_senders: 4,
  };
}
