import { Construct } from "constructs";
import { MaestroStack, type MaestroStackProps } from "./base";
import { ObjectLockBucket } from "../constructs/audit/object-lock-bucket";
import { IrsaRole } from "../constructs/aws/irsa-role";

/** The compliance service's name in config.mesh.services: its service account gets the IRSA role. */
const complianceServiceName = "compliance";

/**
 * The write-once audit bucket (S3 Object Lock, COMPLIANCE retention from config) and the
 * compliance service's IRSA role, which may only append under the audit prefix.
 */
/** The compliance service's IRSA role (made here; the backup stack lets it read the DR records). */
export function complianceServiceRoleName(environment: string): string {
  return `maestro-${environment}-compliance-audit`;
}

export class AuditStack extends MaestroStack {
  readonly auditBucket: ObjectLockBucket;
  readonly serviceRole: IrsaRole;

  constructor(scope: Construct, id: string, props: MaestroStackProps) {
    super(scope, id, props);
    const { audit, cluster, accountId, region } = this.config;

    this.auditBucket = new ObjectLockBucket(this, "audit-bucket", {
      aws: this.aws,
      bucketName: audit.bucketName,
      retentionDays: audit.retentionDays,
      mode: audit.mode,
      prefix: audit.prefix,
      accountId,
      region,
      replica: { aws: this.awsIn(audit.replica.region), region: audit.replica.region, bucketName: audit.replica.bucketName },
    });

    const service = this.config.mesh.services.find((s) => s.name === complianceServiceName);
    if (!service) throw new Error(`audit stack: mesh.services has no '${complianceServiceName}' service to give the audit role to`);
    // The role's Terraform address predates IrsaRole (compliance-service-role/role): this scope keeps
    // it, so no apply replaces the role.
    this.serviceRole = new IrsaRole(new Construct(this, "compliance-service-role"), "role", {
      aws: this.aws,
      roleName: complianceServiceRoleName(this.config.name),
      accountId,
      oidcProvider: cluster.oidcProvider,
      namespace: service.namespace,
      serviceAccounts: [service.serviceAccount],
    });
    this.auditBucket.grantAppend(this.serviceRole);
    // The WORM sink anchors the chain head in the newest batch object and reads it back at start.
    this.auditBucket.grantAnchorRead(this.serviceRole);

    this.output("environment", this.config.name, "Environment this stack was synthesized for");
    this.output("audit_bucket", audit.bucketName, "Object Lock bucket for audit records (AUDIT_WORM_BUCKET)");
    this.output("audit_prefix", audit.prefix, "Key prefix the service may append under");
    this.output("audit_retention_days", audit.retentionDays, "Default Object Lock retention in days (AUDIT_RETENTION_DAYS)");
    this.output("audit_retention_mode", audit.mode, "Default Object Lock retention mode");
    this.output("audit_kms_key_arn", this.auditBucket.key.arn, "SSE-KMS key of the audit bucket");
    this.output("audit_replica_bucket", audit.replica.bucketName, "Object Lock copy of the audit bucket in a second region");
    this.output("audit_replica_region", audit.replica.region, "Region of the audit replica");
    this.output(
      "compliance_service_role_arn",
      this.serviceRole.arn,
      "IRSA role for the compliance service account (eks.amazonaws.com/role-arn)",
    );
  }
}
