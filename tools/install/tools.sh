#!/usr/bin/env bash
# Installs the pinned binaries the tests need into .tools/bin (project-local, git-ignored).
# Idempotent: a tool already at its pinned version is left alone.
#   tools/install/tools.sh [node] [opa] [moto] [tofu] [checkov]   (default: all)
# WAL-G and MinIO are not installable here: the Go module proxy refuses both modules (403), so
# the S3 server with Object Lock in the tests is moto's (PyPI), and see docs/dr.md for WAL-G.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"

OPA_VERSION=v1.22.3
MOTO_VERSION=5.2.5
CHECKOV_VERSION=3.3.30

log() { printf '[tools] %s\n' "$*" >&2; }

install_node() { # the Node of .nvmrc (the one pin), from the registry's node-linux-<arch> package
  local version arch dir="$root/.tools/node" stamp="$bin/.node.version"
  version=$(tr -d ' \tv\r\n' <"$root/.nvmrc")
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "tools: .nvmrc must hold one exact version like 24.22.3 (got '$version')" >&2; exit 2; }
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "tools: no node-linux package for machine $(uname -m) (known: x86_64, aarch64)" >&2; exit 2 ;;
  esac
  if [ "$(cat "$stamp" 2>/dev/null)" = "node-linux-$arch@$version" ] && [ "$("$dir/bin/node" --version 2>/dev/null)" = "v$version" ]; then
    log "node already at $version"
  else
    local start=$SECONDS tmp
    rm -rf "$root"/.tools/node-download.* && tmp=$(mktemp -d "$root/.tools/node-download.XXXXXX")
    # npm pack checks the tarball against the registry's integrity hash.
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null && tar -xzf "node-linux-$arch-$version.tgz")
    [ "$("$tmp/package/bin/node" --version)" = "v$version" ] || { echo "tools: node-linux-$arch@$version did not run as v$version" >&2; exit 1; }
    rm -rf "$dir" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
    echo "node-linux-$arch@$version" >"$stamp"
    log "node $version installed in $((SECONDS - start)) s"
  fi
  # npm puts <project>/node_modules/.bin first on every script's PATH (@npmcli/run-script), so this
  # link makes each script, the CLIs they start (#!/usr/bin/env node) and their children run on the pin.
  mkdir -p "$root/node_modules/.bin"
  ln -sfn ../../.tools/node/bin/node "$root/node_modules/.bin/node"
  build_cdktf_pty
}

build_cdktf_pty() { # the CDKTF CLI's node-pty ships prebuilt addons only up to Node 22's ABI
  local pty="$root/node_modules/@cdktf/node-pty-prebuilt-multiarch" node="$root/.tools/node/bin/node"
  [ -d "$pty" ] || return 0 # before npm ci; setup after npm ci builds it
  if (cd "$root" && "$node" -e 'require("@cdktf/node-pty-prebuilt-multiarch")' >/dev/null 2>&1); then
    log "cdktf's node-pty loads on node $("$node" --version)"
    return 0
  fi
  local start=$SECONDS
  # npm's own node-gyp (on PATH inside npm exec), against the pinned Node's headers: nothing downloaded.
  (cd "$pty" && npm_config_nodedir="$root/.tools/node" npm exec --offline -c 'node-gyp rebuild' >/dev/null 2>&1) ||
    { echo "tools: building cdktf's node-pty for node $("$node" --version) failed (needs make and g++): cd $pty && npm_config_nodedir=$root/.tools/node npm exec -c 'node-gyp rebuild'" >&2; exit 1; }
  (cd "$root" && "$node" -e 'require("@cdktf/node-pty-prebuilt-multiarch")' >/dev/null 2>&1) || { echo "tools: cdktf's node-pty was built but does not load on node $("$node" --version)" >&2; exit 1; }
  log "cdktf's node-pty built for node $("$node" --version) in $((SECONDS - start)) s"
}

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

install_go_module() { # name wrapper-dir package: a binary of a wrapper module under tools/install/go/
  # The wrapper's go.mod and go.sum pin every module (with the replace directives the tool needs);
  # the stamp is their hash, so a changed pin rebuilds and nothing else does.
  local name=$1 dir="$root/tools/install/go/$2" package=$3 stamp="$bin/.$1.version" want
  want=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    log "$name already at $(sed -n 's/^require \([^ ]*\) \(v[^ ]*\).*/\1@\2/p' "$dir/go.mod" | head -n1) ($want)"
    return 0
  fi
  log "building $package from tools/install/go/$2 (this can take minutes)"
  local start=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags='-s -w' -o "$bin/$name" "$package")
  echo "$want" >"$stamp"
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

install_checkov() { # checkov (PyPI) in a project-local virtualenv: the second opinion on the synth output
  local venv="$root/.tools/checkov" stamp="$bin/.checkov.version"
  if [ -x "$bin/checkov" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$CHECKOV_VERSION" ]; then
    log "checkov already at $CHECKOV_VERSION"
    return 0
  fi
  local start=$SECONDS
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  ln -sf "$venv/bin/checkov" "$bin/checkov"
  echo "$CHECKOV_VERSION" >"$stamp"
  log "checkov $CHECKOV_VERSION installed in $((SECONDS - start)) s"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(node opa moto tofu checkov)
for t in "${want[@]}"; do
  case "$t" in
    node) install_node ;;
    opa) install_go opa "github.com/open-policy-agent/opa@$OPA_VERSION" opa ;;
    moto) install_moto ;;
    tofu) install_go_module tofu tofu github.com/opentofu/opentofu/cmd/tofu ;;
    checkov) install_checkov ;;
    *) echo "unknown tool: $t (known: node opa moto tofu checkov)" >&2; exit 2 ;;
  esac
done
