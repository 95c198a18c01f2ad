#!/usr/bin/env bash
# Lints every tracked or new shell script of the project (.ci/run included) with shellcheck.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v shellcheck >/dev/null; then
  echo "shellcheck is not installed (apt-get install shellcheck)" >&2
  exit 1
fi
mapfile -t scripts < <( { git ls-files --cached --others --exclude-standard -- '*.sh'; echo .ci/run; } | sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done)
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
