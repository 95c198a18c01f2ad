// hardenedBucket, the one hardened bucket (the WAL-G archive, the replicas, the audit bucket, the
// access-log buckets): what every bucket gets, and what a caller may and may not change.
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { hardenedBucket, type HardenedBucketProps } from "../../../constructs/aws/hardened-bucket";
import { resourcesOf, type StackJson } from "../../../harness/synth";

function build(props: Partial<HardenedBucketProps> = {}): StackJson {
  const stack = new TerraformStack(Testing.app(), "t");
  const aws = new AwsProvider(stack, "aws", { region: "eu-west-1" });
  hardenedBucket(stack, { aws, bucketName: "shop-data", encryption: { kmsKeyArn: "arn:aws:kms:eu-west-1:1:key/k" }, ...props });
  return JSON.parse(Testing.synth(stack)) as StackJson;
}
const only = (json: StackJson, type: string) => {
  const all = Object.values(resourcesOf(json, type));
  expect(all).toHaveLength(1);
  return all[0] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

test("owner-enforced, every public access blocked, versioned, SSE-KMS with the bucket key, TLS-only", () => {
  const json = build();
  expect(only(json, "aws_s3_bucket")).toMatchObject({ bucket: "shop-data", force_destroy: false });
  expect(only(json, "aws_s3_bucket").object_lock_enabled).toBeUndefined();
  expect(only(json, "aws_s3_bucket_ownership_controls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
  expect(only(json, "aws_s3_bucket_public_access_block")).toMatchObject({
    block_public_acls: true,
    block_public_policy: true,
    ignore_public_acls: true,
    restrict_public_buckets: true,
  });
  expect(only(json, "aws_s3_bucket_versioning").versioning_configuration).toEqual({ status: "Enabled" });
  expect(only(json, "aws_s3_bucket_server_side_encryption_configuration").rule).toEqual([
    {
      apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "arn:aws:kms:eu-west-1:1:key/k" },
      bucket_key_enabled: true,
    },
  ]);
  const policy = JSON.parse(only(json, "aws_s3_bucket_policy").policy);
  expect(policy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual(["DenyInsecureTransport"]);
  expect(Object.keys(resourcesOf(json, "aws_s3_bucket_object_lock_configuration"))).toEqual([]);
});

test("Object Lock, prevent_destroy, SSE-S3 and extra policy statements only when asked; resource ids may be named", () => {
  const json = build({
    encryption: "SSE-S3",
    objectLock: { mode: "COMPLIANCE", retentionDays: 7 },
    preventDestroy: true,
    policyStatements: (tlsOnly) => [{ Sid: "AllowSomething", Effect: "Allow" }, tlsOnly],
    resourceId: (part) => `logs-${part}`,
  });
  expect(Object.keys(resourcesOf(json, "aws_s3_bucket"))).toEqual(["logs-bucket"]);
  expect(only(json, "aws_s3_bucket")).toMatchObject({ object_lock_enabled: true, lifecycle: { prevent_destroy: true } });
  expect(only(json, "aws_s3_bucket_object_lock_configuration")).toMatchObject({
    object_lock_enabled: "Enabled",
    rule: { default_retention: { mode: "COMPLIANCE", days: 7 } },
  });
  expect(only(json, "aws_s3_bucket_server_side_encryption_configuration").rule).toEqual([
    { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
  ]);
  const policy = JSON.parse(only(json, "aws_s3_bucket_policy").policy);
  expect(policy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual(["AllowSomething", "DenyInsecureTransport"]);
});

test("a bucket policy without the TLS-only statement is refused", () => {
  expect(() => build({ policyStatements: () => [{ Sid: "AllowSomething", Effect: "Allow" }] })).toThrow(
    "hardenedBucket shop-data: policyStatements must keep the TLS-only statement (DenyInsecureTransport)",
  );
});
