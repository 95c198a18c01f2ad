import type { FastifyInstance } from "fastify";
import { buildComplianceReport } from "./compliance/report";
import { controlStatuses } from "./compliance/types";
import type { ServiceContext } from "./context";

// Prometheus text exposition (format 0.0.4), written here: two request series, a few process
// gauges and the controls' status. The names and labels are what tools/ci/slo_gate.js queries.

/** Latency buckets in seconds: fine below 100 ms, where the SLO (p99 ≤ 300 ms) is decided. */
export const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

interface HistogramSeries {
  labels: Labels;
  buckets: number[];
  sum: number;
  count: number;
}

/** The service's request metrics; `record` is called once per response. */
export class RequestMetrics {
  private readonly counts = new Map<string, { labels: Labels; value: number }>();
  private readonly durations = new Map<string, HistogramSeries>();

  constructor(private readonly constant: { service: string; namespace: string }) {}

  record(method: string, route: string, code: number, seconds: number): void {
    const labels = { ...this.constant, code: String(code), method, route };
    const key = `${method} ${route} ${code}`;
    const counter = this.counts.get(key);
    if (counter) counter.value++;
    else this.counts.set(key, { labels, value: 1 });
    let series = this.durations.get(key);
    if (!series) {
      series = { labels, buckets: durationBuckets.map(() => 0), sum: 0, count: 0 };
      this.durations.set(key, series);
    }
    for (let i = 0; i < durationBuckets.length; i++) if (seconds <= durationBuckets[i]) series.buckets[i]++;
    series.sum += seconds;
    series.count++;
  }

  exposition(): string {
    const lines = [
      "# HELP http_requests_total HTTP requests answered, by route template and status code.",
      "# TYPE http_requests_total counter",
    ];
    for (const { labels, value } of this.counts.values()) lines.push(`http_requests_total${labelText(labels)} ${value}`);
    lines.push(
      "# HELP http_request_duration_seconds Time from request received to response sent.",
      "# TYPE http_request_duration_seconds histogram",
    );
    for (const s of this.durations.values()) {
      durationBuckets.forEach((le, i) =>
        lines.push(`http_request_duration_seconds_bucket${labelText({ ...s.labels, le: formatNumber(le) })} ${s.buckets[i]}`),
      );
      lines.push(`http_request_duration_seconds_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`http_request_duration_seconds_sum${labelText(s.labels)} ${formatNumber(s.sum)}`);
      lines.push(`http_request_duration_seconds_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

function processExposition(): string {
  const usage = process.cpuUsage();
  return [
    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
    "# TYPE process_cpu_seconds_total counter",
    `process_cpu_seconds_total ${(usage.user + usage.system) / 1e6}`,
    "# HELP process_resident_memory_bytes Resident memory size in bytes.",
    "# TYPE process_resident_memory_bytes gauge",
    `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
    "# TYPE process_start_time_seconds gauge",
    `process_start_time_seconds ${Math.round(Date.now() / 1000 - process.uptime())}`,
  ].join("\n");
}

/**
 * GET /metrics (no authentication: the mesh admits only Prometheus' identity to it) and the
 * onResponse hook that counts and times every other request. Unmatched paths share one route
 * label, so a scanner cannot blow up the series count.
 */
export function registerMetrics(server: FastifyInstance, context: ServiceContext): RequestMetrics {
  const settings = context.compliance.settings;
  const metrics = new RequestMetrics({ service: settings.serviceName, namespace: settings.namespace });
  server.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    if (route === "/metrics") return;
    metrics.record(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  server.get("/metrics", async (_request, reply) => {
    const report = await buildComplianceReport(context);
    const status = [
      "# HELP compliance_control_status 1 for the status each control has now (derived from evidence).",
      "# TYPE compliance_control_status gauge",
    ];
    for (const c of report.controls)
      for (const s of controlStatuses)
        status.push(`compliance_control_status${labelText({ control: c.id, status: s })} ${c.status === s ? 1 : 0}`);
    return reply
      .type("text/plain; version=0.0.4; charset=utf-8")
      .send(`${metrics.exposition()}\n${processExposition()}\n${status.join("\n")}\n`);
  });
  return metrics;
}
