#!/usr/bin/env bash
# Installs the pinned binaries the tests need into .tools/bin (project-local, git-ignored).
# Idempotent: a tool already at its pinned version is left alone.
#   tools/install/tools.sh [opa] [moto]   (default: all)
# WAL-G and MinIO are not installable here: the Go module proxy refuses both modules (403), so
# the S3 server with Object Lock in the tests is moto's (PyPI), and see docs/dr.md for WAL-G.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"

OPA_VERSION=v1.22.3
MOTO_VERSION=5.2.5

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

install_moto() { # moto's S3 server (with Object Lock) in a project-local virtualenv
  local venv="$root/.tools/moto" stamp="$bin/.moto.version"
  if [ -x "$bin/moto_server" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$MOTO_VERSION" ]; then
    log "moto already at $MOTO_VERSION"
    return 0
  fi
  local start=$SECONDS
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  ln -sf "$venv/bin/moto_server" "$bin/moto_server"
  echo "$MOTO_VERSION" >"$stamp"
  log "moto $MOTO_VERSION installed in $((SECONDS - start)) s"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(opa moto)
for t in "${want[@]}"; do
  case "$t" in
    opa) install_go opa "github.com/open-policy-agent/opa@$OPA_VERSION" opa ;;
    moto) install_moto ;;
    *) echo "unknown tool: $t (known: opa moto)" >&2; exit 2 ;;
  esac
done
