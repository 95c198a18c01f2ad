#!/usr/bin/env bash
# Rego gates for npm: `lint` (opa fmt --fail, opa check --strict, then tools/ci/rego-lint.ts) and
# `test` (opa test with a coverage threshold, so a policy change without tests fails), with the
# pinned opa in .tools/bin.
#   tools/ci/rego.sh lint|test [--threshold N]   (default threshold 90)
set -euo pipefail

usage() {
  echo "usage: tools/ci/rego.sh lint|test [--threshold PERCENT]" >&2
  exit 2
}

root=$(cd "$(dirname "$0")/../.." && pwd)
opa="$root/.tools/bin/opa"
[ -x "$opa" ] || opa=$(command -v opa || true)
if [ -z "$opa" ]; then
  echo "rego: opa not found in .tools/bin or PATH (run tools/install/tools.sh opa)" >&2
  exit 2
fi
[ $# -ge 1 ] || usage
mode=$1
shift
threshold=90
while [ $# -gt 0 ]; do
  case "$1" in
    --threshold) [ $# -ge 2 ] || usage; threshold=$2; shift 2 ;;
    *) usage ;;
  esac
done
cd "$root"

case "$mode" in
  lint)
    "$opa" fmt --fail --list policies >/dev/null || { echo "rego: files need 'opa fmt -w policies':" >&2; "$opa" fmt --list policies >&2; exit 1; }
    "$opa" check --strict --ignore dist policies
    echo "rego: opa fmt and opa check --strict clean"
    # The Regal rules that matter here and the project's own (directory = package, line length,
    # METADATA, a test beside each policy, ...), read from the same opa's AST.
    node -r ./tools/register.js tools/ci/rego-lint.ts
    ;;
  test)
    # First the plain run, so a failing test prints its name; then coverage against the threshold.
    "$opa" test --ignore dist policies
    report=$(mktemp)
    trap 'rm -f "$report"' EXIT
    if ! "$opa" test --ignore dist --coverage --threshold "$threshold" policies >"$report"; then
      echo "rego: coverage below ${threshold}% (see opa test --coverage policies)" >&2
      exit 1
    fi
    coverage=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).coverage.toFixed(1)' "$report")
    echo "rego: coverage ${coverage}% (threshold ${threshold}%)"
    ;;
  *) usage ;;
esac
