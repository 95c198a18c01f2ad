import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintDevToken } from "../../app/auth/dev-issuer";
import { buildService, type BuiltService } from "../../app/server";
import { readServiceSettings } from "../../app/settings";
import { seedPglite } from "../../harness/pglite-template";

// A real database failure under a real route: the client gets a generic body with a request id,
// the log gets the database's words under that id.

describe("error bodies: generic to the client, detailed in the log", () => {
  let dir: string;
  let service: BuiltService;
  let auditor: string;
  const logged: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-errors-"));
    await seedPglite(dir);
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir, LOG_LEVEL: "info" }), {
      logger: true,
      logStream: { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) },
    });
    auditor = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a client error names what was wrong, with the request id", async () => {
    const res = await service.server.inject({
      method: "POST",
      url: "/api/scim/sync",
      headers: { "content-type": "application/json" },
      payload: "{",
    });
    // No sync token configured: refused before the (bad) body is looked at.
    expect(res.statusCode).toBe(503);
    const missing = await service.server.inject({ url: "/api/nothing-here" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      error: "not_found",
      message: "no route GET /api/nothing-here",
      requestId: missing.headers["x-request-id"],
    });
  });

  test("a database error answers 500 with a request id and nothing of the database's text", async () => {
    await service.context.db.query("alter table audit_log rename to audit_log_gone");
    try {
      const res = await service.server.inject({
        url: "/api/compliance/audit",
        headers: { authorization: `Bearer ${auditor}`, "x-rfa": "INC-3 error body test" },
      });
      expect(res.statusCode).toBe(500);
      const requestId = res.headers["x-request-id"];
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.json()).toEqual({ error: "internal_error", message: "internal error; quote the request id to the operator", requestId });
      expect(res.body).not.toMatch(/audit_log|relation|does not exist/);
      const line = logged.find((l) => l.requestId === requestId && l.msg === "request failed");
      expect(JSON.stringify(line)).toMatch(/audit_log/);
    } finally {
      await service.context.db.query("alter table audit_log_gone rename to audit_log");
    }
  });

  test("/readyz says the database does not answer, not what it said (a refused connection, simulated by a failing ping)", async () => {
    const db = service.context.db;
    const ping = db.ping.bind(db);
    db.ping = (() =>
      Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:5432 password authentication failed for user "maestro"'))) as typeof db.ping;
    try {
      const res = await service.server.inject({ url: "/readyz" });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: "not-ready", error: "the database does not answer" });
    } finally {
      db.ping = ping;
    }
  });
});
