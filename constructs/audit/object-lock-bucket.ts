import { Construct } from "constructs";
import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { hardenedBucket } from "../aws/hardened-bucket";
import { accountKeyPolicy } from "../aws/kms-policy";
import { BucketReplica } from "../aws/bucket-replica";
import { accessLogBucket } from "../aws/access-log-bucket";
import { keyFolderPattern, keyFolderRule, s3BucketNamePattern } from "../../contracts/names";

export type ObjectLockMode = "COMPLIANCE" | "GOVERNANCE";

/** Properties of an {@link ObjectLockBucket}. */
export interface ObjectLockBucketProps {
  /** The AWS provider of the bucket's region (the stack's). */
  readonly aws: AwsProvider;
  /** Globally unique S3 bucket name (3-63 lowercase letters, digits, '.', '-'). */
  readonly bucketName: string;
  /** Default retention of every new object version, in days (1-36500). */
  readonly retentionDays: number;
  /**
   * Default retention mode. GOVERNANCE lets holders of s3:BypassGovernanceRetention delete early
   * (the bucket policy still denies that bypass to everyone), so it is a named weakening.
   * @default "COMPLIANCE"
   */
  readonly mode?: ObjectLockMode;
  /** Key prefix under which `grantAppend` allows writes, ending in '/'. @default "audit/" */
  readonly prefix?: string;
  /** AWS account that owns the bucket; scopes the log-delivery permission. */
  readonly accountId: string;
  /** AWS region of the bucket; scopes the KMS permission of `grantAppend` to S3 in this region. */
  readonly region: string;
  /** Name of the bucket that receives server access logs. @default `${bucketName}-access-logs` */
  readonly accessLogBucketName?: string;
  /** Waiting period before the KMS key can be deleted (7-30 days). @default 30 */
  readonly kmsDeletionWindowDays?: number;
  /**
   * Days after which current versions get a delete marker (the locked data stays until its
   * retention ends). Must be at least retentionDays.
   * @default undefined: objects are never expired
   */
  readonly expireAfterDays?: number;
  /**
   * A copy in a second region, locked the same way (replicated versions keep their retention).
   * @default none: the records live in one region
   */
  readonly replica?: { readonly aws: AwsProvider; readonly region: string; readonly bucketName: string };
}

/** Anything `grantAppend` can attach an inline policy to: an IAM role. */
export interface AppendPrincipal {
  /** The IAM role name. */
  readonly name: string;
}

/** Throws an error naming the prop and what is allowed. */
function check(condition: boolean, prop: string, allowed: string, got: unknown): void {
  if (!condition) throw new Error(`ObjectLockBucket: ${prop} ${allowed} (got ${JSON.stringify(got)})`);
}

/**
 * An S3 bucket for write-once audit records: Object Lock enabled at creation with a default
 * COMPLIANCE retention, versioning, SSE-KMS under a rotating key, all public access blocked,
 * a bucket policy that denies plaintext access and every way around the retention, lifecycle
 * rules that never expire a version before its retention ends, and server access logging.
 */
export class ObjectLockBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly key: KmsKey;
  readonly accessLogBucket: S3Bucket;
  /** The bucket's Object Lock copy in a second region, when configured. */
  readonly replica?: BucketReplica;
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly retentionDays: number;
  readonly mode: ObjectLockMode;
  readonly prefix: string;
  /** The bucket policy document (JSON), as synthesized. */
  readonly policyDocument: string;
  private readonly region: string;
  private readonly aws: AwsProvider;
  private grants = 0;

  constructor(scope: Construct, id: string, props: ObjectLockBucketProps) {
    super(scope, id);
    const mode = props.mode ?? "COMPLIANCE";
    const prefix = props.prefix ?? "audit/";
    const logBucketName = props.accessLogBucketName ?? `${props.bucketName}-access-logs`;
    const deletionWindow = props.kmsDeletionWindowDays ?? 30;
    check(s3BucketNamePattern.test(props.bucketName), "bucketName", "must be a valid S3 bucket name", props.bucketName);
    check(
      s3BucketNamePattern.test(logBucketName),
      "accessLogBucketName",
      "must be a valid S3 bucket name (3-63 characters)",
      logBucketName,
    );
    check(logBucketName !== props.bucketName, "accessLogBucketName", "must differ from bucketName", logBucketName);
    check(
      Number.isInteger(props.retentionDays) && props.retentionDays >= 1 && props.retentionDays <= 36500,
      "retentionDays",
      "must be an integer 1-36500",
      props.retentionDays,
    );
    check(mode === "COMPLIANCE" || mode === "GOVERNANCE", "mode", "must be COMPLIANCE or GOVERNANCE", mode);
    check(keyFolderPattern.test(prefix), "prefix", keyFolderRule, prefix);
    check(/^\d{12}$/.test(props.accountId), "accountId", "must be a 12-digit AWS account id", props.accountId);
    check(
      Number.isInteger(deletionWindow) && deletionWindow >= 7 && deletionWindow <= 30,
      "kmsDeletionWindowDays",
      "must be an integer 7-30",
      deletionWindow,
    );
    if (props.expireAfterDays !== undefined) {
      check(
        Number.isInteger(props.expireAfterDays) && props.expireAfterDays >= props.retentionDays,
        "expireAfterDays",
        `must be an integer of at least retentionDays (${props.retentionDays}) so no version expires before its retention ends`,
        props.expireAfterDays,
      );
    }

    this.bucketName = props.bucketName;
    this.bucketArn = `arn:aws:s3:::${props.bucketName}`;
    this.retentionDays = props.retentionDays;
    this.mode = mode;
    this.prefix = prefix;
    this.region = props.region;

    const provider = props.aws;
    this.aws = provider;
    this.key = new KmsKey(this, "key", {
      provider,
      description: `SSE-KMS key of the object-lock bucket ${props.bucketName}`,
      enableKeyRotation: true,
      rotationPeriodInDays: 365,
      deletionWindowInDays: deletionWindow,
      policy: JSON.stringify(accountKeyPolicy(props.accountId)),
    });

    this.accessLogBucket = accessLogBucket(this, "access-logs", {
      aws: provider,
      bucketName: logBucketName,
      sourceBucketArn: this.bucketArn,
      accountId: props.accountId,
      retentionDays: props.retentionDays,
    });

    // Object Lock can only be turned on at creation; prevent_destroy keeps `terraform destroy` away.
    // The policy's id predates hardenedBucket ("policy"), kept so no apply replaces it.
    const hardened = hardenedBucket(this, {
      aws: provider,
      bucketName: props.bucketName,
      encryption: { kmsKeyArn: this.key.arn },
      objectLock: { mode, retentionDays: props.retentionDays },
      preventDestroy: true,
      policyStatements: (tlsOnly) => this.bucketPolicyStatements(tlsOnly),
      resourceId: (part) => (part === "bucket-policy" ? "policy" : part),
    });
    this.bucket = hardened.bucket;
    this.policyDocument = hardened.policyDocument;
    const versioning = hardened.versioning;
    const bucket = this.bucket.id;
    if (props.replica) {
      this.replica = new BucketReplica(this, "replica", {
        aws: props.aws,
        replicaAws: props.replica.aws,
        replicaRegion: props.replica.region,
        sourceRegion: props.region,
        accountId: props.accountId,
        source: this.bucket,
        sourceVersioning: versioning,
        sourceKeyArn: this.key.arn,
        bucketName: props.replica.bucketName,
        objectLock: { mode, retentionDays: props.retentionDays },
      });
    }
    new S3BucketLoggingA(this, "access-logging", {
      provider,
      bucket,
      targetBucket: this.accessLogBucket.id,
      targetPrefix: `${props.bucketName}/`,
    });
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      provider,
      bucket,
      dependsOn: [versioning],
      rule: [
        {
          id: "abort-incomplete-uploads",
          status: "Enabled",
          filter: [{ prefix: "" }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
        {
          // A noncurrent version is at least as old as the time it was replaced, so it is never
          // removed before its own retention ends; S3 refuses to remove a locked version anyway.
          id: "noncurrent-after-retention",
          status: "Enabled",
          filter: [{ prefix: "" }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.retentionDays }],
          expiration: props.expireAfterDays === undefined ? [{ expiredObjectDeleteMarker: true }] : [{ days: props.expireAfterDays }],
        },
      ],
    });
  }

  /** The statements every object-lock bucket carries: deny plaintext, deny bypass, deny short retention. */
  private bucketPolicyStatements(tlsOnly: object): object[] {
    const objects = `${this.bucketArn}/*`;
    return [
      tlsOnly,
      {
        Sid: "DenyRetentionBypass",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:BypassGovernanceRetention",
        Resource: objects,
      },
      {
        Sid: "DenyRetentionShorterThanDefault",
        Effect: "Deny",
        Principal: "*",
        Action: ["s3:PutObject", "s3:PutObjectRetention"],
        Resource: objects,
        Condition: { NumericLessThan: { "s3:object-lock-remaining-retention-days": String(this.retentionDays) } },
      },
      // An upload may name a mode, but never a weaker one than the bucket's (COMPLIANCE admits only itself).
      ...(this.mode === "COMPLIANCE"
        ? [
            {
              Sid: "DenyWeakerLockMode",
              Effect: "Deny",
              Principal: "*",
              Action: ["s3:PutObject", "s3:PutObjectRetention"],
              Resource: objects,
              Condition: { StringNotEqualsIfExists: { "s3:object-lock-mode": "COMPLIANCE" } },
            },
          ]
        : []),
      {
        Sid: "DenyNonKmsEncryption",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:PutObject",
        Resource: objects,
        Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } },
      },
    ];
  }

  /**
   * Lets the principal find the newest object under the prefix and read its metadata (the chain
   * head the WORM sink anchors there: ListBucket on the prefix, GetObject for HeadObject), and
   * nothing else: no delete, no retention change, no other prefix.
   */
  grantAnchorRead(principal: AppendPrincipal): IamRolePolicy {
    const index = this.grants++;
    return new IamRolePolicy(this, `grant-anchor-read-${index}`, {
      provider: this.aws,
      name: `${this.bucketName}-anchor-read`,
      role: principal.name,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ListAuditObjects",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: this.bucketArn,
            Condition: { StringLike: { "s3:prefix": [`${this.prefix}*`] } },
          },
          { Sid: "ReadAuditObjectHeads", Effect: "Allow", Action: "s3:GetObject", Resource: `${this.bucketArn}/${this.prefix}*` },
        ],
      }),
    });
  }

  /**
   * Lets the principal add objects under the prefix, with retention headers, and nothing else:
   * no read, list, delete, or retention change outside a PutObject. SSE-KMS needs
   * kms:GenerateDataKey on the bucket key, scoped to S3 in this region and to this prefix.
   */
  grantAppend(principal: AppendPrincipal): IamRolePolicy {
    const index = this.grants++;
    return new IamRolePolicy(this, `grant-append-${index}`, {
      provider: this.aws,
      name: `${this.bucketName}-append`,
      role: principal.name,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AppendAuditObjects",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:PutObjectRetention"],
            Resource: `${this.bucketArn}/${this.prefix}*`,
          },
          {
            Sid: "EncryptWithTheBucketKey",
            Effect: "Allow",
            Action: "kms:GenerateDataKey",
            Resource: this.key.arn,
            Condition: {
              StringEquals: { "kms:ViaService": `s3.${this.region}.amazonaws.com` },
              StringLike: { "kms:EncryptionContext:aws:s3:arn": `${this.bucketArn}*` },
            },
          },
        ],
      }),
    });
  }
}
