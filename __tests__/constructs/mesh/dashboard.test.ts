import { loadEnvironment } from "../../../config/load";
import { dashboardVariables, mtlsOverviewDashboard, mtlsThresholdSteps } from "../../../constructs/mesh/dashboard";
import { mtlsShareQuery } from "../../../app/compliance/probes/mtls";
import { describeWithService } from "../../support/services";
import { prometheusBinary, type RunningPrometheus } from "../../../harness/prometheus";
import { promtoolBinary, startPrometheusWithFlows, type RequestFlow } from "./support/istio-requests";

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets: Target[];
  fieldConfig: { defaults: { thresholds?: { steps: Array<{ color: string; value: number | null }> } } };
}

const config = loadEnvironment("staging");
const dashboard = mtlsOverviewDashboard({ thresholdPercent: config.mesh.mtlsThresholdPercent }) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: unknown; definition?: string }> };
};
const panel = (title: string) => {
  const p = dashboard.panels.find((x) => x.title === title);
  if (!p) throw new Error(`no panel '${title}'`);
  return p;
};
const exprOf = (title: string) => panel(title).targets[0].expr;

/** The dashboard's template variables replaced with concrete values, as Grafana does before it queries. */
function concrete(expr: string, values: { window?: string; namespace?: string } = {}): string {
  const out = expr
    .split(dashboardVariables.window)
    .join(values.window ?? "1m")
    .split(dashboardVariables.namespace)
    .join(values.namespace ?? ".*");
  if (out.includes("$")) throw new Error(`unreplaced template variable in ${out}`);
  return out;
}

// ESM-only package: loaded with a real dynamic import (see jest.config.js).
let parser: (typeof import("@prometheus-io/lezer-promql", { with: { "resolution-mode": "import" } }))["parser"];
beforeAll(async () => {
  ({ parser } = await import("@prometheus-io/lezer-promql"));
});

/** Positions of lezer error nodes: a non-empty list means the expression does not parse. */
function promqlErrors(expr: string): number[] {
  const errors: number[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
    },
  });
  return errors;
}

const allTargets = dashboard.panels.flatMap((p) => p.targets.map((t) => [`${p.title} / ${t.refId}`, t.expr] as const));

describe("mtls-overview dashboard model", () => {
  test("has uid mtls-overview and the four panels the runbook names", () => {
    expect(dashboard.uid).toBe("mtls-overview");
    expect(dashboard.panels.map((p) => [p.type, p.title])).toEqual([
      ["stat", "mTLS share of requests"],
      ["timeseries", "mTLS share by namespace"],
      ["table", "mTLS share by workload"],
      ["table", "Plaintext sources"],
    ]);
  });

  test("the mTLS % stat is red below the configured threshold and green at 100", () => {
    expect(panel("mTLS share of requests").fieldConfig.defaults.thresholds?.steps).toEqual([
      { color: "red", value: null },
      { color: "orange", value: config.mesh.mtlsThresholdPercent },
      { color: "green", value: 100 },
    ]);
    expect(mtlsThresholdSteps(100)).toEqual([
      { color: "red", value: null },
      { color: "green", value: 100 },
    ]);
    expect(() => mtlsThresholdSteps(101)).toThrow(/thresholdPercent: must be 0-100 \(got 101\)/);
  });

  test.each(allTargets)("%s parses as PromQL (lezer-promql)", (_name, expr) => {
    expect(promqlErrors(concrete(expr))).toEqual([]);
  });

  test("the namespace variable's label_values() selector parses as PromQL", () => {
    const variable = dashboard.templating.list.find((v) => v.name === "namespace")!;
    const selector = /^label_values\((.+), destination_workload_namespace\)$/.exec(variable.definition ?? "")?.[1];
    expect(selector).toBeDefined();
    expect(promqlErrors(selector!)).toEqual([]);
  });

  test("the service's mtls-share probe asks the stat panel's query (5 m, every namespace)", () => {
    expect(mtlsShareQuery).toBe(concrete(exprOf("mTLS share of requests"), { window: "5m", namespace: ".*" }));
  });

  test("the parser check can fail: a broken expression has error nodes", () => {
    expect(promqlErrors("sum(rate(istio_requests_total[1m])")).not.toEqual([]);
    expect(promqlErrors('100 * sum(rate(istio_requests_total{reporter="destination"}[1m]) /')).not.toEqual([]);
  });
});

const missing = !prometheusBinary ? "prometheus" : !promtoolBinary ? "promtool" : undefined;

describeWithService("mtls-overview queries on a real Prometheus", missing, () => {
  // Two phases an hour ago, 15 s samples: first every request is mTLS; then an unknown client
  // (no sidecar) sends plaintext to compliance and to a legacy workload in monitoring.
  const t0 = Math.floor(Date.now() / 1000 / 60) * 60 - 3600;
  const clean = { fromSec: t0, toSec: t0 + 600 };
  const leak = { fromSec: t0 + 1200, toSec: t0 + 1800 };
  const atClean = t0 + 300;
  const atLeak = t0 + 1500;
  const gatewayToCompliance = {
    source: { namespace: "maestro-gateway", workload: "oauth2-proxy" },
    destination: { namespace: "maestro", workload: "compliance" },
    mtls: true,
  };
  const complianceToPostgres = {
    source: { namespace: "maestro", workload: "compliance", serviceAccount: "compliance-service" },
    destination: { namespace: "maestro-data", workload: "postgres" },
    mtls: true,
  };
  const flows: RequestFlow[] = [
    { ...gatewayToCompliance, perSecond: 10, ...clean },
    { ...complianceToPostgres, perSecond: 2, ...clean },
    { ...gatewayToCompliance, perSecond: 10, ...leak },
    { ...complianceToPostgres, perSecond: 2, ...leak },
    {
      source: { namespace: "default", workload: "curl" },
      destination: { namespace: "maestro", workload: "compliance" },
      mtls: false,
      perSecond: 3,
      ...leak,
    },
    {
      source: { namespace: "default", workload: "curl" },
      destination: { namespace: "monitoring", workload: "legacy-exporter" },
      mtls: false,
      perSecond: 1,
      ...leak,
    },
  ];

  let prom: RunningPrometheus;
  beforeAll(async () => {
    prom = await startPrometheusWithFlows(flows);
  });
  afterAll(async () => prom?.stop());

  const values = async (expr: string, at: number, key: (m: Record<string, string>) => string = () => "all") =>
    Object.fromEntries((await prom.query(expr, at)).map((r) => [key(r.metric), Number(r.value[1])]));
  const stat = (namespace: string, at: number) => values(concrete(exprOf("mTLS share of requests"), { namespace }), at);

  test("100 % mTLS reads exactly 100, everywhere", async () => {
    expect(await stat(".*", atClean)).toEqual({ all: 100 });
    expect(await values(concrete(exprOf("mTLS share by namespace")), atClean, (m) => m.destination_workload_namespace)).toEqual({
      maestro: 100,
      "maestro-data": 100,
    });
    expect(await values(concrete(exprOf("mTLS share by workload")), atClean, (m) => m.destination_workload)).toEqual({
      compliance: 100,
      postgres: 100,
    });
    expect(await prom.query(concrete(exprOf("Plaintext sources")), atClean)).toEqual([]);
  });

  test("plaintext sources lower the share by exactly their part of the traffic", async () => {
    // mTLS 10 + 2 req/s, plaintext 3 + 1 req/s: 12 / 16.
    expect(await stat(".*", atLeak)).toEqual({ all: 75 });
    expect((await stat("maestro", atLeak)).all).toBeCloseTo((100 * 10) / 13, 10);
    expect(await stat("maestro-data", atLeak)).toEqual({ all: 100 });
    // A namespace with no mTLS request at all reads 0, not "no data".
    expect(await stat("monitoring", atLeak)).toEqual({ all: 0 });
  });

  test("the per-namespace and per-workload breakdowns show where the plaintext lands", async () => {
    const byNamespace = await values(concrete(exprOf("mTLS share by namespace")), atLeak, (m) => m.destination_workload_namespace);
    expect(Object.keys(byNamespace).sort()).toEqual(["maestro", "maestro-data", "monitoring"]);
    expect(byNamespace.maestro).toBeCloseTo(1000 / 13, 10);
    expect(byNamespace["maestro-data"]).toBe(100);
    expect(byNamespace.monitoring).toBe(0);
    const byWorkload = await values(
      concrete(exprOf("mTLS share by workload")),
      atLeak,
      (m) => `${m.destination_workload_namespace}/${m.destination_workload}`,
    );
    expect(Object.keys(byWorkload).sort()).toEqual(["maestro-data/postgres", "maestro/compliance", "monitoring/legacy-exporter"]);
    expect(byWorkload["maestro/compliance"]).toBeCloseTo(1000 / 13, 10);
    expect(byWorkload["maestro-data/postgres"]).toBe(100);
    expect(byWorkload["monitoring/legacy-exporter"]).toBe(0);
  });

  test("the plaintext-sources table lists each unidentified caller with its request rate", async () => {
    const rows = (await prom.query(concrete(exprOf("Plaintext sources")), atLeak))
      .map((r) => ({ ...r.metric, rate: Number(r.value[1]) }))
      .sort((a, b) => b.rate - a.rate);
    expect(rows).toEqual([
      {
        source_workload_namespace: "unknown",
        source_workload: "unknown",
        source_principal: "unknown",
        destination_workload_namespace: "maestro",
        destination_workload: "compliance",
        connection_security_policy: "none",
        rate: 3,
      },
      {
        source_workload_namespace: "unknown",
        source_workload: "unknown",
        source_principal: "unknown",
        destination_workload_namespace: "monitoring",
        destination_workload: "legacy-exporter",
        connection_security_policy: "none",
        rate: 1,
      },
    ]);
  });

  test("the namespace filter narrows the plaintext table", async () => {
    const rows = await prom.query(concrete(exprOf("Plaintext sources"), { namespace: "maestro-data" }), atLeak);
    expect(rows).toEqual([]);
  });
});
