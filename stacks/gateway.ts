import { Construct } from "constructs";
import { MaestroStack, type MaestroStackProps } from "./base";
import { DutyRbac, OidcGateway, ScimSync } from "../constructs/gateway";
import { serviceUrl } from "../constructs/mesh/identity";

const gatewayServiceName = "gateway";
const complianceServiceName = "compliance";
const scimSyncServiceName = "scim-sync";

/** SSO in front of the compliance service (oauth2-proxy), the SCIM group sync, and per-duty RBAC bound to IdP groups. */
export class GatewayStack extends MaestroStack {
  readonly gateway: OidcGateway;
  readonly scimSync: ScimSync;
  readonly rbac: DutyRbac;

  constructor(scope: Construct, id: string, props: MaestroStackProps) {
    super(scope, id, props);
    const { gateway, namespaces, charts, images, mesh } = this.config;
    const service = (name: string) => {
      const s = mesh.services.find((x) => x.name === name);
      if (!s) throw new Error(`gateway stack: mesh.services has no '${name}' service`);
      return s;
    };
    const proxy = service(gatewayServiceName);
    const compliance = service(complianceServiceName);
    const scim = service(scimSyncServiceName);
    const complianceUrl = serviceUrl(compliance);

    this.gateway = new OidcGateway(this, "oidc-gateway", {
      helm: this.helm,
      namespace: proxy.namespace,
      chart: charts.oauth2Proxy,
      image: images.oauth2Proxy,
      issuer: gateway.oidc.issuer,
      clientId: gateway.oidc.clientId,
      audiences: gateway.oidc.audiences,
      secretName: gateway.oidc.secretName,
      serviceAccountName: proxy.serviceAccount,
      upstream: complianceUrl,
      allowedGroups: Object.keys(gateway.groupRoles),
      replicas: gateway.replicas,
    });

    this.scimSync = new ScimSync(this, "scim-sync", {
      kubernetes: this.kubernetes,
      namespace: scim.namespace,
      serviceAccountName: scim.serviceAccount,
      image: `${images.complianceService.repository}:${images.complianceService.tag}`,
      scimEndpoint: gateway.scim.endpoint,
      intervalMinutes: gateway.scim.intervalMinutes,
      secretName: gateway.scim.secretName,
      pushUrl: `${complianceUrl}/api/scim/sync`,
      groupRoles: gateway.groupRoles,
    });

    this.rbac = new DutyRbac(this, "duty-rbac", {
      kubernetes: this.kubernetes,
      namespaces: [namespaces.app, namespaces.gateway, namespaces.data],
      groupRoles: gateway.groupRoles,
    });

    this.output("environment", this.config.name, "Environment this stack was synthesized for");
    this.output("oidc_issuer", gateway.oidc.issuer, "OIDC issuer the gateway and the service trust");
    this.output("oauth2_proxy_chart_version", charts.oauth2Proxy.version, "Pinned oauth2-proxy chart version");
    this.output("scim_sync_schedule", this.scimSync.schedule, "CronJob schedule of the SCIM group sync");
    this.output(
      "scim_max_propagation_minutes",
      gateway.scim.intervalMinutes + 1,
      "Upper bound for an IdP change to take effect (interval + one run)",
    );
    this.output(
      "secret_names",
      [gateway.oidc.secretName, gateway.scim.secretName],
      "Kubernetes Secrets to create before deploying (values never in Terraform)",
    );
  }
}
