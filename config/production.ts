import type { EnvironmentInput } from "./schema";
import { common } from "./common";

export const production: EnvironmentInput = {
  ...common,
  name: "production",
  serviceEnvironment: "production",
  region: "eu-central-1",
  accountId: "222222222222",
  cluster: {
    name: "maestro-production",
    context: "maestro-production",
    oidcProvider: "oidc.eks.eu-central-1.amazonaws.com/id/PRODUCTION00000000000000000000",
  },
  stateBackend: { kind: "s3", bucket: "maestro-production-tfstate", keyPrefix: "maestro", region: "eu-central-1", useLockfile: true },
  platform: { istiodMinReplicas: 2, rolloutsControllerReplicas: 2 },
  images: {
    ...common.images,
    complianceService: { repository: "ghcr.io/maestro/compliance-service", tag: "1.0.0" },
  },
  audit: {
    bucketName: "maestro-production-audit",
    retentionDays: 2555,
    mode: "COMPLIANCE",
    prefix: "audit/",
    replica: { region: "eu-west-1", bucketName: "maestro-production-audit-replica" },
  },
  backup: {
    bucketName: "maestro-production-backups",
    prefix: "walg/compliance",
    databaseName: "compliance",
    baseBackupSchedule: "0 1 * * *",
    retainFullBackups: 14,
    archiveTimeoutSeconds: 60,
    objectLock: true,
    standbyReplica: true,
    storageSize: "100Gi",
    replica: { region: "eu-west-1", bucketName: "maestro-production-backups-replica" },
  },
  gateway: {
    ...common.gateway,
    replicas: 3,
    oidc: { issuer: "https://sso.maestro.example", clientId: "maestro-compliance", audiences: ["maestro-compliance"], secretName: "oidc" },
    scim: { endpoint: "https://sso.maestro.example/scim/v2", intervalMinutes: 2, secretName: "scim" },
  },
  rollout: {
    replicas: 3,
    slo: { window: "5m", maxErrorRatio: 0.005, maxP99Ms: 250, minRequests: 200 },
    scaleDownDelaySeconds: 60,
    databaseUrlSecret: { name: "compliance-database", key: "url" },
    signingKeySecret: { name: "compliance-audit-signing", key: "signing-key.pem", retiredKey: "retired-public-keys.pem" },
  },
  prometheusUrl: "http://prometheus-server.monitoring.svc:9090",
};
