#!/usr/bin/env bash
# Runbook drill (HA): the database restarts under the running service, and the service's pods ride
# it out. A pod that exits on a lost connection is restarted by its kubelet (its restart count
# grows); one that is replaced has a new name; one that never reconnects stays NotReady or answers
# /readyz with a non-2xx status. Each of those fails the drill, by name.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: restart-drill.sh --namespace NS --service SVC --db-namespace NS --db-pod POD
                        [--port PORT] [--container NAME] [--timeout SECONDS] [--settle SECONDS]
                        [--down SECONDS]

  1. Lists the pods behind the Service SVC (all must be Ready), with their restart counts.
  2. Restarts the database: deletes the pod DBNS/POD (its StatefulSet makes it again, on the same
     volume) and waits until the new one is Ready. With DB_STOP_COMMAND and DB_START_COMMAND set,
     it runs those (bash -c) instead, DOWN seconds apart: the local control plane's, whose
     database is a Postgres on this host. Meanwhile it notes which pods went NotReady.
  3. Waits until every pod of step 1 is Ready again, then SETTLE seconds more, and lists them again.
  4. Asks each one GET /readyz (tools/verify/pod-http.sh): 2xx only with its database reachable.

  --namespace NS      the service's namespace
  --service SVC       the Service whose selector picks the pods
  --db-namespace NS   the database's namespace
  --db-pod POD        the database pod to restart, e.g. postgres-0
  --port PORT         the pods' container port for /readyz (default: 8080)
  --container NAME    the container pod-http.sh execs in (default: the pod's default container)
  --timeout SECONDS   for the database, then for the pods, to be Ready again (default: 120)
  --settle SECONDS    how long the pods must stay up after that (default: 5)
  --down SECONDS      how long the database stays away between DB_STOP_COMMAND and
                      DB_START_COMMAND (default: DB_DOWN_SECONDS, else 0); longer than the
                      readiness probe's failures, it shows readiness following the database
  -h, --help          this text

Prints a line per pod (its name, restarts before -> after, Ready, and whether it went NotReady
while the database was away), then the verdict. The cluster comes from
KUBECONFIG, and the context from KUBE_CONTEXT when it is set (POD_TRANSPORT: see pod-http.sh).
A drill: the database is away for seconds. Run it on staging, not on a serving production.
Exit: 0 the same pods, all Ready, none restarted, each ready on the database; 1 otherwise
      (the reason on stderr); 2 bad usage.
USAGE
}

die_usage() {
  echo "restart-drill: $1" >&2
  echo "run with --help for usage" >&2
  exit 2
}
fail() {
  echo "restart-drill: $1" >&2
  exit 1
}
positive() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ]; then die_usage "$1 must be a whole number ≥ $3 (got '$2')"; fi
}

namespace="" service="" db_namespace="" db_pod="" port="8080" container="" timeout="120" settle="5" down="${DB_DOWN_SECONDS:-0}"
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --namespace | --service | --db-namespace | --db-pod | --port | --container | --timeout | --settle | --down)
      [ $# -ge 2 ] || die_usage "$1 needs a value"
      case "$1" in
        --namespace) namespace="$2" ;;
        --service) service="$2" ;;
        --db-namespace) db_namespace="$2" ;;
        --db-pod) db_pod="$2" ;;
        --port) port="$2" ;;
        --container) container="$2" ;;
        --timeout) timeout="$2" ;;
        --settle) settle="$2" ;;
        --down) down="$2" ;;
      esac
      shift 2
      ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done
for required in namespace service db_namespace db_pod; do
  [ -n "${!required}" ] || die_usage "--${required//_/-} is required"
done
positive --timeout "$timeout" 1
positive --settle "$settle" 0
positive --down "$down" 0
stop_command="${DB_STOP_COMMAND:-}" start_command="${DB_START_COMMAND:-}"
if { [ -n "$stop_command" ] && [ -z "$start_command" ]; } || { [ -z "$stop_command" ] && [ -n "$start_command" ]; }; then
  die_usage "DB_STOP_COMMAND and DB_START_COMMAND go together (only one is set)"
fi
if [ -z "$stop_command" ] && [ "$down" -gt 0 ]; then
  die_usage "--down needs DB_STOP_COMMAND and DB_START_COMMAND (a deleted database pod is made again at once)"
fi

kube=(kubectl)
[ -z "${KUBE_CONTEXT:-}" ] || kube+=(--context "$KUBE_CONTEXT")
db=("${kube[@]}" -n "$db_namespace")
kube+=(-n "$namespace")
# shellcheck source=tools/verify/service-pods.sh
source "$(dirname "$0")/../verify/service-pods.sh"

# The names of the pods of a selected_pods listing that are not Ready.
unready_in() { awk '$2 != "true" { print $1 }' <<<"$1"; }

selector=$(service_selector "$service")
before=$(selected_pods "$selector")
[ -n "$before" ] || fail "no pod behind service $namespace/$service ($selector)"
if unready=$(unready_in "$before") && [ -n "$unready" ]; then
  fail "not every pod is Ready before the drill: $(tr '\n' ' ' <<<"$unready")"
fi

# Which pods have been seen NotReady since the database went away (readiness following it).
seen_unready=""
note_unready() {
  local now
  now=$(selected_pods "$selector") || return 0
  seen_unready+=$(unready_in "$now")$'\n'
}

# 2. The restart (timed in ms: a local one without --down takes well under a second).
# Bash's SECONDS counts whole seconds from a point inside one, so "SECONDS - started >= down" can
# end up to a second early: the outage is timed on the microsecond clock instead.
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
started_us=$(now_us)
if [ -n "$stop_command" ]; then
  bash -c "$stop_command" >&2 || fail "DB_STOP_COMMAND failed (exit $?)"
  back_us=$((started_us + down * 1000000))
  while left_us=$((back_us - $(now_us))) && [ "$left_us" -gt 0 ]; do
    note_unready
    if [ "$left_us" -ge 1000000 ]; then sleep 1; else sleep "0.$(printf '%06d' "$left_us")"; fi
  done
  bash -c "$start_command" >&2 || fail "DB_START_COMMAND failed (exit $?)"
else
  started=$SECONDS
  old_uid=$("${db[@]}" get pod "$db_pod" -o jsonpath='{.metadata.uid}') || fail "no database pod $db_namespace/$db_pod"
  "${db[@]}" delete pod "$db_pod" --wait=true --timeout="${timeout}s" >&2
  until uid=$("${db[@]}" get pod "$db_pod" -o jsonpath='{.metadata.uid}' 2>/dev/null) && [ -n "$uid" ] && [ "$uid" != "$old_uid" ] &&
    "${db[@]}" wait pod "$db_pod" --for=condition=Ready --timeout=5s >/dev/null 2>&1; do
    [ $((SECONDS - started)) -lt "$timeout" ] || fail "database pod $db_namespace/$db_pod not Ready again within ${timeout}s"
    note_unready
    sleep 1
  done
fi
restart_ms=$((($(now_us) - started_us) / 1000))
echo "restart-drill: database back after ${restart_ms} ms" >&2

# 3. The same pods Ready again, and still up after SETTLE seconds. A pod that is gone will not come
# back (its replacement has another name): no use waiting for it.
names=$(awk '{ print $1 }' <<<"$before")
missing() { join -v1 <(sort <<<"$names") <(awk -v want="$2" 'want == "" || $2 == want { print $1 }' <<<"$1" | sort); }
waited=$SECONDS
until now=$(selected_pods "$selector") && [ -z "$(missing "$now" true)" ]; do
  seen_unready+=$(unready_in "$now")$'\n'
  [ -z "$(missing "$now" "")" ] || break
  [ $((SECONDS - waited)) -lt "$timeout" ] || break
  sleep 1
done
sleep "$settle"
after=$(selected_pods "$selector")

problems=()
unready_count=0
while read -r name _ restarts _; do
  line=$(awk -v n="$name" '$1 == n' <<<"$after")
  if [ -z "$line" ]; then
    printf '%s\trestarts %s -> gone\n' "$name" "$restarts"
    problems+=("$name was replaced")
    continue
  fi
  read -r _ ready now_restarts _ <<<"$line"
  if grep -qxF "$name" <<<"$seen_unready"; then went="yes" && unready_count=$((unready_count + 1)); else went="no"; fi
  printf '%s\trestarts %s -> %s\tReady %s\tNotReady while the database was away: %s\n' "$name" "$restarts" "$now_restarts" "$ready" "$went"
  [ "$now_restarts" = "$restarts" ] || problems+=("$name restarted $((now_restarts - restarts)) time(s)")
  [ "$ready" = true ] || problems+=("$name is not Ready")
done <<<"$before"
if [ ${#problems[@]} -gt 0 ]; then
  joined=$(printf '%s; ' "${problems[@]}")
  fail "${joined%; }"
fi

# 4. Each ready on the database, by its own /readyz.
ask=(bash "$(dirname "$0")/../verify/pod-http.sh" --namespace "$namespace" --service "$service" --port "$port" --path /readyz)
[ -z "$container" ] || ask+=(--container "$container")
answers=$("${ask[@]}") || fail "a pod is not ready on the database: $(tr '\n' ' ' <<<"$answers")"
echo "$(wc -l <<<"$names") pod(s) rode out a database restart (back after ${restart_ms} ms): none restarted or replaced, all Ready, /readyz 2xx; ${unready_count} went NotReady while it was away"
