import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "../../../../harness/binaries";
import { startPrometheus, type RunningPrometheus } from "../../../../harness/prometheus";

export const promtoolBinary = findBinary("promtool");

/** Requests from one workload to another at a constant rate over [fromSec, toSec]. */
export interface RequestFlow {
  source: { namespace: string; workload: string; serviceAccount?: string };
  destination: { namespace: string; workload: string };
  /** true: over Istio mutual TLS; false: plaintext (a client without sidecar / SPIFFE identity). */
  mtls: boolean;
  perSecond: number;
  fromSec: number;
  toSec: number;
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",");
}

/**
 * istio_requests_total as Istio's sidecars report it, in OpenMetrics text with timestamps: the
 * destination reporter with connection_security_policy mutual_tls / none, and (for mTLS flows,
 * whose client has a sidecar) the source reporter too, with the "unknown" policy Istio gives it,
 * so a query that forgets reporter="destination" counts those requests twice and is caught.
 */
export function istioRequestsOpenMetrics(flows: readonly RequestFlow[], stepSeconds = 15): string {
  const lines = ["# HELP istio_requests Requests seen by Istio proxies.", "# TYPE istio_requests counter"];
  for (const flow of flows) {
    const principal = flow.mtls
      ? `spiffe://cluster.local/ns/${flow.source.namespace}/sa/${flow.source.serviceAccount ?? flow.source.workload}`
      : "unknown";
    const common = {
      source_workload: flow.mtls ? flow.source.workload : "unknown",
      source_workload_namespace: flow.mtls ? flow.source.namespace : "unknown",
      source_principal: principal,
      destination_workload: flow.destination.workload,
      destination_workload_namespace: flow.destination.namespace,
      response_code: "200",
    };
    const reporters: Array<Record<string, string>> = [
      { ...common, reporter: "destination", connection_security_policy: flow.mtls ? "mutual_tls" : "none" },
    ];
    if (flow.mtls) reporters.push({ ...common, reporter: "source", connection_security_policy: "unknown" });
    for (const labels of reporters) {
      for (let t = flow.fromSec; t <= flow.toSec; t += stepSeconds) {
        lines.push(`istio_requests_total{${labelText(labels)}} ${flow.perSecond * (t - flow.fromSec)} ${t}`);
      }
    }
  }
  lines.push("# EOF");
  return lines.join("\n") + "\n";
}

/** Writes the flows into a fresh TSDB folder with promtool; start Prometheus on `storagePath`. */
export function backfillIstioRequests(flows: readonly RequestFlow[]): { storagePath: string; cleanup(): void } {
  if (!promtoolBinary) throw new Error("promtool is not installed (apt-get install prometheus)");
  const dir = mkdtempSync(join(tmpdir(), "maestro-mesh-tsdb-"));
  const input = join(dir, "istio.om");
  const storagePath = join(dir, "data");
  writeFileSync(input, istioRequestsOpenMetrics(flows));
  const result = spawnSync(promtoolBinary, ["tsdb", "create-blocks-from", "openmetrics", input, storagePath], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`promtool create-blocks-from openmetrics failed: ${result.stderr || result.stdout}`);
  return { storagePath, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Backfills the flows into a fresh TSDB and starts a real Prometheus on it; stop() removes both. */
export async function startPrometheusWithFlows(flows: readonly RequestFlow[]): Promise<RunningPrometheus> {
  const tsdb = backfillIstioRequests(flows);
  try {
    const prom = await startPrometheus({ storagePath: tsdb.storagePath });
    return { ...prom, stop: async () => (await prom.stop(), tsdb.cleanup()) };
  } catch (err) {
    tsdb.cleanup();
    throw err;
  }
}
