import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings, SettingsError } from "../../../app/settings";
import { jsonLine, retainUntil } from "../../../app/audit/worm";
import type { WormHealth } from "../../../app/audit/worm";
import { describeWithService } from "../../support/services";
import { findBinary } from "../../../harness/binaries";
import { createLockedBucket, s3Client, s3TestEnv, type RunningS3 } from "../../../harness/s3";
import { objectLockServers, stopObjectLockServer } from "../../../harness/versitygw";
import { waitFor } from "../../../lib/net";
import { seedPglite } from "../../../harness/pglite-template";

const bucket = "maestro-test-audit";

// Against both S3 servers: moto, and versitygw, which enforces the Object Lock rules moto does not.
for (const server of objectLockServers)
  describeWithService(`WORM sink: audit events to an Object Lock bucket (${server.name})`, server.missing, () => {
    let s3: RunningS3;
    let client: S3Client;
    let dir: string;
    let service: BuiltService;
    const saved = { ...process.env };
    const status = async () => (await service.server.inject({ url: "/healthz/audit-worm" })).json() as WormHealth;
    const objects = async () => (await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: "audit/" }))).Versions ?? [];
    const shippedIds = async () => {
      const ids: number[] = [];
      for (const v of await objects()) {
        const text = await (
          await client.send(new GetObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }))
        ).Body!.transformToString();
        for (const line of text.trim().split("\n")) ids.push((JSON.parse(line) as { id: number }).id);
      }
      return [...new Set(ids)].sort((a, b) => a - b);
    };

    beforeAll(async () => {
      Object.assign(process.env, s3TestEnv);
      s3 = await server.start();
      client = s3Client(s3.endpoint);
      await createLockedBucket(client, bucket);
      dir = mkdtempSync(join(tmpdir(), "maestro-worm-"));
      await seedPglite(dir);
      const settings = readServiceSettings({
        MAESTRO_DATA_DIR: dir,
        AUDIT_WORM_ENABLED: "true",
        AUDIT_WORM_BUCKET: bucket,
        AUDIT_RETENTION_DAYS: "7",
        AUDIT_S3_ENDPOINT: s3.endpoint,
        AUDIT_WORM_BATCH_MS: "50",
        ...s3TestEnv,
      });
      service = await buildService(settings, { logger: false });
    }, 120_000);
    afterAll(async () => {
      await service?.close();
      client?.destroy();
      await stopObjectLockServer(s3);
      rmSync(dir, { recursive: true, force: true });
      process.env = saved;
    });

    test("appended events reach the bucket in sealed batches with COMPLIANCE retention of AUDIT_RETENTION_DAYS", async () => {
      const appended = new Date();
      for (let i = 0; i < 12; i++) await service.context.audit.append({ type: "auth.login", actor: `u${i}` });
      await waitFor("backlog to drain", async () => (await status()).pending === 0, 30_000);
      expect(await shippedIds()).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      const [first] = await objects();
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: first.Key, VersionId: first.VersionId }));
      expect(head.ObjectLockMode).toBe("COMPLIANCE");
      // Bounded by the clock before the appends and after the head, so a run across midnight UTC holds.
      expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThanOrEqual(retainUntil(appended, 7).getTime());
      expect(head.ObjectLockRetainUntilDate!.getTime()).toBeLessThanOrEqual(retainUntil(new Date(), 7).getTime());
      // The written record cannot be removed.
      const del = client.send(new DeleteObjectCommand({ Bucket: bucket, Key: first.Key, VersionId: first.VersionId }));
      await expect(del).rejects.toMatchObject({ Code: "AccessDenied" });
    });

    test("with S3 down, events queue durably and health reports the backlog; when it is back, the backlog drains", async () => {
      await s3.stop();
      for (let i = 0; i < 5; i++) await service.context.audit.append({ type: "policy.bundle.refused", actor: "system", details: { i } });
      await waitFor("a failed write", async () => (await status()).failing, 30_000);
      const down = await service.server.inject({ url: "/healthz/audit-worm" });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ failing: true, pending: 5, shippedThrough: 12 });
      // Unauthenticated health says neither the bucket nor what S3 (or the SDK) answered.
      expect(Object.keys(down.json()).sort()).toEqual([
        "enabled",
        "failing",
        "lastErrorAt",
        "oldestPendingAt",
        "pending",
        "shippedThrough",
      ]);
      expect(down.body).not.toContain(bucket);
      const evidence = await service.context.compliance.collectEvidence({ fresh: true });
      expect(evidence.get("worm-backlog")).toMatchObject({ state: "available", data: { pending: 5, lastError: expect.any(String) } });

      // moto keeps buckets in memory: the restarted server is empty, so the bucket is made again,
      // Object Lock enabled at creation. No default-retention rule this time: the sink may write the
      // moment the bucket exists, moto refuses a lock configuration on a non-empty bucket, and the
      // sink sets each object's COMPLIANCE retention itself. versitygw's buckets are files: the
      // bucket and the first 12 entries are still there.
      await s3.start();
      if (!server.keepsBucketsOnRestart) await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
      await waitFor("backlog to drain after S3 returns", async () => (await status()).pending === 0, 60_000);
      expect(await shippedIds()).toEqual(server.keepsBucketsOnRestart ? Array.from({ length: 17 }, (_, i) => i + 1) : [13, 14, 15, 16, 17]);
      expect((await status()).failing).toBe(false);
      for (const v of (await objects()).filter((o) => o.IsLatest)) {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }));
        expect(head.ObjectLockMode).toBe("COMPLIANCE");
      }
    }, 120_000);

    test("an entry whose actor and details hold NEL, LS and PS is one line of its object for Python's splitlines", async () => {
      const entry = await service.context.audit.append({ type: "auth.login", actor: "eve\u0085x", details: { note: "a\u2028b\u2029c" } });
      await waitFor("backlog to drain", async () => (await status()).pending === 0, 30_000);
      const latest = (await objects()).filter((o) => o.IsLatest && o.Key!.endsWith(`${String(entry.id).padStart(12, "0")}.jsonl`));
      expect(latest).toHaveLength(1);
      const text = await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: latest[0].Key }))).Body!.transformToString();
      const records = pythonRecords(text) as Array<{ id: number; actor: string; hash: string }>;
      expect(records.at(-1)).toMatchObject({ id: entry.id, actor: "eve\u0085x", hash: entry.hash });
      expect(records).toHaveLength(text.trim().split("\n").length);
    });
  });

const python = findBinary("python3");

/** How many records Python's str.splitlines() (every Unicode line break) sees in a JSON Lines text, each parsed. */
function pythonRecords(text: string): unknown[] {
  const script = "import sys, json; print(json.dumps([json.loads(l) for l in sys.stdin.read().splitlines()]))";
  return JSON.parse(execFileSync(python!, ["-c", script], { input: text, stdio: "pipe" }).toString("utf8")) as unknown[];
}

describeWithService("WORM record framing read by Python", python ? undefined : "python3", () => {
  test("one WORM record per line for every reader: NEL, LS and PS inside values are escaped, the value is unchanged", () => {
    const entries = [
      { id: 1, actor: "eve\u0085forged: approved", details: { note: "a\u2028b\u2029c" } },
      { id: 2, actor: "plain", details: {} },
    ];
    const text = entries.map(jsonLine).join("\n") + "\n";
    expect(text).not.toMatch(/[\u0085\u2028\u2029]/);
    expect(pythonRecords(text)).toEqual(entries);
    // What JSON.stringify alone wrote: Python cut the records at NEL, LS and PS and could not parse them.
    expect(() => pythonRecords(entries.map((e) => JSON.stringify(e)).join("\n"))).toThrow(/JSONDecodeError/);
  });
});

describe("WORM settings", () => {
  test.each([
    [{ AUDIT_WORM_ENABLED: "true" }, /^AUDIT_WORM_BUCKET: is required when AUDIT_WORM_ENABLED=true/],
    [
      { AUDIT_WORM_ENABLED: "true", AUDIT_WORM_BUCKET: "Bad_Bucket" },
      /^AUDIT_WORM_BUCKET: must be a valid S3 bucket name \(got 'Bad_Bucket'\)/,
    ],
    [{ AUDIT_WORM_ENABLED: "true", AUDIT_WORM_BUCKET: "b-1" }, /^AUDIT_RETENTION_DAYS: is required when AUDIT_WORM_ENABLED=true/],
    [
      { AUDIT_WORM_ENABLED: "true", AUDIT_WORM_BUCKET: "b-1", AUDIT_RETENTION_DAYS: "0" },
      /^AUDIT_RETENTION_DAYS: must be an integer 1-36500 \(got '0'\)/,
    ],
    [{ AUDIT_WORM_ENABLED: "yes" }, /^AUDIT_WORM_ENABLED: must be 'true' or 'false'/],
    [
      { AUDIT_WORM_ENABLED: "true", AUDIT_WORM_BUCKET: "b-1", AUDIT_RETENTION_DAYS: "1", AUDIT_S3_ENDPOINT: "localhost:9000" },
      /^AUDIT_S3_ENDPOINT: must be an http\(s\) URL/,
    ],
  ])("%j is refused with the setting named", (env, message) => {
    expect(() => readServiceSettings(env)).toThrow(SettingsError);
    expect(() => readServiceSettings(env)).toThrow(message);
  });

  test("retain-until is at least the retention in whole days from now", () => {
    const now = new Date("2026-03-01T23:59:59Z");
    expect(retainUntil(now, 30).toISOString()).toBe("2026-04-01T00:00:00.000Z");
  });
});
