import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketReplicationConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-replication-configuration";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { accountKeyPolicy } from "./kms-policy";
import { hardenedBucket } from "./hardened-bucket";
import { s3BucketNamePattern, s3BucketNameRule } from "../../contracts/names";

/** Properties of a {@link BucketReplica}. */
export interface BucketReplicaProps {
  /** The AWS provider of the source bucket's region (the replication role and configuration). */
  readonly aws: AwsProvider;
  /** The AWS provider of the replica's region (an aliased provider of the stack). */
  readonly replicaAws: AwsProvider;
  /** Region of the replica: must differ from the source's (a DR copy that survives a region). */
  readonly replicaRegion: string;
  readonly sourceRegion: string;
  readonly accountId: string;
  /** The source bucket (versioned) and its versioning resource, which replication needs first. */
  readonly source: S3Bucket;
  readonly sourceVersioning: ITerraformDependable;
  /** ARN of the source bucket's KMS key (objects are SSE-KMS; the replication role decrypts them). */
  readonly sourceKeyArn: string;
  /** Name of the replica bucket. */
  readonly bucketName: string;
  /** Key prefix to replicate, without a trailing '/'. @default everything */
  readonly prefix?: string;
  /** Object Lock on the replica, as on the source (each replicated version keeps its retention). @default none */
  readonly objectLock?: { mode: "COMPLIANCE" | "GOVERNANCE"; retentionDays: number };
  /** Days noncurrent versions are kept, as on the source. @default noncurrent versions are kept */
  readonly noncurrentVersionDays?: number;
}

/** Throws an error naming the prop and what is allowed. */
function check(ok: boolean, prop: string, allowed: string, got: unknown): void {
  if (!ok) throw new Error(`BucketReplica: ${prop} ${allowed} (got ${JSON.stringify(got)})`);
}

/**
 * A same-account copy of a bucket in a second region, for disaster recovery: its own KMS key
 * there, versioning, every public access blocked, TLS-only, Object Lock when the source has it,
 * and S3 replication of every new version (deletes markers included, so the copy matches) by a
 * role that can read only the source and write only the replica.
 */
export class BucketReplica extends Construct {
  readonly bucket: S3Bucket;
  readonly key: KmsKey;
  readonly role: IamRole;
  readonly bucketName: string;
  readonly region: string;

  constructor(scope: Construct, id: string, props: BucketReplicaProps) {
    super(scope, id);
    check(props.replicaRegion !== props.sourceRegion, "replicaRegion", "must differ from the source region", props.replicaRegion);
    check(s3BucketNamePattern.test(props.bucketName), "bucketName", s3BucketNameRule, props.bucketName);
    this.bucketName = props.bucketName;
    this.region = props.replicaRegion;
    const provider = props.replicaAws;
    const bucketArn = `arn:aws:s3:::${props.bucketName}`;

    this.key = new KmsKey(this, "key", {
      provider,
      description: `Replica of ${props.source.bucket} in ${props.replicaRegion}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify(accountKeyPolicy(props.accountId)),
    });
    const { bucket, versioning } = hardenedBucket(this, {
      aws: provider,
      bucketName: props.bucketName,
      encryption: { kmsKeyArn: this.key.arn },
      objectLock: props.objectLock,
    });
    this.bucket = bucket;
    const ref = { provider, bucket: this.bucket.id };
    // As on the source: interrupted uploads go, and so do old versions once the source lets its own go.
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      ...ref,
      rule: [
        {
          id: "as-on-the-source",
          status: "Enabled",
          filter: [{ prefix: "" }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
          ...(props.noncurrentVersionDays ? { noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays }] } : {}),
        },
      ],
      dependsOn: [versioning],
    });
    // Replication: read the source's versions (and their retention), write them into the replica.
    const sourceArn = `arn:aws:s3:::${props.source.bucket}`;
    const roleName = `${props.source.bucket}-replication`.slice(0, 64);
    this.role = new IamRole(this, "role", {
      provider: props.aws,
      name: roleName,
      description: `S3 replication of ${props.source.bucket} to ${props.bucketName} (${props.replicaRegion})`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "s3.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:SourceAccount": props.accountId } },
          },
        ],
      }),
    });
    new IamRolePolicy(this, "role-policy", {
      provider: props.aws,
      role: this.role.name,
      name: "replicate-to-dr-region",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "SourceBucket", Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: sourceArn },
          {
            Sid: "SourceVersions",
            Effect: "Allow",
            Action: [
              "s3:GetObjectVersionForReplication",
              "s3:GetObjectVersionAcl",
              "s3:GetObjectVersionTagging",
              "s3:GetObjectRetention",
              "s3:GetObjectLegalHold",
            ],
            Resource: `${sourceArn}/*`,
          },
          {
            Sid: "ReplicaVersions",
            Effect: "Allow",
            Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
            Resource: `${bucketArn}/*`,
          },
          { Sid: "SourceKey", Effect: "Allow", Action: "kms:Decrypt", Resource: props.sourceKeyArn },
          { Sid: "ReplicaKey", Effect: "Allow", Action: ["kms:Encrypt", "kms:GenerateDataKey"], Resource: this.key.arn },
        ],
      }),
    });
    new S3BucketReplicationConfigurationA(this, "replication", {
      provider: props.aws,
      bucket: props.source.id,
      role: this.role.arn,
      rule: [
        {
          id: "dr-region",
          status: "Enabled",
          priority: 1,
          filter: { prefix: props.prefix ? `${props.prefix}/` : "" },
          deleteMarkerReplication: { status: "Enabled" },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
          destination: {
            bucket: this.bucket.arn,
            storageClass: "STANDARD",
            encryptionConfiguration: { replicaKmsKeyId: this.key.arn },
          },
        },
      ],
      dependsOn: [props.sourceVersioning, versioning],
    });
  }
}
