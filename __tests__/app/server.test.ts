import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildService, type BuiltService } from "../../app/server";
import { readServiceSettings, SettingsError } from "../../app/settings";

describe("compliance service skeleton on embedded PGlite", () => {
  let dir: string;
  let service: BuiltService;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-app-"));
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
  });
  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("health and readiness answer", async () => {
    expect((await service.server.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    expect((await service.server.inject({ url: "/readyz" })).json()).toEqual({ status: "ready" });
  });

  test("migrations are recorded and run once", async () => {
    const { rows } = await service.context.db.query<{ name: string }>("select name from schema_migrations order by name");
    expect(rows.map((r) => r.name)).toContain("001_base.sql");
  });
});

test("bad settings name the variable", () => {
  expect(() => readServiceSettings({ PORT: "http" })).toThrow(SettingsError);
  expect(() => readServiceSettings({ PORT: "http" })).toThrow(/^PORT: must be an integer 0-65535 \(got 'http'\)$/);
  expect(() => readServiceSettings({ DATABASE_URL: "mysql://x" })).toThrow(/^DATABASE_URL: must be a postgres:\/\/ URL$/);
});

describe("audit log chain", () => {
  let dir: string;
  let service: BuiltService;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-audit-"));
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
  });
  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("concurrent appends form one chain, each linked to its predecessor", async () => {
    const entries = await Promise.all(
      Array.from({ length: 10 }, (_, i) => service.context.audit.append({ type: "test.event", actor: "tester", details: { i } })),
    );
    expect(entries.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const stored = await service.context.audit.list();
    for (let i = 1; i < stored.length; i++) expect(stored[i].prevHash).toBe(stored[i - 1].hash);
    expect(stored).toEqual(entries);
  });
});
