#!/usr/bin/env bash
# Runbook check: a client without a sidecar (no SPIFFE identity) cannot call a mesh service.
# Starts a probe pod with sidecar injection off, calls the URL in plaintext and passes only when
# the mesh refuses the call.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: mtls-probe.sh --url URL [--namespace NS] [--image IMAGE] [--timeout SECONDS]

Starts a pod WITHOUT an Istio sidecar (label sidecar.istio.io/inject=false) in NS, calls URL in
plaintext from it with curl, and passes only when the mesh refuses the call: the connection is
reset (STRICT mTLS) or answered 403 "RBAC: access denied" (AuthorizationPolicy).

  --url URL          a mesh service, e.g. http://compliance.maestro.svc.cluster.local:8080/healthz
  --namespace NS     namespace of the probe pod (default: default)
  --image IMAGE      image with sh and curl (default: curlimages/curl:8.10.1)
  --timeout SECONDS  curl timeout, and twice that for the pod to finish (default: 10)
  -h, --help         this text

The cluster comes from KUBECONFIG, and the context from KUBE_CONTEXT when it is set.
Exit: 0 the call was refused; 1 it got through, the probe pod had a sidecar, or the result is
      inconclusive (DNS failure, timeout, nothing listening); 2 bad usage.
USAGE
}

die_usage() {
  echo "mtls-probe: $1" >&2
  echo "run with --help for usage" >&2
  exit 2
}

url=""
namespace="default"
image="curlimages/curl:8.10.1"
timeout_s="10"
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --url | --namespace | --image | --timeout)
      [ $# -ge 2 ] || die_usage "$1 needs a value"
      case "$1" in
        --url) url="$2" ;;
        --namespace) namespace="$2" ;;
        --image) image="$2" ;;
        --timeout) timeout_s="$2" ;;
      esac
      shift 2
      ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done

[ -n "$url" ] || die_usage "--url is required"
url_re='^https?://[^[:space:]]+$'
[[ "$url" =~ $url_re ]] || die_usage "--url must be an http(s):// URL (got '$url')"
ns_re='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
[[ "$namespace" =~ $ns_re ]] || die_usage "--namespace must be a Kubernetes namespace name (got '$namespace')"
timeout_re='^[1-9][0-9]{0,2}$'
[[ "$timeout_s" =~ $timeout_re ]] || die_usage "--timeout must be 1-999 seconds (got '$timeout_s')"
[ -n "$image" ] || die_usage "--image must not be empty"
command -v kubectl >/dev/null || die_usage "kubectl is not on PATH"

kube=(kubectl)
[ -z "${KUBE_CONTEXT:-}" ] || kube+=(--context "$KUBE_CONTEXT")
kube+=(--namespace "$namespace")
pod="mtls-probe-$(date +%s)-$$"

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  echo "mtls-probe: deleting pod $namespace/$pod"
  "${kube[@]}" delete pod "$pod" --ignore-not-found --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Inside the pod: one plaintext call; report curl's exit code, the HTTP status and the body's first line.
# shellcheck disable=SC2016 # expanded by the pod's sh, not here
probe='t="${TMPDIR:-/tmp}"; code=$(curl -sS -o "$t/body" -w "%{http_code}" --max-time "$2" "$1" 2>"$t/err"); rc=$?
echo "mtls-probe-result curl_exit=$rc http_code=$code body=$(head -c 200 "$t/body" 2>/dev/null | head -n 1)"
echo "mtls-probe-stderr $(head -n 1 "$t/err")"'

echo "mtls-probe: starting pod $namespace/$pod (image $image, no sidecar) to call $url in plaintext${KUBE_CONTEXT:+ (context $KUBE_CONTEXT)}"
"${kube[@]}" run "$pod" --image="$image" --restart=Never \
  --labels="sidecar.istio.io/inject=false,app.kubernetes.io/name=mtls-probe" \
  --command -- sh -c "$probe" mtls-probe "$url" "$timeout_s" >/dev/null

echo "mtls-probe: waiting up to $((timeout_s * 2 + 60))s for the pod to finish"
if ! "${kube[@]}" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$pod" --timeout="$((timeout_s * 2 + 60))s" >/dev/null; then
  echo "mtls-probe: FAIL (inconclusive): the probe pod did not finish; check 'kubectl -n $namespace describe pod $pod'"
  exit 1
fi

containers="$("${kube[@]}" get pod "$pod" -o jsonpath='{.spec.containers[*].name} {.spec.initContainers[*].name}')"
if [[ " $containers " == *" istio-proxy "* ]]; then
  echo "mtls-probe: FAIL (inconclusive): the probe pod got an istio-proxy sidecar ($containers), so it is not a client without identity"
  exit 1
fi

logs="$("${kube[@]}" logs "$pod")"
result="$(grep -m1 '^mtls-probe-result ' <<<"$logs" || true)"
if [ -z "$result" ]; then
  echo "mtls-probe: FAIL (inconclusive): no probe result in the pod's log: ${logs:0:300}"
  exit 1
fi
echo "mtls-probe: ${result#mtls-probe-result }"
curl_exit="$(sed -n 's/.*curl_exit=\([0-9]*\).*/\1/p' <<<"$result")"
http_code="$(sed -n 's/.*http_code=\([0-9]*\).*/\1/p' <<<"$result")"

case "$curl_exit" in
  52 | 56)
    echo "mtls-probe: PASS: the connection was reset (curl exit $curl_exit): plaintext refused by STRICT mTLS"
    exit 0
    ;;
  0)
    if [ "$http_code" = "403" ] && [[ "$result" == *"RBAC: access denied"* ]]; then
      echo "mtls-probe: PASS: HTTP 403 RBAC: access denied: refused by AuthorizationPolicy"
      exit 0
    fi
    echo "mtls-probe: FAIL: the call got through without mTLS (HTTP $http_code)"
    exit 1
    ;;
  6) echo "mtls-probe: FAIL (inconclusive): could not resolve the host of $url" ;;
  7) echo "mtls-probe: FAIL (inconclusive): connection refused: nothing listens there (no sidecar either), check the port" ;;
  28) echo "mtls-probe: FAIL (inconclusive): timed out after ${timeout_s}s; a refusal would be immediate" ;;
  *) echo "mtls-probe: FAIL (inconclusive): curl exit ${curl_exit:-?}" ;;
esac
exit 1
