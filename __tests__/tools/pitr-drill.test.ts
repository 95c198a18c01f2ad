// The real DR drill: a real Postgres 15 archiving WAL into a PostgreSQL-native archive directory,
// real base backups (pg_basebackup), and tools/db/pitr.sh --driver local restoring to ISO_TS.
// Every shared step of pitr.sh (backup choice, recovery settings, promotion, proof, record) runs
// here exactly as it does with the wal-g driver; only fetching differs.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describeWithService } from "../support/services";
import { freePort } from "../support/net";
import {
  giveToServerUser,
  localArchiveSettings,
  postgresBinDir,
  postgresMissing,
  serverUser,
  startPostgres,
  type RunningPostgres,
} from "../support/postgres";

const run = promisify(execFile);
const pitr = resolve(__dirname, "../../tools/db/pitr.sh");
const env = { ...process.env, PATH: `${postgresBinDir}:${process.env.PATH}`, TZ: "UTC" };

interface Commit {
  id: number;
  /** Commit time as Postgres recorded it (track_commit_timestamp), ISO with microseconds. */
  at: string;
  us: bigint;
}
interface DrillRecord {
  target: string;
  achieved: string | null;
  stopped_before: { xid: number; time: string } | null;
  backup: { name: string; start_time: string; finish_time: string };
  wal_replayed: { segments_restored: number; bytes: number };
  duration_seconds: number;
  verification: { verified: boolean; checks: Array<{ name: string; ok: boolean; detail?: string }> };
}

const isoFromUs = (us: bigint) => {
  const ms = new Date(Number(us / 1000n)).toISOString().slice(0, -1);
  return `${ms}${String(us % 1000n).padStart(3, "0")}Z`;
};
const usOf = (iso: string) => BigInt(Date.parse(iso)) * 1000n + BigInt((/\.\d{3}(\d{3})/.exec(iso) ?? ["", "0"])[1]);
const midpoint = (a: bigint, b: bigint) => isoFromUs((a + b) / 2n);

describeWithService("PITR drill against real Postgres (local archive driver)", postgresMissing, () => {
  let source: RunningPostgres;
  let work: string;
  let archive: string;
  const commits = new Map<number, Commit>();
  const backups: Array<{ name: string; finishUs: bigint }> = [];

  const commit = async (id: number, batch: string) => {
    await source.query("insert into drill (id, batch) values ($1, $2)", [id, batch]);
    const [row] = await source.query<{ at: string; us: string }>(
      `select to_char(pg_xact_commit_timestamp(xmin) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at,
              (extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000000)::bigint as us from drill where id = $1`,
      [id],
    );
    commits.set(id, { id, at: row.at, us: BigInt(row.us) });
    await new Promise((r) => setTimeout(r, 15));
  };
  const baseBackup = async () => {
    const { stdout } = await run("bash", [pitr, "base-backup", "--archive-dir", archive, "--port", String(source.port)], { env });
    const name = stdout.trim();
    const meta = JSON.parse(readFileSync(join(archive, "basebackups", name, "backup.json"), "utf8"));
    backups.push({ name, finishUs: usOf(meta.finish_time) });
    await new Promise((r) => setTimeout(r, 15));
  };
  const switchWal = () => source.query("select pg_switch_wal()");

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "maestro-drill-"));
    chmodSync(work, 0o755);
    archive = join(work, "archive");
    mkdirSync(join(archive, "wal"), { recursive: true });
    mkdirSync(join(archive, "basebackups"));
    giveToServerUser(archive);
    source = await startPostgres({ settings: localArchiveSettings(archive) });
    await source.query("create table drill (id int primary key, batch text not null)");
    await commit(1, "before first backup");
    await commit(2, "before first backup");
    await baseBackup(); // backups[0]
    await commit(3, "after first backup");
    await commit(4, "after first backup");
    await commit(5, "after first backup");
    await baseBackup(); // backups[1]
    for (const id of [6, 7, 8, 9, 10]) {
      await commit(id, "one WAL segment each");
      await switchWal();
    }
    await commit(11, "sentinel");
    const [{ wal }] = await source.query<{ wal: string }>("select pg_walfile_name(pg_switch_wal()) as wal");
    // Recovery needs the segment holding the sentinel in the archive.
    for (let i = 0; i < 100 && !readdirSync(join(archive, "wal")).includes(wal); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(join(archive, "wal"))).toContain(wal);
  }, 60000);

  afterAll(async () => {
    await source?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function drill(label: string, isoTs: string) {
    const targetDir = join(work, `restore-${label}`);
    const port = await freePort();
    const result = await run(
      "bash",
      [
        pitr,
        "--driver",
        "local",
        "--archive-dir",
        archive,
        "--target-dir",
        targetDir,
        "--port",
        String(port),
        "--keep-running",
        "--verify-sql",
        "select count(*) > 0 and max(pg_xact_commit_timestamp(xmin)) <= :'target'::timestamptz from drill",
      ],
      { env: { ...env, ISO_TS: isoTs } },
    ).catch((err: { code: number; stdout: string; stderr: string }) => {
      throw new Error(`pitr.sh exited ${err.code}:\n${err.stderr}\n${err.stdout}`);
    });
    const record = JSON.parse(result.stdout) as DrillRecord;
    const restored = await startedClientQuery(port, "select id from drill order by id");
    await run(join(postgresBinDir, "pg_ctl"), ["-D", targetDir, "-m", "fast", "-w", "stop"], { ...(serverUser ?? {}), env });
    return { record, ids: restored.map((r) => Number(r.id)) };
  }
  async function startedClientQuery(port: number, sql: string) {
    const { Client } = await import("pg");
    const client = new Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Array<{ id: number }>;
    } finally {
      await client.end();
    }
  }
  const at = (id: number) => commits.get(id)!;

  test("restore to a time between two commits: exactly the rows committed before it", async () => {
    const target = midpoint(at(4).us, at(5).us);
    const { record, ids } = await drill("between", target);
    expect(ids).toEqual([1, 2, 3, 4]);
    expect(record.verification.verified).toBe(true);
    expect(record.target).toBe(target);
    expect(record.achieved).toBe(at(4).at);
    expect(record.stopped_before?.time).toBe(at(5).at);
    // The newest base backup before the target: the first one (the second ended after it).
    expect(record.backup.name).toBe(backups[0].name);
    expect(record.duration_seconds).toBeGreaterThan(0);
  }, 30000);

  test("restore to a time just after a base backup: the backup's rows and nothing committed after it", async () => {
    const target = midpoint(backups[1].finishUs, at(6).us);
    const { record, ids } = await drill("after-backup", target);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(record.verification.verified).toBe(true);
    expect(record.backup.name).toBe(backups[1].name);
    expect(record.stopped_before?.time).toBe(at(6).at);
  }, 30000);

  test("restore to a time several WAL segments after the backup: replays them all, stops before the next commit", async () => {
    const target = midpoint(at(9).us, at(10).us);
    const { record, ids } = await drill("segments", target);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(record.verification.verified).toBe(true);
    expect(record.backup.name).toBe(backups[1].name);
    expect(record.achieved).toBe(at(9).at);
    expect(record.stopped_before?.time).toBe(at(10).at);
    expect(record.wal_replayed.segments_restored).toBeGreaterThanOrEqual(4);
    expect(record.wal_replayed.bytes).toBeGreaterThan(0);
  }, 30000);
});
