import { Construct } from "constructs";
import { Release } from "@cdktf/provider-helm/lib/release";
import type { HelmProvider } from "@cdktf/provider-helm/lib/provider";
import type { ITerraformDependable } from "cdktf";
import { containerSecurityContext, podSecurityContext } from "../k8s/pod-security";

/** uid of the oauth2-proxy image's user. */
const proxyUid = 2000;

export interface OidcGatewayProps {
  /** The helm provider that installs the chart (the stack's). */
  readonly helm: HelmProvider;
  readonly namespace: string;
  /** oauth2-proxy chart: https repository and a pinned x.y.z version. */
  readonly chart: { repository: string; version: string };
  /** oauth2-proxy image, pinned tag. */
  readonly image: { repository: string; tag: string };
  /** OIDC issuer; https only. */
  readonly issuer: string;
  readonly clientId: string;
  /** Audiences accepted on bearer tokens besides the client id; at least one. */
  readonly audiences: string[];
  /** Kubernetes Secret with keys client-id, client-secret, cookie-secret (the chart's existingSecret contract). Only its name enters the JSON. */
  readonly secretName: string;
  /** The ServiceAccount the proxy runs as; the mesh allow-list names it. */
  readonly serviceAccountName: string;
  /** Upstream: the compliance service inside the mesh, e.g. http://compliance.maestro.svc.cluster.local:8080. */
  readonly upstream: string;
  /** Only members of these IdP groups get past the gateway (the mapped ones). */
  readonly allowedGroups: string[];
  /** @default 2 */
  readonly replicas?: number;
  /** Accept bearer JWTs from API clients (verified against the issuer) besides browser sessions. @default true */
  readonly acceptBearerTokens?: boolean;
  readonly dependsOn?: ITerraformDependable[];
}

const tomlString = (s: string) => JSON.stringify(s);
const tomlList = (xs: readonly string[]) => `[${xs.map(tomlString).join(", ")}]`;

/**
 * The OIDC-enforcing gateway in front of the compliance service: oauth2-proxy by Helm at a pinned
 * chart version. Browser users log in with authorization code + PKCE and get a secure, HttpOnly
 * session cookie; API clients send a bearer JWT. Either way the upstream receives the token in
 * Authorization and verifies it again (app/auth), so the gateway is not the only check.
 */
export class OidcGateway extends Construct {
  readonly release: Release;
  /** The oauth2-proxy config file, as rendered into the chart values. */
  readonly configFile: string;

  constructor(scope: Construct, id: string, props: OidcGatewayProps) {
    super(scope, id);
    if (!props.issuer.startsWith("https://")) throw new Error(`OidcGateway: issuer must be an https:// URL (got '${props.issuer}')`);
    if (!props.chart.repository.startsWith("https://"))
      throw new Error(`OidcGateway: chart.repository must be an https:// URL (got '${props.chart.repository}')`);
    if (!/^\d+\.\d+\.\d+$/.test(props.chart.version))
      throw new Error(`OidcGateway: chart.version must be a pinned x.y.z (got '${props.chart.version}')`);
    if (props.audiences.length === 0) throw new Error("OidcGateway: audiences must pin at least one audience");
    if (props.allowedGroups.length === 0)
      throw new Error("OidcGateway: allowedGroups must name at least one group (an empty list would admit everyone)");

    const extraAudiences = props.audiences.filter((a) => a !== props.clientId);
    this.configFile = [
      `provider = "oidc"`,
      `oidc_issuer_url = ${tomlString(props.issuer)}`,
      `client_id = ${tomlString(props.clientId)}`,
      ...(extraAudiences.length ? [`oidc_extra_audiences = ${tomlList(extraAudiences)}`] : []),
      `code_challenge_method = "S256"`,
      `scope = "openid email profile groups"`,
      `oidc_groups_claim = "groups"`,
      `allowed_groups = ${tomlList([...props.allowedGroups].sort())}`,
      // Group membership decides, not the mail domain.
      `email_domains = ["*"]`,
      `upstreams = ${tomlList([props.upstream])}`,
      `http_address = "0.0.0.0:4180"`,
      `reverse_proxy = true`,
      `skip_provider_button = true`,
      `skip_jwt_bearer_tokens = ${props.acceptBearerTokens === false ? "false" : "true"}`,
      `pass_access_token = true`,
      `set_authorization_header = true`,
      `cookie_secure = true`,
      `cookie_httponly = true`,
      `cookie_samesite = "lax"`,
      `cookie_expire = "8h"`,
      `cookie_refresh = "5m"`,
      `session_store_type = "cookie"`,
    ].join("\n");

    const values = {
      replicaCount: props.replicas ?? 2,
      image: { repository: props.image.repository, tag: props.image.tag },
      config: { existingSecret: props.secretName, configFile: this.configFile },
      serviceAccount: { enabled: true, name: props.serviceAccountName, automountServiceAccountToken: false },
      podAnnotations: { "sidecar.istio.io/inject": "true" },
      podSecurityContext: podSecurityContext({ runAsUser: proxyUid }),
      securityContext: { enabled: true, ...containerSecurityContext({ runAsUser: proxyUid }) },
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      podDisruptionBudget: { enabled: true, minAvailable: 1 },
    };
    this.release = new Release(this, "release", {
      provider: props.helm,
      name: "oauth2-proxy",
      repository: props.chart.repository,
      chart: "oauth2-proxy",
      version: props.chart.version,
      namespace: props.namespace,
      atomic: true,
      wait: true,
      // JSON is YAML: the policies read the values as structured data.
      values: [JSON.stringify(values)],
      dependsOn: props.dependsOn,
    });
  }
}
