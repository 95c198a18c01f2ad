#!/usr/bin/env bash
# Runbook check: the share of mesh requests that arrived over mutual TLS is at or above the
# threshold. Same query as the mTLS % panel of Grafana dashboard mtls-overview.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: mtls-percent.sh --threshold PERCENT [--prometheus URL] [--namespace REGEX] [--window DURATION] [--time TIME]

Queries Prometheus for the share of requests with connection_security_policy="mutual_tls"
(istio_requests_total, destination reporter) and passes only at or above the threshold.

  --threshold PERCENT  pass at or above this share, 0-100 (default: $MTLS_THRESHOLD_PERCENT;
                       the mesh stack's output mtls_threshold_percent)
  --prometheus URL     Prometheus base URL (default: $PROMETHEUS_URL), e.g. after
                       kubectl -n monitoring port-forward svc/prometheus-server 9090:9090
  --namespace REGEX    destination namespaces to include (default: .*)
  --window DURATION    rate window, a Prometheus duration (default: 5m)
  --time TIME          evaluation time, RFC 3339 or Unix seconds (default: now)
  -h, --help           this text

Exit: 0 share >= threshold; 1 share below it, or no Istio traffic in the window;
      2 bad usage, or Prometheus unreachable / not answering a valid result.
USAGE
}

die_usage() {
  echo "mtls-percent: $1" >&2
  echo "run with --help for usage" >&2
  exit 2
}

prometheus="${PROMETHEUS_URL:-}"
threshold="${MTLS_THRESHOLD_PERCENT:-}"
namespace=".*"
window="5m"
at=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --threshold | --prometheus | --namespace | --window | --time)
      [ $# -ge 2 ] || die_usage "$1 needs a value"
      case "$1" in
        --threshold) threshold="$2" ;;
        --prometheus) prometheus="$2" ;;
        --namespace) namespace="$2" ;;
        --window) window="$2" ;;
        --time) at="$2" ;;
      esac
      shift 2
      ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done

[ -n "$threshold" ] || die_usage "--threshold is required (or set MTLS_THRESHOLD_PERCENT)"
number_re='^[0-9]+(\.[0-9]+)?$'
if ! [[ "$threshold" =~ $number_re ]] || ! awk -v t="$threshold" 'BEGIN { exit !(t <= 100) }'; then
  die_usage "--threshold must be a number 0-100 (got '$threshold')"
fi
[ -n "$prometheus" ] || die_usage "--prometheus is required (or set PROMETHEUS_URL)"
[[ "$prometheus" =~ ^https?://[^[:space:]]+$ ]] || die_usage "--prometheus must be an http(s):// URL (got '$prometheus')"
[[ "$window" =~ ^[0-9]+[smhd]$ ]] || die_usage "--window must be a Prometheus duration such as 5m (got '$window')"
namespace_re='^[-a-z0-9.*+?|()^$]+$'
[[ "$namespace" =~ $namespace_re ]] || die_usage "--namespace must be a namespace name or regex of [-a-z0-9.*+?|()^\$] (got '$namespace')"
time_re='^[0-9]+(\.[0-9]+)?$|^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$'
[ -z "$at" ] || [[ "$at" =~ $time_re ]] ||
  die_usage "--time must be RFC 3339 or Unix seconds (got '$at')"

# The dashboard's own query, from its one owner (contracts/promql.ts).
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
query="$(node -r "$repo/tools/register.js" "$repo/tools/verify/mtls-query.ts" --window "$window" --namespace "$namespace")" ||
  die_usage "cannot build the query with node (run npm ci in $repo)"

echo "mtls-percent: asking ${prometheus%/} for the mTLS share (namespaces =~ '$namespace', window $window, at ${at:-now})"
echo "mtls-percent: query: $query"
args=(-sS --max-time 20 -G --data-urlencode "query=$query")
[ -z "$at" ] || args+=(--data-urlencode "time=$at")
if ! response="$(curl "${args[@]}" "${prometheus%/}/api/v1/query" 2>&1)"; then
  echo "mtls-percent: cannot query Prometheus at $prometheus: $response" >&2
  exit 2
fi
if [[ "$response" != *'"status":"success"'* ]]; then
  echo "mtls-percent: Prometheus did not answer with a result: ${response:0:300}" >&2
  exit 2
fi
if [[ "$response" == *'"result":[]'* ]]; then
  echo "mtls-percent: FAIL: no istio_requests_total (reporter=destination) in the last $window for namespaces =~ '$namespace'; the share cannot be shown"
  exit 1
fi
value="$(sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p' <<<"$response")"
value_re='^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
if ! [[ "$value" =~ $value_re ]]; then
  echo "mtls-percent: FAIL: the query did not give a share (got '${value:-nothing}')"
  exit 1
fi
shown="$(awk -v v="$value" 'BEGIN { printf "%.2f", v }')"
if awk -v v="$value" -v t="$threshold" 'BEGIN { exit !(v >= t) }'; then
  echo "mtls-percent: PASS: mTLS share ${shown} % >= threshold ${threshold} %"
  exit 0
fi
echo "mtls-percent: FAIL: mTLS share ${shown} % is below the threshold ${threshold} %"
exit 1
