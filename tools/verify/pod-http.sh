#!/usr/bin/env bash
# Runbook helper: what every serving pod of a Service answers on one path, asked from inside the
# pod. Under STRICT mTLS nothing outside a pod may call it in plaintext (not the API server's
# proxy, not a probe pod), so the request is made in the pod, by the image's own node, as the
# image's HEALTHCHECK does.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: pod-http.sh --namespace NS --service SVC --path PATH [--port PORT] [--container NAME]

For every ready pod the Service SVC selects (for a Rollout: its active ReplicaSet), GETs
http://127.0.0.1:PORT/PATH inside the pod (kubectl exec ... -- node -e 'fetch(...)') and prints
one line per pod: its name, the HTTP status and the body, separated by tabs.

  --namespace NS      the Service's namespace
  --service SVC       the Service whose selector picks the pods
  --path PATH         the path to GET, e.g. /healthz/policy
  --port PORT         the container port (default: 8080)
  --container NAME    the container to exec in (default: the pod's default container)
  -h, --help          this text

The cluster comes from KUBECONFIG, and the context from KUBE_CONTEXT when it is set.
POD_TRANSPORT=direct asks http://<pod IP>:PORT/PATH from here with curl instead: for the local
control plane (npm run cluster:up, verify:ga --local-cluster), whose host-process kubelet runs
the pods on this host with no exec, at loopback addresses this host reaches.
Exit: 0 every pod answered 2xx; 1 a pod answered otherwise or not at all, or no pod is ready;
      2 bad usage.
USAGE
}

die_usage() {
  echo "pod-http: $1" >&2
  echo "run with --help for usage" >&2
  exit 2
}

namespace=""
service=""
path=""
port="8080"
container=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --namespace | --service | --path | --port | --container)
      [ $# -ge 2 ] || die_usage "$1 needs a value"
      case "$1" in
        --namespace) namespace="$2" ;;
        --service) service="$2" ;;
        --path) path="$2" ;;
        --port) port="$2" ;;
        --container) container="$2" ;;
      esac
      shift 2
      ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done
[ -n "$namespace" ] || die_usage "--namespace is required"
[ -n "$service" ] || die_usage "--service is required"
[[ "$path" == /* ]] || die_usage "--path must start with / (got '$path')"
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  die_usage "--port must be 1-65535 (got '$port')"
fi
transport="${POD_TRANSPORT:-exec}"
[ "$transport" = exec ] || [ "$transport" = direct ] || die_usage "POD_TRANSPORT must be exec or direct (got '$transport')"

kube=(kubectl)
[ -z "${KUBE_CONTEXT:-}" ] || kube+=(--context "$KUBE_CONTEXT")
kube+=(-n "$namespace")

# shellcheck source=tools/verify/service-pods.sh
source "$(dirname "$0")/service-pods.sh"
selector=$(service_selector "$service")
# Ready and not terminating: the pods the Service's endpoints hold.
pods=$(selected_pods "$selector" | awk '$2 == "true" { print $1, $4 }')
[ -n "$pods" ] || {
  echo "pod-http: no ready pod behind service $namespace/$service ($selector)" >&2
  exit 1
}

# Prints "<status>\t<body>" (status 000 when there is no answer).
fetch_script="fetch('http://127.0.0.1:$port$path', { signal: AbortSignal.timeout(5000) })"
fetch_script+=".then(async (r) => console.log(r.status + '\t' + (await r.text()).replace(/\n/g, ' ')))"
fetch_script+=".catch((e) => console.log('000\t' + e.message))"
ask() {
  local pod="$1" ip="$2" body
  if [ "$transport" = direct ]; then
    body=$(mktemp)
    local status
    status=$(curl -sS -m 5 -o "$body" -w '%{http_code}' "http://$ip:$port$path" 2>/dev/null) || status="000"
    printf '%s\t%s\n' "$status" "$(tr '\n' ' ' <"$body")"
    rm -f "$body"
  else
    local exec_args=(exec "$pod")
    [ -z "$container" ] || exec_args+=(-c "$container")
    "${kube[@]}" "${exec_args[@]}" -- node -e "$fetch_script" || printf '000\tkubectl exec failed\n'
  fi
}

failed=0
while read -r pod ip; do
  answer=$(ask "$pod" "$ip" </dev/null)
  printf '%s\t%s\n' "$pod" "$answer"
  case "$answer" in
    2[0-9][0-9]$'\t'*) ;;
    *) failed=1 ;;
  esac
done <<<"$pods"
exit "$failed"
