import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { ScimClient } from "../../../app/scim/client";
import { ScimResponseError } from "../../../app/scim/snapshot";
import { applySnapshot, runScimSync } from "../../../app/scim/sync";
import { defaultGroupRoles } from "../../../app/auth/settings";
import { freePort } from "../../../lib/net";
import { startScimServer, type RunningScimServer } from "../../../harness/scim-server";
import { seedPglite } from "../../../harness/pglite-template";

// Group → role sync against a real SCIM 2.0 service provider (scimmy): grants, revocations and
// renames after one run, pagination, server-side filters, ETags, and failed runs that change nothing.

const scimToken = "scim-api-token-for-tests-0123456789";
const syncToken = "sync-token-for-tests-0123456789abcdef";
const repo = resolve(__dirname, "..", "..", "..");

let dir: string;
let scim: RunningScimServer;
let service: BuiltService;
let client: ScimClient;
const options = { groupRoles: defaultGroupRoles };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-scim-"));
  await seedPglite(dir);
  scim = await startScimServer(await freePort(), scimToken);
  scim.addUser("u-alice", "alice");
  scim.addUser("u-bob", "bob");
  scim.addUser("u-carol", "carol", false); // deactivated in the IdP
  // Enough users for three pages of 100.
  for (let i = 0; i < 247; i++) scim.addUser(`u-filler-${i}`, `filler-${i}`);
  scim.addGroup("g-auditors", "auditors", []);
  scim.addGroup("g-operators", "operators", ["u-bob"]);
  scim.addGroup("g-marketing", "marketing", ["u-alice", "u-bob"]); // not in the mapping
  service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir, AUTHZ_ROLE_SOURCE: "directory", SCIM_SYNC_TOKEN: syncToken }), {
    logger: false,
  });
  client = new ScimClient({ endpoint: scim.endpoint, token: scimToken, pageSize: 100 });
}, 120_000);
afterAll(async () => {
  await service?.close();
  await scim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const bindings = async () =>
  (
    await service.context.db.query<{ subject: string; role: string; group_name: string }>(
      "select subject, role, group_name from role_bindings order by 1, 2",
    )
  ).rows;
const readAuditLog = async (subject: string) =>
  service.server.inject({
    url: "/api/compliance/audit",
    headers: { authorization: `Bearer ${await mintDevToken(dir, { subject, groups: [] })}`, "x-rfa": "SCIM test" },
  });

test("first run: pages through every user, fetches only mapped groups, grants their roles", async () => {
  const before = { ...scim.hits };
  const result = await runScimSync(service.context.db, service.context.audit, client, options);
  expect(result).toMatchObject({ granted: 1, revoked: 0, bindings: 1 });
  expect(await bindings()).toEqual([{ subject: "bob", role: "operator", group_name: "operators" }]);
  expect(scim.hits.users - before.users).toBe(3); // 250 users, 100 per page
  expect(scim.hits.groupReads - before.groupReads).toBe(2); // auditors + operators; marketing filtered out by the server
});

test("add a user to a group → after one run the role is granted (and audited)", async () => {
  expect((await readAuditLog("alice")).statusCode).toBe(403);
  const changedAt = Date.now();
  scim.setMembers("g-auditors", ["u-alice", "u-carol"]);
  const result = await runScimSync(service.context.db, service.context.audit, client, options);
  expect((await readAuditLog("alice")).statusCode).toBe(200);
  const propagationMs = Date.now() - changedAt;
  expect(result).toMatchObject({ granted: 1, revoked: 0 }); // carol is inactive: no role
  const log = await service.context.audit.list();
  expect(log.filter((e) => e.type === "scim.role.granted").map((e) => e.details?.subject)).toEqual(["bob", "alice"]);
  // The runbook's number: IdP change → role in force = wait for the next tick (≤ intervalMinutes) + this.
  console.log(`SCIM propagation after the tick: ${propagationMs} ms (one run: 250 users, 2 groups)`);
});

test("an unchanged directory: group members answered 304 via ETags, nothing changes", async () => {
  const before = { ...scim.hits };
  const result = await runScimSync(service.context.db, service.context.audit, client, options);
  expect(result).toMatchObject({ granted: 0, revoked: 0, bindings: 2 });
  expect(scim.hits.notModified - before.notModified).toBe(2);
});

test("remove the user from the group → after one run the role is revoked", async () => {
  scim.setMembers("g-auditors", []);
  const result = await runScimSync(service.context.db, service.context.audit, client, options);
  expect(result).toMatchObject({ granted: 0, revoked: 1 });
  expect((await readAuditLog("alice")).statusCode).toBe(403);
  expect((await service.context.audit.list()).at(-1)).toMatchObject({
    type: "scim.role.revoked",
    details: { subject: "alice", group: "auditors" },
  });
});

test("rename a group → the mapping follows the new name", async () => {
  scim.rename("g-operators", "platform-admins");
  let result = await runScimSync(service.context.db, service.context.audit, client, options);
  expect(result).toMatchObject({ granted: 1, revoked: 1, renamed: 1 });
  expect(await bindings()).toEqual([{ subject: "bob", role: "admin", group_name: "platform-admins" }]);
  expect((await service.context.audit.list()).some((e) => e.type === "scim.group.renamed" && e.details?.to === "platform-admins")).toBe(
    true,
  );
  scim.rename("g-operators", "former-admins"); // unmapped: the group drops out, and with it the role
  result = await runScimSync(service.context.db, service.context.audit, client, options);
  expect(result).toMatchObject({ granted: 0, revoked: 1 });
  expect(await bindings()).toEqual([]);
  scim.rename("g-operators", "operators");
  await runScimSync(service.context.db, service.context.audit, client, options);
  expect(await bindings()).toEqual([{ subject: "bob", role: "operator", group_name: "operators" }]);
});

describe("a failed run changes nothing", () => {
  afterEach(() => scim.corrupt(undefined));

  const malformed: Array<[string, (path: string, body: Record<string, unknown>) => Record<string, unknown>, RegExp]> = [
    [
      "a user without userName",
      (path, body) => {
        if (path === "/Users") delete (body.Resources as Array<Record<string, unknown>>)[1].userName;
        return body;
      },
      /GET \/Users\?.*: Resources\[1\]\.userName must be a non-empty string/,
    ],
    [
      "a ListResponse without totalResults",
      (path, body) => (path === "/Groups" ? { ...body, totalResults: undefined } : body),
      /GET \/Groups\?.*: totalResults must be/,
    ],
    [
      "a group member without value",
      (path, body) => (path.startsWith("/Groups/") ? { ...body, members: [{ type: "User" }] } : body),
      /GET \/Groups\/g-\w+\?.*: \(body\)\.members\[0\]\.value must be a non-empty string/,
    ],
    [
      "a user whose active is not a boolean",
      (path, body) => {
        if (path === "/Users") (body.Resources as Array<Record<string, unknown>>)[0].active = "yes";
        return body;
      },
      /Resources\[0\]\.active must be a boolean/,
    ],
  ];

  test.each(malformed)("%s → the run fails naming the field", async (_kind, corrupt, message) => {
    scim.setMembers("g-auditors", ["u-alice"]); // a change the failed run must not apply
    scim.corrupt(corrupt);
    const before = await bindings();
    const err = await runScimSync(service.context.db, service.context.audit, client, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScimResponseError);
    expect((err as Error).message).toMatch(message);
    expect(await bindings()).toEqual(before);
    expect((await service.context.audit.list()).at(-1)).toMatchObject({ type: "scim.sync.failed" });
    scim.setMembers("g-auditors", []);
  });

  test("a statement failing mid-transaction rolls back the bindings already written", async () => {
    const before = await bindings();
    const auditBefore = (await service.context.audit.list()).length;
    // Postgres text cannot hold NUL: the scim_users insert fails after role_bindings changed.
    const snapshot = {
      users: [
        { id: "u-alice", userName: "alice", active: true },
        { id: "u-nul\u0000", userName: "nul", active: true },
      ],
      groups: [{ id: "g-auditors", displayName: "auditors", members: ["u-alice"] }],
    };
    await expect(applySnapshot(service.context.db, service.context.audit, snapshot, options)).rejects.toThrow();
    expect(await bindings()).toEqual(before);
    expect((await service.context.audit.list()).length).toBe(auditBefore); // no event for a change that did not happen
  });
});

describe("the CronJob's command: scim:sync --push to POST /api/scim/sync", () => {
  let url: string;
  beforeAll(async () => {
    await service.server.listen({ port: 0, host: "127.0.0.1" });
    const address = service.server.server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/api/scim/sync`;
  });
  const run = (env: Record<string, string>, args: string[]) =>
    promisify(execFile)("node", ["-r", "./tools/register.js", "app/scim/cli.ts", ...args], {
      cwd: repo,
      env: { PATH: process.env.PATH, SCIM_ENDPOINT: scim.endpoint, SCIM_TOKEN: scimToken, SCIM_SYNC_TOKEN: syncToken, ...env },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  test("pushes the snapshot; the service grants the role, at once, even to a token it already verified", async () => {
    const token = await mintDevToken(dir, { subject: "alice", groups: [] });
    const asAlice = () =>
      service.server.inject({ url: "/api/compliance/audit", headers: { authorization: `Bearer ${token}`, "x-rfa": "SCIM test" } });
    expect((await asAlice()).statusCode).toBe(403); // verified and remembered without the role
    scim.setMembers("g-auditors", ["u-alice"]);
    const res = await run({}, ["--push", url]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, granted: 1, users: 250, groups: 2 });
    expect((await asAlice()).statusCode).toBe(200);
  }, 60_000);

  test("a wrong sync token → exit 1, 401 from the service; bad usage → exit 2", async () => {
    const res = await run({ SCIM_SYNC_TOKEN: "not-the-sync-token-not-the-sync-token" }, ["--push", url]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/answered 401/);
    const usage = await run({ SCIM_ENDPOINT: "http://idp.example/scim" }, ["--push", url]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/SCIM_ENDPOINT must be an https:\/\/ URL/);
  }, 60_000);

  test("a malformed snapshot pushed to the route → 422 naming the field, nothing changes", async () => {
    const before = await bindings();
    const res = await service.server.inject({
      method: "POST",
      url: "/api/scim/sync",
      headers: { authorization: `Bearer ${syncToken}` },
      payload: { users: [{ id: "u-x" }], groups: [] },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ field: "users[0].userName" });
    expect(await bindings()).toEqual(before);
  });
});
