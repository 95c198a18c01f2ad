import { Construct } from "constructs";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import type { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { mtlsPercentExpr, plaintextSourcesExpr, type MeshQueryScope } from "../../contracts/promql";

/** UID the runbook opens (Grafana → Dashboards → mtls-overview). */
export const mtlsDashboardUid = "mtls-overview";

/** Grafana template variables the queries use; tests replace them with concrete values. */
export const dashboardVariables: MeshQueryScope = { window: "$__rate_interval", namespace: "$namespace" };

// `$datasource`, not `${datasource}`: Terraform would read `${...}` in the ConfigMap data as interpolation.
const datasource = { type: "prometheus", uid: "$datasource" } as const;

interface ThresholdStep {
  color: string;
  value: number | null;
}

/** Red below the threshold, orange from the threshold up to 100, green at 100. */
export function mtlsThresholdSteps(thresholdPercent: number): ThresholdStep[] {
  if (!(thresholdPercent >= 0 && thresholdPercent <= 100)) throw new Error(`thresholdPercent: must be 0-100 (got ${thresholdPercent})`);
  const steps: ThresholdStep[] = [{ color: "red", value: null }];
  if (thresholdPercent < 100) steps.push({ color: "orange", value: thresholdPercent });
  steps.push({ color: "green", value: 100 });
  return steps;
}

export interface MtlsDashboardOptions {
  /** Below this share of mutual-TLS requests the panels turn red (config mesh.mtlsThresholdPercent). */
  readonly thresholdPercent: number;
}

/** The Grafana dashboard JSON model of `mtls-overview`. */
export function mtlsOverviewDashboard(options: MtlsDashboardOptions): Record<string, unknown> {
  const thresholds = { mode: "absolute", steps: mtlsThresholdSteps(options.thresholdPercent) };
  const percentField = { unit: "percent", min: 0, max: 100, decimals: 2, thresholds, color: { mode: "thresholds" } };
  const hideTime = { id: "organize", options: { excludeByName: { Time: true } } };
  return {
    uid: mtlsDashboardUid,
    title: "Mesh mTLS overview",
    description: "Share of mesh requests that arrived over mutual TLS (istio_requests_total, destination reporter).",
    tags: ["maestro", "istio", "mtls"],
    editable: false,
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus" },
        {
          name: "namespace",
          label: "Destination namespace",
          type: "query",
          datasource,
          definition: 'label_values(istio_requests_total{reporter="destination"}, destination_workload_namespace)',
          query: {
            query: 'label_values(istio_requests_total{reporter="destination"}, destination_workload_namespace)',
            refId: "namespaces",
          },
          includeAll: true,
          multi: true,
          allValue: ".*",
          current: { selected: true, text: ["All"], value: ["$__all"] },
          refresh: 2,
          sort: 1,
        },
      ],
    },
    panels: [
      {
        id: 1,
        type: "stat",
        title: "mTLS share of requests",
        description: `Green at 100 %, red below ${options.thresholdPercent} % (mesh.mtlsThresholdPercent).`,
        datasource,
        gridPos: { h: 8, w: 8, x: 0, y: 0 },
        fieldConfig: { defaults: percentField, overrides: [] },
        options: { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "background", graphMode: "area" },
        targets: [{ refId: "A", datasource, expr: mtlsPercentExpr(dashboardVariables), legendFormat: "mTLS %" }],
      },
      {
        id: 2,
        type: "timeseries",
        title: "mTLS share by namespace",
        datasource,
        gridPos: { h: 8, w: 16, x: 8, y: 0 },
        fieldConfig: { defaults: { ...percentField, custom: { thresholdsStyle: { mode: "line" } } }, overrides: [] },
        targets: [
          {
            refId: "A",
            datasource,
            expr: mtlsPercentExpr({ ...dashboardVariables, by: ["destination_workload_namespace"] }),
            legendFormat: "{{destination_workload_namespace}}",
          },
        ],
      },
      {
        id: 3,
        type: "table",
        title: "mTLS share by workload",
        datasource,
        gridPos: { h: 9, w: 12, x: 0, y: 8 },
        fieldConfig: { defaults: { ...percentField, custom: { cellOptions: { type: "color-background" } } }, overrides: [] },
        options: { sortBy: [{ displayName: "Value", desc: false }] },
        transformations: [hideTime],
        targets: [
          {
            refId: "A",
            datasource,
            expr: mtlsPercentExpr({ ...dashboardVariables, by: ["destination_workload_namespace", "destination_workload"] }),
            format: "table",
            instant: true,
          },
        ],
      },
      {
        id: 4,
        type: "table",
        title: "Plaintext sources",
        description: "Who reached a mesh workload without mutual TLS (source 'unknown' = no sidecar / no SPIFFE identity).",
        datasource,
        gridPos: { h: 9, w: 12, x: 12, y: 8 },
        fieldConfig: { defaults: { unit: "reqps", decimals: 3 }, overrides: [] },
        options: { sortBy: [{ displayName: "Value", desc: true }] },
        transformations: [hideTime],
        targets: [{ refId: "A", datasource, expr: plaintextSourcesExpr(dashboardVariables), format: "table", instant: true }],
      },
    ],
  };
}

export interface MtlsOverviewDashboardProps extends MtlsDashboardOptions {
  /** The kubernetes provider that applies the ConfigMap (the stack's). */
  readonly kubernetes: KubernetesProvider;
  /** Namespace of Grafana's dashboard sidecar (it watches ConfigMaps labelled grafana_dashboard="1"). */
  readonly namespace: string;
}

/** The mtls-overview dashboard as a ConfigMap that Grafana's sidecar loads. */
export class MtlsOverviewDashboard extends Construct {
  readonly configMap: ConfigMapV1;
  readonly dashboard: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: MtlsOverviewDashboardProps) {
    super(scope, id);
    this.dashboard = mtlsOverviewDashboard(props);
    this.configMap = new ConfigMapV1(this, "config-map", {
      provider: props.kubernetes,
      metadata: {
        name: "mtls-overview-dashboard",
        namespace: props.namespace,
        labels: { grafana_dashboard: "1", "app.kubernetes.io/part-of": "maestro", "app.kubernetes.io/component": "zero-trust-mesh" },
      },
      data: { "mtls-overview.json": JSON.stringify(this.dashboard, null, 2) },
    });
  }
}
