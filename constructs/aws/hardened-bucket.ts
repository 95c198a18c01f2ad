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

/** The resources a hardened bucket is made of, each named by the part it plays. */
export type BucketPart = "bucket" | "ownership" | "public-access-block" | "versioning" | "encryption" | "object-lock" | "bucket-policy";

/** What {@link hardenedBucket} makes a bucket with. */
export interface HardenedBucketProps {
  /** The AWS provider of the bucket's region. */
  readonly aws: AwsProvider;
  readonly bucketName: string;
  /**
   * How objects are encrypted at rest: SSE-KMS under this key (bucket key on), or SSE-S3 for the one
   * kind of bucket that cannot take KMS (server access logs).
   */
  readonly encryption: { readonly kmsKeyArn: string } | "SSE-S3";
  /** Object Lock with a default retention. @default none */
  readonly objectLock?: { readonly mode: "COMPLIANCE" | "GOVERNANCE"; readonly retentionDays: number };
  /**
   * The bucket policy's statements, given the TLS-only one, which they must keep.
   * @default the TLS-only statement alone
   */
  readonly policyStatements?: (tlsOnly: object) => readonly object[];
  /** `lifecycle.prevent_destroy` on the bucket, so `terraform destroy` stops at it. @default false */
  readonly preventDestroy?: boolean;
  /**
   * The id of each resource in `scope`. @default the part's own name ("bucket", "ownership", ...);
   * callers whose Terraform addresses predate this helper name theirs, so no apply replaces them.
   */
  readonly resourceId?: (part: BucketPart) => string;
}

/** What {@link hardenedBucket} made. */
export interface HardenedBucket {
  readonly bucket: S3Bucket;
  /** Replication and lifecycle rules need versioning first. */
  readonly versioning: S3BucketVersioningA;
  /** The bucket policy document (JSON), as synthesized. */
  readonly policyDocument: string;
}

/**
 * A bucket with the project's hardened defaults, written once: owner-enforced (no ACLs), all public
 * access blocked, versioned, encrypted at rest, TLS-only, Object Lock when asked. Its resources are
 * made in `scope`; the backup archive, the replicas, the audit bucket and the access-log buckets use it.
 */
export function hardenedBucket(scope: Construct, props: HardenedBucketProps): HardenedBucket {
  const provider = props.aws;
  const id = props.resourceId ?? ((part: BucketPart) => part);
  const bucket = new S3Bucket(scope, id("bucket"), {
    provider,
    bucket: props.bucketName,
    objectLockEnabled: props.objectLock ? true : undefined,
    forceDestroy: false,
    lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
  });
  const ref = { provider, bucket: bucket.id };
  new S3BucketOwnershipControls(scope, id("ownership"), { ...ref, rule: { objectOwnership: "BucketOwnerEnforced" } });
  new S3BucketPublicAccessBlock(scope, id("public-access-block"), {
    ...ref,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  const versioning = new S3BucketVersioningA(scope, id("versioning"), { ...ref, versioningConfiguration: { status: "Enabled" } });
  new S3BucketServerSideEncryptionConfigurationA(scope, id("encryption"), {
    ...ref,
    rule: [
      props.encryption === "SSE-S3"
        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
        : {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.encryption.kmsKeyArn },
            bucketKeyEnabled: true,
          },
    ],
  });
  if (props.objectLock) {
    new S3BucketObjectLockConfigurationA(scope, id("object-lock"), {
      ...ref,
      objectLockEnabled: "Enabled",
      rule: { defaultRetention: { mode: props.objectLock.mode, days: props.objectLock.retentionDays } },
      dependsOn: [versioning],
    });
  }
  const arn = `arn:aws:s3:::${props.bucketName}`;
  const tlsOnly = denyInsecureTransport(arn);
  const statements = props.policyStatements ? props.policyStatements(tlsOnly) : [tlsOnly];
  if (!statements.includes(tlsOnly))
    throw new Error(`hardenedBucket ${props.bucketName}: policyStatements must keep the TLS-only statement (DenyInsecureTransport)`);
  const policyDocument = JSON.stringify({ Version: "2012-10-17", Statement: statements });
  new S3BucketPolicy(scope, id("bucket-policy"), { ...ref, policy: policyDocument });
  return { bucket, versioning, policyDocument };
}
