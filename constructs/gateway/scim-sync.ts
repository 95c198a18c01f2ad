import { Construct } from "constructs";
import { CronJobV1 } from "@cdktf/provider-kubernetes/lib/cron-job-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import type { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import type { ITerraformDependable } from "cdktf";
import type { Role } from "../../contracts/roles";
import { typedContainerSecurityContext, typedPodSecurityContext } from "../k8s/pod-security";

/** uid of the compliance service image's user (its Dockerfile's USER). */
const serviceUid = 10001;

/** The sync's command in the compliance service image (WORKDIR /app, app/ compiled to JavaScript). */
export const scimSyncCommand = ["node", "app/scim/cli.js"] as const;

export interface ScimSyncProps {
  /** The kubernetes provider that applies every object (the stack's). */
  readonly kubernetes: KubernetesProvider;
  readonly namespace: string;
  /** The sync job's own ServiceAccount (no token mounted, no RBAC bindings). */
  readonly serviceAccountName: string;
  /** Image that carries the compiled `app/scim/cli.js` (the compliance service image). */
  readonly image: string;
  /** https:// base URL of the IdP's SCIM 2.0 API. */
  readonly scimEndpoint: string;
  /** Minutes between runs, 1-4: an IdP change lands in under 5 minutes. */
  readonly intervalMinutes: number;
  /** Kubernetes Secret with keys `token` (SCIM API) and `sync-token` (POST /api/scim/sync). Only its name is used. */
  readonly secretName: string;
  /** Where the snapshot is pushed: the compliance service's POST /api/scim/sync. */
  readonly pushUrl: string;
  /** IdP group name → role; the job reads only these groups. */
  readonly groupRoles: Readonly<Record<string, Role>>;
  /** Run with a mesh sidecar (mTLS to the service; the mesh allow-list names this ServiceAccount). @default true */
  readonly meshSidecar?: boolean;
  readonly dependsOn?: ITerraformDependable[];
}

/** `*\/N * * * *` for N in 1-4; throws naming the prop otherwise. */
export function scimSchedule(intervalMinutes: number): string {
  if (!Number.isInteger(intervalMinutes) || intervalMinutes < 1 || intervalMinutes > 4)
    throw new Error(`ScimSync: intervalMinutes must be an integer 1-4 so changes propagate in under 5 minutes (got ${intervalMinutes})`);
  return intervalMinutes === 1 ? "* * * * *" : `*/${intervalMinutes} * * * *`;
}

/**
 * The SCIM sync as a CronJob: every N minutes it reads users and mapped groups from the IdP and
 * pushes them to the service. One run at a time (Forbid), each run bounded by the interval, the
 * secret by reference only, and a ServiceAccount without a token: it needs no Kubernetes API.
 */
export class ScimSync extends Construct {
  readonly serviceAccount: ServiceAccountV1;
  readonly cronJob: CronJobV1;
  readonly schedule: string;

  constructor(scope: Construct, id: string, props: ScimSyncProps) {
    super(scope, id);
    this.schedule = scimSchedule(props.intervalMinutes);
    if (!props.scimEndpoint.startsWith("https://"))
      throw new Error(`ScimSync: scimEndpoint must be an https:// URL (got '${props.scimEndpoint}')`);
    if (Object.keys(props.groupRoles).length === 0) throw new Error("ScimSync: groupRoles must map at least one group");
    const labels = { "app.kubernetes.io/name": "scim-sync", "app.kubernetes.io/part-of": "maestro" };
    this.serviceAccount = new ServiceAccountV1(this, "service-account", {
      provider: props.kubernetes,
      metadata: { name: props.serviceAccountName, namespace: props.namespace, labels },
      automountServiceAccountToken: false,
      dependsOn: props.dependsOn,
    });
    const secretEnv = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: props.secretName, key } } });
    this.cronJob = new CronJobV1(this, "cron-job", {
      provider: props.kubernetes,
      metadata: { name: "scim-sync", namespace: props.namespace, labels },
      spec: {
        schedule: this.schedule,
        concurrencyPolicy: "Forbid",
        // A missed tick is skipped, not queued: the next one reads the whole directory anyway.
        startingDeadlineSeconds: 30,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 0,
            // A run never overlaps the next tick.
            activeDeadlineSeconds: props.intervalMinutes * 60 - 10,
            ttlSecondsAfterFinished: "3600",
            template: {
              metadata: {
                labels,
                annotations:
                  props.meshSidecar === false ? { "sidecar.istio.io/inject": "false" } : { "sidecar.istio.io/nativeSidecar": "true" },
              },
              spec: {
                serviceAccountName: props.serviceAccountName,
                automountServiceAccountToken: false,
                restartPolicy: "Never",
                securityContext: typedPodSecurityContext({ runAsUser: serviceUid }),
                container: [
                  {
                    name: "scim-sync",
                    image: props.image,
                    // The image's compiled CLI (what `npm run scim:sync` runs from a checkout).
                    command: [...scimSyncCommand, "--push", props.pushUrl],
                    env: [
                      { name: "SCIM_ENDPOINT", value: props.scimEndpoint },
                      {
                        name: "GROUP_ROLES",
                        value: Object.entries(props.groupRoles)
                          .map(([g, r]) => `${g}=${r}`)
                          .join(","),
                      },
                      secretEnv("SCIM_TOKEN", "token"),
                      secretEnv("SCIM_SYNC_TOKEN", "sync-token"),
                    ],
                    securityContext: typedContainerSecurityContext({ runAsUser: serviceUid }),
                    resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
                    volumeMount: [{ name: "tmp", mountPath: "/tmp" }],
                  },
                ],
                volume: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
              },
            },
          },
        },
      },
      dependsOn: [this.serviceAccount],
    });
  }
}
