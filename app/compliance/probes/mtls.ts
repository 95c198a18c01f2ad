import { mtlsPercentExpr } from "../../../contracts/promql";
import { failed, missing, type EvidenceProbe } from "./types";

/** Percent of mesh requests (as the receiving sidecar reports them) over mutual TLS, in every namespace: the dashboard's query. */
export const mtlsShareQuery = mtlsPercentExpr({ window: "5m", namespace: ".*" });

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ value: [number, string] }> };
}

export const mtlsProbe: EvidenceProbe = {
  source: "mtls-share",
  title: "Share of mesh traffic over mutual TLS (Prometheus, 5 m)",
  async collect(ctx) {
    const now = ctx.now();
    const base = ctx.settings.prometheusUrl;
    if (!base) return missing(this.source, "PROMETHEUS_URL", now, "PROMETHEUS_URL is not set");
    const origin = `${base}/api/v1/query?query=${encodeURIComponent(mtlsShareQuery)}`;
    try {
      const res = await fetch(origin, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as PromResponse;
      if (!res.ok || body.status !== "success") throw new Error(`Prometheus answered ${res.status}: ${body.error ?? "no error text"}`);
      const sample = body.data?.result[0];
      const share = sample ? Number(sample.value[1]) / 100 : NaN;
      // No istio traffic in the window (or 0/0): nothing to judge, which is not a pass.
      if (!sample || !Number.isFinite(share)) return missing(this.source, origin, now, "no mesh traffic reported in the last 5 minutes");
      return {
        source: this.source,
        origin,
        state: "available",
        observedAt: new Date(sample.value[0] * 1000).toISOString(),
        collectedAt: now.toISOString(),
        summary: `${(share * 100).toFixed(2)}% of mesh requests over mTLS`,
        data: { share, query: mtlsShareQuery },
      };
    } catch (err) {
      return failed(this.source, origin, now, err);
    }
  },
};
