import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { findBinary } from "../../../harness/binaries";
import { backupRecord, cleanVerdicts, drillRecord, hoursAgo, writeEvidence } from "../../../harness/evidence";
import { seedPglite } from "../../../harness/pglite-template";

const pdftoppm = findBinary("pdftoppm");

describe("compliance API behind the identity guards (dev issuer tokens, fastify inject)", () => {
  let dir: string;
  let service: BuiltService;
  let viewer: string;
  let noRole: string;
  const get = (url: string, token: string | null = viewer) =>
    service.server.inject({ method: "GET", url, headers: token ? { authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-compliance-api-"));
    await seedPglite(dir);
    writeEvidence(dir, {
      verdicts: {
        ...cleanVerdicts(),
        violations: [
          { rule: "app.rollout_gated", severity: "deny", stack: "app", resource: "kubernetes_manifest.rollout", message: "no analysis" },
        ],
      },
      backup: backupRecord(hoursAgo(2), "base_000000010000000000000002"),
      drill: drillRecord(hoursAgo(100 * 24), "pass"),
    });
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
    viewer = await mintDevToken(dir, { subject: "vera", groups: ["viewers"] });
    noRole = await mintDevToken(dir, { subject: "nobody", groups: ["contractors"] });
  }, 120_000);
  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("every compliance route needs a token (401) and a role (403)", async () => {
    for (const url of [
      "/api/compliance/controls",
      "/api/compliance/controls/transit-encryption",
      "/api/compliance/export?format=json",
      "/api/compliance/evidence/last-backup",
    ]) {
      const anonymous = await get(url, null);
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect((await get(url, "not-a-jwt")).statusCode).toBe(401);
      expect((await get(url, noRole)).statusCode).toBe(403);
    }
  });

  test("GET /api/compliance/controls lists every control with status derived from the files", async () => {
    const res = await get("/api/compliance/controls");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.total).toBe(8);
    const status = Object.fromEntries(body.controls.map((c: { id: string; status: string }) => [c.id, c.status]));
    expect(status).toMatchObject({
      "change-control": "fail",
      "configuration-baseline": "fail",
      "database-backup": "pass",
      "recovery-drill": "stale",
      "least-privilege": "pass",
      "transit-encryption": "unknown",
    });
    expect(body.summary.map((s: { framework: string }) => s.framework)).toEqual(["soc2", "iso27001", "nist80053"]);
  });

  test("filters by framework and status narrow the list", async () => {
    const failing = (await get("/api/compliance/controls?status=fail")).json();
    expect(failing.controls.map((c: { id: string }) => c.id).sort()).toEqual(["change-control", "configuration-baseline"]);
    expect(failing.filters).toEqual({ framework: null, status: "fail" });
    const nist = (await get("/api/compliance/controls?framework=nist80053&status=pass")).json();
    expect(nist.controls.map((c: { id: string }) => c.id).sort()).toEqual(["database-backup", "least-privilege"]);
  });

  test.each([
    ["/api/compliance/controls?framework=pci", 400, /^framework: must be one of soc2, iso27001, nist80053 \(got 'pci'\)$/],
    ["/api/compliance/controls?status=green", 400, /^status: must be one of pass, fail, stale, unknown \(got 'green'\)$/],
    ["/api/compliance/controls?status=pass&status=fail", 400, /^status: must be given once$/],
    ["/api/compliance/controls?sort=id", 400, /^sort: unknown query parameter \(allowed: framework, status\)$/],
    ["/api/compliance/controls/Transit_Encryption", 400, /^id: must be a lower-case control id/],
    ["/api/compliance/controls/no-such-control", 404, /^no control 'no-such-control' \(known: transit-encryption, /],
    ["/api/compliance/evidence/..%2Fetc", 400, /^source: must be a lower-case evidence source id/],
    ["/api/compliance/export", 400, /^format: is required \(one of json, pdf, oscal\)$/],
    ["/api/compliance/export?format=xml", 400, /^format: must be one of json, pdf, oscal \(got 'xml'\)$/],
  ])("%s → %i with a message naming the problem", async (url, code, message) => {
    const res = await get(url);
    expect(res.statusCode).toBe(code);
    expect(res.json().message).toMatch(message);
  });

  test("a control and an evidence item by id", async () => {
    const control = (await get("/api/compliance/controls/database-backup")).json().control;
    expect(control).toMatchObject({ id: "database-backup", status: "pass", frameworks: { nist80053: ["CP-9", "CP-9(1)"] } });
    const evidence = await get(control.evidence[1].href);
    expect(evidence.statusCode).toBe(200);
    expect(evidence.json()).toMatchObject({
      source: "last-backup",
      state: "available",
      data: { backup: { name: "base_000000010000000000000002" } },
    });
  });

  test("JSON export is the report, as an attachment, and is audited", async () => {
    const res = await get("/api/compliance/export?format=json");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-disposition"]).toMatch(/^attachment; filename="maestro-compliance-development-\d{8}\d{6}\.json"$/);
    const report = res.json();
    expect(report.version).toBe(1);
    expect(report.controls).toHaveLength(8);
    const audited = await service.context.audit.list();
    expect(audited.at(-1)).toMatchObject({ type: "compliance.export", actor: "vera", details: { format: "json" } });
  });

  test("OSCAL export is an assessment-results document with findings per NIST control", async () => {
    const res = await get("/api/compliance/export?format=oscal");
    expect(res.statusCode).toBe(200);
    const ar = res.json()["assessment-results"];
    expect(ar.metadata).toMatchObject({ "oscal-version": "1.1.2", version: "1" });
    expect(ar.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const result = ar.results[0];
    const included = result["reviewed-controls"]["control-selections"][0]["include-controls"].map(
      (c: { "control-id": string }) => c["control-id"],
    );
    expect(included).toEqual(expect.arrayContaining(["sc-8", "sc-8.1", "au-9", "au-9.4", "cp-9", "cp-10", "ac-2", "ac-6", "cm-5"]));
    const finding = (target: string) => result.findings.find((f: { target: { "target-id": string } }) => f.target["target-id"] === target);
    expect(finding("cm-5_smt").target.status).toEqual({ state: "not-satisfied", reason: "fail" });
    expect(finding("cp-9_smt").target.status).toEqual({ state: "satisfied", reason: "pass" });
    expect(finding("cp-10_smt").target).toMatchObject({
      status: { state: "not-satisfied", reason: "other" },
      remarks: expect.stringMatching(/^stale: /),
    });
    const observationIds = new Set(result.observations.map((o: { uuid: string }) => o.uuid));
    for (const f of result.findings)
      for (const r of f["related-observations"]) expect(observationIds.has(r["observation-uuid"])).toBe(true);
    // OSCAL arrays are never empty (minItems 1 in the schema).
    const emptyArrays: string[] = [];
    const walk = (v: unknown, path: string) => {
      if (Array.isArray(v)) {
        if (v.length === 0) emptyArrays.push(path);
        v.forEach((x, i) => walk(x, `${path}[${i}]`));
      } else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    };
    walk(ar, "assessment-results");
    expect(emptyArrays).toEqual([]);
  });

  (pdftoppm ? test : test.skip)("PDF export is a real PDF: a summary page and one page per control, page 1 renders", async () => {
    const res = await get("/api/compliance/export?format=pdf");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/pdf");
    const pdf = res.rawPayload;
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    const file = join(dir, "export.pdf");
    writeFileSync(file, pdf);
    const info = execFileSync("pdfinfo", [file], { encoding: "utf8" });
    expect(Number(/Pages:\s+(\d+)/.exec(info)![1])).toBeGreaterThanOrEqual(9);
    execFileSync(pdftoppm!, ["-png", "-r", "50", "-f", "1", "-singlefile", file, join(dir, "page")]);
    const png = require("node:fs").readFileSync(join(dir, "page.png"));
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const text = execFileSync("pdftotext", ["-f", "1", "-l", "2", file, "-"], { encoding: "utf8" });
    expect(text).toContain("Summary by framework");
    expect(text).toContain("NIST SP 800-53 Rev. 5");
    expect(text).toContain("transit-encryption");
  });
});
