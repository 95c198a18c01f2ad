// Synthetic traffic for SLO tests: renders, at any instant, the Prometheus metrics the compliance
// service exports (http_requests_total, http_request_duration_seconds) for several services at
// once, each with a controlled request rate, error share and latency distribution.

/** Latency histogram bucket bounds, in seconds (the service's buckets). */
export const latencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface TrafficProfile {
  /** Value of the `service` label. */
  service: string;
  namespace: string;
  /** Requests per second. */
  rps: number;
  /** Share of requests answered 500, 0-1. */
  errorShare: number;
  /** Cumulative share of requests at or under each bound of latencyBuckets (non-decreasing, ≤ 1). */
  latencyCdf: number[];
}

/** 99.8% of requests within 100 ms: p99 ≈ 96 ms. */
export const fastLatency = [0.9, 0.998, 1, 1, 1, 1];
/** A fifth of the requests take 0.5-1 s: p99 ≈ 0.95 s. */
export const slowLatency = [0.3, 0.5, 0.8, 0.8, 1, 1];

/** The exposition text for every profile after `elapsedSeconds` of traffic. */
export function renderTraffic(profiles: TrafficProfile[], elapsedSeconds: number): string {
  const lines = ["# TYPE http_requests_total counter", "# TYPE http_request_duration_seconds histogram"];
  for (const p of profiles) {
    const total = Math.floor(p.rps * elapsedSeconds);
    const errors = Math.floor(total * p.errorShare);
    const labels = `service="${p.service}",namespace="${p.namespace}"`;
    lines.push(`http_requests_total{${labels},code="200"} ${total - errors}`);
    lines.push(`http_requests_total{${labels},code="500"} ${errors}`);
    latencyBuckets.forEach((le, i) => {
      lines.push(`http_request_duration_seconds_bucket{${labels},le="${le}"} ${Math.floor(total * p.latencyCdf[i])}`);
    });
    lines.push(`http_request_duration_seconds_bucket{${labels},le="+Inf"} ${total}`);
    lines.push(`http_request_duration_seconds_count{${labels}} ${total}`);
  }
  return lines.join("\n") + "\n";
}
