#!/usr/bin/env bash
# One-time machine set-up for the full test suite: Debian packages (as root, when missing) and the
# pinned tools in .tools/bin. Safe to re-run: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=(postgresql prometheus shellcheck chromium poppler-utils time wrk bubblewrap make g++)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash tools/install/tools.sh
