import { Construct } from "constructs";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { Release } from "@cdktf/provider-helm/lib/release";
import { MaestroStack, type MaestroStackProps } from "./base";
import { meshNamespaces } from "../constructs/mesh/identity";
import { istiodMeshConfig } from "../constructs/mesh/mesh-config";

/** Operators by Helm at pinned chart versions, and the namespaces every later stack uses. */
export class PlatformStack extends MaestroStack {
  readonly namespaces: Record<string, NamespaceV1> = {};
  readonly istioBase: Release;
  readonly istiod: Release;
  readonly argoRollouts: Release;

  constructor(scope: Construct, id: string, props: MaestroStackProps) {
    super(scope, id, props);
    const { namespaces, charts, platform } = this.config;

    // Workload namespaces get sidecar injection, so their pods join the STRICT-mTLS mesh.
    const meshMembers = new Set(meshNamespaces(this.config));
    for (const [role, name] of Object.entries(namespaces)) {
      this.namespaces[role] = new NamespaceV1(this, `namespace-${role}`, {
        provider: this.kubernetes,
        metadata: {
          name,
          labels: {
            "app.kubernetes.io/part-of": "maestro",
            ...(meshMembers.has(name) ? { "istio-injection": "enabled" } : {}),
          },
        },
      });
    }

    type NamespaceRole = keyof typeof namespaces;
    type ChartRef = { repository: string; version: string };
    // Values are JSON (a subset of YAML), so the policies read them as structured data.
    const release = (releaseId: string, chart: string, ref: ChartRef, namespace: NamespaceRole, values: object, after: Release[] = []) =>
      new Release(this, releaseId, {
        provider: this.helm,
        name: releaseId,
        repository: ref.repository,
        chart,
        version: ref.version,
        namespace: namespaces[namespace],
        atomic: true,
        wait: true,
        values: [JSON.stringify(values)],
        dependsOn: [this.namespaces[namespace], ...after],
      });

    this.istioBase = release("istio-base", "base", charts.istio, "istio", {
      defaultRevision: "default",
    });
    this.istiod = release(
      "istiod",
      "istiod",
      charts.istio,
      "istio",
      {
        // Typed (IstiodMeshConfig): auto mTLS on, the configured trust domain, registry-only egress.
        meshConfig: istiodMeshConfig(this.config),
        // Native sidecars (Kubernetes >= 1.29): a Job's pod completes when its container exits,
        // so the SLO gate, SCIM sync and backup Jobs finish inside the mesh.
        pilot: { autoscaleMin: platform.istiodMinReplicas, env: { ENABLE_NATIVE_SIDECARS: "true" } },
      },
      [this.istioBase],
    );
    this.argoRollouts = release("argo-rollouts", "argo-rollouts", charts.argoRollouts, "rollouts", {
      installCRDs: true,
      controller: { replicas: platform.rolloutsControllerReplicas },
      dashboard: { enabled: false },
    });

    this.output("namespaces", Object.values(namespaces), "Namespaces created for Maestro");
    this.output("istio_version", charts.istio.version, "Pinned Istio chart version");
    this.output("argo_rollouts_version", charts.argoRollouts.version, "Pinned Argo Rollouts chart version");
  }
}
