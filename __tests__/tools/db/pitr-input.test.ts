// Bad input to tools/db/pitr.sh: a clear error naming what is wrong, exit 2, and nothing touched
// (no target directory created, an existing one left as it was, the archive unchanged).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describeWithService } from "../../support/services";
import { postgresBinDir, postgresMissing } from "../../../harness/postgres";

const pitr = resolve(__dirname, "..", "..", "..", "tools", "db", "pitr.sh");
// Fixture times relative to now, so "past" and "future" hold on any clock.
const daysAgo = (d: number) => new Date(Date.now() - d * 86400000).toISOString().replace(/\.\d+Z$/, "Z");
const backupStart = daysAgo(10);
const backupFinish = backupStart.replace("Z", ".000000Z");
const beforeOldest = daysAgo(11);
const afterBackup = daysAgo(5);

describeWithService("pitr.sh refuses bad input and touches nothing", postgresMissing, () => {
  let work: string;
  let archive: string;
  const cleanEnv = () => {
    const env: NodeJS.ProcessEnv = { PATH: `${postgresBinDir}:${process.env.PATH}`, HOME: process.env.HOME, TZ: "UTC" };
    return env;
  };
  const runPitr = (args: string[], env: NodeJS.ProcessEnv) => spawnSync("bash", [pitr, ...args], { env, encoding: "utf8" });
  const snapshot = () => JSON.stringify([readdirSync(work).sort(), readdirSync(join(archive, "basebackups")).sort()]);

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "maestro-pitr-input-"));
    archive = join(work, "archive");
    mkdirSync(join(archive, "wal"), { recursive: true });
    const backup = join(archive, "basebackups", "base_20261101T000000000000Z");
    mkdirSync(backup, { recursive: true });
    // Only the backup record is read before a backup is chosen; the bad input is refused first.
    writeFileSync(
      join(backup, "backup.json"),
      JSON.stringify({
        backup_name: "base_20261101T000000000000Z",
        start_time: backupStart,
        finish_time: backupFinish,
      }),
    );
    mkdirSync(join(work, "occupied"));
    writeFileSync(join(work, "occupied", "keep.txt"), "someone's data");
    mkdirSync(join(work, "live"));
    writeFileSync(join(work, "live", "postmaster.pid"), "4242\n");
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const local = () => ["--driver", "local", "--archive-dir", archive, "--target-dir", join(work, "restore")];
  const future = new Date(Date.now() + 86400000).toISOString().replace(/\.\d+Z$/, "Z");
  test.each<[string, string | undefined, () => string[], RegExp]>([
    ["ISO_TS unset", undefined, local, /ISO_TS is not set/],
    [
      "malformed ISO_TS (no zone)",
      "2026-11-28 10:15:00",
      local,
      /ISO_TS: must be an ISO-8601 timestamp with a zone, such as 2026-11-28T10:15:00Z \(got '2026-11-28 10:15:00'\)/,
    ],
    ["ISO_TS that is no date", "2026-02-30T10:00:00Z", local, /ISO_TS: '2026-02-30T10:00:00Z' is not a valid date/],
    ["a time in the future", future, local, /ISO_TS: .* is in the future/],
    [
      "a time before the oldest backup",
      beforeOldest,
      local,
      new RegExp(
        `ISO_TS: ${beforeOldest} is before the oldest base backup \\(base_20261101T000000000000Z, consistent at ${backupFinish.replace(/\./g, "\\.")}\\)`,
      ),
    ],
    [
      "a target dir that is not empty",
      afterBackup,
      () => ["--driver", "local", "--archive-dir", archive, "--target-dir", join(work, "occupied")],
      /--target-dir: '.*occupied' is not empty: restore into a fresh directory/,
    ],
    [
      "a target dir holding a server",
      afterBackup,
      () => ["--driver", "local", "--archive-dir", archive, "--target-dir", join(work, "live")],
      /--target-dir: '.*live' holds a live \(or crashed\) server \(postmaster.pid\)/,
    ],
    [
      "missing WAL-G settings",
      afterBackup,
      () => ["--driver", "wal-g", "--target-dir", join(work, "restore")],
      /missing WAL-G settings: set WALG_S3_PREFIX and AWS_REGION \(or WALG_FILE_PREFIX\), or pass --outputs FILE/,
    ],
    ["the local driver without an archive", afterBackup, () => ["--driver", "local"], /--driver local needs --archive-dir DIR/],
    ["an unknown driver", afterBackup, () => ["--driver", "s3"], /--driver: must be wal-g or local \(got 's3'\)/],
    ["a bad port", afterBackup, () => [...local(), "--port", "70000"], /--port: must be 1-65535 \(got '70000'\)/],
    ["an unknown flag", afterBackup, () => ["--force"], /unknown argument '--force' \(see --help\)/],
  ])("%s", (_label, isoTs, args, message) => {
    const before = snapshot();
    const env = cleanEnv();
    if (isoTs !== undefined) env.ISO_TS = isoTs;
    const result = runPitr(args(), env);
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(snapshot()).toBe(before);
    expect(existsSync(join(work, "restore"))).toBe(false);
    expect(readdirSync(join(work, "occupied"))).toEqual(["keep.txt"]);
  });

  test("--help prints the usage and exits 0", () => {
    const result = runPitr(["--help"], cleanEnv());
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: ISO_TS=<timestamp> tools\/db\/pitr.sh \[options\]/);
  });
});
