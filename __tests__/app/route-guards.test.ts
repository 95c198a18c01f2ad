import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintDevToken } from "../../app/auth/dev-issuer";
import type { GuardInfo } from "../../app/auth/guards";
import { roles } from "../../contracts/roles";
import { buildService, type BuiltService } from "../../app/server";
import { readServiceSettings } from "../../app/settings";
import { seedPglite } from "../../harness/pglite-template";

// Every route the service registers, with the guards it must have. A route missing here, or
// with other guards than listed, fails this suite: a new route cannot ship without a decision.
const authn: GuardInfo = { kind: "authenticate" };
const anyRole: GuardInfo = { kind: "role", roles: [...roles] };
const auditors: GuardInfo = { kind: "role", roles: ["auditor", "admin"] };
const auditLogReason: GuardInfo = { kind: "reason", label: "audit-log" };

const table: Record<string, GuardInfo[]> = {
  "GET /healthz": [],
  "GET /readyz": [],
  "GET /healthz/audit-worm": [],
  "GET /healthz/policy": [],
  // The mesh admits only Prometheus' identity to /metrics (docs/mesh.md).
  "GET /metrics": [],
  "GET /api/compliance/controls": [authn, anyRole],
  "GET /api/compliance/controls/:id": [authn, anyRole],
  "GET /api/compliance/evidence/:source": [authn, anyRole],
  "GET /api/compliance/export": [authn, anyRole],
  "GET /api/compliance/audit": [authn, auditors, auditLogReason],
  "GET /api/compliance/export/signed": [authn, auditors, auditLogReason],
  "GET /api/compliance/export/key": [authn, auditors],
  "POST /api/scim/sync": [{ kind: "sync-token" }],
};
/** The ComplianceBoard's page and assets are public (they hold no data); nothing else outside /api is. */
const isUiRoute = (url: string) => url === "/" || url === "/index.html" || url.startsWith("/assets/");

describe("route guards: every registered route against the table", () => {
  let dir: string;
  let service: BuiltService;
  let nobody: string;
  let viewer: string;
  let auditor: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-guards-"));
    await seedPglite(dir);
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
    nobody = await mintDevToken(dir, { subject: "nobody", groups: [] });
    viewer = await mintDevToken(dir, { subject: "vera", groups: ["viewers"] });
    auditor = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // HEAD routes are Fastify's copies of GET routes, with the same hooks.
  const apiRoutes = () => service.routes.filter((r) => r.method !== "HEAD" && !isUiRoute(r.url));

  test("every route is in the table with exactly its guards, all of them before the body is read", () => {
    const registered = Object.fromEntries(apiRoutes().map((r) => [`${r.method} ${r.url}`, r.beforeBody]));
    expect(registered).toEqual(table);
    expect(service.routes.filter((r) => r.afterBody.length > 0)).toEqual([]);
    for (const head of service.routes.filter((r) => r.method === "HEAD")) {
      const get = service.routes.find((r) => r.method === "GET" && r.url === head.url);
      expect({ url: head.url, guards: head.beforeBody }).toEqual({ url: head.url, guards: get?.beforeBody });
    }
  });

  test("no route outside the table and the UI's files is registered", () => {
    const unknown = service.routes.filter((r) => !(`${r.method === "HEAD" ? "GET" : r.method} ${r.url}` in table) && !isUiRoute(r.url));
    expect(unknown).toEqual([]);
  });

  // The guards are checked by behaviour too, not only by their tags.
  const sample = (url: string) => url.replace(":id", "transit-encryption").replace(":source", "policy-verdicts");
  const inject = (method: string, url: string, headers: Record<string, string> = {}) =>
    service.server.inject({ method: method as "GET", url: sample(url), headers });

  test.each(Object.entries(table).filter(([, g]) => g.some((x) => x.kind === "authenticate")))(
    "%s answers 401 without a token and 403 to a caller without a role",
    async (route) => {
      const [method, url] = route.split(" ");
      const anonymous = await inject(method, url);
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json()).toMatchObject({ error: "unauthorized" });
      const roleless = await inject(method, url, { authorization: `Bearer ${nobody}` });
      expect(roleless.statusCode).toBe(403);
      expect(roleless.json()).toMatchObject({ error: "forbidden" });
    },
  );

  test.each(Object.entries(table).filter(([, g]) => g.some((x) => x.kind === "role" && !x.roles.includes("viewer"))))(
    "%s answers 403 to a viewer",
    async (route) => {
      const [method, url] = route.split(" ");
      expect((await inject(method, url, { authorization: `Bearer ${viewer}` })).statusCode).toBe(403);
    },
  );

  test.each(Object.entries(table).filter(([, g]) => g.some((x) => x.kind === "reason")))(
    "%s answers 403 reason_required to an auditor without x-rfa, 200 with one",
    async (route) => {
      const [method, url] = route.split(" ");
      const without = await inject(method, url, { authorization: `Bearer ${auditor}` });
      expect(without.statusCode).toBe(403);
      expect(without.json()).toMatchObject({ error: "reason_required", label: "audit-log" });
      expect((await inject(method, url, { authorization: `Bearer ${auditor}`, "x-rfa": "INC-7 route guard test" })).statusCode).toBe(200);
    },
  );

  test("POST /api/scim/sync answers 503 while no sync token is configured, whatever it is sent", async () => {
    const res = await inject("POST", "/api/scim/sync", { authorization: `Bearer ${auditor}`, "content-type": "application/json" });
    expect(res.statusCode).toBe(503);
  });
});
