import type { EnvironmentInput } from "./schema";
import { staging } from "./staging";

/**
 * The local control plane (`npm run cluster:up`, docs/cluster.md): staging's objects (its pods run
 * as MAESTRO_ENVIRONMENT=staging, `serviceEnvironment`) with the
 * rollout's timing cut to what a test can wait for, and Prometheus on loopback (Debian's
 * default port), which is where the host-process kubelet runs the SLO gate from. The rollout
 * scenarios (__tests__/rollouts) use this environment, with only prometheusUrl set to the
 * Prometheus they start.
 */
export const local: EnvironmentInput = {
  ...staging,
  name: "local",
  cluster: { ...staging.cluster, name: "maestro-local", context: "maestro-local" },
  rollout: {
    ...staging.rollout,
    // A 10 s SLO window (the analysis waits one window before it measures) and the shortest
    // scale-down delay config allows: a whole blue/green release takes about a minute.
    slo: { window: "10s", maxErrorRatio: 0.01, maxP99Ms: 300, minRequests: 50 },
    scaleDownDelaySeconds: 30,
  },
  prometheusUrl: "http://127.0.0.1:9090",
};
