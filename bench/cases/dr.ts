// DR drill figures: RTO (pitr.sh's measured duration) and RPO (archive_timeout, and the archive lag
// measured against it), from a real Postgres 15 with the local archive driver.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadEnvironment } from "../../config/load";
import { makeLocalArchive, postgresBinDir, startPostgres } from "../../harness/postgres";
import { freePort } from "../../lib/net";
import { median, ratio, type BenchSuite } from "../harness";

const run = promisify(execFile);
const pitr = join(__dirname, "..", "..", "tools", "db", "pitr.sh");
const env = { ...process.env, PATH: `${postgresBinDir}:${process.env.PATH}` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s = (v: number) => `${v.toFixed(2)} s`;

export const suite: BenchSuite = {
  title: "DR drill (pitr.sh, real Postgres 15, local archive)",
  async run() {
    const work = mkdtempSync(join(tmpdir(), "maestro-bench-dr-"));
    chmodSync(work, 0o755);
    const archive = join(work, "archive");
    makeLocalArchive(archive);
    const archiveTimeout = 10; // the shortest archive_timeout the config allows
    const source = await startPostgres({
      settings: {
        wal_level: "replica",
        archive_mode: "on",
        archive_command: `test ! -f '${archive}/wal/%f' && cp '%p' '${archive}/wal/%f'`,
        archive_timeout: archiveTimeout,
        track_commit_timestamp: "on",
      },
    });
    try {
      await source.query("create table drill (id int primary key, payload text)");
      await source.query("insert into drill select g, md5(g::text) from generate_series(1, 1000) g");
      await run("bash", [pitr, "base-backup", "--archive-dir", archive, "--port", String(source.port)], { env });
      await sleep(50);
      const [{ t: afterBackup }] = await source.query<{ t: string }>(
        "select to_char(now() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') t",
      );
      await sleep(50);
      // 8 segments of changes (each insert batch, then a switch) before the PITR target.
      for (let i = 0; i < 8; i++) {
        await source.query("insert into drill select g, md5(g::text) from generate_series($1::int, $1::int + 4999) g", [2000 + i * 5000]);
        await source.query("select pg_switch_wal()");
      }
      await sleep(20);
      const [{ t: target }] = await source.query<{ t: string }>(
        "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') t",
      );
      await sleep(20);
      await source.query("insert into drill values (999999, 'after the target')");
      const [{ wal }] = await source.query<{ wal: string }>("select pg_walfile_name(pg_switch_wal()) as wal");
      for (let i = 0; i < 100 && !readdirSync(join(archive, "wal")).includes(wal); i++) await sleep(100);

      // RPO: with no forced switch, how long until a commit's segment is in the archive.
      const lags: number[] = [];
      for (let i = 0; i < 2; i++) {
        const before = new Set(readdirSync(join(archive, "wal")));
        const start = Date.now();
        await source.query("insert into drill values ($1, 'rpo probe')", [1000000 + i]);
        while (Date.now() - start < (archiveTimeout + 10) * 1000 && readdirSync(join(archive, "wal")).every((f) => before.has(f)))
          await sleep(50);
        lags.push((Date.now() - start) / 1000);
      }

      const restore = async (label: string, isoTs: string) => {
        const durations: number[] = [];
        for (let i = 0; i < 3; i++) {
          const targetDir = join(work, `${label}-${i}`);
          const { stdout } = await run(
            "bash",
            [pitr, "--driver", "local", "--archive-dir", archive, "--target-dir", targetDir, "--port", String(await freePort())],
            { env: { ...env, ISO_TS: isoTs } },
          );
          const record = JSON.parse(stdout) as { duration_seconds: number; verification: { verified: boolean } };
          if (!record.verification.verified) throw new Error(`drill ${label} not verified`);
          durations.push(record.duration_seconds);
          rmSync(targetDir, { recursive: true, force: true });
        }
        return median(durations);
      };
      const baseline = await restore("backup-point", afterBackup);
      const pitrRto = await restore("pitr", target);
      const lag = Math.max(...lags);
      const configured = loadEnvironment("production").backup.archiveTimeoutSeconds;
      return [
        {
          name: "RTO: restore to ISO_TS, 8 WAL segments past the base backup (~45k rows)",
          subject: "pitr.sh --driver local (drill record duration, median of 3)",
          value: s(pitrRto),
          baseline: "pitr.sh to a point just after the base backup (no WAL to replay)",
          baselineValue: s(baseline),
          ratio: ratio(pitrRto, baseline),
          target: "verified drill, ≤ 60 s",
          met: pitrRto <= 60,
        },
        {
          name: "RPO: commit → its WAL in the archive, no forced switch (worst of 2)",
          subject: `archive_timeout = ${archiveTimeout} s (local archive_command)`,
          value: s(lag),
          baseline: "archive_timeout",
          baselineValue: s(archiveTimeout),
          ratio: ratio(lag, archiveTimeout),
          target: "≤ archive_timeout + 1 s",
          met: lag <= archiveTimeout + 1,
        },
        {
          name: "RPO bound in production (config backup.archiveTimeoutSeconds)",
          subject: "archive_timeout, production",
          value: s(configured),
          baseline: "archive_timeout measured above",
          baselineValue: s(archiveTimeout),
          ratio: ratio(configured, archiveTimeout),
        },
      ];
    } finally {
      await source.stop();
      rmSync(work, { recursive: true, force: true });
    }
  },
};
