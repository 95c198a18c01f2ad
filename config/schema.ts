import { deployedServiceEnvironments } from "../contracts/environments";
import { z } from "zod";
import {
  dnsLabelPattern,
  dnsLabelRule,
  s3BucketNamePattern,
  s3BucketNameRule,
  keyFolderPattern,
  keyFolderRule,
  keyPrefixPattern,
  keyPrefixRule,
} from "../contracts/names";
import { roles } from "../contracts/roles";

// The typed shape of one environment. Every value a stack uses lives here; constructs take typed
// props derived from it. Validation runs before any stack is built (see load.ts).

const dnsLabel = z.string().regex(dnsLabelPattern, dnsLabelRule);
const s3BucketName = z.string().regex(s3BucketNamePattern, s3BucketNameRule);
const awsRegion = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must be an AWS region such as eu-west-1");
const semver = z.string().regex(/^\d+\.\d+\.\d+$/, "must be a pinned version x.y.z (no ranges)");
const httpsUrl = z
  .string()
  .url("must be a URL")
  .refine((u) => u.startsWith("https://"), "must use https://");
const port = z.number().int().min(1, "must be 1-65535").max(65535, "must be 1-65535");
const cron = z.string().refine((expr) => {
  if (expr.trim().split(/\s+/).length !== 5) return false;
  try {
    // Loaded on use: cron-parser brings luxon, which every synth would otherwise pay for.
    const { CronExpressionParser } = require("cron-parser") as typeof import("cron-parser");
    CronExpressionParser.parse(expr);
    return true;
  } catch {
    return false;
  }
}, "must be a 5-field cron expression (minute hour day-of-month month day-of-week)");
const image = z.object({
  repository: z.string().min(1),
  tag: z
    .string()
    .regex(/^[\w][\w.-]{0,127}$/, "must be an image tag (not 'latest')")
    .refine((t) => t !== "latest", "must be pinned, not 'latest'"),
});
const chart = z.object({ repository: httpsUrl, version: semver });

/** The oldest WAL-G release whose base backups of PostgreSQL 15+ restore (wal-g#2044: invalid tar header before). */
export const minimumWalgVersion = [3, 0, 9] as const;
const walgImage = image.extend({
  tag: image.shape.tag.refine(
    (t) => {
      const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(t);
      if (!m) return false;
      const [major, minor, patch] = m.slice(1).map(Number);
      const [wantMajor, wantMinor, wantPatch] = minimumWalgVersion;
      return major !== wantMajor ? major > wantMajor : minor !== wantMinor ? minor > wantMinor : patch >= wantPatch;
    },
    `must be a WAL-G release vX.Y.Z, v${minimumWalgVersion.join(".")} or newer (older releases write PostgreSQL 15+ base backups that fail with "archive/tar: invalid tar header", wal-g#2044)`,
  ),
});

export const stateBackendSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("local"), directory: z.string().default("terraform-state") }),
  z.object({
    kind: z.literal("s3"),
    bucket: s3BucketName,
    keyPrefix: z.string().min(1),
    region: awsRegion,
    /** S3-native state locking (Terraform >= 1.10 `use_lockfile`). */
    useLockfile: z.boolean().default(true),
  }),
]);

export const meshServiceSchema = z.object({
  /** Logical name used in `allow` entries. */
  name: dnsLabel,
  namespace: dnsLabel,
  serviceAccount: dnsLabel,
  /** Ports it serves; empty for a client-only workload (a Job that only calls others). */
  ports: z.array(port),
  /** Pod labels that select the service's workloads (AuthorizationPolicy selector). @default { "app.kubernetes.io/name": name } */
  workloadLabels: z
    .record(
      z.string().min(1),
      z
        .string()
        .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a Kubernetes label value (1-63 letters, digits, '-', '_', '.')"),
    )
    .optional(),
});

export const meshAllowSchema = z.object({
  from: z.string().min(1, "must name a service from mesh.services"),
  to: z.string().min(1, "must name a service from mesh.services"),
  ports: z.array(port).optional(),
  methods: z.array(z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])).optional(),
  paths: z.array(z.string().startsWith("/")).optional(),
});

export const environmentSchema = z.object({
  name: z.enum(["staging", "production", "local"]),
  /** The compliance service's MAESTRO_ENVIRONMENT in this environment (contracts/environments.ts). */
  serviceEnvironment: z.enum(deployedServiceEnvironments),
  region: awsRegion,
  accountId: z.string().regex(/^\d{12}$/, "must be a 12-digit AWS account id"),
  cluster: z.object({
    name: dnsLabel,
    /** kubeconfig context used by the kubernetes and helm providers. */
    context: z.string().min(1),
    /** IAM OIDC provider of the EKS cluster, for IRSA trust (host/path without https://). */
    oidcProvider: z.string().regex(/^[a-z0-9.-]+(\/[\w.-]+)*$/, "must be the cluster OIDC provider host/path without scheme"),
  }),
  stateBackend: stateBackendSchema,
  namespaces: z.object({
    istio: dnsLabel,
    rollouts: dnsLabel,
    app: dnsLabel,
    gateway: dnsLabel,
    data: dnsLabel,
    monitoring: dnsLabel,
  }),
  charts: z.object({ istio: chart, argoRollouts: chart, oauth2Proxy: chart }),
  /** Replica counts of the operators the platform stack installs. */
  platform: z.object({
    /** istiod's least replica count (its chart's pilot.autoscaleMin). */
    istiodMinReplicas: z.number().int().min(1, "must be at least 1"),
    /** Argo Rollouts controller replicas (one leads, the others stand by). */
    rolloutsControllerReplicas: z.number().int().min(1, "must be at least 1"),
  }),
  images: z.object({ complianceService: image, postgres: image, walg: walgImage, oauth2Proxy: image }),
  mesh: z.object({
    trustDomain: z.string().regex(/^[a-z0-9.-]+$/, "must be a SPIFFE trust domain such as cluster.local"),
    /** Below this share of mutual-TLS requests the mtls-overview panel turns red. */
    mtlsThresholdPercent: z.number().min(50, "must be 50-100").max(100, "must be 50-100"),
    services: z.array(meshServiceSchema).min(1),
    allow: z.array(meshAllowSchema),
    /** WEAKENING: namespaces whose workloads also accept plaintext (PeerAuthentication PERMISSIVE); the policies report each one. */
    permissiveNamespaces: z.array(dnsLabel).default([]),
  }),
  audit: z.object({
    bucketName: s3BucketName,
    retentionDays: z.number().int().min(1, "must be at least 1 day").max(36500, "must be at most 36500 days"),
    mode: z.enum(["COMPLIANCE", "GOVERNANCE"]),
    prefix: z.string().regex(keyFolderPattern, keyFolderRule),
    /** The bucket's copy in a second region (Object Lock as on the source), for a region-wide outage. */
    replica: z.object({ region: awsRegion, bucketName: s3BucketName }),
  }),
  backup: z.object({
    bucketName: s3BucketName,
    prefix: z.string().regex(keyPrefixPattern, keyPrefixRule),
    databaseName: dnsLabel,
    baseBackupSchedule: cron,
    retainFullBackups: z.number().int().min(1, "must keep at least 1 full backup"),
    /** RPO bound: archive_timeout in seconds. */
    archiveTimeoutSeconds: z.number().int().min(10, "must be 10-3600 seconds").max(3600, "must be 10-3600 seconds"),
    objectLock: z.boolean(),
    standbyReplica: z.boolean(),
    storageSize: z.string().regex(/^\d+(Gi|Ti)$/, "must be a Kubernetes quantity such as 20Gi"),
    /** The archive's copy in a second region: a drill can restore from it (`pitr.sh --source replica`). */
    replica: z.object({ region: awsRegion, bucketName: s3BucketName }),
  }),
  gateway: z.object({
    /** oauth2-proxy replicas: every request of the service passes through them. */
    replicas: z.number().int().min(1, "must be at least 1"),
    oidc: z.object({
      issuer: httpsUrl,
      clientId: z.string().min(1),
      audiences: z.array(z.string().min(1)).min(1, "must pin at least one audience"),
      /** Name of the Kubernetes Secret holding client-secret and cookie-secret. */
      secretName: dnsLabel,
    }),
    scim: z.object({
      endpoint: httpsUrl,
      /** Sync interval; the runbook requires IdP changes to land in under 5 minutes. */
      intervalMinutes: z.number().int().min(1, "must be 1-4 minutes").max(4, "must be 1-4 minutes (changes must propagate in < 5 min)"),
      secretName: dnsLabel,
    }),
    groupRoles: z.record(z.string().min(1), z.enum(roles)),
    /** Labels whose resources need an x-rfa reason header. */
    restrictedLabels: z.array(z.string().min(1)),
  }),
  rollout: z.object({
    replicas: z.number().int().min(1, "must be at least 1"),
    slo: z.object({
      window: z.string().regex(/^\d+[smh]$/, "must be a Prometheus duration such as 5m"),
      maxErrorRatio: z.number().min(0, "must be 0-1").max(1, "must be 0-1"),
      maxP99Ms: z.number().int().min(1, "must be a positive number of milliseconds"),
      minRequests: z.number().int().min(1, "must be at least 1"),
    }),
    /** Seconds the previous (blue) side keeps running after promotion and the aborted (green) side after an abort. */
    scaleDownDelaySeconds: z.number().int().min(30, "must be at least 30 seconds (in-flight requests and iptables need time to move)"),
    /** Kubernetes Secret (created outside Terraform) whose key holds the service's postgres:// DATABASE_URL. */
    databaseUrlSecret: z.object({
      name: dnsLabel,
      key: z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret key (letters, digits, '-', '_', '.')"),
    }),
    /**
     * Kubernetes Secret (created outside Terraform) with the fleet's export signing key: `key` holds
     * the PKCS#8 PEM private key every replica signs with, `retiredKey` the PEM public keys of keys
     * rotated out whose packs still verify (may be empty). See docs/audit.md.
     */
    signingKeySecret: z.object({
      name: dnsLabel,
      key: z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret key (letters, digits, '-', '_', '.')"),
      retiredKey: z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a Secret key (letters, digits, '-', '_', '.')"),
    }),
  }),
  prometheusUrl: z.string().url("must be a URL"),
});

export type EnvironmentConfig = z.infer<typeof environmentSchema>;
export type EnvironmentInput = z.input<typeof environmentSchema>;
export type MeshService = z.infer<typeof meshServiceSchema>;
export type MeshAllow = z.infer<typeof meshAllowSchema>;
export type StateBackend = z.infer<typeof stateBackendSchema>;
