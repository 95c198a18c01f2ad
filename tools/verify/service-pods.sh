#!/usr/bin/env bash
# Sourced by the runbook scripts that act on the pods behind a Service (tools/verify/pod-http.sh,
# tools/db/restart-drill.sh): one reading of "the pods a Service serves". Needs kube=(kubectl ...
# -n NS) set by the caller.
# shellcheck disable=SC2154 # kube is the caller's

# The Service's selector as a label selector (a=b,c=d); exits 1 when it has none.
service_selector() {
  local service="$1" selector
  selector=$("${kube[@]}" get service "$service" -o json | jq -r '.spec.selector // {} | to_entries | map("\(.key)=\(.value)") | join(",")')
  if [ -z "$selector" ]; then
    echo "$(basename "$0"): service $service has no selector" >&2
    exit 1
  fi
  printf '%s\n' "$selector"
}

# One line per pod the selector picks that is not terminating: name, Ready (true/false), the sum of
# its containers' restart counts, its IP (- when it has none), space separated.
selected_pods() {
  "${kube[@]}" get pods -l "$1" -o json | jq -r '.items[]
    | select(.metadata.deletionTimestamp == null)
    | [.metadata.name,
       (any(.status.conditions[]?; .type == "Ready" and .status == "True") | tostring),
       ([.status.containerStatuses[]?.restartCount] | add // 0 | tostring),
       (.status.podIP // "-")]
    | join(" ")'
}
