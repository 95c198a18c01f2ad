import { Construct } from "constructs";
import { MaestroStack, type MaestroStackProps } from "./base";
import { MeshMtls } from "../constructs/mesh/mesh-mtls";
import { meshNamespaces } from "../constructs/mesh/identity";
import { MtlsOverviewDashboard, mtlsDashboardUid } from "../constructs/mesh/dashboard";

/** Zero-trust mesh: STRICT mTLS, ISTIO_MUTUAL, deny-by-default with SPIFFE allow-lists, and the mtls-overview dashboard. */
export class MeshStack extends MaestroStack {
  readonly mesh: MeshMtls;
  readonly dashboard: MtlsOverviewDashboard;

  constructor(scope: Construct, id: string, props: MaestroStackProps) {
    super(scope, id, props);
    const { mesh: meshConfig, namespaces } = this.config;

    this.mesh = new MeshMtls(this, "mesh-mtls", {
      kubernetes: this.kubernetes,
      rootNamespace: namespaces.istio,
      trustDomain: meshConfig.trustDomain,
      services: meshConfig.services,
      protectedNamespaces: meshNamespaces(this.config),
      permissiveNamespaces: meshConfig.permissiveNamespaces,
    });
    for (const rule of meshConfig.allow) {
      this.mesh.allow(this.mesh.service(rule.from), this.mesh.service(rule.to), {
        ports: rule.ports,
        methods: rule.methods,
        paths: rule.paths,
      });
    }

    // REGISTRY_ONLY egress: only these external hosts are reachable from the mesh. S3 for the WORM
    // audit sink and WAL-G, STS for IRSA credentials, the IdP for JWKS and SCIM.
    const { region, gateway } = this.config;
    this.mesh.allowEgress("aws-s3", [`s3.${region}.amazonaws.com`, `*.s3.${region}.amazonaws.com`]);
    this.mesh.allowEgress("aws-sts", [`sts.${region}.amazonaws.com`]);
    this.mesh.allowEgress("identity-provider", [
      ...new Set([new URL(gateway.oidc.issuer).hostname, new URL(gateway.scim.endpoint).hostname]),
    ]);

    this.dashboard = new MtlsOverviewDashboard(this, "mtls-overview", {
      kubernetes: this.kubernetes,
      namespace: namespaces.monitoring,
      thresholdPercent: meshConfig.mtlsThresholdPercent,
    });

    this.output("environment", this.config.name, "Environment this stack was synthesized for");
    this.output("mtls_dashboard_uid", mtlsDashboardUid, "Grafana dashboard that shows the mTLS share");
    this.output("mtls_threshold_percent", meshConfig.mtlsThresholdPercent, "tools/verify/mtls-percent.sh --threshold");
    this.output("protected_namespaces", [...this.mesh.protectedNamespaces], "Namespaces with a deny-by-default AuthorizationPolicy");
  }
}
