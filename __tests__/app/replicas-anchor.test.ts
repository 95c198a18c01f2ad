import { type S3Client } from "@aws-sdk/client-s3";
import type { ControlResult } from "../../app/compliance/types";
import { describeWithService } from "../support/services";
import { postgresMissing } from "../../harness/postgres";
import { motoBinary, s3Client, s3TestEnv, startS3, stopS3, type RunningS3, createLockedBucket } from "../../harness/s3";
import { waitFor } from "../../lib/net";
import { auditedReadBurst, startFleet, type Fleet } from "../../harness/replicas";

// The chain head lives outside the database too: in the Object Lock batches. A tail truncated by
// someone with the owner's rights (who must first switch off the append-only triggers) is found
// after a restart, and the audit control fails saying so.

const bucket = "maestro-anchor-audit";
const missing = postgresMissing ?? (motoBinary ? undefined : "moto_server (tools/install/tools.sh)");

describeWithService("audit chain anchored in the Object Lock bucket; the service role only appends", missing, () => {
  let fleet: Fleet;
  let s3: RunningS3;
  let client: S3Client;
  let token: string;
  const saved = { ...process.env };

  const control = async (replica: number) => {
    const res = await fetch(`${fleet.replica(replica).base}/api/compliance/controls/audit-log-integrity`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { control: ControlResult }).control;
  };
  const chainEvidence = (c: ControlResult) => c.evidence.find((e) => e.source === "audit-chain")!;
  const asServiceRole = async (sql: string) => {
    const { Client } = await import("pg");
    const c = new Client({ connectionString: `postgres://maestro_service@127.0.0.1:${fleet.pg.port}/postgres` });
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    Object.assign(process.env, s3TestEnv);
    s3 = await startS3();
    client = s3Client(s3.endpoint);
    await createLockedBucket(client, bucket);
    fleet = await startFleet({
      replicas: 2,
      // As in a cluster: the owner migrates, the replicas log in as maestro_service.
      setupSql: ["create role maestro_service login"],
      serviceRole: "maestro_service",
      env: {
        ...s3TestEnv,
        AUDIT_WORM_ENABLED: "true",
        AUDIT_WORM_BUCKET: bucket,
        AUDIT_RETENTION_DAYS: "1",
        AUDIT_S3_ENDPOINT: s3.endpoint,
        AUDIT_WORM_BATCH_MS: "100",
        COMPLIANCE_EVIDENCE_TTL_SECONDS: "0",
      },
    });
    token = await fleet.token({ subject: "auditor-1", groups: ["auditors"] });
    let sent = 0;
    await auditedReadBurst(fleet, token, { concurrency: 4, until: () => sent++ >= 80, label: "anchor" });
    await waitFor(
      "WORM backlog drained",
      async () => ((await (await fetch(`${fleet.replica(0).base}/healthz/audit-worm`)).json()) as { pending: number }).pending === 0,
      60_000,
      200,
    );
  }, 300_000);
  afterAll(async () => {
    await fleet?.stop();
    client?.destroy();
    await stopS3(s3);
    process.env = saved;
  });

  test("UPDATE, DELETE and TRUNCATE of audit_log are refused, even to the table's owner", async () => {
    await expect(fleet.pg.query("delete from audit_log where id > 40")).rejects.toThrow(/audit_log is append-only: DELETE refused/);
    await expect(fleet.pg.query("update audit_log set actor = 'mallory' where id = 2")).rejects.toThrow(
      /audit_log is append-only: UPDATE refused/,
    );
    await expect(fleet.pg.query("truncate audit_log")).rejects.toThrow(/audit_log is append-only: TRUNCATE refused/);
  });

  test("the replicas run as maestro_service, which holds exactly SELECT and INSERT on audit_log", async () => {
    const sessions = await fleet.pg.query<{ n: string }>("select count(*) as n from pg_stat_activity where usename = 'maestro_service'");
    expect(Number(sessions[0].n)).toBeGreaterThan(0);
    const grants = await fleet.pg.query<{ privilege_type: string }>(
      "select privilege_type from information_schema.role_table_grants where grantee = 'maestro_service' and table_name = 'audit_log' order by 1",
    );
    expect(grants.map((g) => g.privilege_type)).toEqual(["INSERT", "SELECT"]);
    expect((await asServiceRole("select count(*) from audit_log")).rows).toHaveLength(1);
    await expect(asServiceRole("delete from audit_log where id = 1")).rejects.toThrow(/permission denied for table audit_log/);
    await expect(asServiceRole("update audit_log set actor = 'x' where id = 1")).rejects.toThrow(/permission denied for table audit_log/);
  });

  test("the stored Merkle blocks (migration 015) have the same rules: maestro_service may only SELECT and INSERT, nobody may change one", async () => {
    const grants = await fleet.pg.query<{ privilege_type: string }>(
      "select privilege_type from information_schema.role_table_grants where grantee = 'maestro_service' and table_name = 'audit_merkle_blocks' order by 1",
    );
    expect(grants.map((g) => g.privilege_type)).toEqual(["INSERT", "SELECT"]);
    // a block far beyond the log's end, which no export reads
    await asServiceRole(`insert into audit_merkle_blocks (block, hash) values (1000000000000, '\\x${"ab".repeat(32)}')`);
    await expect(asServiceRole("delete from audit_merkle_blocks where block = 1000000000000")).rejects.toThrow(
      /permission denied for table audit_merkle_blocks/,
    );
    await expect(fleet.pg.query("update audit_merkle_blocks set hash = hash where block = 1000000000000")).rejects.toThrow(
      /append-only: UPDATE refused/,
    );
    await expect(fleet.pg.query("truncate audit_merkle_blocks")).rejects.toThrow(/append-only: TRUNCATE refused/);
  });

  test("before tampering the control passes the chain check, anchored at the last shipped batch", async () => {
    const evidence = chainEvidence(await control(0));
    expect(evidence.status).toBe("pass");
    expect(evidence.summary).toMatch(/anchored at entry \d+ in s3:\/\/maestro-anchor-audit\/audit\//);
  });

  test("a tail truncated by the owner is detected after a restart: the audit control fails and says why", async () => {
    const [{ max }] = await fleet.pg.query<{ max: string }>("select max(id) as max from audit_log");
    await fleet.pg.query("alter table audit_log disable trigger user");
    await fleet.pg.query("delete from audit_log where id > 40");
    await fleet.pg.query("alter table audit_log enable trigger user");
    for (let i = 0; i < fleet.size; i++) {
      await fleet.killReplica(i);
      await fleet.startReplica(i);
    }
    for (let i = 0; i < fleet.size; i++) {
      const c = await control(i);
      expect(c.status).toBe("fail");
      expect(c.reason).toMatch(
        /^audit log truncated: s3:\/\/maestro-anchor-audit\/audit\/\d{12}-\d{12}\.jsonl \(Object Lock\) holds entries up to \d+, the database ends at \d+/,
      );
      expect(chainEvidence(c)).toMatchObject({ status: "fail", summary: c.reason });
    }
    expect(Number(max)).toBeGreaterThan(40);
  }, 180_000);
});
