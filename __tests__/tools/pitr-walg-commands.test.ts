// UNIT TEST, NOT A DRILL: WAL-G cannot be installed on this machine, so a recording stub named
// `wal-g` is put on PATH for this test only. It asserts the exact wal-g commands and environment
// pitr.sh's wal-g driver runs, and the recovery settings it writes. The stub's backup-fetch leaves
// a directory that is no cluster, so the restore then fails (exit 1) at server start, on purpose.
// The real restore path is proven by pitr-drill.test.ts with the local driver.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describeWithService } from "../support/services";
import { postgresBinDir, postgresMissing } from "../support/postgres";

const pitr = resolve(__dirname, "../../tools/db/pitr.sh");

// Times relative to now, so ISO_TS is in the past on any clock; it falls between the two backups.
const at = (daysAgo: number) => new Date(Math.floor(Date.now() / 86400000) * 86400000 - daysAgo * 86400000);
const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, ".000000Z");
const backupList = [
  { backup_name: "base_000000010000000000000004", start_time: iso(at(20)), finish_time: iso(new Date(at(20).getTime() + 300000)) },
  { backup_name: "base_000000010000000000000009", start_time: iso(at(10)), finish_time: iso(new Date(at(10).getTime() + 240000)) },
];
const isoTs = at(15)
  .toISOString()
  .replace(/\.\d+Z$/, "Z");
const recoveryTarget = `${at(15).toISOString().slice(0, 10)} 00:00:00.000000+00`;

describeWithService("pitr.sh --driver wal-g: the wal-g commands it runs (recording stub, unit test)", postgresMissing, () => {
  let work: string;
  let bin: string;
  let calls: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "maestro-pitr-walg-"));
    bin = join(work, "bin");
    mkdirSync(bin);
    calls = join(work, "calls.log");
    writeFileSync(join(work, "backup-list.json"), JSON.stringify(backupList));
    writeFileSync(
      join(bin, "wal-g"),
      [
        "#!/usr/bin/env bash",
        "# Recording stub for a unit test: not WAL-G.",
        'printf "%s|WALG_S3_PREFIX=%s|AWS_REGION=%s\\n" "$*" "${WALG_S3_PREFIX:-}" "${AWS_REGION:-}" >>"$WALG_STUB_CALLS"',
        'case "$1" in',
        '  backup-list) cat "$WALG_STUB_LIST" ;;',
        '  backup-fetch) mkdir -p "$2" && echo 15 >"$2/PG_VERSION" ;;',
        "  *) exit 1 ;;",
        "esac",
        "",
      ].join("\n"),
    );
    chmodSync(join(bin, "wal-g"), 0o755);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const runPitr = (label: string, extraArgs: string[], extraEnv: NodeJS.ProcessEnv) => {
    writeFileSync(calls, "");
    const target = join(work, `restore-${label}`);
    const result = spawnSync("bash", [pitr, "--driver", "wal-g", "--target-dir", target, "--port", "1", "--timeout", "5", ...extraArgs], {
      encoding: "utf8",
      env: {
        PATH: `${bin}:${postgresBinDir}:${process.env.PATH}`,
        HOME: process.env.HOME,
        ISO_TS: isoTs,
        WALG_STUB_CALLS: calls,
        WALG_STUB_LIST: join(work, "backup-list.json"),
        ...extraEnv,
      },
    });
    return { result, target, calls: readFileSync(calls, "utf8").trim().split("\n") };
  };

  test("settings from the stack outputs: lists backups, fetches the newest one before ISO_TS, restores with wal-fetch", () => {
    const outputs = join(work, "backup-outputs.json");
    writeFileSync(
      outputs,
      JSON.stringify({
        backup: {
          bucket: "maestro-staging-backups",
          walg_s3_prefix: "s3://maestro-staging-backups/walg/compliance",
          region: "eu-west-1",
          database_name: "compliance",
          archive_timeout_seconds: 60,
        },
      }),
    );
    const { result, target, calls: seen } = runPitr("outputs", ["--outputs", outputs], {});
    const env = "WALG_S3_PREFIX=s3://maestro-staging-backups/walg/compliance|AWS_REGION=eu-west-1";
    expect(seen).toEqual([`backup-list --json --detail|${env}`, `backup-fetch ${target} base_000000010000000000000004|${env}`]);
    const conf = readFileSync(join(target, "postgresql.auto.conf"), "utf8");
    expect(conf).toContain("restore_command = 'wal-g wal-fetch %f %p'");
    expect(conf).toContain(`recovery_target_time = '${recoveryTarget}'`);
    expect(conf).toContain("recovery_target_action = 'promote'");
    expect(conf).toContain("archive_mode = off");
    expect(readFileSync(join(target, "recovery.signal"), "utf8")).toBe("");
    // The stub's "backup" is no cluster: the server cannot start, and pitr.sh says so with exit 1.
    expect(result.stderr).toMatch(/the restored server did not start/);
    expect(result.status).toBe(1);
  });

  test("the environment wins over the outputs file", () => {
    const outputs = join(work, "backup-outputs.json");
    const { calls: seen } = runPitr("env", ["--outputs", outputs], { WALG_S3_PREFIX: "s3://copy/walg", AWS_REGION: "eu-central-1" });
    expect(seen[0]).toBe("backup-list --json --detail|WALG_S3_PREFIX=s3://copy/walg|AWS_REGION=eu-central-1");
  });
});
