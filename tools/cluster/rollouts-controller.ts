// The real Argo Rollouts controller (tools/install/tools.sh argo-rollouts) against the local
// control plane, started and stopped like its other components (its pid is in the state, so
// `cluster:down` stops it). It promotes, aborts and scales the Rollouts; see docs/rollouts.md.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitFor } from "../../lib/net";
import { toolsDir, type ControlPlane } from "./control-plane";

/** The binary tools.sh builds (from the wrapper module tools/install/go/argo-rollouts). */
export const rolloutsControllerName = "rollouts-controller";

/** Why the controller cannot start here, or undefined when it can. */
export function missingRolloutsController(): string | undefined {
  return existsSync(join(toolsDir, "bin", rolloutsControllerName))
    ? undefined
    : `${rolloutsControllerName} (tools/install/tools.sh argo-rollouts)`;
}

export interface RolloutsController {
  /** The controller's Prometheus metrics (`/metrics`). */
  metricsUrl: string;
  /** Stops it (by pid). */
  stop(): Promise<void>;
}

/**
 * Starts the controller with the admin's kubeconfig (it watches every namespace, as the chart's
 * cluster-wide install does) and resolves once its health endpoint answers. The Argo Rollouts
 * CRDs must be established first (applyCrds): its informers list them at start.
 */
export async function startRolloutsController(cluster: ControlPlane, timeoutMs = 30_000): Promise<RolloutsController> {
  const missing = missingRolloutsController();
  if (missing) throw new Error(`cluster: missing ${missing}`);
  const metricsPort = await freePort();
  const healthzPort = await freePort();
  cluster.startComponent(rolloutsControllerName, [
    `--kubeconfig=${cluster.kubeconfig}`,
    "--leader-elect=false",
    `--metricsport=${metricsPort}`,
    `--healthzPort=${healthzPort}`,
    "--loglevel=info",
  ]);
  const stop = () => cluster.stopComponent(rolloutsControllerName);
  try {
    await waitFor(
      "rollouts-controller /healthz",
      async () => cluster.serving(rolloutsControllerName) && (await fetch(`http://127.0.0.1:${healthzPort}/healthz`)).ok,
      timeoutMs,
      200,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message} (log: ${join(cluster.state.dir, "logs", `${rolloutsControllerName}.log`)})`);
  }
  return { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, stop };
}
