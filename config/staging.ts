import type { EnvironmentInput } from "./schema";
import { common } from "./common";

export const staging: EnvironmentInput = {
  ...common,
  name: "staging",
  serviceEnvironment: "staging",
  region: "eu-west-1",
  accountId: "111111111111",
  cluster: {
    name: "maestro-staging",
    context: "maestro-staging",
    oidcProvider: "oidc.eks.eu-west-1.amazonaws.com/id/STAGING0000000000000000000000",
  },
  stateBackend: { kind: "local", directory: "terraform-state" },
  platform: { istiodMinReplicas: 1, rolloutsControllerReplicas: 1 },
  images: {
    ...common.images,
    complianceService: { repository: "ghcr.io/maestro/compliance-service", tag: "1.0.0-rc.3" },
  },
  audit: {
    bucketName: "maestro-staging-audit",
    retentionDays: 30,
    mode: "COMPLIANCE",
    prefix: "audit/",
    replica: { region: "eu-central-1", bucketName: "maestro-staging-audit-replica" },
  },
  backup: {
    bucketName: "maestro-staging-backups",
    prefix: "walg/compliance",
    databaseName: "compliance",
    baseBackupSchedule: "0 */6 * * *",
    retainFullBackups: 3,
    archiveTimeoutSeconds: 60,
    objectLock: false,
    standbyReplica: false,
    storageSize: "20Gi",
    replica: { region: "eu-central-1", bucketName: "maestro-staging-backups-replica" },
  },
  gateway: {
    ...common.gateway,
    replicas: 2,
    oidc: {
      issuer: "https://sso.staging.maestro.example",
      clientId: "maestro-compliance",
      audiences: ["maestro-compliance"],
      secretName: "oidc",
    },
    scim: { endpoint: "https://sso.staging.maestro.example/scim/v2", intervalMinutes: 2, secretName: "scim" },
  },
  rollout: {
    replicas: 2,
    slo: { window: "5m", maxErrorRatio: 0.01, maxP99Ms: 300, minRequests: 50 },
    scaleDownDelaySeconds: 30,
    databaseUrlSecret: { name: "compliance-database", key: "url" },
    signingKeySecret: { name: "compliance-audit-signing", key: "signing-key.pem", retiredKey: "retired-public-keys.pem" },
  },
  prometheusUrl: "http://prometheus-server.monitoring.svc:9090",
};
