import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { ObjectLockBucket, type ObjectLockBucketProps } from "../../../constructs/audit/object-lock-bucket";
import { resourcesOf, synthAll, type StackJson } from "../../../harness/synth";
import { loadEnvironment } from "../../../config/load";

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
};
const statements = (policy: unknown): Statement[] => (JSON.parse(policy as string) as { Statement: Statement[] }).Statement;
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** The audit bucket's resources (the access-log bucket is the other aws_s3_bucket). */
function auditResources(stack: StackJson, bucketName: string) {
  const buckets = resourcesOf(stack, "aws_s3_bucket");
  const [bucketId] = Object.entries(buckets).find(([, b]) => b.bucket === bucketName)!;
  const ref = `\${aws_s3_bucket.${bucketId}.id}`;
  const on = (type: string) => Object.values(resourcesOf(stack, type)).filter((r) => r.bucket === ref);
  return { bucket: buckets[bucketId], bucketId, on };
}

describe.each([
  ["staging", 30],
  ["production", 2555],
] as const)("audit stack (%s)", (env, days) => {
  let stack: StackJson;
  let bucketName: string;
  beforeAll(async () => {
    stack = (await synthAll(env)).audit;
    bucketName = `maestro-${env}-audit`;
  });

  test("Object Lock is enabled at creation with a COMPLIANCE default retention from config", () => {
    const { bucket, on } = auditResources(stack, bucketName);
    expect(bucket.object_lock_enabled).toBe(true);
    expect(bucket.force_destroy).toBe(false);
    expect(bucket.lifecycle).toEqual({ prevent_destroy: true });
    const [lock] = on("aws_s3_bucket_object_lock_configuration");
    expect(lock.object_lock_enabled).toBe("Enabled");
    expect(lock.rule).toEqual({ default_retention: { mode: "COMPLIANCE", days } });
    expect(on("aws_s3_bucket_versioning")[0].versioning_configuration).toEqual({ status: "Enabled" });
  });

  test("objects are encrypted with SSE-KMS under a rotating key", () => {
    const { on } = auditResources(stack, bucketName);
    const [sse] = on("aws_s3_bucket_server_side_encryption_configuration");
    const rule = (sse.rule as Array<Record<string, Record<string, string>>>)[0];
    expect(rule.apply_server_side_encryption_by_default.sse_algorithm).toBe("aws:kms");
    const keyRef = /^\$\{aws_kms_key\.([\w-]+)\.arn\}$/.exec(rule.apply_server_side_encryption_by_default.kms_master_key_id)!;
    const key = resourcesOf(stack, "aws_kms_key")[keyRef[1]];
    expect(key.enable_key_rotation).toBe(true);
    expect(key.deletion_window_in_days).toBe(30);
  });

  test("all public access is blocked and ACLs are disabled, on all three buckets (audit, its logs, its replica)", () => {
    const blocks = Object.values(resourcesOf(stack, "aws_s3_bucket_public_access_block"));
    expect(blocks).toHaveLength(3);
    for (const b of blocks)
      expect(b).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
    for (const o of Object.values(resourcesOf(stack, "aws_s3_bucket_ownership_controls")))
      expect(o.rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
  });

  test("the bucket policy denies plaintext access, any retention bypass, and short or weaker retention", () => {
    const { on } = auditResources(stack, bucketName);
    const policy = statements(on("aws_s3_bucket_policy")[0].policy);
    const arn = `arn:aws:s3:::${bucketName}`;
    const bySid = Object.fromEntries(policy.map((s) => [s.Sid, s]));
    for (const s of policy) expect(s.Effect).toBe("Deny");
    expect(bySid.DenyInsecureTransport).toMatchObject({
      Action: "s3:*",
      Resource: [arn, `${arn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
    expect(bySid.DenyRetentionBypass).toMatchObject({ Principal: "*", Action: "s3:BypassGovernanceRetention", Resource: `${arn}/*` });
    expect(bySid.DenyRetentionBypass.Condition).toBeUndefined();
    expect(bySid.DenyRetentionShorterThanDefault.Condition).toEqual({
      NumericLessThan: { "s3:object-lock-remaining-retention-days": String(days) },
    });
    expect(list(bySid.DenyRetentionShorterThanDefault.Action).sort()).toEqual(["s3:PutObject", "s3:PutObjectRetention"]);
    expect(bySid.DenyWeakerLockMode.Condition).toEqual({ StringNotEqualsIfExists: { "s3:object-lock-mode": "COMPLIANCE" } });
  });

  test("lifecycle never expires a version before its retention ends", () => {
    const { on } = auditResources(stack, bucketName);
    const rules = on("aws_s3_bucket_lifecycle_configuration")[0].rule as Array<Record<string, Array<Record<string, unknown>>>>;
    for (const rule of rules) {
      for (const e of rule.expiration ?? []) if (e.days !== undefined) expect(e.days as number).toBeGreaterThanOrEqual(days);
      for (const e of rule.noncurrent_version_expiration ?? []) expect(e.noncurrent_days as number).toBeGreaterThanOrEqual(days);
    }
    expect(rules.map((r) => r.id)).toEqual(["abort-incomplete-uploads", "noncurrent-after-retention"]);
  });

  test("server access logs go to a private, TLS-only log bucket", () => {
    const { on } = auditResources(stack, bucketName);
    const [logging] = on("aws_s3_bucket_logging");
    const logs = auditResources(stack, `${bucketName}-access-logs`);
    expect(logging.target_bucket).toBe(`\${aws_s3_bucket.${logs.bucketId}.id}`);
    const policy = statements(logs.on("aws_s3_bucket_policy")[0].policy);
    expect(policy.find((s) => s.Sid === "AllowLogDeliveryFromTheSourceBucket")).toMatchObject({
      Principal: { Service: "logging.s3.amazonaws.com" },
      Action: "s3:PutObject",
    });
    expect(policy.find((s) => s.Sid === "DenyInsecureTransport")?.Effect).toBe("Deny");
  });

  test("the service role is trusted only by the compliance service account (IRSA)", () => {
    const [role] = Object.entries(resourcesOf(stack, "aws_iam_role"))
      .filter(([k]) => !k.includes("replica"))
      .map(([, r]) => r);
    const [trust] = statements(role.assume_role_policy);
    const provider = `oidc.eks.${env === "staging" ? "eu-west-1" : "eu-central-1"}.amazonaws.com/id/${env === "staging" ? "STAGING" : "PRODUCTION"}`;
    expect(trust.Action).toBe("sts:AssumeRoleWithWebIdentity");
    expect(JSON.stringify(trust.Principal)).toContain(`:oidc-provider/${provider}`);
    const equals = trust.Condition!.StringEquals as Record<string, unknown>;
    expect(Object.entries(equals).find(([k]) => k.endsWith(":sub"))?.[1]).toEqual(["system:serviceaccount:maestro:compliance-service"]);
    expect(Object.entries(equals).find(([k]) => k.endsWith(":aud"))?.[1]).toBe("sts.amazonaws.com");
    expect(Object.keys(trust.Condition!)).toEqual(["StringEquals"]);
  });

  test("grantAppend gives exactly PutObject (+ retention) on the audit prefix, and the KMS data key for it", () => {
    // The replication role's policy is the replica's own (its test is in backup-stack.test.ts).
    const policies = Object.entries(resourcesOf(stack, "aws_iam_role_policy"))
      .filter(([k]) => k.includes("grant-append"))
      .map(([, r]) => r);
    expect(policies).toHaveLength(1);
    const [s3, kms] = statements(policies[0].policy);
    expect(list(s3.Action).sort()).toEqual(["s3:PutObject", "s3:PutObjectRetention"]);
    expect(s3.Resource).toBe(`arn:aws:s3:::${bucketName}/audit/*`);
    expect(list(kms.Action)).toEqual(["kms:GenerateDataKey"]);
    expect(kms.Condition?.StringEquals).toHaveProperty("kms:ViaService");
    const actions = statements(policies[0].policy).flatMap((s) => list(s.Action));
    for (const forbidden of [
      "s3:*",
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
      "s3:GetObject",
      "s3:BypassGovernanceRetention",
      "kms:Decrypt",
    ])
      expect(actions).not.toContain(forbidden);
  });

  test("grantAnchorRead lets the service find and read the newest batch under the prefix, and nothing more", () => {
    const policies = Object.entries(resourcesOf(stack, "aws_iam_role_policy"))
      .filter(([k]) => k.includes("grant-anchor-read"))
      .map(([, r]) => r);
    expect(policies).toHaveLength(1);
    const [listing, read] = statements(policies[0].policy);
    expect(listing).toMatchObject({
      Action: "s3:ListBucket",
      Resource: `arn:aws:s3:::${bucketName}`,
      Condition: { StringLike: { "s3:prefix": ["audit/*"] } },
    });
    expect(read).toMatchObject({ Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucketName}/audit/*` });
    const actions = statements(policies[0].policy).flatMap((st) => list(st.Action));
    for (const forbidden of ["s3:*", "s3:DeleteObject", "s3:PutObject", "s3:PutObjectRetention", "s3:BypassGovernanceRetention"])
      expect(actions).not.toContain(forbidden);
  });

  test("the audit bucket is copied to the second region from config, with Object Lock and the same retention", () => {
    const replica = loadEnvironment(env).audit.replica;
    const copy = Object.values(resourcesOf(stack, "aws_s3_bucket")).find((b) => b.bucket === replica.bucketName)!;
    expect(copy).toMatchObject({ object_lock_enabled: true, provider: `aws.${replica.region.replace(/-/g, "_")}` });
    const locks = Object.values(resourcesOf(stack, "aws_s3_bucket_object_lock_configuration")).map((l) => l.rule);
    expect(new Set(locks.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(locks).toHaveLength(2);
    expect(stack.output?.audit_replica_bucket.value).toBe(replica.bucketName);
  });

  test("outputs name the bucket, retention and role for the service's settings", () => {
    expect(stack.output?.audit_bucket.value).toBe(bucketName);
    expect(stack.output?.audit_retention_days.value).toBe(days);
    expect(stack.output?.compliance_service_role_arn.value).toMatch(/aws_iam_role/);
  });
});

describe("ObjectLockBucket props", () => {
  const base: Omit<ObjectLockBucketProps, "aws"> = {
    bucketName: "audit-test-bucket",
    retentionDays: 10,
    accountId: "123456789012",
    region: "eu-west-1",
  };
  const build = (props: Partial<ObjectLockBucketProps>) => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "t");
    const aws = new AwsProvider(stack, "aws", { region: "eu-west-1" });
    const bucket = new ObjectLockBucket(stack, "b", { aws, ...base, ...props });
    return { stack, bucket };
  };

  test.each([
    [{ retentionDays: 0 }, /retentionDays must be an integer 1-36500 \(got 0\)/],
    [{ mode: "NONE" as never }, /mode must be COMPLIANCE or GOVERNANCE \(got "NONE"\)/],
    [{ prefix: "audit" }, /prefix must be a key prefix of \[a-z0-9-\] segments ending in '\/'/],
    [{ bucketName: "Bad_Name" }, /bucketName must be a valid S3 bucket name/],
    [{ expireAfterDays: 5 }, /expireAfterDays must be an integer of at least retentionDays \(10\)/],
    [{ kmsDeletionWindowDays: 3 }, /kmsDeletionWindowDays must be an integer 7-30/],
    [{ accessLogBucketName: "audit-test-bucket" }, /accessLogBucketName must differ from bucketName/],
  ])("%j is refused with the prop named", (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test("GOVERNANCE is an explicit weakening: default retention says so and the mode statement is left out", () => {
    const { stack, bucket } = build({ mode: "GOVERNANCE" });
    const json = JSON.parse(Testing.synth(stack)) as StackJson;
    const [lock] = Object.values(resourcesOf(json, "aws_s3_bucket_object_lock_configuration"));
    expect(lock.rule).toEqual({ default_retention: { mode: "GOVERNANCE", days: 10 } });
    expect(statements(bucket.policyDocument).map((s) => s.Sid)).not.toContain("DenyWeakerLockMode");
    // The bypass that GOVERNANCE would allow stays denied to everyone.
    expect(statements(bucket.policyDocument).map((s) => s.Sid)).toContain("DenyRetentionBypass");
  });

  test("each grantAppend adds one role policy for that role", () => {
    const { stack, bucket } = build({});
    const roleA = new IamRole(stack, "a", { name: "a", assumeRolePolicy: "{}" });
    const roleB = new IamRole(stack, "b2", { name: "b", assumeRolePolicy: "{}" });
    bucket.grantAppend(roleA);
    bucket.grantAppend(roleB);
    const json = JSON.parse(Testing.synth(stack)) as StackJson;
    expect(Object.values(resourcesOf(json, "aws_iam_role_policy")).map((p) => p.role)).toEqual([
      "${aws_iam_role.a.name}",
      "${aws_iam_role.b2.name}",
    ]);
  });
});
