import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embeddedSharedBuffers, migrate } from "../../app/db";
import { buildService, type BuiltService } from "../../app/server";
import { readServiceSettings, SettingsError } from "../../app/settings";

// PGlite's first start runs initdb in wasm: ~4 s on a quiet machine, far more on a loaded one.
const serviceStartBudgetMs = 120_000;

describe("compliance service on embedded PGlite", () => {
  let dir: string;
  let service: BuiltService;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-app-"));
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
  }, serviceStartBudgetMs);
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("health and readiness answer", async () => {
    expect((await service.server.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    expect((await service.server.inject({ url: "/readyz" })).json()).toMatchObject({ status: "ready" });
  });

  test("the embedded database starts with the small buffer pool, not Postgres' 128 MB default", async () => {
    const { rows } = await service.context.db.query<{ shared_buffers: string }>("show shared_buffers");
    expect(rows[0].shared_buffers).toBe(embeddedSharedBuffers);
  });

  test("no JSON-schema compiler is loaded: routes validate by hand, so Ajv never costs a start", async () => {
    await service.server.inject({ url: "/healthz" });
    expect(Object.keys(require.cache).filter((m) => /ajv-compiler|fast-json-stringify-compiler/.test(m))).toEqual([]);
  });

  test("migrations are recorded, in order, and a second run applies none", async () => {
    const { rows } = await service.context.db.query<{ name: string }>("select name from schema_migrations order by name");
    const names = rows.map((r) => r.name);
    expect(names[0]).toBe("001_base.sql");
    expect(names).toContain("010_audit_log.sql");
    expect([...names].sort()).toEqual(names);
    expect(await migrate(service.context.db)).toEqual([]);
  });

  test("concurrent appends form one chain, each linked to its predecessor", async () => {
    const before = (await service.context.audit.list()).length;
    const entries = await Promise.all(
      Array.from({ length: 10 }, (_, i) => service.context.audit.append({ type: "test.event", actor: "tester", details: { i } })),
    );
    expect(entries.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => before + i + 1));
    const stored = await service.context.audit.list();
    for (let i = 1; i < stored.length; i++) expect(stored[i].prevHash).toBe(stored[i - 1].hash);
    expect(stored.slice(before)).toEqual(entries);
  });
});

test("bad settings name the variable", () => {
  expect(() => readServiceSettings({ PORT: "http" })).toThrow(SettingsError);
  expect(() => readServiceSettings({ PORT: "http" })).toThrow(/^PORT: must be an integer 0-65535 \(got 'http'\)$/);
  expect(() => readServiceSettings({ DATABASE_URL: "mysql://x" })).toThrow(/^DATABASE_URL: must be a postgres:\/\/ URL$/);
  expect(() => readServiceSettings({ MAESTRO_ENVIRONMENT: "prod" })).toThrow(
    /^MAESTRO_ENVIRONMENT: must be development, staging or production/,
  );
});
