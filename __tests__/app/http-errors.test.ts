import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InjectOptions } from "fastify";
import { mintDevToken } from "../../app/auth/dev-issuer";
import { maxReasonLength } from "../../app/auth/authorizer";
import { buildService, type BuiltService } from "../../app/server";
import { readServiceSettings } from "../../app/settings";
import { seedPglite } from "../../harness/pglite-template";

// Every 4xx/5xx of the compliance routes, the guards, the SCIM sync route and the server's own
// handlers has the one body (app/http-errors.ts): { error: <snake_case kind>, message, requestId,
// ...details }, requestId being the answer's x-request-id. A real service on PGlite, through inject.

const syncToken = "s".repeat(40);

describe("one 4xx/5xx body: { error, message, requestId, ...details }", () => {
  let dir: string;
  let service: BuiltService;
  let auditor: string;
  let viewer: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-http-errors-"));
    await seedPglite(dir);
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir, SCIM_SYNC_TOKEN: syncToken }), { logger: false });
    auditor = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
    viewer = await mintDevToken(dir, { subject: "victor", groups: ["viewers"] });
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
  const audit = (query: string, reason = "INC-7 http error bodies") => ({
    url: `/api/compliance/audit${query}`,
    headers: as(auditor, { "x-rfa": reason }),
  });
  const cases: Array<[string, () => InjectOptions, number, string, Record<string, unknown>?]> = [
    [
      "an unknown query parameter",
      () => ({ url: "/api/compliance/controls?bogus=1", headers: as(viewer) }),
      400,
      "bad_request",
      { parameter: "bogus" },
    ],
    [
      "a parameter given twice",
      () => ({ url: "/api/compliance/controls?status=pass&status=fail", headers: as(viewer) }),
      400,
      "bad_request",
      { parameter: "status" },
    ],
    [
      "an unknown framework",
      () => ({ url: "/api/compliance/controls?framework=nope", headers: as(viewer) }),
      400,
      "bad_request",
      { parameter: "framework" },
    ],
    [
      "an unknown status",
      () => ({ url: "/api/compliance/controls?status=nope", headers: as(viewer) }),
      400,
      "bad_request",
      { parameter: "status" },
    ],
    [
      "a malformed control id",
      () => ({ url: "/api/compliance/controls/Not_An_Id", headers: as(viewer) }),
      400,
      "bad_request",
      { parameter: "id" },
    ],
    [
      "a malformed evidence source",
      () => ({ url: "/api/compliance/evidence/Bad_Source", headers: as(viewer) }),
      400,
      "bad_request",
      { parameter: "source" },
    ],
    [
      "an export without format",
      () => ({ url: "/api/compliance/export", headers: as(viewer) }),
      400,
      "bad_request",
      { parameter: "format" },
    ],
    [
      "an unknown export format",
      () => ({ url: "/api/compliance/export?format=xml", headers: as(viewer) }),
      400,
      "bad_request",
      { parameter: "format" },
    ],
    ["an audit range out of bounds", () => audit("?limit=0"), 400, "bad_request", { parameter: "limit" }],
    ["an audit id that is not a number", () => audit("?fromId=x"), 400, "bad_request", { parameter: "fromId" }],
    ["a reason too long", () => audit("", "x".repeat(maxReasonLength + 1)), 400, "reason_invalid", { label: "audit-log" }],
    ["a reason with a control character", () => audit("", "INC-7\u0007 bell"), 400, "reason_invalid", { label: "audit-log" }],
    [
      "a sync body that is not JSON",
      () => ({ method: "POST", url: "/api/scim/sync", headers: as(syncToken, { "content-type": "application/json" }), payload: "{" }),
      400,
      "bad_request",
      { code: "FST_ERR_CTP_INVALID_JSON_BODY" },
    ],
    ["no bearer token", () => ({ url: "/api/compliance/controls" }), 401, "unauthorized"],
    ["a token that does not verify", () => ({ url: "/api/compliance/controls", headers: as("not.a.token") }), 401, "unauthorized"],
    ["a wrong sync token", () => ({ method: "POST", url: "/api/scim/sync", headers: as("wrong"), payload: {} }), 401, "unauthorized"],
    [
      "a role that may not read the log",
      () => ({ url: "/api/compliance/audit", headers: as(viewer, { "x-rfa": "INC-7 look" }) }),
      403,
      "forbidden",
      { required: ["auditor", "admin"] },
    ],
    [
      "no reason for a restricted read",
      () => ({ url: "/api/compliance/audit", headers: as(auditor) }),
      403,
      "reason_required",
      { label: "audit-log" },
    ],
    ["an unknown control", () => ({ url: "/api/compliance/controls/no-such-control", headers: as(viewer) }), 404, "not_found"],
    ["no such route", () => ({ url: "/api/nothing-here" }), 404, "not_found"],
    [
      "a malformed snapshot",
      () => ({ method: "POST", url: "/api/scim/sync", headers: as(syncToken), payload: { users: [{ id: "u-x" }], groups: [] } }),
      422,
      "snapshot_invalid",
      { code: "SCIM_RESPONSE_MALFORMED", field: "users[0].userName" },
    ],
  ];

  test.each(cases)("%s", async (_name, request, status, error, details = {}) => {
    const res = await service.server.inject(request());
    expect(res.statusCode).toBe(status);
    const requestId = res.headers["x-request-id"];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const body = res.json<Record<string, unknown>>();
    expect(body).toEqual({ error, message: expect.any(String), requestId, ...details });
    expect(body.message).not.toBe("");
  });

  test("no error body is written by hand in these modules: each goes through sendError", () => {
    const modules = [
      "app/routes/compliance.ts",
      "app/routes/compliance-audit.ts",
      "app/auth/authorizer.ts",
      "app/scim/routes.ts",
      "app/server.ts",
    ];
    const root = join(__dirname, "..", "..");
    for (const file of modules) {
      // /readyz answers the probe with its own { status, error } body; it is not a request error.
      const source = readFileSync(join(root, file), "utf8").replace('reply.code(503).send({ status: "not-ready"', "");
      expect([file, source.match(/\.code\([45]\d\d\)/g)]).toEqual([file, null]);
    }
  });
});
