// Synthetic traffic for SLO tests: the Prometheus metrics the compliance service exports
// (http_requests_total{service,namespace,code}, http_request_duration_seconds histogram) for
// several services at once, each with a request rate, error share and latency distribution
// the test controls and may change mid-test (counters stay monotonic, as a real service's do).
import type { MetricsTarget } from "./prometheus";

/** Latency histogram bucket bounds, in seconds (the service's buckets). */
export const latencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface TrafficProfile {
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

export const healthy: TrafficProfile = { rps: 100, errorShare: 0.001, latencyCdf: fastLatency };
export const erroring: TrafficProfile = { rps: 100, errorShare: 0.1, latencyCdf: fastLatency };
export const slow: TrafficProfile = { rps: 100, errorShare: 0, latencyCdf: slowLatency };
export const idle: TrafficProfile = { rps: 0, errorShare: 0, latencyCdf: fastLatency };

interface Counters {
  ok: number;
  errors: number;
  buckets: number[];
  total: number;
}

/** Cumulative counters per service, advanced by a ticker and served by a MetricsTarget. */
export class TrafficSimulator {
  private readonly services = new Map<string, { namespace: string; profile: TrafficProfile; counters: Counters }>();
  private timer?: NodeJS.Timeout;
  private last = Date.now();

  constructor(private readonly target: MetricsTarget) {}

  /** Sets (or changes) a service's traffic from now on. */
  set(service: string, namespace: string, profile: TrafficProfile): void {
    const existing = this.services.get(service);
    const counters = existing?.counters ?? { ok: 0, errors: 0, buckets: latencyBuckets.map(() => 0), total: 0 };
    this.services.set(service, { namespace, profile, counters });
  }

  /** Advances every counter to now and publishes the exposition text. */
  tick(): void {
    const now = Date.now();
    const dt = (now - this.last) / 1000;
    this.last = now;
    for (const { profile, counters } of this.services.values()) {
      const n = profile.rps * dt;
      counters.total += n;
      counters.errors += n * profile.errorShare;
      counters.ok += n * (1 - profile.errorShare);
      profile.latencyCdf.forEach((share, i) => (counters.buckets[i] += n * share));
    }
    this.target.setBody(this.render());
  }

  start(intervalMs = 100): void {
    this.last = Date.now();
    this.tick();
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  render(): string {
    const lines = ["# TYPE http_requests_total counter", "# TYPE http_request_duration_seconds histogram"];
    for (const [service, { namespace, counters }] of this.services) {
      const labels = `service="${service}",namespace="${namespace}"`;
      lines.push(`http_requests_total{${labels},code="200"} ${Math.floor(counters.ok)}`);
      lines.push(`http_requests_total{${labels},code="500"} ${Math.floor(counters.errors)}`);
      latencyBuckets.forEach((le, i) => {
        lines.push(`http_request_duration_seconds_bucket{${labels},le="${le}"} ${Math.floor(counters.buckets[i])}`);
      });
      lines.push(`http_request_duration_seconds_bucket{${labels},le="+Inf"} ${Math.floor(counters.total)}`);
      lines.push(`http_request_duration_seconds_count{${labels}} ${Math.floor(counters.total)}`);
    }
    return lines.join("\n") + "\n";
  }
}
