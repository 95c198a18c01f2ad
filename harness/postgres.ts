import { execFile, execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../lib/net";

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
  /**
   * `pg_ctl -m fast` stop then start (what `pg_ctl -m fast restart` does; restart cannot take a log
   * file): every session is terminated with "administrator command", then the server is back.
   */
  restartFast(): Promise<void>;
  /**
   * restartFast's two halves as shell commands, for a process other than this one
   * (tools/db/restart-drill.sh's DB_STOP_COMMAND and DB_START_COMMAND under verify:ga
   * --local-cluster): the same pg_ctl stop and start, as the server user.
   */
  readonly shellCommands: { stop: string; start: string };
  /**
   * kill -9 of the postmaster; its backends notice and exit (stragglers after 10 s are killed too),
   * then the server is started again and recovers from its WAL. Resolves when it accepts connections.
   */
  crashAndRestart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Lines for postgresql.conf (they travel with base backups), e.g. { archive_mode: "on" }. */
  settings?: Record<string, string | number>;
  /** Keep the tmp dir after stop() (for a test that still reads it). @default false */
  keepDir?: boolean;
}

/** Processes whose parent is pid (the postmaster's backends and auxiliary processes). */
function childPids(pid: number): number[] {
  const out = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).trim();
  return out ? out.split(/\s+/).map(Number) : [];
}

/** Running, not a zombie (PID 1 of a container may never reap the killed postmaster). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** A word for bash: as it is when it is plain, else in single quotes. */
const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`);

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
  const fastStop = ["-m", "fast", "-w", "-t", "30", "stop"];
  const start = ["-l", logFile, "-w", "-t", "30", "start"];
  const asServerInShell = serverUser ? ["setpriv", `--reuid=${serverUser.uid}`, `--regid=${serverUser.gid}`, "--clear-groups"] : [];
  const inShell = (args: string[]) =>
    [...asServerInShell, "env", "LC_ALL=C", join(postgresBinDir, "pg_ctl"), "-D", dataDir, ...args].map(shellWord).join(" ");
  if (serverUser) chownSync(dir, serverUser.uid, serverUser.gid);
  await pgCtl(start);
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
    async restartFast() {
      await pgCtl(fastStop);
      await pgCtl(start);
    },
    shellCommands: { stop: inShell(fastStop), start: inShell(start) },
    async crashAndRestart({ downMs = 0 } = {}) {
      const postmaster = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
      const backends = childPids(postmaster);
      process.kill(postmaster, "SIGKILL");
      const deadline = Date.now() + 10_000;
      while ([postmaster, ...backends].some(alive)) {
        if (Date.now() > deadline) for (const pid of backends.filter(alive)) process.kill(pid, "SIGKILL");
        await new Promise((r) => setTimeout(r, 50));
      }
      // The dead postmaster may linger as a zombie (this machine's PID 1 does not reap it), and
      // Postgres refuses a lock file whose PID still answers kill(0): a new pod would not see it.
      rmSync(join(dataDir, "postmaster.pid"), { force: true });
      rmSync(join(dir, `.s.PGSQL.${port}.lock`), { force: true });
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await pgCtl(["-l", logFile, "-w", "-t", "60", "start"]);
    },
    async stop() {
      await pgCtl(["-m", "immediate", "-w", "stop"]).catch(() => undefined);
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Makes `<archive>/wal` and `<archive>/basebackups` (pitr.sh's local driver layout), owned by the server user. */
export function makeLocalArchive(archive: string): string {
  mkdirSync(join(archive, "wal"), { recursive: true });
  mkdirSync(join(archive, "basebackups"));
  giveToServerUser(archive);
  return archive;
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
