import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuditLog } from "../../../app/audit/log";
import { migrate, openDb, type Db } from "../../../app/db";
import { buildComplianceReport, createComplianceEngine, type ComplianceEngine } from "../../../app/compliance/report";
import { controlCatalogue } from "../../../app/compliance/catalogue";
import { readComplianceSettings } from "../../../app/compliance/settings";
import type { ControlResult, Evidence } from "../../../app/compliance/types";
import { SettingsError } from "../../../app/settings";
import { recordsFolder } from "../../../contracts/records";
import { backupRecord, cleanVerdicts, drillRecord, hoursAgo, writeEvidence } from "../../../harness/evidence";
import { seedPglite } from "../../../harness/pglite-template";

describe("control status is derived from evidence", () => {
  let dir: string;
  let db: Db;
  const engine = (env: NodeJS.ProcessEnv = {}): ComplianceEngine => {
    const audit = createAuditLog(db);
    return createComplianceEngine({ settings: readComplianceSettings({ COMPLIANCE_EVIDENCE_TTL_SECONDS: "0", ...env }, dir), db, audit });
  };
  const report = async (e: ComplianceEngine) => buildComplianceReport({ compliance: e, settings: { environment: "development" } });
  const control = (controls: ControlResult[], id: string) => controls.find((c) => c.id === id)!;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-compliance-"));
    await seedPglite(dir);
    db = await openDb({ dataDir: dir });
    await migrate(db);
  }, 120_000);
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const sub of ["release", recordsFolder]) rmSync(join(dir, sub), { recursive: true, force: true });
  });

  test("every control maps to SOC 2, ISO 27001 and NIST 800-53, with the runbook's anchors", () => {
    for (const c of controlCatalogue) {
      expect(c.frameworks.soc2.length).toBeGreaterThan(0);
      expect(c.frameworks.iso27001.length).toBeGreaterThan(0);
      expect(c.frameworks.nist80053.length).toBeGreaterThan(0);
      expect(c.evidence.length).toBeGreaterThan(0);
    }
    const byNist = (id: string) => controlCatalogue.filter((c) => c.frameworks.nist80053.includes(id)).map((c) => c.id);
    expect(byNist("SC-8")).toEqual(["transit-encryption"]);
    expect(byNist("AU-9")).toEqual(["audit-log-integrity"]);
    expect(byNist("CP-9")).toEqual(["database-backup"]);
    expect(byNist("CP-10")).toEqual(["recovery-drill"]);
    expect(byNist("AC-2")).toEqual(["account-management"]);
    expect(byNist("AC-6")).toEqual(["least-privilege"]);
    expect(byNist("CM-5")).toEqual(["change-control"]);
    expect(new Set(controlCatalogue.map((c) => c.id)).size).toBe(controlCatalogue.length);
  });

  test("with no evidence sources at all, no control passes: all are unknown", async () => {
    const r = await report(engine());
    expect(r.controls.map((c) => c.status)).toEqual(r.controls.map(() => "unknown"));
    expect(control(r.controls, "configuration-baseline").reason).toMatch(
      /policy-verdicts is missing: no verdicts file at .*policy-verdicts\.json/,
    );
    expect(r.summary.find((s) => s.framework === "nist80053")).toMatchObject({ total: 8, pass: 0, unknown: 8 });
  });

  test("clean verdicts pass the policy-only controls; a fresh backup and drill pass theirs", async () => {
    writeEvidence(dir, {
      verdicts: cleanVerdicts(hoursAgo(1)),
      backup: backupRecord(hoursAgo(3), "base_000000010000000000000007"),
      drill: drillRecord(hoursAgo(24 * 10), "pass"),
    });
    const r = await report(engine());
    expect(control(r.controls, "configuration-baseline")).toMatchObject({
      status: "pass",
      reason: "no blocking policy violation in any stack",
    });
    expect(control(r.controls, "least-privilege").status).toBe("pass");
    expect(control(r.controls, "database-backup")).toMatchObject({ status: "pass" });
    expect(control(r.controls, "recovery-drill")).toMatchObject({
      status: "pass",
      reason: expect.stringMatching(/^last drill passed at /),
    });
    // SC-8 needs live mTLS evidence too; without PROMETHEUS_URL it stays unknown.
    expect(control(r.controls, "transit-encryption")).toMatchObject({
      status: "unknown",
      reason: expect.stringMatching(/PROMETHEUS_URL is not set/),
    });
    const evidence = control(r.controls, "database-backup").evidence.find((e) => e.source === "last-backup")!;
    expect(evidence.ageSeconds).toBeGreaterThanOrEqual(3 * 3600 - 5);
    expect(evidence.href).toBe("/api/compliance/evidence/last-backup");
  });

  test("a blocking violation fails the controls whose stacks it is in, and only those", async () => {
    writeEvidence(dir, {
      verdicts: {
        violations: [
          {
            rule: "mesh.peer_authentication_strict",
            severity: "deny",
            stack: "mesh",
            resource: "kubernetes_manifest.peer-auth",
            message: "mode is PERMISSIVE",
          },
          { rule: "backup.bucket_versioning", severity: "warn", stack: "backup", resource: "aws_s3_bucket.backups", message: "advisory" },
        ],
        passed: 40,
        generatedAt: new Date().toISOString(),
      },
    });
    const r = await report(engine());
    expect(control(r.controls, "transit-encryption")).toMatchObject({
      status: "fail",
      reason:
        "1 blocking violation(s) in stacks mesh, first: mesh.peer_authentication_strict at kubernetes_manifest.peer-auth: mode is PERMISSIVE",
    });
    expect(control(r.controls, "configuration-baseline").status).toBe("fail");
    // warn is advisory: the backup control is not failed by it (it is unknown for lack of a backup record).
    expect(control(r.controls, "database-backup").evidence[0].status).toBe("pass");
  });

  test("stale evidence is not a pass: old verdicts (file time) make controls stale", async () => {
    writeEvidence(dir, { verdicts: { violations: [], passed: 3 }, verdictsMtime: hoursAgo(24 * 45) });
    const r = await report(engine());
    expect(control(r.controls, "configuration-baseline")).toMatchObject({
      status: "stale",
      reason: expect.stringMatching(/is \d+ s old \(limit 2592000 s\)/),
    });
    expect(r.summary.every((s) => s.pass === 0)).toBe(true);
  });

  test("a failed backup fails CP-9 and an old one is stale; a failed drill fails CP-10 and an old one is stale", async () => {
    writeEvidence(dir, {
      verdicts: cleanVerdicts(),
      backup: backupRecord(hoursAgo(1), "base_x", { result: "fail", failure: "wal-g backup-push failed", backup: null }),
      drill: drillRecord(hoursAgo(2), "fail"),
    });
    let r = await report(engine());
    expect(control(r.controls, "database-backup")).toMatchObject({
      status: "fail",
      reason: expect.stringMatching(/^last base backup failed at .*: wal-g backup-push failed$/),
    });
    writeEvidence(dir, { backup: backupRecord(hoursAgo(30), "base_old") });
    r = await report(engine());
    expect(control(r.controls, "database-backup")).toMatchObject({
      status: "stale",
      reason: "last-backup is 108000 s old (limit 93600 s): last base backup base_old is 30 h old",
    });
    expect(control(r.controls, "recovery-drill")).toMatchObject({
      status: "fail",
      reason: expect.stringMatching(/failed at .*: verify-sql \(row count mismatch => f\)$/),
    });
    writeEvidence(dir, { drill: drillRecord(hoursAgo(24 * 100), "pass") });
    r = await report(engine());
    expect(control(r.controls, "recovery-drill").status).toBe("stale");
  });

  test("malformed evidence is an error reading, named with its field, and the control is unknown", async () => {
    writeEvidence(dir, { verdicts: { violations: [{ rule: "x" }], passed: 1 }, drill: "{not json" });
    const e = engine();
    const evidence = await e.collectEvidence();
    expect(evidence.get("policy-verdicts")).toMatchObject({ state: "error", summary: expect.stringMatching(/violations\[0\]\.severity/) });
    expect(evidence.get("last-drill")).toMatchObject({ state: "error", summary: expect.stringMatching(/is not JSON/) });
    const r = await report(e);
    expect(control(r.controls, "recovery-drill").status).toBe("unknown");
  });

  test("the audit chain probe verifies the real log and finds a tampered entry", async () => {
    const audit = createAuditLog(db);
    for (let i = 0; i < 3; i++) await audit.append({ type: "test.event", actor: "tester", details: { i } });
    let evidence = await engine().collectEvidence();
    expect(evidence.get("audit-chain")).toMatchObject({ state: "available", data: { intact: true, verified: 3 } });
    // As the owner, who must first switch off the append-only triggers (migration 013).
    await db.query("alter table audit_log disable trigger user");
    await db.query("update audit_log set actor = 'mallory' where id = 2");
    await db.query("alter table audit_log enable trigger user");
    evidence = await engine().collectEvidence();
    expect(evidence.get("audit-chain")).toMatchObject({
      data: { intact: false, brokenAt: 2 },
      summary: "chain broken at entry 2 (1 entries verified before it)",
    });
  });

  test("another area's probe replaces the stand-in: a WORM backlog probe decides its requirement", async () => {
    writeEvidence(dir, { verdicts: cleanVerdicts() });
    const e = engine();
    const worm = (pending: number, oldestMinutes: number) => ({
      source: "worm-backlog",
      title: "test WORM sink",
      collect: async (): Promise<Evidence> => ({
        source: "worm-backlog",
        origin: "test sink",
        state: "available",
        observedAt: new Date().toISOString(),
        collectedAt: new Date().toISOString(),
        summary: `${pending} pending`,
        data: { pending, oldestPendingAt: hoursAgo(oldestMinutes / 60).toISOString() },
      }),
    });
    e.registerEvidenceProbe(worm(4, 30));
    let result = control((await report(e)).controls, "audit-log-integrity").evidence.find((x) => x.source === "worm-backlog")!;
    expect(result).toMatchObject({ status: "fail", reason: expect.stringMatching(/^4 event\(s\) waiting, the oldest for 1800 s/) });
    e.registerEvidenceProbe(worm(0, 0));
    result = control((await report(e)).controls, "audit-log-integrity").evidence.find((x) => x.source === "worm-backlog")!;
    expect(result.status).toBe("pass");
  });

  test("evidence is collected once per TTL and shared by concurrent callers", async () => {
    let calls = 0;
    const e = createComplianceEngine({
      settings: readComplianceSettings({ COMPLIANCE_EVIDENCE_TTL_SECONDS: "60" }, dir),
      db,
      audit: createAuditLog(db),
    });
    e.registerEvidenceProbe({
      source: "counter",
      title: "counts collections",
      collect: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        return { source: "counter", origin: "test", state: "missing", collectedAt: new Date().toISOString(), summary: "" };
      },
    });
    await Promise.all([e.collectEvidence(), e.collectEvidence(), e.collectEvidence()]);
    await e.collectEvidence();
    expect(calls).toBe(1);
    await e.collectEvidence({ fresh: true });
    expect(calls).toBe(2);
  });

  test("between one and two TTLs the last reading is served at once while a new one is taken; after two, callers wait", async () => {
    let clock = Date.parse("2026-11-28T12:00:00Z");
    let release: (() => void) | undefined;
    let collected = 0;
    const e = createComplianceEngine({
      settings: readComplianceSettings({ COMPLIANCE_EVIDENCE_TTL_SECONDS: "15" }, dir),
      db,
      audit: createAuditLog(db),
      now: () => new Date(clock),
    });
    e.registerEvidenceProbe({
      source: "counter",
      title: "a slow probe that reports which collection this is",
      collect: async () => {
        const n = ++collected;
        if (n > 1) await new Promise<void>((r) => (release = r));
        return { source: "counter", origin: "test", state: "missing", collectedAt: new Date(clock).toISOString(), summary: `reading ${n}` };
      },
    });
    const summary = async () => (await e.collectEvidence()).get("counter")!.summary;
    expect(await summary()).toBe("reading 1");
    clock += 20_000; // past one TTL: the old reading, at once, and a collection under way
    expect(await summary()).toBe("reading 1");
    expect(collected).toBe(2);
    release!();
    // The other probes read files and the database; the new reading lands when they are done.
    for (let i = 0; i < 200 && (await summary()) !== "reading 2"; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await summary()).toBe("reading 2");
    expect(collected).toBe(2);
    clock += 31_000; // past two TTLs: the caller waits for the new reading
    let answered = false;
    const waiting = summary().then((s) => ((answered = true), s));
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    release!();
    expect(await waiting).toBe("reading 3");
  });
});

test("bad compliance settings name the variable", () => {
  expect(() => readComplianceSettings({ PROMETHEUS_URL: "prom:9090" }, "/tmp")).toThrow(SettingsError);
  expect(() => readComplianceSettings({ PROMETHEUS_URL: "prom:9090" }, "/tmp")).toThrow(/^PROMETHEUS_URL: must be an http\(s\):\/\/ URL/);
  expect(() => readComplianceSettings({ COMPLIANCE_EVIDENCE_TTL_SECONDS: "-1" }, "/tmp")).toThrow(
    /^COMPLIANCE_EVIDENCE_TTL_SECONDS: must be an integer 0-3600/,
  );
  expect(() => readComplianceSettings({ POD_NAMESPACE: "Bad_NS" }, "/tmp")).toThrow(/^POD_NAMESPACE: must be a DNS-1123 label/);
});
