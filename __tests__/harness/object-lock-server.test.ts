import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { describeWithService } from "../support/services";
import { motoBinary, s3Client, startS3, stopS3, type RunningS3, createLockedBucket } from "../../harness/s3";
import { resourcesOf, synthAll } from "../../harness/synth";
import { startVersityGw, stopObjectLockServer, versitygwBinary } from "../../harness/versitygw";

const day = 24 * 3600 * 1000;

/** The S3 error code of a rejected call ("HTTP 403" when the body has none), or "accepted". */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "accepted";
  } catch (err) {
    const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    const code = e.Code ?? e.name;
    return code && code !== "Unknown" ? code : `HTTP ${e.$metadata?.httpStatusCode}`;
  }
}

// What moto 5.2.5 enforces is pinned here, so an upgrade that changes it fails this suite and
// docs/audit.md gets updated. AWS's behaviour for the gaps is noted on each test.
describeWithService("Object Lock enforcement by a real S3 server (moto)", motoBinary ? undefined : "moto_server", () => {
  let s3: RunningS3;
  let client: S3Client;
  let version: string;
  const bucket = "worm-compliance";
  const key = "audit/2026/000001.json";

  beforeAll(async () => {
    s3 = await startS3();
    client = s3Client(s3.endpoint);
    await createLockedBucket(client, bucket);
    version = (await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "original" }))).VersionId!;
  });
  afterAll(async () => {
    client?.destroy();
    await stopS3(s3);
  });

  const body = async (versionId: string) =>
    (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }))).Body!.transformToString();

  test("a new object gets the bucket's default COMPLIANCE retention", async () => {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: version }));
    expect(head.ObjectLockMode).toBe("COMPLIANCE");
    expect(Math.abs(head.ObjectLockRetainUntilDate!.getTime() - (Date.now() + day))).toBeLessThan(60_000);
  });

  test("overwriting the key adds a version; the locked version keeps its bytes", async () => {
    const second = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "tampered" }));
    expect(second.VersionId).not.toBe(version);
    expect(await body(version)).toBe("original");
  });

  test("deleting the locked version is denied, with or without the governance bypass header", async () => {
    expect(await outcome(client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version })))).toBe("AccessDenied");
    expect(
      await outcome(
        client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version, BypassGovernanceRetention: true })),
      ),
    ).toBe("AccessDenied");
    expect(await body(version)).toBe("original");
  });

  test("a plain delete only adds a delete marker; the locked version is still there", async () => {
    const marker = await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    expect(marker.DeleteMarker).toBe(true);
    expect(await body(version)).toBe("original");
  });

  test("KNOWN MOTO GAP: shortening a COMPLIANCE retention is accepted (AWS denies it with AccessDenied)", async () => {
    const other = (await client.send(new PutObjectCommand({ Bucket: bucket, Key: "audit/gap.json", Body: "x" }))).VersionId!;
    const shorten = client.send(
      new PutObjectRetentionCommand({
        Bucket: bucket,
        Key: "audit/gap.json",
        VersionId: other,
        Retention: { Mode: "COMPLIANCE", RetainUntilDate: new Date(Date.now() - day) },
      }),
    );
    expect(await outcome(shorten)).toBe("accepted");
  });

  test("GOVERNANCE: delete is denied without the bypass header; KNOWN MOTO GAP: with it, moto allows it regardless of policy", async () => {
    const gov = "worm-governance";
    await client.send(new CreateBucketCommand({ Bucket: gov, ObjectLockEnabledForBucket: true }));
    const put = await client.send(
      new PutObjectCommand({
        Bucket: gov,
        Key: "k",
        Body: "x",
        ObjectLockMode: "GOVERNANCE",
        ObjectLockRetainUntilDate: new Date(Date.now() + day),
      }),
    );
    expect(await outcome(client.send(new DeleteObjectCommand({ Bucket: gov, Key: "k", VersionId: put.VersionId })))).toBe("AccessDenied");
    // Our bucket policy's DenyRetentionBypass statement is not evaluated by moto (AWS evaluates it).
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: gov,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:BypassGovernanceRetention", Resource: `arn:aws:s3:::${gov}/*` }],
        }),
      }),
    );
    expect(
      await outcome(
        client.send(new DeleteObjectCommand({ Bucket: gov, Key: "k", VersionId: put.VersionId, BypassGovernanceRetention: true })),
      ),
    ).toBe("accepted");
  });

  test("the synthesized bucket policy, applied to the server, denies plaintext (non-TLS) writes", async () => {
    const stack = (await synthAll("staging")).audit;
    const policy = Object.values(resourcesOf(stack, "aws_s3_bucket_policy"))
      .map((p) => p.policy as string)
      .find((p) => p.includes("DenyRetentionBypass"))!
      .replaceAll("maestro-staging-audit", "worm-policy");
    await client.send(new CreateBucketCommand({ Bucket: "worm-policy", ObjectLockEnabledForBucket: true }));
    expect(await outcome(client.send(new PutObjectCommand({ Bucket: "worm-policy", Key: "audit/a", Body: "x" })))).toBe("accepted");
    await client.send(new PutBucketPolicyCommand({ Bucket: "worm-policy", Policy: policy }));
    // The test server speaks http, so aws:SecureTransport is false and the policy denies.
    expect(await outcome(client.send(new PutObjectCommand({ Bucket: "worm-policy", Key: "audit/b", Body: "x" })))).toBe("HTTP 403");
  });
});

// versitygw v1.8.0 (posix backend, --versioning-dir) enforces what moto lets through. Pinned here
// like moto's behaviour above; docs/audit.md has the table.
describeWithService("Object Lock enforcement by a real S3 server (versitygw)", versitygwBinary ? undefined : "versitygw", () => {
  let s3: RunningS3;
  let client: S3Client;
  const bucket = "worm-versitygw";
  const retainUntil = () => new Date(Date.now() + 2 * day);

  beforeAll(async () => {
    s3 = await startVersityGw();
    client = s3Client(s3.endpoint);
    await createLockedBucket(client, bucket);
  });
  afterAll(async () => {
    client?.destroy();
    await stopObjectLockServer(s3);
  });

  /** A version with its own COMPLIANCE retention, as the WORM sink writes every batch. */
  const lockedVersion = async (key: string) =>
    (
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: "original",
          ObjectLockMode: "COMPLIANCE",
          ObjectLockRetainUntilDate: retainUntil(),
        }),
      )
    ).VersionId!;

  test("deleting a COMPLIANCE-locked version is denied, with or without the governance bypass header", async () => {
    const version = await lockedVersion("audit/delete.jsonl");
    expect(await outcome(client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "audit/delete.jsonl", VersionId: version })))).toBe(
      "AccessDenied",
    );
    expect(
      await outcome(
        client.send(
          new DeleteObjectCommand({ Bucket: bucket, Key: "audit/delete.jsonl", VersionId: version, BypassGovernanceRetention: true }),
        ),
      ),
    ).toBe("AccessDenied");
    const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "audit/delete.jsonl", VersionId: version }));
    expect(await body.Body!.transformToString()).toBe("original");
  });

  test("shortening a COMPLIANCE retention and switching it to GOVERNANCE are denied (moto accepts the first); extending is allowed", async () => {
    const key = "audit/retention.jsonl";
    const version = await lockedVersion(key);
    const retention = (Mode: "COMPLIANCE" | "GOVERNANCE", RetainUntilDate: Date) =>
      outcome(
        client.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: key, VersionId: version, Retention: { Mode, RetainUntilDate } })),
      );
    expect(await retention("COMPLIANCE", new Date(Date.now() + day))).toBe("AccessDenied");
    expect(await retention("GOVERNANCE", new Date(Date.now() + 5 * day))).toBe("AccessDenied");
    expect(await retention("COMPLIANCE", new Date(Date.now() + 3 * day))).toBe("accepted");
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: version }));
    expect(head.ObjectLockMode).toBe("COMPLIANCE");
    expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThan(Date.now() + 2.9 * day);
  });

  test("suspending versioning on an Object Lock bucket is refused (moto accepts it)", async () => {
    expect(
      await outcome(client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Suspended" } }))),
    ).toBe("InvalidBucketState");
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe("Enabled");
  });

  test("KNOWN VERSITYGW GAP: the bucket's default retention protects an object but is not reported by GetObjectRetention or HeadObject (S3 reports it)", async () => {
    const version = (await client.send(new PutObjectCommand({ Bucket: bucket, Key: "audit/default.jsonl", Body: "x" }))).VersionId!;
    expect(
      await outcome(client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: "audit/default.jsonl", VersionId: version }))),
    ).toBe("NoSuchObjectLockConfiguration");
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "audit/default.jsonl", VersionId: version }));
    expect(head.ObjectLockMode).toBeUndefined();
    expect(await outcome(client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "audit/default.jsonl", VersionId: version })))).toBe(
      "AccessDenied",
    );
  });

  test("KNOWN VERSITYGW GAP: a GOVERNANCE delete with the bypass header is allowed though the bucket policy denies s3:BypassGovernanceRetention (the root user; AWS applies the Deny)", async () => {
    const gov = "worm-versitygw-governance";
    await client.send(new CreateBucketCommand({ Bucket: gov, ObjectLockEnabledForBucket: true }));
    const put = await client.send(
      new PutObjectCommand({ Bucket: gov, Key: "k", Body: "x", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: retainUntil() }),
    );
    expect(await outcome(client.send(new DeleteObjectCommand({ Bucket: gov, Key: "k", VersionId: put.VersionId })))).toBe("AccessDenied");
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: gov,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:BypassGovernanceRetention", Resource: `arn:aws:s3:::${gov}/*` }],
        }),
      }),
    );
    expect(
      await outcome(
        client.send(new DeleteObjectCommand({ Bucket: gov, Key: "k", VersionId: put.VersionId, BypassGovernanceRetention: true })),
      ),
    ).toBe("accepted");
  });
});
