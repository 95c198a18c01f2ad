// The DR records end to end: a real base backup and real restore drills (tools/db/pitr.sh, local
// driver, real Postgres) publish their records into the archive's records/ folder, and the compliance
// service reads them as evidence: database-backup and recovery-drill turn pass, fail and stale from
// what really happened. The S3 half serves the same records from the backup bucket (moto) the way
// the deployed service reads them (COMPLIANCE_*_RECORD=s3://..., its own role); putting them there
// stands for the jobs' `wal-g st put --no-compress`, whose exact command pitr-walg-commands.test.ts pins.
import { PutObjectCommand, CreateBucketCommand } from "@aws-sdk/client-s3";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { backupRecordName, drillRecordName, recordKey, recordsFolder } from "../../../contracts/records";
import { cleanVerdicts, hoursAgo, writeEvidence } from "../../../harness/evidence";
import { freePort } from "../../../lib/net";
import {
  makeLocalArchive,
  localArchiveSettings,
  postgresBinDir,
  postgresMissing,
  startPostgres,
  type RunningPostgres,
} from "../../../harness/postgres";
import { motoBinary, s3Client, s3TestEnv, startS3, stopS3, type RunningS3 } from "../../../harness/s3";
import { describeWithService } from "../../support/services";
import { seedPglite } from "../../../harness/pglite-template";

const run = promisify(execFile);
const pitr = resolve(__dirname, "..", "..", "..", "tools", "db", "pitr.sh");
const missing = postgresMissing ?? (motoBinary ? undefined : "moto_server (tools/install/tools.sh moto)");

describeWithService("DR records reach the compliance service: real backup and drills → controls", missing, () => {
  let source: RunningPostgres;
  let work: string;
  let archive: string;
  let dataDir: string;
  let s3: RunningS3;
  let token: string;
  const env = () => ({ ...process.env, PATH: `${postgresBinDir}:${process.env.PATH}`, TZ: "UTC", TMPDIR: work });
  const records = () => join(archive, recordsFolder);

  /** The service as deployed reads the records; each status is a fresh reading (no evidence cache). */
  async function controls(extraEnv: Record<string, string>): Promise<Record<string, { status: string; reason: string }>> {
    const service: BuiltService = await buildService(
      readServiceSettings({ MAESTRO_DATA_DIR: dataDir, COMPLIANCE_EVIDENCE_TTL_SECONDS: "0", ...extraEnv }),
      { logger: false },
    );
    try {
      const out: Record<string, { status: string; reason: string }> = {};
      for (const id of ["database-backup", "recovery-drill"]) {
        const res = await service.server.inject({
          method: "GET",
          url: `/api/compliance/controls/${id}`,
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.statusCode).toBe(200);
        const { status, evidence } = res.json().control as { status: string; evidence: Array<{ source: string; reason: string }> };
        // The record's own reading (a control also weighs the policy verdicts of the backup stack).
        const record = evidence.find((e) => e.source === (id === "database-backup" ? "last-backup" : "last-drill"))!;
        out[id] = { status, reason: record.reason };
      }
      return out;
    } finally {
      await service.close();
    }
  }
  const fileEnv = () => ({
    COMPLIANCE_BACKUP_RECORD: join(records(), backupRecordName),
    COMPLIANCE_DRILL_RECORD: join(records(), drillRecordName),
  });
  const drill = (isoTs: string, verifySql: string) =>
    run("bash", [pitr, "--archive-dir", archive, "--publish", "--port", String(drillPort), "--verify-sql", verifySql], {
      env: { ...env(), ISO_TS: isoTs },
    }).then(
      () => 0,
      (err: { code: number }) => err.code,
    );
  let drillPort = 0;
  let target = "";

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "maestro-dr-evidence-"));
    chmodSync(work, 0o755);
    archive = join(work, "archive");
    makeLocalArchive(archive);
    dataDir = join(work, "service");
    writeEvidence(dataDir, { verdicts: cleanVerdicts() });
    await seedPglite(dataDir);
    token = await mintDevToken(dataDir, { subject: "ada", groups: ["auditors"] });
    source = await startPostgres({ settings: localArchiveSettings(archive) });
    await source.query("create table orders (id int primary key)");
    await run("bash", [pitr, "base-backup", "--archive-dir", archive, "--port", String(source.port), "--publish"], { env: env() });
    await source.query("insert into orders values (1)");
    target = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await source.query("insert into orders values (2)");
    // The segment with the second commit must be archived before a drill can stop before it.
    const [{ wal }] = await source.query<{ wal: string }>("select pg_walfile_name(pg_switch_wal()) as wal");
    for (let i = 0; i < 100 && !existsSync(join(archive, "wal", wal)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(archive, "wal", wal))).toBe(true);
    drillPort = await freePort();
    s3 = await startS3();
    for (const [k, v] of Object.entries(s3TestEnv)) process.env[k] = v;
  }, 90_000);

  afterAll(async () => {
    await source?.stop();
    await stopS3(s3);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("before any record: both controls are unknown, naming where they looked", async () => {
    rmSync(join(records(), drillRecordName), { force: true });
    const saved = readFileSync(join(records(), backupRecordName), "utf8");
    rmSync(join(records(), backupRecordName));
    const c = await controls(fileEnv());
    expect(c["recovery-drill"]).toMatchObject({
      status: "unknown",
      reason: expect.stringContaining(`no record at ${join(records(), drillRecordName)}`),
    });
    expect(c["database-backup"].status).toBe("unknown");
    writeFileSync(join(records(), backupRecordName), saved);
  });

  test("a real base backup and a real passing drill turn both controls to pass", async () => {
    expect(await drill(target, "select count(*) = 1 from orders")).toBe(0);
    const c = await controls(fileEnv());
    expect(c["database-backup"]).toMatchObject({ status: "pass", reason: expect.stringMatching(/^last base backup base_\w+ is 0 h old$/) });
    expect(c["recovery-drill"]).toMatchObject({
      status: "pass",
      reason: expect.stringContaining(`restored to ${target.replace("Z", "")}`),
    });
  }, 60_000);

  test("a real failed drill turns recovery-drill to fail, with the check that failed", async () => {
    expect(await drill(target, "select count(*) = 2 from orders")).toBe(1);
    const c = await controls(fileEnv());
    expect(c["recovery-drill"]).toMatchObject({
      status: "fail",
      reason: expect.stringContaining("verify-sql (select count(*) = 2 from orders => f)"),
    });
  }, 60_000);

  test("an old drill and an old backup are stale", async () => {
    expect(await drill(target, "select count(*) = 1 from orders")).toBe(0);
    for (const [name, days] of [
      [drillRecordName, 100],
      [backupRecordName, 2],
    ] as const) {
      const file = join(records(), name);
      const record = JSON.parse(readFileSync(file, "utf8"));
      record.finished_at = hoursAgo(days * 24).toISOString();
      writeFileSync(file, JSON.stringify(record));
    }
    const c = await controls(fileEnv());
    expect(c["recovery-drill"].status).toBe("stale");
    expect(c["database-backup"].status).toBe("stale");
  }, 60_000);

  test("the deployed service reads the same records from the backup bucket with its own credentials", async () => {
    expect(await drill(target, "select count(*) = 1 from orders")).toBe(0);
    await run("bash", [pitr, "base-backup", "--archive-dir", archive, "--port", String(source.port), "--publish"], { env: env() });
    const client = s3Client(s3.endpoint);
    const bucket = "maestro-staging-backups";
    const prefix = "walg/compliance";
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const name of [backupRecordName, drillRecordName] as const) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: recordKey(prefix, name),
          Body: readFileSync(join(records(), name)),
          ContentType: "application/json",
        }),
      );
    }
    const s3Env = {
      AWS_REGION: s3TestEnv.AWS_REGION,
      COMPLIANCE_RECORDS_S3_ENDPOINT: s3.endpoint,
      COMPLIANCE_BACKUP_RECORD: `s3://${bucket}/${recordKey(prefix, backupRecordName)}`,
      COMPLIANCE_DRILL_RECORD: `s3://${bucket}/${recordKey(prefix, drillRecordName)}`,
    };
    expect(await controls(s3Env)).toMatchObject({ "database-backup": { status: "pass" }, "recovery-drill": { status: "pass" } });
    // No object (never published): unknown, naming the object.
    const c = await controls({ ...s3Env, COMPLIANCE_DRILL_RECORD: `s3://${bucket}/${prefix}/records/none.json` });
    expect(c["recovery-drill"]).toMatchObject({
      status: "unknown",
      reason: expect.stringContaining(`no record at s3://${bucket}/${prefix}/records/none.json`),
    });
  }, 60_000);
});
