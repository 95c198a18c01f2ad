// `verify:ga --local-cluster`: the cluster commands of the checklist run against the local control
// plane (tools/cluster, docs/cluster.md) instead of a kube context. This sets it up once per run:
// etcd, the API server, controllers, scheduler, one kwok node; the Istio and Argo Rollouts CRDs;
// the real Argo Rollouts controller; the host-process kubelet for the project's own Jobs; then
// every Kubernetes object of every stack of the `local` environment, as the provider sends it.
// What the commands then get is the same kubectl, context and scripts a real cluster gets.
//
// The project's own pods are the host kubelet's: the compliance Rollout's replicas, the SCIM sync
// and the analysis Job's SLO gate. It runs them from their synthesized spec inside the service
// image built from app/Dockerfile (harness/service-image.ts), each replica at its own address and
// Ready when its readiness probe says so, both on one Postgres, as a deploy's replicas are. The
// SCIM Job's push to the compliance Service reaches a ready replica (the kubelet routes Service
// URLs of its own pods); the identity provider's SCIM endpoint is routed to a SCIM server with one
// user. Secrets a real deploy creates out of band (the database URL, the audit signing key, the
// SCIM tokens) are created here. Every other pod is kwok's: Running and Ready, serving nothing
// (docs/cluster.md).
import { join } from "node:path";
import { environments, validateEnvironment } from "../../../config/load";
import { synthAll } from "../../../harness/synth";
import { prometheusBinary } from "../../../harness/prometheus";
import type { TerraformJson } from "../../../policy-engine/input";
import { stackIds } from "../../../stacks";
import { appliedProblems, applyCrds, crdDir, sendObjects } from "../../cluster/apply";
import { missingBinary, podLabelSelector, startControlPlane, toolsDir, type PodLabel } from "../../cluster/control-plane";
import { HostKubelet } from "../../cluster/host-kubelet";
import { missingRolloutsController, startRolloutsController } from "../../cluster/rollouts-controller";
import { stackObjects } from "../../cluster/stack-objects";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { EnvironmentConfig } from "../../../config/schema";
import { bwrapPath, setprivPath, spawnInImage } from "../../../harness/dockerfile";
import { postgresMissing, startPostgres } from "../../../harness/postgres";
import { startScimServer } from "../../../harness/scim-server";
import { buildServiceImage } from "../../../harness/service-image";
import { freePort } from "../../../lib/net";
import { sloRig } from "./local";
import type { CheckContext } from "./model";

/** How long the restart drill (dr.db-restart) keeps the database away here. */
const drillDownSeconds = 35;

/** How long the set-up waits for the Rollouts' pods (image start, migrations, readiness probes). */
const rolloutTimeoutS = 180;

/** The environment the local control plane runs (config/local.ts): its context is the kubeconfig's. */
export const localClusterEnv = "local";

/** The pods the host kubelet runs (the compliance Rollout's, the analysis Job's SLO gate, the SCIM sync); kwok plays every other pod. */
export const hostProcessPods: PodLabel = { name: "app.kubernetes.io/name", values: ["compliance", "slo-gate", "scim-sync"] };

/** Why the local control plane cannot run here, or undefined. */
export function missingForLocalCluster(): string | undefined {
  return (
    missingBinary() ??
    missingRolloutsController() ??
    (existsSync(join(crdDir, ".version")) ? undefined : "the CRDs in .tools/share/crds (tools/install/tools.sh cluster)") ??
    (prometheusBinary ? undefined : "prometheus (apt-get install prometheus)") ??
    (bwrapPath && setprivPath ? undefined : "bubblewrap and setpriv, to build and run the service image (npm run setup)") ??
    postgresMissing
  );
}

/** Sets up the local control plane for this run (the runner calls it once) and returns the environment of the cluster commands. */
export async function localClusterSetup(ctx: CheckContext): Promise<{ env: Record<string, string> }> {
  const missing = missingForLocalCluster();
  if (missing) throw new Error(`missing ${missing}`);
  const started = performance.now();
  const base = validateEnvironment(localClusterEnv, environments[localClusterEnv]);
  // The three slow parts at once (Prometheus registers its own clean-up).
  const starting = startControlPlane({ dir: join(ctx.scratch, "cluster"), timeoutMs: 120_000, hostProcessLabel: hostProcessPods });
  void starting.then(
    (cluster) => ctx.onClose(() => cluster.stop()),
    () => undefined,
  );
  const [rig, image, cluster] = await Promise.all([sloRig(ctx), buildServiceImage(join(ctx.scratch, "image")), starting]);
  // What the SCIM Job talks to: the identity provider's SCIM API (and, through the Service, a replica).
  const scimToken = randomBytes(24).toString("hex");
  const syncToken = randomBytes(24).toString("hex");
  const scim = await startScimServer(await freePort(), scimToken);
  ctx.onClose(() => scim.close());
  scim.addUser("u-ga", "ga-auditor");
  scim.addGroup("g-auditors", Object.keys(base.gateway.groupRoles).find((g) => base.gateway.groupRoles[g] === "auditor") ?? "auditors", [
    "u-ga",
  ]);
  const postgres = await startPostgres();
  ctx.onClose(() => postgres.stop());
  await applyCrds(cluster);
  await startRolloutsController(cluster);
  const kubelet = HostKubelet.start(cluster, {
    label: hostProcessPods,
    workDir: join(ctx.scratch, "pods"),
    images: {
      [base.images.complianceService.repository]: {
        cmd: image.runtime.cmd,
        env: image.runtime.env,
        spawn: (command, o) => spawnInImage(image, command, o),
      },
    },
    addresses: { [new URL(base.gateway.scim.endpoint).origin]: new URL(scim.endpoint).origin },
  });
  ctx.onClose(() => kubelet.stop());
  // The `local` environment as synthesized, with the one address that differs here: the Prometheus started above.
  const config = validateEnvironment(localClusterEnv, { ...environments[localClusterEnv], prometheusUrl: rig.prometheusUrl });
  const synth = await synthAll(config);
  let sent = 0;
  for (const id of stackIds) {
    const { objects, templateErrors } = stackObjects(synth[id] as TerraformJson);
    if (templateErrors.length) throw new Error(`${id}: ${templateErrors.map((e) => e.message).join("; ")}`);
    // As Terraform's first apply: typed resources created, manifests server-side applied.
    const problems = appliedProblems(objects, await sendObjects(cluster, objects));
    if (problems.length) throw new Error(`${id}: ${problems.slice(0, 3).join("; ")}`);
    sent += objects.length;
    // After the platform stack (the namespaces): the Secrets the gateway stack's SCIM CronJob and the app stack's pods read.
    if (id === "platform")
      await cluster.kubectl(
        ["apply", "-f", "-"],
        JSON.stringify({
          apiVersion: "v1",
          kind: "List",
          items: outOfBandSecrets(base, { scimToken, syncToken, databaseUrl: postgres.url }),
        }),
      );
  }
  // As after a finished deploy, before any check looks at the service: its Rollouts Healthy (their
  // pods Ready on the host kubelet). Every check then holds alone (--only), whatever ran before it.
  await cluster
    .kubectl(["wait", "rollout", "--all", "--all-namespaces", "--for=jsonpath={.status.phase}=Healthy", `--timeout=${rolloutTimeoutS}s`])
    .catch(async (err: Error) => {
      const pods = await cluster
        .kubectl(["get", "pods", "--all-namespaces", "-l", podLabelSelector(hostProcessPods), "-o", "wide"])
        .catch(() => "");
      throw new Error(`the Rollouts were not Healthy within ${rolloutTimeoutS} s: ${err.message.trim()}\n${pods}`);
    });
  process.stderr.write(
    `verify:ga local control plane: ${sent} objects of ${stackIds.length} stacks applied in ${((performance.now() - started) / 1000).toFixed(1)} s (${cluster.state.dir})\n`,
  );
  return {
    env: {
      KUBECONFIG: cluster.kubeconfig,
      PATH: `${join(toolsDir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      PROMETHEUS_URL: rig.prometheusUrl,
      // tools/verify/pod-http.sh: the host kubelet's pods have no exec, and this host reaches their addresses.
      POD_TRANSPORT: "direct",
      // tools/db/restart-drill.sh: the database is this host's Postgres, not the kwok pod that stands
      // for it; away longer than the pods' readiness probe takes to fail (3 × 5 s) and their
      // liveness probe would (3 × 10 s), so readiness is seen following it and liveness not.
      DB_STOP_COMMAND: postgres.shellCommands.stop,
      DB_START_COMMAND: postgres.shellCommands.start,
      DB_DOWN_SECONDS: String(drillDownSeconds),
    },
  };
}

/**
 * The Secrets a deploy creates beside the stacks (docs/identity.md, docs/rollouts.md): the IdP's
 * SCIM token and the service's push token; the service's database URL; a fresh audit signing key
 * with no retired keys.
 */
function outOfBandSecrets(config: EnvironmentConfig, values: { scimToken: string; syncToken: string; databaseUrl: string }) {
  const secret = (namespace: string, name: string, stringData: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    stringData,
  });
  const { databaseUrlSecret, signingKeySecret } = config.rollout;
  const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return [
    secret(config.namespaces.gateway, config.gateway.scim.secretName, { token: values.scimToken, "sync-token": values.syncToken }),
    // The compliance pods read the push token from the app namespace's copy (same name).
    secret(config.namespaces.app, config.gateway.scim.secretName, { "sync-token": values.syncToken }),
    secret(config.namespaces.app, databaseUrlSecret.name, { [databaseUrlSecret.key]: values.databaseUrl }),
    secret(config.namespaces.app, signingKeySecret.name, { [signingKeySecret.key]: signingKey, [signingKeySecret.retiredKey]: "" }),
  ];
}
