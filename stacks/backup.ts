import { Construct } from "constructs";
import { MaestroStack, type MaestroStackProps } from "./base";
import { WalgBackup, backupRetentionDays } from "../constructs/backup/walg-backup";
import { complianceServiceRoleName } from "./audit";

/** Where a drill finds the stack outputs: `npx cdktf output backup --outputs-file <this>`. */
export const drillOutputsFile = "backup-outputs.json";

/**
 * The service's Postgres with WAL-G archiving into a dedicated bucket, a base-backup schedule,
 * retention, an optional standby, and a restore job template; its outputs are everything a DR
 * drill needs (and nothing secret).
 */
export class BackupStack extends MaestroStack {
  readonly walg: WalgBackup;

  constructor(scope: Construct, id: string, props: MaestroStackProps) {
    super(scope, id, props);
    const { backup, images, namespaces } = this.config;
    const image = (i: { repository: string; tag: string }) => `${i.repository}:${i.tag}`;

    this.walg = new WalgBackup(this, "postgres", {
      aws: this.aws,
      kubernetes: this.kubernetes,
      namespace: namespaces.data,
      databaseName: backup.databaseName,
      postgresImage: image(images.postgres),
      walgImage: image(images.walg),
      bucketName: backup.bucketName,
      prefix: backup.prefix,
      region: this.config.region,
      accountId: this.config.accountId,
      oidcProvider: this.config.cluster.oidcProvider,
      baseBackupSchedule: backup.baseBackupSchedule,
      retainFullBackups: backup.retainFullBackups,
      archiveTimeoutSeconds: backup.archiveTimeoutSeconds,
      storageSize: backup.storageSize,
      standbyReplica: backup.standbyReplica,
      replica: { aws: this.awsIn(backup.replica.region), region: backup.replica.region, bucketName: backup.replica.bucketName },
      // Locked as long as retention keeps a backup, so nothing retention still needs can be erased.
      objectLock: backup.objectLock
        ? { mode: "COMPLIANCE", retentionDays: backupRetentionDays(backup.baseBackupSchedule, backup.retainFullBackups) }
        : undefined,
    });

    // The compliance service (the audit stack's role) reads the two DR records, nothing else.
    this.walg.grantRecordsRead({ name: complianceServiceRoleName(this.config.name) });

    const w = this.walg;
    this.output("environment", this.config.name, "Environment this stack was synthesized for");
    this.output("bucket", backup.bucketName, "Bucket holding the WAL-G archive (base backups and WAL)");
    this.output("prefix", backup.prefix, "Key prefix of the archive inside the bucket");
    this.output("region", this.config.region, "AWS region of the bucket");
    this.output("walg_s3_prefix", w.walgS3Prefix, "WALG_S3_PREFIX for wal-g (restore side)");
    this.output("database_name", backup.databaseName, "Application database inside the restored cluster");
    this.output("namespace", w.namespace, "Namespace of the database and its jobs");
    this.output("archive_timeout_seconds", backup.archiveTimeoutSeconds, "archive_timeout: the RPO bound in seconds");
    this.output("base_backup_schedule", backup.baseBackupSchedule, "Cron schedule of wal-g backup-push");
    this.output("retain_full_backups", backup.retainFullBackups, "Full backups kept by wal-g delete retain");
    this.output("restore_role_arn", w.restoreRole.arn, "Read-only role a restore runs with");
    this.output("replica_bucket", backup.replica.bucketName, "The archive's copy in a second region");
    this.output("replica_region", backup.replica.region, "Region of the replica (a drill from it: pitr.sh --source replica)");
    this.output("replica_walg_s3_prefix", w.replicaWalgS3Prefix!, "WALG_S3_PREFIX of the replica");
    this.output("restore_job_template", `${w.namespace}/cronjob/${w.restoreJobName}`, "Suspended CronJob a drill job is created from");
    this.output(
      "drill_command",
      `npx cdktf output backup --outputs-file ${drillOutputsFile} && ISO_TS=<ISO_TS> tools/db/pitr.sh --driver wal-g --outputs ${drillOutputsFile} --target-dir ./pitr-restore --record drill-record.json --publish`,
      "The exact drill command line (replace <ISO_TS>, e.g. 2026-11-28T10:15:00Z)",
    );
    this.output(
      "drill_job_command",
      `kubectl -n ${w.namespace} create job --from=cronjob/${w.restoreJobName} drill-<ID> --dry-run=client -o json` +
        ` | jq --arg ts <ISO_TS> '.spec.template.spec.containers[0].env += [{"name":"ISO_TS","value":$ts}]' | kubectl apply -f -`,
      "The same drill as a Kubernetes Job from the restore job template",
    );
  }
}
