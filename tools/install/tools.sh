#!/usr/bin/env bash
# Installs the pinned binaries the tests need into .tools/bin (project-local, git-ignored).
# Idempotent: a tool already at its pinned version is left alone.
#   tools/install/tools.sh [opa] [walg] [minio]   (default: all)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"

OPA_VERSION=v1.22.3
WALG_COMMIT=3e493188db28   # WAL-G v3.0.9
MINIO_COMMIT=7aac2a2c5b7c

log() { printf '[tools] %s\n' "$*" >&2; }

install_go() { # name module@version binary-name-after-install
  local name=$1 module=$2 built=$3 stamp="$bin/.$1.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$module" ]; then
    log "$name already at $module"
    return 0
  fi
  log "building $module (this can take minutes)"
  local start=$SECONDS
  GOBIN="$bin" GOFLAGS=-mod=mod CGO_ENABLED="${CGO_ENABLED:-1}" go install "$module"
  if [ "$built" != "$name" ]; then mv -f "$bin/$built" "$bin/$name"; fi
  echo "$module" >"$stamp"
  log "$name built in $((SECONDS - start)) s"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(opa walg minio)
for t in "${want[@]}"; do
  case "$t" in
    opa) install_go opa "github.com/open-policy-agent/opa@$OPA_VERSION" opa ;;
    walg) install_go wal-g "github.com/wal-g/wal-g/main/pg@$WALG_COMMIT" pg ;;
    minio) install_go minio "github.com/minio/minio@$MINIO_COMMIT" minio ;;
    *) echo "unknown tool: $t (known: opa walg minio)" >&2; exit 2 ;;
  esac
done
