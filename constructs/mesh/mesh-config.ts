import type { EnvironmentConfig } from "../../config/schema";

/**
 * The subset of Istio's MeshConfig (istiod Helm value `meshConfig`) this project sets, typed so a
 * misspelt key or a weakening value fails the type-check instead of being silently ignored by Helm.
 * Field names and values follow istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/.
 */
export interface IstiodMeshConfig {
  /** Sidecars originate mTLS to every mesh workload on their own. Must stay true. */
  readonly enableAutoMtls: true;
  /** SPIFFE trust domain of workload identities; AuthorizationPolicy principals are spelt with it. */
  readonly trustDomain: string;
  /** Namespace whose PeerAuthentication / DestinationRule / AuthorizationPolicy apply mesh-wide. */
  readonly rootNamespace: string;
  /** Envoy access log target; "/dev/stdout" keeps denied calls visible in pod logs. */
  readonly accessLogFile: "/dev/stdout" | "";
  /** Calls to hosts outside the service registry are refused rather than passed through. */
  readonly outboundTrafficPolicy: { readonly mode: "REGISTRY_ONLY" };
  /** Lowest TLS version workloads accept for mesh mTLS. */
  readonly meshMTLS: { readonly minProtocolVersion: "TLSV1_2" | "TLSV1_3" };
  /** Proxy defaults: the app starts only after its sidecar, so its first calls are not made outside mTLS. */
  readonly defaultConfig: { readonly holdApplicationUntilProxyStarts: true };
}

/** istiod's `meshConfig` for one environment; mTLS strictness itself is the mesh stack's PeerAuthentication. */
export function istiodMeshConfig(config: Pick<EnvironmentConfig, "mesh" | "namespaces">): IstiodMeshConfig {
  return {
    enableAutoMtls: true,
    trustDomain: config.mesh.trustDomain,
    rootNamespace: config.namespaces.istio,
    accessLogFile: "/dev/stdout",
    outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
    meshMTLS: { minProtocolVersion: "TLSV1_3" },
    defaultConfig: { holdApplicationUntilProxyStarts: true },
  };
}
