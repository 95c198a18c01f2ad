import type { Construct } from "constructs";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { hardenedBucket } from "./hardened-bucket";

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
  const { bucket: logs } = hardenedBucket(scope, {
    aws: provider,
    bucketName: props.bucketName,
    encryption: "SSE-S3",
    policyStatements: (tlsOnly) => [
      {
        Sid: "AllowLogDeliveryFromTheSourceBucket",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: `arn:aws:s3:::${props.bucketName}/*`,
        Condition: { StringEquals: { "aws:SourceAccount": props.accountId }, ArnLike: { "aws:SourceArn": props.sourceBucketArn } },
      },
      tlsOnly,
    ],
    resourceId: (part) => (part === "bucket" ? id : `${id}-${part === "bucket-policy" ? "policy" : part}`),
  });
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
  return logs;
}
