import type { EnvironmentConfig, MeshService } from "../../config/schema";

/** The SPIFFE identity Istio gives a workload, as AuthorizationPolicy `principals` spell it (no spiffe:// prefix). */
export function spiffePrincipal(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** A mesh service's in-cluster address as its callers name it: `http://<name>.<namespace>.svc:<first port>`. */
export function serviceUrl(service: Pick<MeshService, "name" | "namespace" | "ports">): string {
  return `http://${service.name}.${service.namespace}.svc:${service.ports[0]}`;
}

/** Pod labels that select a service's workloads. */
export function workloadLabels(service: MeshService): Record<string, string> {
  return service.workloadLabels ?? { "app.kubernetes.io/name": service.name };
}

/**
 * Namespaces whose pods join the mesh: every app namespace and every namespace that hosts a mesh
 * service. The platform stack labels them for sidecar injection and the mesh stack puts a
 * deny-by-default policy in each, from this one list, so the two can never drift apart.
 */
export function meshNamespaces(config: Pick<EnvironmentConfig, "namespaces" | "mesh">): string[] {
  const { app, gateway, data, monitoring } = config.namespaces;
  const names = new Set([app, gateway, data, monitoring, ...config.mesh.services.map((s) => s.namespace)]);
  names.delete(config.namespaces.istio);
  return [...names].sort();
}
