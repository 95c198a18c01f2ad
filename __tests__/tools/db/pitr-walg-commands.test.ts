// UNIT TEST, NOT A DRILL: WAL-G cannot be installed on this machine, so a recording stub named
// `wal-g` is put on PATH for this test only. It asserts the exact wal-g commands and environment
// pitr.sh's wal-g driver runs, and the recovery settings it writes. The stub's backup-fetch leaves
// a directory that is no cluster, so the restore then fails (exit 1) at server start, on purpose.
// The real restore path is proven by pitr-drill.test.ts with the local driver.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { backupRecordSchema } from "../../../contracts/records";
import { describeWithService } from "../../support/services";
import { postgresBinDir, postgresMissing } from "../../../harness/postgres";

const pitr = resolve(__dirname, "..", "..", "..", "tools", "db", "pitr.sh");

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
        '  wal-fetch) if [ "$2" = 00000002.history ]; then echo "ERROR: Archive 00000002.history does not exist." >&2; exit 1; fi',
        '    echo "segment $2" >"$3" ;;',
        '  backup-push) cp "$WALG_STUB_LIST_AFTER" "$WALG_STUB_LIST" ;;',
        "  delete) ;;",
        '  st) mkdir -p "$(dirname "$WALG_STUB_PUT/$6")" && cp "$5" "$WALG_STUB_PUT/$6" ;;',
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
    const { result, target, calls: seen } = runPitr("outputs", ["--outputs", outputs, "--keep-running"], {});
    const env = "WALG_S3_PREFIX=s3://maestro-staging-backups/walg/compliance|AWS_REGION=eu-west-1";
    expect(seen).toEqual([`backup-list --json --detail|${env}`, `backup-fetch ${target} base_000000010000000000000004|${env}`]);
    const conf = readFileSync(join(target, "postgresql.auto.conf"), "utf8");
    // restore_command runs a wrapper (no archive text reaches a shell or Postgres unquoted)...
    const wrapper = /restore_command = '(\S+\/pitr-run\.\w+\/restore-wal) %f %p'/.exec(conf)?.[1];
    expect(wrapper).toBeDefined();
    // ...which runs wal-g wal-fetch with the archive's settings,
    writeFileSync(calls, "");
    const fetched = spawnSync(wrapper!, ["000000010000000000000005", join(work, "segment")], {
      encoding: "utf8",
      env: { WALG_STUB_CALLS: calls },
    });
    expect(fetched.status).toBe(0);
    expect(readFileSync(join(work, "segment"), "utf8")).toBe("segment 000000010000000000000005\n");
    expect(readFileSync(calls, "utf8").trim()).toBe(`wal-fetch 000000010000000000000005 ${join(work, "segment")}|${env}`);
    // and says "not in the archive" with exit 1 and none of WAL-G's ERROR lines.
    const absent = spawnSync(wrapper!, ["00000002.history", join(work, "history")], { encoding: "utf8", env: { WALG_STUB_CALLS: calls } });
    expect(absent).toMatchObject({ status: 1, stderr: "" });
    rmSync(wrapper!.replace(/\/restore-wal$/, ""), { recursive: true, force: true });
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

  test("--source replica: lists and fetches from the replica in its region; the record goes to the primary", () => {
    const outputs = join(work, "backup-outputs-replica.json");
    writeFileSync(
      outputs,
      JSON.stringify({
        backup: {
          bucket: "maestro-staging-backups",
          walg_s3_prefix: "s3://maestro-staging-backups/walg/compliance",
          region: "eu-west-1",
          replica_walg_s3_prefix: "s3://maestro-staging-backups-replica/walg/compliance",
          replica_region: "eu-central-1",
          database_name: "compliance",
        },
      }),
    );
    const {
      result,
      target,
      calls: seen,
    } = runPitr("replica", ["--outputs", outputs, "--source", "replica", "--publish"], {
      WALG_STUB_PUT: join(work, "put-replica"),
    });
    const replica = "WALG_S3_PREFIX=s3://maestro-staging-backups-replica/walg/compliance|AWS_REGION=eu-central-1";
    const primary = "WALG_S3_PREFIX=s3://maestro-staging-backups/walg/compliance|AWS_REGION=eu-west-1";
    expect(seen.slice(0, 2)).toEqual([
      `backup-list --json --detail|${replica}`,
      `backup-fetch ${target} base_000000010000000000000004|${replica}`,
    ]);
    // The stub's backup cannot start: a failed drill, whose record still reaches the primary archive.
    expect(result.status).toBe(1);
    expect(seen[seen.length - 1]).toMatch(
      new RegExp(`^st put --no-compress -f \\S+ records/last-drill\\.json\\|${primary.replace(/[.|/]/g, "\\$&")}$`),
    );
    const record = JSON.parse(readFileSync(join(work, "put-replica", "records", "last-drill.json"), "utf8"));
    expect(record).toMatchObject({ result: "fail", source: "replica", storage: "s3://maestro-staging-backups-replica/walg/compliance" });
  });

  test("--source replica without --outputs, or with the local driver, is bad input (exit 2)", () => {
    const noOutputs = runPitr("replica-bad", ["--source", "replica"], { WALG_S3_PREFIX: "s3://x/y", AWS_REGION: "eu-west-1" });
    expect(noOutputs.result.status).toBe(2);
    expect(noOutputs.result.stderr).toMatch(/--source replica needs --outputs FILE/);
  });

  test("base-backup: remote backup-push, the new backup found in the listing, retention, the record published uncompressed", () => {
    const list = join(work, "backup-list-base.json");
    const after = join(work, "backup-list-after.json");
    const put = join(work, "put");
    const taken = {
      backup_name: "base_00000001000000000000000C",
      start_time: iso(at(1)),
      finish_time: iso(at(0)),
      start_lsn: "0/C000028",
      finish_lsn: "0/C000138",
    };
    writeFileSync(list, JSON.stringify(backupList));
    writeFileSync(after, JSON.stringify([...backupList, taken]));
    writeFileSync(calls, "");
    const result = spawnSync("bash", [pitr, "base-backup", "--driver", "wal-g", "--retain-full", "3", "--publish"], {
      encoding: "utf8",
      env: {
        PATH: `${bin}:${postgresBinDir}:${process.env.PATH}`,
        HOME: process.env.HOME,
        WALG_S3_PREFIX: "s3://b/walg/compliance",
        AWS_REGION: "eu-west-1",
        WALG_STUB_CALLS: calls,
        WALG_STUB_LIST: list,
        WALG_STUB_LIST_AFTER: after,
        WALG_STUB_PUT: put,
      },
    });
    expect({ status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ status: 0, stderr: "" });
    const env = "WALG_S3_PREFIX=s3://b/walg/compliance|AWS_REGION=eu-west-1";
    const seen = readFileSync(calls, "utf8").trim().split("\n");
    expect(seen.map((c) => c.replace(/pitr-record\.\w+/, "pitr-record.X"))).toEqual([
      `backup-list --json|${env}`,
      `backup-push|${env}`,
      `backup-list --json --detail|${env}`,
      `delete retain FULL 3 --confirm|${env}`,
      `st put --no-compress -f ${tmpdir()}/pitr-record.X records/last-backup.json|${env}`,
    ]);
    const record = backupRecordSchema.parse(JSON.parse(result.stdout));
    expect(record).toMatchObject({
      result: "pass",
      tool: "wal-g",
      retained_full: 3,
      backup: { name: taken.backup_name, start_lsn: "0/C000028", finish_lsn: "0/C000138" },
    });
    expect(JSON.parse(readFileSync(join(put, "records", "last-backup.json"), "utf8"))).toEqual(record);
  });

  test("base-backup: a failed backup-push writes a failed record (the backup control fails) and exits 1", () => {
    const put = join(work, "put-failed");
    const result = spawnSync("bash", [pitr, "base-backup", "--driver", "wal-g", "--publish"], {
      encoding: "utf8",
      env: {
        PATH: `${bin}:${postgresBinDir}:${process.env.PATH}`,
        HOME: process.env.HOME,
        WALG_S3_PREFIX: "s3://b/walg/compliance",
        AWS_REGION: "eu-west-1",
        WALG_STUB_CALLS: calls,
        WALG_STUB_LIST: join(work, "backup-list.json"),
        WALG_STUB_LIST_AFTER: "/nonexistent",
        WALG_STUB_PUT: put,
      },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/wal-g backup-push failed/);
    const record = backupRecordSchema.parse(JSON.parse(readFileSync(join(put, "records", "last-backup.json"), "utf8")));
    expect(record).toMatchObject({ result: "fail", backup: null, failure: "wal-g backup-push failed (storage s3://b/walg/compliance)" });
  });
});
