#!/usr/bin/env bash
# The PR comment: synthesizes <base-ref> and the working tree (HEAD) for each environment, diffs
# them with `npm run diff` (policy verdicts included), and writes into <out-dir>:
#   comment.md              one comment for both environments (starts with the marker pr.yml finds)
#   diff-<env>.md / .json   each environment's report (JSON for bots, uploaded as an artifact)
# Exit: 0 no deny in head, 1 a deny in head (the check fails), 2 bad usage or a synth/diff failure.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: tools/ci/synth-diff/pr-report.sh <base-ref> <out-dir> [env ...]
  <base-ref>  the PR's base, e.g. origin/main (exported with git archive; the checkout is untouched)
  <out-dir>   where comment.md, diff-<env>.md and diff-<env>.json go (created if missing)
  env         environments to synthesize (default: staging production)
USAGE
}

if [[ ${1:-} == "-h" || ${1:-} == "--help" ]]; then
  usage
  exit 0
fi
if [[ $# -lt 2 ]]; then
  usage >&2
  exit 2
fi

base_ref=$1
out=$2
shift 2
envs=("$@")
[[ ${#envs[@]} -gt 0 ]] || envs=(staging production)

root=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/maestro-pr-report.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! base_commit=$(git -C "$root" rev-parse --verify --quiet "${base_ref}^{commit}"); then
  echo "pr-report: base ref '$base_ref' is not a commit here (fetch it first, e.g. git fetch origin main)" >&2
  exit 2
fi
head_commit=$(git -C "$root" rev-parse HEAD)

mkdir -p "$work/base" "$work/out"
git -C "$root" archive --format=tar "$base_commit" | tar -x -C "$work/base"
ln -s "$root/node_modules" "$work/base/node_modules"

# Synth writes its stacks before the policy gate runs, so a denied head still has output to diff;
# the diff then fails on the deny. No stacks at all is a real failure (exit 2 from the diff).
synth() { # <dir> <env> <outdir> <log>
  (cd "$1" && CDKTF_OUTDIR="$3" node -r "$root/tools/register.js" main.ts --env "$2" >"$4" 2>&1) || true
}

status=0
{
  echo "<!-- maestro-synth-diff -->"
  echo "## Synth diff and policy report"
  echo
  echo "Base \`${base_ref}\` (${base_commit:0:12}) → head ${head_commit:0:12}."
  echo
} >"$out/comment.md"

per_env_chars=$((60000 / ${#envs[@]}))
for env in "${envs[@]}"; do
  synth "$work/base" "$env" "$work/out/base-$env" "$work/base-$env.log"
  synth "$root" "$env" "$work/out/head-$env" "$work/head-$env.log"
  names=(--base-name "$base_ref ($env)" --head-name "${head_commit:0:12} ($env)")
  rc=0
  (cd "$root" && npm run -s diff -- "$work/out/base-$env" "$work/out/head-$env" "${names[@]}" --format json --out "$out/diff-$env.json") || rc=$?
  if [[ $rc -eq 2 ]]; then
    echo "pr-report: diff for $env failed; synth logs:" >&2
    tail -n 20 "$work/base-$env.log" "$work/head-$env.log" >&2
    exit 2
  fi
  (cd "$root" && npm run -s diff -- "$work/out/base-$env" "$work/out/head-$env" "${names[@]}" --max-chars "$per_env_chars" --out "$out/diff-$env.md") || true
  [[ $rc -eq 1 ]] && status=1
  {
    echo "<details$([[ $rc -eq 1 || $env == "${envs[0]}" ]] && echo " open")><summary><b>${env}</b>$([[ $rc -eq 1 ]] && echo " ❌ policy deny" || echo " ✅ no deny")</summary>"
    echo
    # The per-environment marker is dropped: only the comment's first line identifies it.
    grep -v '^<!-- maestro-synth-diff -->$' "$out/diff-$env.md"
    echo
    echo "</details>"
    echo
  } >>"$out/comment.md"
done

echo "pr-report: wrote $out/comment.md ($(wc -c <"$out/comment.md") bytes); head has $([[ $status -eq 1 ]] && echo "a policy deny" || echo "no deny")" >&2
exit "$status"
