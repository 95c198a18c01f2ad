import { describeWithService } from "../support/services";
import { postgresMissing } from "../../harness/postgres";
import { waitFor } from "../../lib/net";
import { auditedReadBurst, auditRows, chainBreak, startFleet, type Fleet } from "../../harness/replicas";

// SCIM pushes land on one replica; requests are served by all of them. The receiving replica
// applies a revocation at once, the others once their cached principal expires
// (AUTHZ_CACHE_SECONDS), and every run has exactly one status.

const syncToken = "replica-sync-token-0123456789abcdef";
const cacheSeconds = 2;

const snapshot = (auditors: string[]) => ({
  users: [
    { id: "u-alice", userName: "alice", active: true },
    { id: "u-bob", userName: "bob", active: true },
  ],
  groups: [{ id: "g-auditors", displayName: "auditors", members: auditors }],
});

describeWithService("SCIM sync across replicas on one Postgres", postgresMissing, () => {
  let fleet: Fleet;
  let alice: string;
  let bob: string;

  const sync = async (replica: number, auditors: string[]) => {
    const res = await fetch(`${fleet.replica(replica).base}/api/scim/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${syncToken}`, "content-type": "application/json" },
      body: JSON.stringify(snapshot(auditors)),
    });
    return { status: res.status, body: (await res.json()) as { granted?: number; revoked?: number } };
  };
  const read = async (replica: number, token: string) =>
    (
      await fetch(`${fleet.replica(replica).base}/api/compliance/audit?fromId=1&toId=1`, {
        headers: { authorization: `Bearer ${token}`, "x-rfa": "SCIM replica test" },
      })
    ).status;

  beforeAll(async () => {
    fleet = await startFleet({
      replicas: 2,
      env: { SCIM_SYNC_TOKEN: syncToken, AUTHZ_ROLE_SOURCE: "directory", AUTHZ_CACHE_SECONDS: String(cacheSeconds) },
    });
    alice = await fleet.token({ subject: "alice", groups: [] });
    bob = await fleet.token({ subject: "bob", groups: [] });
  }, 300_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  test("a revocation pushed to replica 0 while replica 1 appends: 200, applied at once on 0, within AUTHZ_CACHE_SECONDS on 1", async () => {
    expect((await sync(0, ["u-alice", "u-bob"])).body).toMatchObject({ granted: 2, revoked: 0 });
    expect(await read(0, alice)).toBe(200);
    expect(await read(1, alice)).toBe(200); // replica 1 now caches alice as an auditor

    let done = false;
    const burst = auditedReadBurst(fleet, bob, { concurrency: 6, until: () => done, label: "scim-burst" });
    await new Promise((r) => setTimeout(r, 500));
    const revoke = await sync(0, ["u-bob"]);
    const revokedAt = performance.now();
    expect(revoke).toEqual({ status: 200, body: expect.objectContaining({ granted: 0, revoked: 1 }) });
    expect(await read(0, alice)).toBe(403);
    await waitFor("replica 1 to refuse alice", async () => (await read(1, alice)) === 403, (cacheSeconds + 2) * 1000, 50);
    const propagationMs = performance.now() - revokedAt;
    expect(propagationMs).toBeLessThanOrEqual((cacheSeconds + 1) * 1000);
    done = true;
    const results = await burst;
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    console.log(`revocation reached replica 1 after ${propagationMs.toFixed(0)} ms (AUTHZ_CACHE_SECONDS=${cacheSeconds})`);

    // One status per run, none failed; the revocation's audit event is in the log once; the outbox is empty.
    const runs = await fleet.pg.query<{ status: string; revoked: number }>("select status, revoked from scim_sync_runs order by id");
    expect(runs).toEqual([
      { status: "ok", revoked: 0 },
      { status: "ok", revoked: 1 },
    ]);
    const revoked = await fleet.pg.query<{ n: string }>(
      "select count(*) as n from audit_log where type = 'scim.role.revoked' and details->>'subject' = 'alice'",
    );
    expect(Number(revoked[0].n)).toBe(1);
    await waitFor("outbox drained", async () => (await fleet.pg.query("select 1 from identity_audit_outbox")).length === 0, 15_000);
    expect(chainBreak(await auditRows(fleet.pg))).toBeUndefined();
    expect(fleet.unexpectedExits()).toEqual([]);
  }, 120_000);

  test("an event left in the outbox (its replica died before draining) reaches the log once, drained by the survivors", async () => {
    // What a replica killed between its sync commit and its drain leaves behind.
    await fleet.pg.query("insert into identity_audit_outbox (event) values ($1)", [
      JSON.stringify({
        type: "scim.role.revoked",
        actor: "scim-sync",
        resource: "role:auditor",
        details: { subject: "carol", group: "auditors", groupId: "g-auditors" },
      }),
    ]);
    // Both replicas drain on their own timers; the delivery key keeps it to one entry.
    await waitFor("outbox drained", async () => (await fleet.pg.query("select 1 from identity_audit_outbox")).length === 0, 20_000, 100);
    const rows = await fleet.pg.query<{ n: string }>(
      "select count(*) as n from audit_log where type = 'scim.role.revoked' and details->>'subject' = 'carol'",
    );
    expect(Number(rows[0].n)).toBe(1);
    expect(chainBreak(await auditRows(fleet.pg))).toBeUndefined();
  }, 60_000);
});
