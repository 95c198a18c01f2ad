// The real DR drill: a real Postgres archiving WAL into a PostgreSQL-native archive directory,
// real base backups (pg_basebackup), and tools/db/pitr.sh --driver local restoring to ISO_TS.
// Every shared step of pitr.sh (backup choice, recovery settings, promotion, proof, record) runs
// here exactly as it does with the wal-g driver; only fetching differs. pitr.sh runs as an operator
// would run it from a private clone: from a directory the postgres user cannot enter, with a private
// TMPDIR, and given the archive through a path full of shell and Postgres metacharacters.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { backupRecordSchema, drillRecordSchema, recordProblems, type BackupRecord, type DrillRecord } from "../../../contracts/records";
import type { z } from "zod";
import { describeWithService } from "../../support/services";
import { freePort } from "../../../lib/net";
import {
  makeLocalArchive,
  localArchiveSettings,
  postgresBinDir,
  postgresMissing,
  serverUser,
  startPostgres,
  type RunningPostgres,
} from "../../../harness/postgres";

const run = promisify(execFile);
const pitr = resolve(__dirname, "..", "..", "..", "tools", "db", "pitr.sh");
const baseEnv = { ...process.env, PATH: `${postgresBinDir}:${process.env.PATH}`, TZ: "UTC" };

interface Commit {
  id: number;
  /** Commit time as Postgres recorded it (track_commit_timestamp), ISO with microseconds. */
  at: string;
  us: bigint;
}
/** Parses what pitr.sh printed, and holds it to the one schema the service reads. */
function parseRecord<T>(schema: z.ZodType<T>, text: string): T {
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`pitr.sh wrote a record outside contracts/records.ts: ${recordProblems(parsed.error)}\n${text}`);
  return parsed.data;
}
const segno = (name: string) => parseInt(name.slice(8, 16), 16) * 256 + parseInt(name.slice(16, 24), 16);
const segnoOfLsn = (lsn: string) => {
  const [hi, lo] = lsn.split("/").map((h) => parseInt(h, 16));
  return Math.floor((hi * 2 ** 32 + lo) / (16 * 1024 * 1024));
};

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
  /** The archive as pitr.sh is given it: a symlink whose name a shell or Postgres would expand. */
  let hostileArchive: string;
  /** A private working directory (mode 0700, root's): the postgres user cannot enter it. */
  let privateCwd: string;
  /** pitr.sh's TMPDIR, to prove it leaves no work directory behind. */
  let tmp: string;
  let env: NodeJS.ProcessEnv;
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
    const { stdout } = await run(
      "bash",
      [pitr, "base-backup", "--archive-dir", hostileArchive, "--port", String(source.port), "--publish"],
      { env, cwd: privateCwd },
    );
    const record = parseRecord<BackupRecord>(backupRecordSchema, stdout);
    expect(record).toMatchObject({ result: "pass", tool: "pg_basebackup", failure: null });
    const name = record.backup!.name;
    const meta = JSON.parse(readFileSync(join(archive, "basebackups", name, "backup.json"), "utf8"));
    expect(record.backup!.finish_time).toBe(meta.finish_time);
    // --publish: the record is where the service reads it.
    expect(JSON.parse(readFileSync(join(archive, "records", "last-backup.json"), "utf8"))).toEqual(record);
    backups.push({ name, finishUs: usOf(meta.finish_time) });
    await new Promise((r) => setTimeout(r, 15));
  };
  const switchWal = () => source.query("select pg_switch_wal()");

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "maestro-drill-"));
    chmodSync(work, 0o755);
    archive = join(work, "archive");
    makeLocalArchive(archive);
    hostileArchive = join(work, "arch$(touch PWNED)`touch PWNED2`%f'q\"");
    symlinkSync(archive, hostileArchive);
    privateCwd = join(work, "private");
    mkdirSync(privateCwd, { mode: 0o700 });
    tmp = join(work, "tmp");
    mkdirSync(tmp, { mode: 0o755 });
    env = { ...baseEnv, TMPDIR: tmp };
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

  const verifySql = "select count(*) > 0 and max(pg_xact_commit_timestamp(xmin)) <= :'target'::timestamptz from drill";
  /** pitr.sh as an operator runs it; resolves with its exit code, stdout and stderr. */
  const pitrRun = (isoTs: string, args: string[]) =>
    run("bash", [pitr, "--driver", "local", "--archive-dir", hostileArchive, "--publish", ...args], {
      env: { ...env, ISO_TS: isoTs },
      cwd: privateCwd,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
  async function drill(label: string, isoTs: string) {
    const targetDir = join(work, `restore-${label}`);
    const port = await freePort();
    const result = await pitrRun(isoTs, ["--target-dir", targetDir, "--port", String(port), "--keep-running", "--verify-sql", verifySql]);
    if (result.code !== 0) throw new Error(`pitr.sh exited ${result.code}:\n${result.stderr}\n${result.stdout}`);
    const record = parseRecord<DrillRecord>(drillRecordSchema, result.stdout);
    expect(JSON.parse(readFileSync(join(archive, "records", "last-drill.json"), "utf8"))).toEqual(record);
    const restored = await startedClientQuery(port, "select id from drill order by id");
    await run(join(postgresBinDir, "pg_ctl"), ["-D", targetDir, "-m", "fast", "-w", "stop"], { ...(serverUser ?? {}), env, cwd: "/" });
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
    expect(record.backup?.name).toBe(backups[0].name);
    expect(record.duration_seconds).toBeGreaterThan(0);
  }, 30000);

  test("restore to a time just after a base backup: the backup's rows and nothing committed after it", async () => {
    const target = midpoint(backups[1].finishUs, at(6).us);
    const { record, ids } = await drill("after-backup", target);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(record.verification.verified).toBe(true);
    expect(record.backup?.name).toBe(backups[1].name);
    expect(record.stopped_before?.time).toBe(at(6).at);
  }, 30000);

  test("restore to a time several WAL segments after the backup: replays them all, stops before the next commit", async () => {
    const target = midpoint(at(9).us, at(10).us);
    const { record, ids } = await drill("segments", target);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(record.verification.verified).toBe(true);
    expect(record.backup?.name).toBe(backups[1].name);
    expect(record.achieved).toBe(at(9).at);
    expect(record.stopped_before?.time).toBe(at(10).at);
    expect(record.wal_replayed.segments_restored).toBeGreaterThanOrEqual(4);
    expect(record.wal_replayed.bytes).toBeGreaterThan(0);
    // Only the segments between redo start and end count, not what recovery prefetched past them.
    const { redo_start_lsn, redo_end_lsn, first_segment, last_segment, segments_restored } = record.wal_replayed;
    expect(segments_restored).toBeLessThanOrEqual(segnoOfLsn(redo_end_lsn!) - segnoOfLsn(redo_start_lsn!) + 1);
    expect(segno(last_segment!)).toBeLessThanOrEqual(segnoOfLsn(redo_end_lsn!));
    expect(segno(first_segment!)).toBeGreaterThanOrEqual(segnoOfLsn(redo_start_lsn!));
  }, 30000);

  test("a target past the end of the archive fails, says the last restorable time, and keeps the server log", async () => {
    const targetDir = join(work, "restore-past-end");
    const target = isoFromUs(at(11).us + 500_000n); // after the sentinel, the last commit there is
    const result = await pitrRun(target, ["--target-dir", targetDir, "--port", String(await freePort())]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the archive ends before ISO_TS ${target}: the last transaction it holds committed at`);
    expect(result.stderr).toMatch(/waiting does not help/);
    const record = parseRecord<DrillRecord>(drillRecordSchema, result.stdout);
    expect(record).toMatchObject({ result: "fail", failure: expect.stringMatching(/^the archive ends before ISO_TS/) });
    expect(readFileSync(`${targetDir}.pitr.log`, "utf8")).toMatch(/recovery ended before configured recovery target was reached/);
  }, 30000);

  test("a drill whose --verify-sql does not hold fails with a record the service reads as failed", async () => {
    const target = midpoint(at(4).us, at(5).us); // after the first backup, well clear of either
    const result = await pitrRun(target, ["--port", String(await freePort()), "--verify-sql", "select count(*) = 99 from drill"]);
    expect(result.code).toBe(1);
    const record = parseRecord<DrillRecord>(drillRecordSchema, result.stdout);
    expect(record.result).toBe("fail");
    // psql's own stderr never reaches the answer: the check says f, not a warning text.
    expect(record.verification.checks.find((c) => c.name === "verify-sql")).toEqual({
      name: "verify-sql",
      ok: false,
      detail: "select count(*) = 99 from drill => f",
    });
  }, 30000);

  test("nothing of the hostile archive path ran, and no work directory is left in TMPDIR", () => {
    for (const dir of [work, privateCwd, archive, tmpdir(), "/"]) {
      expect(existsSync(join(dir, "PWNED"))).toBe(false);
      expect(existsSync(join(dir, "PWNED2"))).toBe(false);
    }
    // Only the three restores left running by --keep-running keep theirs (it holds their socket);
    // the two drills that stopped their server, and every record file, left nothing.
    expect(readdirSync(tmp).filter((n) => n.startsWith("pitr-record."))).toEqual([]);
    expect(readdirSync(tmp).filter((n) => n.startsWith("pitr-run."))).toHaveLength(3);
  });
});
