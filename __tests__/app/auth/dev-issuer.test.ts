import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings, SettingsError } from "../../../app/settings";
import { devIssuerKeyPath, mintDevToken } from "../../../app/auth/dev-issuer";
import { createAuthorizer, createTokenVerifier } from "../../../app/auth/authorizer";
import { readIdentitySettings } from "../../../app/auth/settings";
import { roles, type Role } from "../../../contracts/roles";
import { seedPglite } from "../../../harness/pglite-template";

// One service (PGlite boot is the slow part) serves every block in this file.
let dir: string;
let service: BuiltService;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-devissuer-"));
  await seedPglite(dir);
  service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir, RESTRICTED_LABELS: "audit-log,pii" }), { logger: false });
  const { authz } = service.context;
  // A resource that auditors and admins may read, once per label.
  service.server.get("/probe/audit-log", {
    preHandler: [authz.authenticate, authz.requireRole("auditor", "admin"), authz.requireReason("audit-log")],
    handler: async () => ({ ok: true }),
  });
  service.server.get("/probe/controls", {
    preHandler: [authz.authenticate, authz.requireRole("auditor", "admin"), authz.requireReason("controls")],
    handler: async () => ({ ok: true }),
  });
}, 120_000);
afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("development issuer (no OIDC_ISSUER configured)", () => {
  test("its key lives under MAESTRO_DATA_DIR, readable by the owner only", () => {
    expect(statSync(devIssuerKeyPath(dir)).mode & 0o777).toBe(0o600);
  });

  test("an auditor with a reason reads the audit log, and the reason is audited", async () => {
    const token = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
    const res = await service.server.inject({
      url: "/api/compliance/audit",
      headers: { authorization: `Bearer ${token}`, "x-rfa": "INC-42 quarterly review" },
    });
    expect(res.statusCode).toBe(200);
    const entries = (res.json() as { entries: Array<{ type: string; actor: string; reason?: string; resource?: string }> }).entries;
    expect(entries.at(-1)).toMatchObject({
      type: "access.reason",
      actor: "alice",
      reason: "INC-42 quarterly review",
      resource: "GET /api/compliance/audit",
    });
  });

  test("without x-rfa the auditor gets 403 saying a reason is required", async () => {
    const token = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
    const res = await service.server.inject({ url: "/api/compliance/audit", headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: "reason_required" });
    expect((res.json() as { message: string }).message).toMatch(/reason is required/);
  });

  test("a viewer gets 403 even with a reason; no token gets 401 with WWW-Authenticate", async () => {
    const token = await mintDevToken(dir, { subject: "bob", groups: ["viewers"] });
    const forbidden = await service.server.inject({
      url: "/api/compliance/audit",
      headers: { authorization: `Bearer ${token}`, "x-rfa": "curious" },
    });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ error: "forbidden" });
    const anonymous = await service.server.inject({ url: "/api/compliance/audit" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toBe('Bearer realm="maestro"');
  });
});

describe("role × label × reason (every combination)", () => {
  const tokens = new Map<Role, string>();
  beforeAll(async () => {
    const groupOf: Record<Role, string> = { viewer: "viewers", operator: "operators", auditor: "auditors", admin: "platform-admins" };
    for (const role of roles) tokens.set(role, await mintDevToken(dir, { subject: `${role}-user`, groups: [groupOf[role]] }));
  });

  const table = roles.flatMap((role) =>
    (["audit-log", "controls"] as const).flatMap((label) =>
      [true, false].map((withReason) => {
        const allowedRole = role === "auditor" || role === "admin";
        const restricted = label === "audit-log";
        const expected = !allowedRole ? "forbidden" : restricted && !withReason ? "reason_required" : "ok";
        return [role, label, withReason, expected] as const;
      }),
    ),
  );

  test.each(table)("%s on label %s, x-rfa %s → %s", async (role, label, withReason, expected) => {
    const before = (await service.context.audit.list()).length;
    const res = await service.server.inject({
      url: `/probe/${label}`,
      headers: { authorization: `Bearer ${tokens.get(role)}`, ...(withReason ? { "x-rfa": `ticket for ${role}` } : {}) },
    });
    const after = await service.context.audit.list();
    if (expected === "ok") {
      expect(res.statusCode).toBe(200);
    } else {
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: expected });
    }
    // Only a granted restricted access leaves an audit entry, carrying caller, resource and reason.
    if (expected === "ok" && label === "audit-log") {
      expect(after.length).toBe(before + 1);
      expect(after.at(-1)).toMatchObject({
        type: "access.reason",
        actor: `${role}-user`,
        resource: "GET /probe/audit-log",
        reason: `ticket for ${role}`,
      });
    } else {
      expect(after.length).toBe(before);
    }
  });

  test("a blank or oversized x-rfa counts as no reason / a bad one", async () => {
    const auth = { authorization: `Bearer ${tokens.get("auditor")}` };
    expect((await service.server.inject({ url: "/probe/audit-log", headers: { ...auth, "x-rfa": "   " } })).statusCode).toBe(403);
    expect((await service.server.inject({ url: "/probe/audit-log", headers: { ...auth, "x-rfa": "x".repeat(501) } })).statusCode).toBe(400);
  });
});

describe("production refuses the development issuer", () => {
  test("no OIDC_ISSUER in production: the service refuses to start, naming the variable", async () => {
    expect(() => readServiceSettings({ MAESTRO_ENVIRONMENT: "production" })).toThrow(SettingsError);
    expect(() => readServiceSettings({ MAESTRO_ENVIRONMENT: "production" })).toThrow(/^OIDC_ISSUER: is required in production/);
    const dir = mkdtempSync(join(tmpdir(), "maestro-prod-"));
    try {
      // Identity settings read for development (no issuer) handed to a production service: refused again at start.
      const settings = { ...readServiceSettings({ MAESTRO_DATA_DIR: dir }), environment: "production" as const };
      await expect(createAuthorizer(settings, undefined as never, undefined as never)).rejects.toThrow(/^OIDC_ISSUER: is required/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("production with a real issuer: a development token gets 401 before any IdP request", async () => {
    const identity = readIdentitySettings({ OIDC_ISSUER: "https://sso.maestro.example" }, "production");
    const verify = createTokenVerifier(identity, dir, service.context.db);
    const devToken = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
    await expect(verify(devToken)).rejects.toMatchObject({ code: "TOKEN_INVALID", message: expect.stringMatching(/unexpected "iss"/) });
  });

  test("http issuers are refused in production, even on loopback", () => {
    expect(() => readServiceSettings({ MAESTRO_ENVIRONMENT: "production", OIDC_ISSUER: "http://127.0.0.1:9999" })).toThrow(
      /^OIDC_ISSUER: must be an https:\/\/ URL/,
    );
  });
});
