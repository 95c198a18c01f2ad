import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuditLog } from "../../../app/audit/log";
import type { AuditLog } from "../../../app/audit/types";
import { migrate, openDb, type Db } from "../../../app/db";
import { createAuditChainProbe } from "../../../app/compliance/probes/audit-chain";
import { readComplianceSettings } from "../../../app/compliance/settings";
import type { EvidenceProbe } from "../../../app/compliance/probes/types";
import { seedPglite } from "../../../harness/pglite-template";

// The audit-chain probe on a real (embedded) database: a full pass first and every fullEveryMs,
// in between only the appended entries plus a re-check of the last verified one.

const hour = 3_600_000;
let dir: string;
let db: Db;
let audit: AuditLog;
let clock: number;
let listed: number;

/** Tampering as the table's owner, who must first switch off the append-only triggers (migration 013). */
const asOwner = async (sql: string) => {
  await db.query("alter table audit_log disable trigger user");
  try {
    await db.query(sql);
  } finally {
    await db.query("alter table audit_log enable trigger user");
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-audit-chain-"));
  await seedPglite(dir);
  db = await openDb({ dataDir: dir });
  await migrate(db);
}, 120_000);
afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await asOwner("delete from audit_log");
  clock = Date.parse("2026-11-28T12:00:00Z");
  const log = createAuditLog(db);
  // Counts the entries the probe reads back, to tell a full pass from an incremental one.
  audit = {
    append: (e) => log.append(e),
    list: async (range) => {
      const rows = await log.list(range);
      listed += rows.length;
      return rows;
    },
  };
});

const append = async (n: number) => {
  for (let i = 0; i < n; i++) await audit.append({ type: "test.event", actor: "tester", details: { i } });
};
const read = async (probe: EvidenceProbe) => {
  listed = 0;
  const settings = readComplianceSettings({}, dir);
  const evidence = await probe.collect({ settings, db, audit, now: () => new Date(clock) });
  return { evidence, data: evidence.data as { intact: boolean; verified: number; brokenAt: number | null; mode: string }, listed };
};

test("after the first full pass, a reading verifies only what was appended (and re-checks the last entry)", async () => {
  const probe = createAuditChainProbe({ fullEveryMs: hour });
  await append(50);
  expect(await read(probe)).toMatchObject({ data: { intact: true, verified: 50, mode: "full" }, listed: 50 });
  await append(3);
  clock += 60_000;
  expect(await read(probe)).toMatchObject({ data: { intact: true, verified: 53, mode: "incremental" }, listed: 1 + 3 });
  clock += 60_000;
  expect(await read(probe)).toMatchObject({ data: { intact: true, verified: 53, mode: "incremental" }, listed: 1 });
});

test("a rewritten last-verified entry is found at the next reading", async () => {
  const probe = createAuditChainProbe({ fullEveryMs: hour });
  await append(5);
  await read(probe);
  await asOwner("update audit_log set actor = 'mallory' where id = 5");
  clock += 60_000;
  const { data, evidence } = await read(probe);
  expect(data).toMatchObject({ intact: false, brokenAt: 5, verified: 4, mode: "incremental" });
  expect(evidence.summary).toBe("chain broken at entry 5 (4 entries verified before it)");
});

test("an older rewritten entry is found by the next full pass, and the break stays reported", async () => {
  const probe = createAuditChainProbe({ fullEveryMs: hour });
  await append(10);
  await read(probe);
  await asOwner("update audit_log set details = '{\"i\": 99}'::jsonb where id = 3");
  clock += 10 * 60_000;
  expect((await read(probe)).data).toMatchObject({ intact: true, mode: "incremental" }); // behind the checkpoint
  clock += hour;
  expect((await read(probe)).data).toMatchObject({ intact: false, brokenAt: 3, mode: "full" });
  clock += 60_000;
  expect((await read(probe)).data).toMatchObject({ intact: false, brokenAt: 3, mode: "full" });
});

test("fullEveryMs 0 re-computes the whole chain at every reading; an empty log is intact", async () => {
  const probe = createAuditChainProbe({ fullEveryMs: 0 });
  expect((await read(probe)).data).toMatchObject({ intact: true, verified: 0, mode: "full" });
  await append(4);
  await read(probe);
  expect(await read(probe)).toMatchObject({ data: { verified: 4, mode: "full" }, listed: 4 });
});

test("COMPLIANCE_AUDIT_FULL_VERIFY_SECONDS: 3600 by default, 0-86400, named when bad", () => {
  expect(readComplianceSettings({}, "/tmp").auditFullVerifySeconds).toBe(3600);
  expect(() => readComplianceSettings({ COMPLIANCE_AUDIT_FULL_VERIFY_SECONDS: "-5" }, "/tmp")).toThrow(
    /^COMPLIANCE_AUDIT_FULL_VERIFY_SECONDS: must be an integer 0-86400/,
  );
});
