import { GetObjectCommand, ListObjectVersionsCommand, type S3Client } from "@aws-sdk/client-s3";
import { describeWithService } from "../support/services";
import { postgresMissing } from "../../harness/postgres";
import { motoBinary, s3Client, s3TestEnv, startS3, stopS3, type RunningS3, createLockedBucket } from "../../harness/s3";
import { waitFor } from "../../lib/net";
import {
  auditedReadBurst,
  auditRows,
  chainBreak,
  isReady,
  startFleet,
  watchReadiness,
  type BurstResult,
  type Fleet,
} from "../../harness/replicas";

// The service as the app stack deploys it: two replicas of the real entry point on one Postgres 15,
// WORM copy on (moto's S3 with Object Lock). Each fault runs during a burst of audited reads, and
// every 200 is an acknowledged audit event that must be in the log exactly once afterwards.

const bucket = "maestro-fleet-audit";
const missing = postgresMissing ?? (motoBinary ? undefined : "moto_server (tools/install/tools.sh)");

/** The reasons of access.reason entries, with how many times each is in the log. */
async function reasonCounts(fleet: Fleet): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await fleet.pg.query<{ reason: string; n: string }>(
    "select reason, count(*) as n from audit_log where type = 'access.reason' group by reason",
  ))
    counts.set(r.reason, Number(r.n));
  return counts;
}

/** What every fault test asserts afterwards. */
async function expectNothingLost(fleet: Fleet, results: BurstResult[], options: { allowConnectionFailures?: boolean } = {}) {
  expect(fleet.unexpectedExits()).toEqual([]);
  const serverErrors = results.filter((r) => r.status >= 500);
  expect(serverErrors).toEqual([]);
  if (!options.allowConnectionFailures) expect(results.filter((r) => r.status === 0)).toEqual([]);
  const acknowledged = results.filter((r) => r.status === 200);
  expect(acknowledged.length).toBeGreaterThan(20);
  const counts = await reasonCounts(fleet);
  const notOnce = acknowledged.filter((r) => counts.get(r.reason) !== 1).map((r) => `${r.reason}: ${counts.get(r.reason) ?? 0}`);
  expect(notOnce).toEqual([]);
  // A request whose connection was cut may or may not have written its event, but never twice.
  const twice = [...counts].filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
  expect(chainBreak(await auditRows(fleet.pg))).toBeUndefined();
  return acknowledged.length;
}

describeWithService("the service as replicas on one Postgres: concurrency and faults", missing, () => {
  let fleet: Fleet;
  let s3: RunningS3;
  let client: S3Client;
  let token: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    Object.assign(process.env, s3TestEnv);
    s3 = await startS3();
    client = s3Client(s3.endpoint);
    await createLockedBucket(client, bucket);
    fleet = await startFleet({
      replicas: 2,
      env: {
        ...s3TestEnv,
        AUDIT_WORM_ENABLED: "true",
        AUDIT_WORM_BUCKET: bucket,
        AUDIT_RETENTION_DAYS: "1",
        AUDIT_S3_ENDPOINT: s3.endpoint,
        AUDIT_WORM_BATCH_MS: "100",
      },
    });
    token = await fleet.token({ subject: "auditor-1", groups: ["auditors"] });
  }, 300_000);
  afterAll(async () => {
    await fleet?.stop();
    client?.destroy();
    await stopS3(s3);
    process.env = saved;
  });

  test("60 parallel audited reads over 2 replicas all answer 200; ids and order come from Postgres, one unforked chain", async () => {
    let sent = 0;
    const results = await auditedReadBurst(fleet, token, { concurrency: 60, until: () => sent++ >= 60, label: "parallel" });
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(200));
    expect(new Set(results.map((r) => r.replica))).toEqual(new Set([0, 1]));
    await expectNothingLost(fleet, results);
  }, 120_000);

  test("Postgres restarted (pg_ctl -m fast) during a burst: no replica exits, readiness goes false and comes back, nothing lost", async () => {
    const readiness = watchReadiness(fleet);
    let done = false;
    const burst = auditedReadBurst(fleet, token, { concurrency: 8, until: () => done, label: "fast-restart" });
    await new Promise((r) => setTimeout(r, 1000));
    await fleet.pg.restartFast();
    await new Promise((r) => setTimeout(r, 1500));
    done = true;
    const results = await burst;
    await waitFor("both replicas ready", async () => (await isReady(fleet, 0)) && (await isReady(fleet, 1)), 30_000);
    const seen = await readiness.stop();
    expect(seen.map((s) => s.sawNotReady)).toEqual([true, true]);
    expect(seen.map((s) => s.last)).toEqual([true, true]);
    await expectNothingLost(fleet, results);
  }, 120_000);

  test("Postgres postmaster kill -9 during a burst: the replicas ride out crash recovery, nothing acknowledged is lost", async () => {
    const readiness = watchReadiness(fleet);
    let done = false;
    const burst = auditedReadBurst(fleet, token, { concurrency: 8, until: () => done, label: "kill-postmaster" });
    await new Promise((r) => setTimeout(r, 1000));
    await fleet.pg.crashAndRestart({ downMs: 1000 });
    await new Promise((r) => setTimeout(r, 1500));
    done = true;
    const results = await burst;
    await waitFor("both replicas ready", async () => (await isReady(fleet, 0)) && (await isReady(fleet, 1)), 30_000);
    const seen = await readiness.stop();
    expect(seen.map((s) => s.sawNotReady)).toEqual([true, true]);
    await expectNothingLost(fleet, results);
  }, 120_000);

  test("the database unreachable for 5 s during a burst: requests wait it out, readiness reports it, nothing lost", async () => {
    const readiness = watchReadiness(fleet);
    let done = false;
    const burst = auditedReadBurst(fleet, token, { concurrency: 8, until: () => done, label: "partition" });
    await new Promise((r) => setTimeout(r, 1000));
    const cutAt = performance.now();
    await fleet.proxy.unreachableFor(5000);
    await new Promise((r) => setTimeout(r, 1500));
    done = true;
    const results = await burst;
    await waitFor("both replicas ready", async () => (await isReady(fleet, 0)) && (await isReady(fleet, 1)), 30_000);
    const seen = await readiness.stop();
    expect(seen.map((s) => s.sawNotReady)).toEqual([true, true]);
    expect(seen.map((s) => s.last)).toEqual([true, true]);
    console.log(`partition burst: ${results.length} requests, slowest ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms`);
    // Requests in flight during the cut were held, not failed: some took the outage's length.
    expect(Math.max(...results.map((r) => r.ms))).toBeGreaterThan(3000);
    expect(performance.now() - cutAt).toBeGreaterThan(5000);
    await expectNothingLost(fleet, results);
  }, 120_000);

  test("one replica kill -9 during a burst: the other keeps answering, the restarted one rejoins the chain", async () => {
    let done = false;
    let down = false;
    const burst = auditedReadBurst(fleet, token, {
      concurrency: 8,
      until: () => done,
      label: "kill-replica",
      alive: (i) => !(down && i === 1),
    });
    await new Promise((r) => setTimeout(r, 1000));
    await fleet.killReplica(1);
    down = true;
    await new Promise((r) => setTimeout(r, 1000));
    await fleet.startReplica(1);
    down = false;
    await new Promise((r) => setTimeout(r, 1000));
    done = true;
    const results = await burst;
    const afterRestart = results.filter((r) => r.replica === 1 && r.status === 200);
    expect(afterRestart.length).toBeGreaterThan(0);
    await expectNothingLost(fleet, results, { allowConnectionFailures: true });
  }, 180_000);

  test("the WORM copy catches up: every entry of the log is in the Object Lock bucket", async () => {
    const total = (await auditRows(fleet.pg)).length;
    await waitFor(
      "WORM backlog drained",
      async () => {
        const res = await fetch(`${fleet.replica(0).base}/healthz/audit-worm`);
        const status = (await res.json()) as { pending: number; shippedThrough: number };
        return status.pending === 0 && status.shippedThrough >= total;
      },
      60_000,
      200,
    );
    const ids = new Set<number>();
    const versions = (await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: "audit/" }))).Versions ?? [];
    for (const v of versions) {
      const text = await (
        await client.send(new GetObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }))
      ).Body!.transformToString();
      for (const line of text.trim().split("\n")) ids.add((JSON.parse(line) as { id: number }).id);
    }
    const missingIds = Array.from({ length: total }, (_, i) => i + 1).filter((id) => !ids.has(id));
    expect(missingIds).toEqual([]);
    expect(fleet.unexpectedExits()).toEqual([]);
  }, 120_000);
});
