import type { Construct } from "constructs";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { denyInsecureTransport } from "./s3-policy";

/** What {@link accessLogBucket} makes the log bucket for. */
export interface AccessLogBucketProps {
  /** Name of the log bucket. */
  readonly bucketName: string;
  /** ARN of the one bucket whose server access logs it receives. */
  readonly sourceBucketArn: string;
  readonly accountId: string;
  /** Days a log object is kept (it is evidence: as long as what it logs). */
  readonly retentionDays: number;
  /** The AWS provider of the source bucket's stack and region. */
  readonly aws: AwsProvider;
}

/**
 * The bucket that receives one bucket's server access logs: private, versioned, TLS-only, only S3's
 * log delivery for that bucket may write, logs expire after `retentionDays`. Its resources are made
 * in `scope` with ids `<id>`, `<id>-versioning`, ... (the audit stack's addresses predate this helper).
 * Server access log delivery supports SSE-S3 only, not SSE-KMS (checkov CKV_AWS_145 is waived for it).
 */
export function accessLogBucket(scope: Construct, id: string, props: AccessLogBucketProps): S3Bucket {
  const provider = props.aws;
  const logs = new S3Bucket(scope, id, { provider, bucket: props.bucketName, forceDestroy: false });
  new S3BucketVersioningA(scope, `${id}-versioning`, { provider, bucket: logs.id, versioningConfiguration: { status: "Enabled" } });
  new S3BucketServerSideEncryptionConfigurationA(scope, `${id}-encryption`, {
    provider,
    bucket: logs.id,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
  });
  new S3BucketPublicAccessBlock(scope, `${id}-public-access-block`, {
    provider,
    bucket: logs.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketOwnershipControls(scope, `${id}-ownership`, { provider, bucket: logs.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
  new S3BucketLifecycleConfiguration(scope, `${id}-lifecycle`, {
    provider,
    bucket: logs.id,
    rule: [
      {
        id: "expire-logs",
        status: "Enabled",
        filter: [{ prefix: "" }],
        expiration: [{ days: props.retentionDays }],
        noncurrentVersionExpiration: [{ noncurrentDays: 1 }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
      },
    ],
  });
  const arn = `arn:aws:s3:::${props.bucketName}`;
  new S3BucketPolicy(scope, `${id}-policy`, {
    provider,
    bucket: logs.id,
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AllowLogDeliveryFromTheSourceBucket",
          Effect: "Allow",
          Principal: { Service: "logging.s3.amazonaws.com" },
          Action: "s3:PutObject",
          Resource: `${arn}/*`,
          Condition: { StringEquals: { "aws:SourceAccount": props.accountId }, ArnLike: { "aws:SourceArn": props.sourceBucketArn } },
        },
        denyInsecureTransport(arn),
      ],
    }),
  });
  return logs;
}
