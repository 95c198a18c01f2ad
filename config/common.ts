import type { EnvironmentInput } from "./schema";

// Settings shared by every environment; each environment file spreads these and overrides.
export const common = {
  namespaces: {
    istio: "istio-system",
    rollouts: "argo-rollouts",
    app: "maestro",
    gateway: "maestro-gateway",
    data: "maestro-data",
    monitoring: "monitoring",
  },
  charts: {
    istio: { repository: "https://istio-release.storage.googleapis.com/charts", version: "1.27.3" },
    argoRollouts: { repository: "https://argoproj.github.io/argo-helm", version: "2.40.5" },
    oauth2Proxy: { repository: "https://oauth2-proxy.github.io/manifests", version: "7.12.18" },
  },
  images: {
    complianceService: { repository: "ghcr.io/maestro/compliance-service", tag: "1.0.0" },
    // The major the tests run (Debian bookworm's PostgreSQL 15, harness/postgres.ts): deploy what is tested.
    postgres: { repository: "docker.io/library/postgres", tag: "15.18-bookworm" },
    walg: { repository: "ghcr.io/wal-g/wal-g", tag: "v3.0.9" },
    oauth2Proxy: { repository: "quay.io/oauth2-proxy/oauth2-proxy", tag: "v7.12.0" },
  },
  mesh: {
    trustDomain: "cluster.local",
    mtlsThresholdPercent: 99,
    services: [
      { name: "gateway", namespace: "maestro-gateway", serviceAccount: "oauth2-proxy", ports: [4180] },
      { name: "compliance", namespace: "maestro", serviceAccount: "compliance-service", ports: [8080] },
      { name: "postgres", namespace: "maestro-data", serviceAccount: "postgres", ports: [5432] },
      { name: "prometheus", namespace: "monitoring", serviceAccount: "prometheus-server", ports: [9090] },
      { name: "scim-sync", namespace: "maestro-gateway", serviceAccount: "scim-sync", ports: [8080] },
      // Grafana renders mtls-overview from Prometheus; under deny-by-default it needs its own allow.
      { name: "grafana", namespace: "monitoring", serviceAccount: "grafana", ports: [3000] },
      // Client-only workloads (no ports): the rollout's SLO gate Job and the base-backup CronJob.
      { name: "slo-gate", namespace: "maestro", serviceAccount: "slo-gate", ports: [] },
      { name: "postgres-backup", namespace: "maestro-data", serviceAccount: "postgres-backup", ports: [] },
    ],
    allow: [
      { from: "gateway", to: "compliance", ports: [8080], methods: ["GET", "HEAD", "POST"] },
      { from: "prometheus", to: "compliance", ports: [8080], methods: ["GET"], paths: ["/metrics"] },
      { from: "compliance", to: "postgres", ports: [5432] },
      { from: "scim-sync", to: "compliance", ports: [8080], methods: ["POST"], paths: ["/api/scim/sync"] },
      { from: "grafana", to: "prometheus", ports: [9090], methods: ["GET", "POST"], paths: ["/api/v1/*"] },
      { from: "slo-gate", to: "prometheus", ports: [9090], methods: ["GET"], paths: ["/api/v1/query"] },
      // wal-g backup-push streams the base backup over the replication protocol.
      { from: "postgres-backup", to: "postgres", ports: [5432] },
    ],
    permissiveNamespaces: [],
  },
  gateway: {
    groupRoles: { viewers: "viewer", operators: "operator", auditors: "auditor", "platform-admins": "admin" },
    restrictedLabels: ["audit-log", "pii"],
  },
} satisfies Omit<Partial<EnvironmentInput>, "gateway"> & { gateway: Pick<EnvironmentInput["gateway"], "groupRoles" | "restrictedLabels"> };
