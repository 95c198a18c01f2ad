import { Construct } from "constructs";
import { MaestroStack, type MaestroStackProps } from "./base";
import { BlueGreenRollout } from "../constructs/rollout";
import { serviceIdentityEnv } from "../constructs/gateway";
import { backupRecordName, drillRecordName, recordKey } from "../contracts/records";
import type { IrsaRole } from "../constructs/aws/irsa-role";

/** The compliance service's name in config.mesh.services: Rollout, active Service and pod label. */
const complianceServiceName = "compliance";

/**
 * Service account of the SLO gate Job. Under the mesh's deny-by-default it needs an allow rule
 * `slo-gate → prometheus` (GET /api/v1/query on 9090) in config.mesh; see docs/rollouts.md.
 */
const sloGateServiceAccount = "slo-gate";

/**
 * The compliance service as an Argo Rollout (blue/green): active and preview Services, a
 * PodDisruptionBudget, and promotion gated on the SLO in config (tools/ci/slo_gate.js in an
 * AnalysisTemplate Job, before and after the switch; a failed gate aborts to the blue side).
 */
/** What the app stack takes from the stacks before it. */
export interface AppStackProps extends MaestroStackProps {
  /** The compliance service's IRSA role (the audit stack's): its ARN annotates the service account. */
  readonly serviceRole: IrsaRole;
}

export class AppStack extends MaestroStack {
  readonly compliance: BlueGreenRollout;

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, props);
    const { images, rollout, audit, backup, mesh } = this.config;

    const service = mesh.services.find((s) => s.name === complianceServiceName);
    if (!service) throw new Error(`app stack: mesh.services has no '${complianceServiceName}' service to deploy`);
    const port = service.ports[0];
    // The issuer, audiences and group mapping the gateway enforces; the SCIM sync token by reference.
    const identity = serviceIdentityEnv(this.config);

    this.compliance = new BlueGreenRollout(this, "compliance", {
      kubernetes: this.kubernetes,
      name: service.name,
      namespace: service.namespace,
      image: `${images.complianceService.repository}:${images.complianceService.tag}`,
      replicas: rollout.replicas,
      serviceAccountName: service.serviceAccount,
      // IRSA: the audit stack's role trusts exactly this account (a cross-stack reference).
      serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": props.serviceRole.arn },
      port,
      env: [
        { name: "PORT", value: String(port) },
        { name: "MAESTRO_ENVIRONMENT", value: this.config.serviceEnvironment },
        { name: "ALLOW_UNSIGNED_POLICY", value: "false" },
        { name: "AUDIT_WORM_ENABLED", value: "true" },
        { name: "AUDIT_WORM_BUCKET", value: audit.bucketName },
        { name: "AUDIT_RETENTION_DAYS", value: String(audit.retentionDays) },
        // The DR evidence: records the base-backup and drill jobs publish in the backup bucket,
        // read with this pod's role (the backup stack grants GetObject on exactly these two).
        { name: "AWS_REGION", value: this.config.region },
        { name: "COMPLIANCE_BACKUP_RECORD", value: `s3://${backup.bucketName}/${recordKey(backup.prefix, backupRecordName)}` },
        { name: "COMPLIANCE_DRILL_RECORD", value: `s3://${backup.bucketName}/${recordKey(backup.prefix, drillRecordName)}` },
        ...identity.env,
      ],
      // Only the Secret reference enters the JSON; the Secret itself is created outside Terraform.
      secretEnv: [
        { name: "DATABASE_URL", secretName: rollout.databaseUrlSecret.name, secretKey: rollout.databaseUrlSecret.key },
        // One export signing key for the fleet, and the retired keys /export/key still serves.
        { name: "AUDIT_SIGNING_KEY_PEM", secretName: rollout.signingKeySecret.name, secretKey: rollout.signingKeySecret.key },
        {
          name: "AUDIT_SIGNING_RETIRED_KEYS_PEM",
          secretName: rollout.signingKeySecret.name,
          secretKey: rollout.signingKeySecret.retiredKey,
        },
        ...identity.secretEnv,
      ],
      scaleDownDelaySeconds: rollout.scaleDownDelaySeconds,
      podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(port), "prometheus.io/path": "/metrics" },
      sloGate: { slo: rollout.slo, prometheusUrl: this.config.prometheusUrl, serviceAccountName: sloGateServiceAccount },
    });
    const gate = this.compliance.sloGate!;

    this.output("environment", this.config.name, "Environment this stack was synthesized for");
    this.output("rollout_name", this.compliance.name, "kubectl argo rollouts get rollout <name> -n <namespace>");
    this.output("rollout_namespace", this.compliance.namespace, "Namespace of the compliance service");
    this.output("active_service", this.compliance.activeServiceName, "Service carrying production traffic");
    this.output(
      "preview_service",
      this.compliance.previewServiceName,
      "Service of the revision awaiting promotion (smoke traffic goes here)",
    );
    this.output(
      "analysis_template",
      `${gate.analysisTemplate.object.metadata.name}`,
      "AnalysisTemplate whose Job runs tools/ci/slo_gate.js before and after promotion",
    );
  }
}
