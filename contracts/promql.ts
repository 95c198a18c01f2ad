// The PromQL of the mesh's runbook checks, one owner for every reader: the mtls-overview dashboard
// (constructs/mesh/dashboard.ts), the runbook script tools/verify/mtls-percent.sh (through
// tools/verify/mtls-query.ts) and the service's mtls-share probe (app/compliance/probes/mtls.ts).

/** Which requests a query reads: the rate window (a Prometheus duration or Grafana's variable) and a namespace regex. */
export interface MeshQueryScope {
  window: string;
  namespace: string;
}

/**
 * Requests as the receiving sidecar saw them: only the destination reporter knows whether the
 * connection was mutual TLS (the source side reports "unknown").
 */
function requests(window: string, namespace: string, security?: string): string {
  const extra = security ? `, connection_security_policy${security}` : "";
  return `rate(istio_requests_total{reporter="destination", destination_workload_namespace=~"${namespace}"${extra}}[${window}])`;
}

/**
 * Share of requests, in percent, that arrived over mutual TLS, optionally per label set. A group
 * with no mTLS request at all reads 0 (not "no data"): `or 0 * total` fills the missing numerator.
 */
export function mtlsPercentExpr(options: MeshQueryScope & { by?: readonly string[] }): string {
  const { window, namespace } = options;
  const by = options.by?.length ? ` by (${options.by.join(", ")})` : "";
  const mtls = `sum${by} (${requests(window, namespace, '="mutual_tls"')})`;
  const total = `sum${by} (${requests(window, namespace)})`;
  return `100 * (${mtls} or 0 * ${total}) / ${total}`;
}

/** Request rate per plaintext (not mutual-TLS) source → destination pair; only pairs with traffic. */
export function plaintextSourcesExpr({ window, namespace }: MeshQueryScope): string {
  const by = [
    "source_workload_namespace",
    "source_workload",
    "source_principal",
    "destination_workload_namespace",
    "destination_workload",
    "connection_security_policy",
  ];
  return `sum by (${by.join(", ")}) (${requests(window, namespace, '!="mutual_tls"')}) > 0`;
}
