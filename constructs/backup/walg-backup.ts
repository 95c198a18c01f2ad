import { join } from "node:path";
import { Construct } from "constructs";
import { CronExpressionParser } from "cron-parser";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import { CronJobV1 } from "@cdktf/provider-kubernetes/lib/cron-job-v1";
import { accountKeyPolicy } from "../aws/kms-policy";
import { IrsaRole } from "../aws/irsa-role";
import { hardenedBucket } from "../aws/hardened-bucket";
import { BucketReplica } from "../aws/bucket-replica";
import { accessLogBucket } from "../aws/access-log-bucket";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { embedFile, terraformLiteral } from "../terraform/literal";
import { typedContainerSecurityContext, typedPodSecurityContext } from "../k8s/pod-security";
import { backupRecordName, drillRecordName, recordKey, recordsFolder } from "../../contracts/records";
import { keyPrefixPattern, keyPrefixRule } from "../../contracts/names";

/** tools/db/pitr.sh: the restore drill, shipped in a ConfigMap. */
export const pitrScriptPath = join(__dirname, "..", "..", "tools", "db", "pitr.sh");

/** Object Lock for the backup bucket: every object version is write-once for `retentionDays`. */
export interface BackupObjectLock {
  /** COMPLIANCE: nobody, root included, can shorten it; GOVERNANCE: a break-glass permission can. */
  readonly mode: "COMPLIANCE" | "GOVERNANCE";
  /** Default retention of each object version, in days. */
  readonly retentionDays: number;
}

export interface WalgBackupProps {
  /** The AWS provider of the stack (bucket, KMS key, roles). */
  readonly aws: AwsProvider;
  /** The kubernetes provider of the stack (StatefulSet, CronJobs, ConfigMaps). */
  readonly kubernetes: KubernetesProvider;
  /** Namespace of the database, its backup CronJob and its restore job template. */
  readonly namespace: string;
  /** Name of the Postgres StatefulSet and its Service (also the service account archiving WAL). @default "postgres" */
  readonly name?: string;
  /** The application database created in the cluster. */
  readonly databaseName: string;
  /** Postgres image, `repository:tag` (pinned). */
  readonly postgresImage: string;
  /** WAL-G image, `repository:tag` (pinned); its binary is copied into the Postgres pod. */
  readonly walgImage: string;
  /** Path of the wal-g binary inside `walgImage`. @default "/usr/local/bin/wal-g" */
  readonly walgBinaryPath?: string;
  /** Bucket holding base backups and WAL. */
  readonly bucketName: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; the roles are confined to it. */
  readonly prefix: string;
  /** AWS region of the bucket. */
  readonly region: string;
  /** EKS cluster OIDC provider (host/path) and account id, for the IRSA trust of the roles. */
  readonly oidcProvider: string;
  readonly accountId: string;
  /** 5-field cron schedule of `wal-g backup-push`. */
  readonly baseBackupSchedule: string;
  /** Full backups `wal-g delete retain FULL` keeps (older backups and their WAL are deleted). */
  readonly retainFullBackups: number;
  /** Postgres archive_timeout: a WAL segment is archived at least this often, bounding the RPO. */
  readonly archiveTimeoutSeconds: number;
  /** Size of each Postgres data volume, e.g. "20Gi". */
  readonly storageSize: string;
  /** Object Lock on the backup bucket. @default none: versioning and KMS only */
  readonly objectLock?: BackupObjectLock;
  /** A streaming-replication hot standby (HA) seeded from the latest base backup. @default false */
  readonly standbyReplica?: boolean;
  /**
   * Kubernetes Secret (not created here: secrets never enter the synthesized JSON) with keys
   * `superuser-password` and `replication-password`. @default "<name>-credentials"
   */
  readonly credentialsSecretName?: string;
  /** Contents of tools/db/pitr.sh mounted into the restore job. @default the repository's copy */
  readonly pitrScript?: string;
  /**
   * A copy of the archive in a second region (its own KMS key, Object Lock as on the source); the
   * restore role may read it (`pitr.sh --source replica`). @default none: the archive lives in one region
   */
  readonly replica?: { readonly aws: AwsProvider; readonly region: string; readonly bucketName: string };
}

const postgresUid = 999; // uid/gid of the postgres user in the official image
/** The database WAL-G's ordinary connection opens (it needs one; the role owns none). */
export const walgDatabase = "postgres";
/** The init script (in the image's /docker-entrypoint-initdb.d) that creates the replication role. */
export const replicatorInitScript = "10-replicator.sh";

/**
 * The replication role WAL-G and the standby connect as: LOGIN REPLICATION, pg_read_all_settings
 * (WAL-G reads `data_directory`), and pg_hba lines for its replication connections and for its
 * ordinary connection to `database` only.
 */
export function replicatorInit(database: string): string {
  return [
    "#!/bin/sh",
    "set -eu",
    // psql interpolates :'pw' (quoted) only in script input, never in -c.
    `psql -v ON_ERROR_STOP=1 -v pw="$REPLICATION_PASSWORD" -U postgres -d postgres <<'SQL'`,
    "create role replicator with login replication password :'pw';",
    "grant pg_read_all_settings to replicator;",
    "SQL",
    'echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"',
    `echo "host ${database} replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"`,
    "",
  ].join("\n");
}
const dataMount = "/var/lib/postgresql/data";
const pgdata = `${dataMount}/pgdata`;
const walgDir = "/walg/bin";

/** Throws an error naming the prop and what is allowed. */
function check(ok: boolean, prop: string, allowed: string, got: unknown): void {
  if (!ok) throw new Error(`WalgBackup: ${prop} ${allowed} (got ${JSON.stringify(got)})`);
}

/** The longest gap between two runs of a cron schedule over a week, in days (at least 1/24). */
export function scheduleIntervalDays(schedule: string): number {
  const it = CronExpressionParser.parse(schedule, { currentDate: new Date("2026-01-05T00:00:00Z"), tz: "UTC" });
  let longest = 0;
  let previous = it.next().getTime();
  // The longest gap over a week, so "0 1 * * 1-5" counts its weekend gap.
  for (let i = 0; i < 200; i++) {
    const next = it.next().getTime();
    longest = Math.max(longest, next - previous);
    previous = next;
    if (next - new Date("2026-01-05T00:00:00Z").getTime() > 8 * 86400000) break;
  }
  return Math.max(longest / 86400000, 1 / 24);
}

/** How far back `wal-g delete retain FULL n` keeps backups under a schedule, in whole days. */
export function backupRetentionDays(schedule: string, retainFullBackups: number): number {
  return Math.ceil(retainFullBackups * scheduleIntervalDays(schedule));
}

/** Throws an error naming the first prop that is not allowed. */
function checkProps(props: WalgBackupProps): void {
  check(keyPrefixPattern.test(props.prefix), "prefix", keyPrefixRule, props.prefix);
  check(
    Number.isInteger(props.retainFullBackups) && props.retainFullBackups >= 1,
    "retainFullBackups",
    "must be an integer >= 1",
    props.retainFullBackups,
  );
  check(
    Number.isInteger(props.archiveTimeoutSeconds) && props.archiveTimeoutSeconds >= 10 && props.archiveTimeoutSeconds <= 3600,
    "archiveTimeoutSeconds",
    "must be an integer 10-3600 (it bounds the RPO)",
    props.archiveTimeoutSeconds,
  );
  check(
    props.baseBackupSchedule.trim().split(/\s+/).length === 5,
    "baseBackupSchedule",
    "must be a 5-field cron expression",
    props.baseBackupSchedule,
  );
  check(/^\d+(Gi|Ti)$/.test(props.storageSize), "storageSize", "must be a quantity such as 20Gi", props.storageSize);
  if (props.objectLock) {
    check(
      ["COMPLIANCE", "GOVERNANCE"].includes(props.objectLock.mode),
      "objectLock.mode",
      "must be COMPLIANCE or GOVERNANCE",
      props.objectLock.mode,
    );
    check(
      Number.isInteger(props.objectLock.retentionDays) && props.objectLock.retentionDays >= 1,
      "objectLock.retentionDays",
      "must be an integer >= 1",
      props.objectLock.retentionDays,
    );
  }
}

/** Names and values every part of a {@link WalgBackup} shares. */
interface WalgContext {
  readonly props: WalgBackupProps;
  readonly name: string;
  readonly ns: string;
  /** The Secret with the superuser and replication passwords. */
  readonly secret: string;
  readonly walgBinary: string;
  readonly aws: AwsProvider;
  readonly k8s: KubernetesProvider;
  readonly labels: Record<string, string>;
  readonly bucketArn: string;
  /** Service accounts of the base-backup and restore jobs. */
  readonly backupSa: string;
  readonly restoreSa: string;
}

/** The names every part derives from the props. */
function walgContext(props: WalgBackupProps): WalgContext {
  const name = props.name ?? "postgres";
  return {
    props,
    name,
    ns: props.namespace,
    secret: props.credentialsSecretName ?? `${name}-credentials`,
    walgBinary: props.walgBinaryPath ?? "/usr/local/bin/wal-g",
    aws: props.aws,
    k8s: props.kubernetes,
    labels: { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "maestro", "app.kubernetes.io/component": "database" },
    bucketArn: `arn:aws:s3:::${props.bucketName}`,
    backupSa: `${name}-backup`,
    restoreSa: `${name}-restore`,
  };
}

/** The pieces the Postgres pods and the backup/restore jobs are built from (no resources). */
function podParts(c: WalgContext, objects: { walgEnvName: string; initScriptsName: string; pitrScriptName: string }) {
  const { props, secret, walgBinary } = c;
  const { walgEnvName, initScriptsName, pitrScriptName } = objects;
  // Postgres's entrypoint writes outside its volumes, so its containers keep a writable root.
  const hardened = typedContainerSecurityContext({ runAsUser: postgresUid, runAsGroup: postgresUid, writableRootFilesystem: true });
  const podSecurity = typedPodSecurityContext({ runAsUser: postgresUid, fsGroup: postgresUid });
  const secretEnv = (envName: string, key: string) => ({ name: envName, valueFrom: { secretKeyRef: { name: secret, key } } });
  // Every container is bounded (policy MAESTRO-K8S-002): a runaway backup or restore must not
  // starve the primary on the same node.
  const smallJob = { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } };
  const heavyJob = { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };
  const copyWalg = {
    name: "install-walg",
    image: props.walgImage,
    command: ["cp", walgBinary, `${walgDir}/wal-g`],
    resources: smallJob,
    securityContext: hardened,
    volumeMount: [{ name: "walg-bin", mountPath: walgDir }],
  };
  const walgArchive = `${walgDir}/wal-g`;
  const pgMajor = /:(\d+)/.exec(props.postgresImage)?.[1] ?? "16";
  const serverArgs = (extra: string[]) =>
    [
      "wal_level=replica",
      "archive_mode=on",
      `archive_command=${walgArchive} wal-push %p`,
      `archive_timeout=${props.archiveTimeoutSeconds}`,
      // Commit times make a restore's end point provable (pitr.sh's verification).
      "track_commit_timestamp=on",
      "max_wal_senders=10",
      "hot_standby=on",
      ...extra,
    ].flatMap((setting) => ["-c", setting]);
  const probe = { exec: { command: ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"] }, periodSeconds: 10, failureThreshold: 6 };
  const postgresContainer = (args: string[], role: string) => ({
    name: "postgres",
    image: props.postgresImage,
    args: ["postgres", ...args],
    port: [{ name: "postgres", containerPort: 5432 }],
    env: [
      { name: "POSTGRES_DB", value: props.databaseName },
      secretEnv("POSTGRES_PASSWORD", "superuser-password"),
      secretEnv("REPLICATION_PASSWORD", "replication-password"),
      { name: "MAESTRO_ROLE", value: role },
    ],
    envFrom: [{ configMapRef: { name: walgEnvName } }],
    securityContext: hardened,
    readinessProbe: probe,
    livenessProbe: { ...probe, initialDelaySeconds: 30 },
    resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" } },
    volumeMount: [
      { name: "data", mountPath: dataMount },
      { name: "walg-bin", mountPath: walgDir, readOnly: true },
      { name: "run", mountPath: "/var/run/postgresql" },
      { name: "init-scripts", mountPath: "/docker-entrypoint-initdb.d", readOnly: true },
    ],
  });
  const volumes = [
    { name: "walg-bin", emptyDir: {} },
    { name: "run", emptyDir: {} },
    { name: "init-scripts", configMap: { name: initScriptsName } },
  ];
  const claim = {
    metadata: { name: "data" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: props.storageSize } } },
  };

  const jobPod = (saName: string, containers: unknown[], initContainers: unknown[] = [], extraVolumes: unknown[] = []) => ({
    spec: {
      serviceAccountName: saName,
      automountServiceAccountToken: false,
      restartPolicy: "Never",
      securityContext: podSecurity,
      initContainer: initContainers as never,
      container: containers as never,
      volume: extraVolumes as never,
    },
  });
  const drillVolumes = [
    { name: "walg-bin", emptyDir: {} },
    { name: "pitr", configMap: { name: pitrScriptName, defaultMode: "0555" } },
  ];
  const drillMounts = [
    { name: "walg-bin", mountPath: walgDir, readOnly: true },
    { name: "pitr", mountPath: "/drill", readOnly: true },
  ];
  const drillPath = {
    name: "PATH",
    value: `${walgDir}:/usr/lib/postgresql/${pgMajor}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  };
  return {
    hardened,
    podSecurity,
    secretEnv,
    heavyJob,
    copyWalg,
    walgArchive,
    serverArgs,
    postgresContainer,
    volumes,
    claim,
    jobPod,
    drillVolumes,
    drillMounts,
    drillPath,
    walgEnvName,
  };
}
type PodParts = ReturnType<typeof podParts>;

/**
 * Postgres with continuous WAL archiving through WAL-G into a dedicated, encrypted, versioned
 * bucket: base backups on a schedule, retention, an optional hot standby, and a restore job
 * template that runs tools/db/pitr.sh. Roles can touch only the configured prefix.
 */
export class WalgBackup extends Construct {
  readonly bucket: S3Bucket;
  readonly kmsKey: KmsKey;
  /** Role of the pods that write the archive (Postgres wal-push, the base-backup CronJob). */
  readonly writerRole: IrsaRole;
  /** Read-only role of the restore job. */
  readonly restoreRole: IrsaRole;
  readonly statefulSet: StatefulSetV1;
  readonly standby?: StatefulSetV1;
  readonly baseBackupCronJob: CronJobV1;
  /** A suspended CronJob: the template of a restore drill (`kubectl create job --from=cronjob/…`). */
  readonly restoreJobTemplate: CronJobV1;
  /** Name of the restore job template (a plain string, for outputs and docs). */
  readonly restoreJobName: string;
  /** s3://bucket/prefix, WAL-G's WALG_S3_PREFIX. */
  readonly walgS3Prefix: string;
  readonly name: string;
  readonly namespace: string;
  /** Days the bucket's lifecycle keeps noncurrent versions (deleted backups stay recoverable that long). */
  readonly noncurrentVersionDays: number;
  /** The archive's copy in a second region, when configured. */
  readonly replica?: BucketReplica;
  /** WALG_S3_PREFIX of the replica (`pitr.sh --source replica` reads it from the outputs). */
  readonly replicaWalgS3Prefix?: string;
  /** `<prefix>/records`: where the base-backup and drill jobs publish their records. */
  readonly recordsPrefix: string;
  /** ARN of one record object (`last-backup.json`, `last-drill.json`). */
  private readonly recordArn: (record: typeof backupRecordName | typeof drillRecordName) => string;
  private readonly aws: AwsProvider;

  constructor(scope: Construct, id: string, props: WalgBackupProps) {
    super(scope, id);
    checkProps(props);
    const c = walgContext(props);
    this.name = c.name;
    this.namespace = c.ns;
    this.aws = c.aws;
    this.walgS3Prefix = `s3://${props.bucketName}/${props.prefix}`;
    this.recordsPrefix = `${props.prefix}/${recordsFolder}`;
    this.recordArn = (record) => `${c.bucketArn}/${recordKey(props.prefix, record)}`;
    this.restoreJobName = `${c.name}-restore-drill`;

    const archive = this.archiveBucket(c);
    this.kmsKey = archive.kmsKey;
    this.bucket = archive.bucket;
    this.noncurrentVersionDays = archive.noncurrentVersionDays;
    this.replica = archive.replica;
    this.replicaWalgS3Prefix = archive.replicaWalgS3Prefix;
    const roles = this.archiveRoles(c);
    this.writerRole = roles.writer;
    this.restoreRole = roles.restore;

    const pods = podParts(c, this.databaseObjects(c));
    this.statefulSet = this.primaryServer(c, pods);
    this.standby = props.standbyReplica ? this.standbyServer(c, pods, this.statefulSet) : undefined;
    this.baseBackupCronJob = this.baseBackupJob(c, pods, this.statefulSet);
    this.restoreJobTemplate = this.restoreDrill(c, pods, this.restoreJobName);
  }

  /** Storage: a bucket only this archive uses, its KMS key, lifecycle, access logs and DR replica. */
  private archiveBucket(c: WalgContext) {
    const { props, name, ns, aws, bucketArn } = c;
    const kmsKey = new KmsKey(this, "kms-key", {
      provider: aws,
      description: `WAL-G archive of ${ns}/${name}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify(accountKeyPolicy(props.accountId)),
    });
    new KmsAlias(this, "kms-alias", { provider: aws, name: `alias/${props.bucketName}`, targetKeyId: kmsKey.keyId });

    const { bucket, versioning } = hardenedBucket(this, {
      aws,
      bucketName: props.bucketName,
      encryption: { kmsKeyArn: kmsKey.arn },
      objectLock: props.objectLock,
    });
    const bucketRef = { provider: aws, bucket: bucket.id };
    // `wal-g delete` leaves noncurrent versions behind a delete marker; they expire once the
    // retention window (and any lock) has passed, so a bad delete stays recoverable that long.
    const retentionWindowDays = backupRetentionDays(props.baseBackupSchedule, props.retainFullBackups);
    const noncurrentVersionDays = Math.max(retentionWindowDays, props.objectLock?.retentionDays ?? 0) + 7;
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      ...bucketRef,
      rule: [
        {
          id: "expire-deleted-backups",
          status: "Enabled",
          filter: [{ prefix: `${props.prefix}/` }],
          noncurrentVersionExpiration: [{ noncurrentDays: noncurrentVersionDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
        // An interrupted upload anywhere in the bucket (a killed backup-push) is not kept for ever.
        {
          id: "abort-incomplete-uploads",
          status: "Enabled",
          filter: [{ prefix: "" }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
      dependsOn: [versioning],
    });
    // Who read or wrote the archive, and when: server access logs into a bucket of their own.
    const logs = accessLogBucket(this, "access-logs", {
      aws,
      bucketName: `${props.bucketName}-access-logs`,
      sourceBucketArn: bucketArn,
      accountId: props.accountId,
      retentionDays: noncurrentVersionDays,
    });
    new S3BucketLoggingA(this, "access-logging", { ...bucketRef, targetBucket: logs.id, targetPrefix: `${props.bucketName}/` });
    let replica: BucketReplica | undefined;
    let replicaWalgS3Prefix: string | undefined;
    if (props.replica) {
      replica = new BucketReplica(this, "replica", {
        aws,
        replicaAws: props.replica.aws,
        replicaRegion: props.replica.region,
        sourceRegion: props.region,
        accountId: props.accountId,
        source: bucket,
        sourceVersioning: versioning,
        sourceKeyArn: kmsKey.arn,
        bucketName: props.replica.bucketName,
        prefix: props.prefix,
        objectLock: props.objectLock,
        noncurrentVersionDays: noncurrentVersionDays,
      });
      replicaWalgS3Prefix = `s3://${props.replica.bucketName}/${props.prefix}`;
    }
    return { kmsKey, bucket, noncurrentVersionDays, replica, replicaWalgS3Prefix };
  }

  /** IRSA roles confined to the prefix: the writer (Postgres, the base backup) and the read-only restore. */
  private archiveRoles(c: WalgContext) {
    const { props, name, ns, aws, bucketArn, backupSa, restoreSa } = c;
    const objectArn = `${bucketArn}/${props.prefix}/*`;
    const irsaRole = (
      roleId: string,
      serviceAccounts: string[],
      objectActions: string[],
      kmsActions: string[],
      purpose: string,
      extraStatements: object[] = [],
    ) => {
      const role = new IrsaRole(this, roleId, {
        aws,
        roleName: `${props.bucketName}-${roleId}`,
        description: purpose,
        accountId: props.accountId,
        oidcProvider: props.oidcProvider,
        namespace: ns,
        serviceAccounts,
      });
      new IamRolePolicy(this, `${roleId}-policy`, {
        provider: aws,
        role: role.name,
        name: "walg-archive-prefix",
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "ObjectsUnderPrefix", Effect: "Allow", Action: objectActions, Resource: objectArn },
            {
              Sid: "ListPrefix",
              Effect: "Allow",
              Action: "s3:ListBucket",
              Resource: bucketArn,
              Condition: { StringLike: { "s3:prefix": [`${props.prefix}/*`, props.prefix] } },
            },
            { Sid: "ArchiveKey", Effect: "Allow", Action: kmsActions, Resource: this.kmsKey.arn },
            ...extraStatements,
          ],
        }),
      });
      return role;
    };
    const writer = irsaRole(
      "writer",
      [name, backupSa],
      ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
      ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
      `WAL-G archive writer for ${ns}/${name}: ${props.prefix}/ only`,
    );
    // Read-only, but for its own record: a drill publishes records/last-drill.json (nothing else).
    const restore = irsaRole("restore", [restoreSa], ["s3:GetObject"], ["kms:Decrypt"], `WAL-G restore (read-only) for ${ns}/${name}`, [
      { Sid: "DrillRecord", Effect: "Allow", Action: "s3:PutObject", Resource: this.recordArn(drillRecordName) },
      { Sid: "DrillRecordKey", Effect: "Allow", Action: "kms:GenerateDataKey", Resource: this.kmsKey.arn },
      ...(this.replica
        ? [
            {
              Sid: "ReplicaObjects",
              Effect: "Allow",
              Action: "s3:GetObject",
              Resource: `arn:aws:s3:::${this.replica.bucketName}/${props.prefix}/*`,
            },
            {
              Sid: "ReplicaList",
              Effect: "Allow",
              Action: "s3:ListBucket",
              Resource: `arn:aws:s3:::${this.replica.bucketName}`,
              Condition: { StringLike: { "s3:prefix": [`${props.prefix}/*`, props.prefix] } },
            },
            { Sid: "ReplicaKey", Effect: "Allow", Action: "kms:Decrypt", Resource: this.replica.key.arn },
          ]
        : []),
    ]);
    return { writer, restore };
  }

  /** Service accounts, the WAL-G settings and scripts the pods mount, and the database's Services. */
  private databaseObjects(c: WalgContext) {
    const { props, name, ns, k8s, labels, backupSa, restoreSa } = c;
    const serviceAccount = (saId: string, saName: string, role: IrsaRole) =>
      new ServiceAccountV1(this, saId, {
        provider: k8s,
        metadata: { name: saName, namespace: ns, labels, annotations: { "eks.amazonaws.com/role-arn": role.arn } },
        automountServiceAccountToken: false,
      });
    serviceAccount("service-account", name, this.writerRole);
    serviceAccount("backup-service-account", backupSa, this.writerRole);
    serviceAccount("restore-service-account", restoreSa, this.restoreRole);

    // Non-secret WAL-G settings, shared by every pod that talks to the archive.
    const walgEnv = new ConfigMapV1(this, "walg-env", {
      provider: k8s,
      metadata: { name: `${name}-walg`, namespace: ns, labels },
      data: {
        WALG_S3_PREFIX: this.walgS3Prefix,
        AWS_REGION: props.region,
        WALG_S3_SSE: "aws:kms",
        WALG_S3_SSE_KMS_ID: this.kmsKey.arn,
        WALG_COMPRESSION_METHOD: "lz4",
        PGDATA: pgdata,
      },
    });

    // Runs once, on an empty data directory (the image's initdb hook): the role remote base
    // backups and the standby connect as, and its pg_hba entries. `wal-g backup-push` opens an
    // ordinary connection first (server version, system id, `show data_directory`: that setting
    // needs pg_read_all_settings), then a replication one for BASE_BACKUP (docs/dr.md lists each).
    const initScripts = new ConfigMapV1(this, "init-scripts", {
      provider: k8s,
      metadata: { name: `${name}-init`, namespace: ns, labels },
      data: { [replicatorInitScript]: terraformLiteral(replicatorInit(walgDatabase)) },
    });

    new ServiceV1(this, "service", {
      provider: k8s,
      metadata: { name, namespace: ns, labels },
      spec: { selector: { ...labels, "maestro.io/role": "primary" }, port: [{ name: "postgres", port: 5432, targetPort: "5432" }] },
    });
    new ServiceV1(this, "headless-service", {
      provider: k8s,
      metadata: { name: `${name}-headless`, namespace: ns, labels },
      spec: { clusterIp: "None", selector: labels, port: [{ name: "postgres", port: 5432, targetPort: "5432" }] },
    });

    // pitr.sh (from a ConfigMap) runs both jobs: the base backup and the restore drill, each
    // publishing its record into the archive's records/ folder, where the service reads it.
    const pitrScript = new ConfigMapV1(this, "pitr-script", {
      provider: k8s,
      metadata: { name: `${name}-pitr`, namespace: ns, labels },
      data: { "pitr.sh": props.pitrScript !== undefined ? terraformLiteral(props.pitrScript) : embedFile(pitrScriptPath) },
    });
    return { walgEnvName: walgEnv.metadata.name, initScriptsName: initScripts.metadata.name, pitrScriptName: pitrScript.metadata.name };
  }

  /** The primary: Postgres archiving every WAL segment through WAL-G. */
  private primaryServer(c: WalgContext, pods: PodParts): StatefulSetV1 {
    const { name, ns, k8s, labels } = c;
    const { podSecurity, copyWalg, postgresContainer, serverArgs, volumes, claim } = pods;
    return new StatefulSetV1(this, "statefulset", {
      provider: k8s,
      metadata: { name, namespace: ns, labels },
      waitForRollout: true,
      spec: {
        serviceName: `${name}-headless`,
        replicas: "1",
        selector: { matchLabels: { ...labels, "maestro.io/role": "primary" } },
        template: {
          metadata: { labels: { ...labels, "maestro.io/role": "primary" } },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: podSecurity,
            initContainer: [copyWalg],
            container: [postgresContainer(serverArgs([]), "primary")],
            volume: volumes,
          },
        },
        volumeClaimTemplate: [claim],
      },
    });
  }

  /** The hot standby: seeded from the latest base backup, then streaming from the primary. */
  private standbyServer(c: WalgContext, pods: PodParts, primary: StatefulSetV1): StatefulSetV1 {
    const { props, name, ns, k8s, labels } = c;
    const { hardened, podSecurity, copyWalg, heavyJob, walgArchive, postgresContainer, serverArgs, volumes, claim, walgEnvName } = pods;
    const standbyName = `${name}-standby`;
    const standbyLabels = { ...labels, "maestro.io/role": "standby" };
    // Seeded from the latest base backup, then streams from the primary; falls back to the
    // archive (wal-fetch) when it falls behind further than the primary's WAL.
    const seed = [
      "set -eu",
      `if [ ! -s "${pgdata}/PG_VERSION" ]; then`,
      `  ${walgArchive} backup-fetch "${pgdata}" LATEST`,
      `  touch "${pgdata}/standby.signal"`,
      "fi",
    ].join("\n");
    return new StatefulSetV1(this, "standby", {
      provider: k8s,
      metadata: { name: standbyName, namespace: ns, labels: standbyLabels },
      waitForRollout: true,
      spec: {
        serviceName: `${name}-headless`,
        replicas: "1",
        selector: { matchLabels: standbyLabels },
        template: {
          metadata: { labels: standbyLabels },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: podSecurity,
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  { labelSelector: [{ matchLabels: labels }], topologyKey: "kubernetes.io/hostname" },
                ],
              },
            },
            initContainer: [
              copyWalg,
              {
                name: "seed-from-backup",
                image: props.postgresImage,
                command: ["sh", "-c", seed],
                resources: heavyJob,
                envFrom: [{ configMapRef: { name: walgEnvName } }],
                securityContext: hardened,
                volumeMount: [
                  { name: "data", mountPath: dataMount },
                  { name: "walg-bin", mountPath: walgDir, readOnly: true },
                ],
              },
            ],
            container: [
              postgresContainer(
                serverArgs([
                  // $(VAR) is expanded by the kubelet from the Secret: the password never enters the JSON.
                  `primary_conninfo=host=${name}.${ns}.svc port=5432 user=replicator password=$(REPLICATION_PASSWORD) application_name=${standbyName}`,
                  `restore_command=${walgArchive} wal-fetch %f %p`,
                ]),
                "standby",
              ),
            ],
            volume: volumes,
          },
        },
        volumeClaimTemplate: [claim],
      },
      dependsOn: [primary],
    });
  }

  /** The base-backup schedule: a CronJob running pitr.sh base-backup, retention and its record. */
  private baseBackupJob(c: WalgContext, pods: PodParts, primary: StatefulSetV1): CronJobV1 {
    const { props, name, ns, k8s, labels, backupSa } = c;
    const { hardened, heavyJob, copyWalg, jobPod, drillVolumes, drillMounts, drillPath, secretEnv, walgEnvName } = pods;
    // Remote base backup over the replication protocol, then retention, then the record.
    return new CronJobV1(this, "base-backup", {
      provider: k8s,
      metadata: { name: `${name}-base-backup`, namespace: ns, labels },
      spec: {
        schedule: props.baseBackupSchedule,
        timezone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 2,
            template: {
              metadata: { labels },
              ...jobPod(
                backupSa,
                [
                  {
                    name: "backup-push",
                    image: props.postgresImage,
                    command: [
                      "bash",
                      "/drill/pitr.sh",
                      "base-backup",
                      "--driver",
                      "wal-g",
                      "--retain-full",
                      String(props.retainFullBackups),
                      "--publish",
                    ],
                    resources: heavyJob,
                    env: [
                      drillPath,
                      { name: "PGHOST", value: `${name}.${ns}.svc` },
                      { name: "PGPORT", value: "5432" },
                      { name: "PGUSER", value: "replicator" },
                      { name: "PGDATABASE", value: walgDatabase },
                      secretEnv("PGPASSWORD", "replication-password"),
                    ],
                    envFrom: [{ configMapRef: { name: walgEnvName } }],
                    securityContext: hardened,
                    volumeMount: drillMounts,
                  },
                ],
                [copyWalg],
                drillVolumes,
              ),
            },
          },
        },
      },
      dependsOn: [primary],
    });
  }

  /** The restore drill template: a suspended CronJob a drill job is created from. */
  private restoreDrill(c: WalgContext, pods: PodParts, restoreJobName: string): CronJobV1 {
    const { props, ns, k8s, labels, restoreSa } = c;
    const { hardened, heavyJob, copyWalg, jobPod, drillVolumes, drillMounts, drillPath, walgEnvName } = pods;
    // The restore drill: pitr.sh restores into an emptyDir with the restore role (read-only but
    // for its record). Suspended; each drill is `kubectl create job --from=cronjob/<name>-restore-drill`.
    return new CronJobV1(this, "restore-drill", {
      provider: k8s,
      metadata: { name: restoreJobName, namespace: ns, labels },
      spec: {
        schedule: props.baseBackupSchedule,
        suspend: true,
        concurrencyPolicy: "Forbid",
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 0,
            template: {
              metadata: { labels },
              ...jobPod(
                restoreSa,
                [
                  {
                    name: "pitr",
                    image: props.postgresImage,
                    command: [
                      "bash",
                      "/drill/pitr.sh",
                      "--driver",
                      "wal-g",
                      "--target-dir",
                      "/restore/data",
                      "--port",
                      "5432",
                      "--publish",
                    ],
                    resources: heavyJob,
                    env: [drillPath, { name: "PITR_DATABASE", value: props.databaseName }],
                    envFrom: [{ configMapRef: { name: walgEnvName } }],
                    securityContext: hardened,
                    volumeMount: [...drillMounts, { name: "restore", mountPath: "/restore" }],
                  },
                ],
                [copyWalg],
                [...drillVolumes, { name: "restore", emptyDir: {} }],
              ),
            },
          },
        },
      },
    });
  }

  /**
   * Lets a role (the compliance service's) read the backup and drill records, and nothing else of
   * the archive: GetObject on the two record objects and Decrypt with the archive's key.
   */
  grantRecordsRead(role: { readonly name: string }, id = "records-reader"): IamRolePolicy {
    return new IamRolePolicy(this, id, {
      provider: this.aws,
      role: role.name,
      name: "dr-records-read",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "Records",
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: [this.recordArn(backupRecordName), this.recordArn(drillRecordName)],
          },
          { Sid: "RecordsKey", Effect: "Allow", Action: "kms:Decrypt", Resource: this.kmsKey.arn },
        ],
      }),
    });
  }
}
