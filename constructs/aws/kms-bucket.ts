import type { Construct } from "constructs";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { denyInsecureTransport } from "./s3-policy";

/** What {@link kmsBucket} makes a data bucket with. */
export interface KmsBucketProps {
  readonly bucketName: string;
  /** ARN of the KMS key every object is encrypted with (SSE-KMS, bucket key on). */
  readonly kmsKeyArn: string;
  /** Object Lock with a default retention. @default none */
  readonly objectLock?: { readonly mode: "COMPLIANCE" | "GOVERNANCE"; readonly retentionDays: number };
  /** The AWS provider of the bucket's region. */
  readonly aws: AwsProvider;
}

/**
 * A data bucket with the project's hardened defaults: owner-enforced (no ACLs), all public access
 * blocked, versioned, SSE-KMS, TLS-only, Object Lock when asked. Its resources are made in `scope`
 * with ids `bucket`, `ownership`, `public-access-block`, `versioning`, `encryption`, `object-lock`
 * and `bucket-policy` (the backup archive and the replicas; their Terraform addresses predate it).
 */
export function kmsBucket(scope: Construct, props: KmsBucketProps): { bucket: S3Bucket; versioning: S3BucketVersioningA } {
  const provider = props.aws;
  const bucket = new S3Bucket(scope, "bucket", {
    provider,
    bucket: props.bucketName,
    objectLockEnabled: props.objectLock ? true : undefined,
    forceDestroy: false,
  });
  const ref = { provider, bucket: bucket.id };
  new S3BucketOwnershipControls(scope, "ownership", { ...ref, rule: { objectOwnership: "BucketOwnerEnforced" } });
  new S3BucketPublicAccessBlock(scope, "public-access-block", {
    ...ref,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  const versioning = new S3BucketVersioningA(scope, "versioning", { ...ref, versioningConfiguration: { status: "Enabled" } });
  new S3BucketServerSideEncryptionConfigurationA(scope, "encryption", {
    ...ref,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn }, bucketKeyEnabled: true }],
  });
  if (props.objectLock) {
    new S3BucketObjectLockConfigurationA(scope, "object-lock", {
      ...ref,
      rule: { defaultRetention: { mode: props.objectLock.mode, days: props.objectLock.retentionDays } },
      dependsOn: [versioning],
    });
  }
  const arn = `arn:aws:s3:::${props.bucketName}`;
  new S3BucketPolicy(scope, "bucket-policy", {
    ...ref,
    policy: JSON.stringify({ Version: "2012-10-17", Statement: [denyInsecureTransport(arn)] }),
  });
  return { bucket, versioning };
}
