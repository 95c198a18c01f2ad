#!/usr/bin/env bash
# Installs the pinned binaries the tests need into .tools/bin (project-local, git-ignored).
# Idempotent: a tool already at its pinned version is left alone.
#   tools/install/tools.sh [TOOL...]   (default: what the suites need: node opa moto tofu checkov cluster conftest argo-rollouts istioctl cosign versitygw)
# Groups: cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, helm);
# argo-rollouts: the Rollouts controller the rollout scenarios run (__tests__/tools/cluster/real-controller.test.ts);
# node-binary: the pinned Node and its link without cdktf's node-pty (tools/install/npm-ci.sh, before npm ci);
# `all` installs the same set.
# WAL-G and MinIO are not installable here: the Go module proxy refuses both modules (403), so
# the S3 servers with Object Lock in the tests are moto's (PyPI) and versitygw, and see docs/dr.md for WAL-G.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# TOOLS_BIN: another folder for the binaries (bench/cases/cluster.ts times a warm rebuild there).
bin="${TOOLS_BIN:-$root/.tools/bin}"
mkdir -p "$bin"

OPA_VERSION=v1.22.3
MOTO_VERSION=5.2.5
CHECKOV_VERSION=3.3.30
# The local control plane (tools/cluster, docs/cluster.md). etcd, the Kubernetes binaries and the
# Argo Rollouts controller build through wrapper modules, tools/install/go/<tool>/go.mod (the pin:
# etcd v3.6.16, k8s.io/kubernetes v1.35.4, argo-rollouts v1.8.3 (the controller release of the
# platform stack's chart line, argo-rollouts 2.40.5, and the CRDs below); tools/install/go/wrap.sh
# writes the last two).
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0
CONFTEST_VERSION=v0.71.1
# istio.io/istio is served only as pseudo-versions (its tags are not semver): this is the newest,
# the 1.31 development line; istioctl and the charts of the Helm check come from it.
ISTIO_PSEUDO_VERSION=v0.0.0-20260827124520-eed52ebb66ad
# CRDs the platform stack's charts install, from Go modules (docs/cluster.md#crds): Istio's API
# module at the chart's version, and the Argo Rollouts release the pinned chart line ships.
ISTIO_API_VERSION=v1.27.3
ARGO_ROLLOUTS_CRD_VERSION=v1.8.3
COSIGN_VERSION=v2.6.5
VERSITYGW_VERSION=v1.8.0

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
  # GO_LDFLAGS_EXTRA: e.g. the version stamps of the Kubernetes binaries.
  (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags="-s -w ${GO_LDFLAGS_EXTRA:-}" -o "$bin/$name" "$package")
  echo "$want" >"$stamp"
  log "$name built in $((SECONDS - start)) s"
}

install_cluster() { # the local control plane's binaries (tools/cluster)
  install_go_module etcd etcd .
  # Upstream's build stamps the version; without it the binaries report v0.0.0-master.
  local kube_version v=k8s.io/component-base/version c=k8s.io/client-go/pkg/version
  kube_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$root/tools/install/go/kube/go.mod")
  local minor=${kube_version#v1.}
  minor=${minor%%.*}
  local GO_LDFLAGS_EXTRA="-X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean \
-X $c.gitVersion=$kube_version -X $c.gitMajor=1 -X $c.gitMinor=$minor -X $c.gitTreeState=clean"
  # One wrapper, four programs: the second and later builds reuse the first one's packages.
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    install_go_module "$cmd" kube "k8s.io/kubernetes/cmd/$cmd"
  done
  CGO_ENABLED=0 install_go kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" kwok
  # kwok's own "fast" stages (nodes Ready, pods Running, Job pods Succeeded), from the module it was
  # built from: the kwok binary has no default stages, tools/cluster passes these with --config.
  local stages="$root/.tools/share/kwok-stages" src
  src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  if [ "$(cat "$stages/.version" 2>/dev/null)" != "$KWOK_VERSION+heartbeat" ]; then
    [ -d "$src" ] || GOFLAGS=-mod=mod go mod download "sigs.k8s.io/kwok@$KWOK_VERSION"
    mkdir -p "$stages"
    # The heartbeat stage keeps the node Ready for longer than the node monitor's grace period
    # (without it the node went Unknown after ~50 s and every pod's Ready condition turned False).
    rm -f "$stages"/*.yaml
    cp -f "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
      "$src"/pod/fast/pod-{ready,complete,delete}.yaml "$stages/"
    echo "$KWOK_VERSION+heartbeat" >"$stages/.version"
  fi
  CGO_ENABLED=0 install_go helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" helm
  install_crds
  install_charts
}

install_crds() { # .tools/share/crds/<source>/*.yaml, applied by the cluster suite before the stacks
  local dest="$root/.tools/share/crds" want="istio.io/api@$ISTIO_API_VERSION argo-rollouts@$ARGO_ROLLOUTS_CRD_VERSION"
  if [ "$(cat "$dest/.version" 2>/dev/null)" = "$want" ]; then
    log "crds already at $want"
    return 0
  fi
  local istio argo
  istio=$(GOFLAGS=-mod=mod go mod download -json "istio.io/api@$ISTIO_API_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  argo=$(GOFLAGS=-mod=mod go mod download -json "github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_CRD_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  rm -rf "$dest" && mkdir -p "$dest/istio" "$dest/argo-rollouts"
  cp "$istio/kubernetes/customresourcedefinitions.gen.yaml" "$dest/istio/"
  cp "$argo"/manifests/crds/*-crd.yaml "$dest/argo-rollouts/"
  echo "$want" >"$dest/.version"
  log "crds: $want"
}

install_charts() { # .tools/share/charts/istio/{base,istiod}: the Helm charts a Go module ships
  local dest="$root/.tools/share/charts" want="istio.io/istio@$ISTIO_PSEUDO_VERSION"
  if [ "$(cat "$dest/.version" 2>/dev/null)" = "$want" ]; then
    log "charts already at $want"
    return 0
  fi
  local istio
  istio=$(GOFLAGS=-mod=mod go mod download -json "$want" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  rm -rf "$dest" && mkdir -p "$dest/istio"
  cp -r "$istio/manifests/charts/base" "$dest/istio/base"
  cp -r "$istio/manifests/charts/istio-control/istio-discovery" "$dest/istio/istiod"
  chmod -R u+w "$dest"
  # The module's own release line (its VERSION file), which the docs compare with the stack's pin.
  cp "$istio/VERSION" "$dest/istio/ISTIO_VERSION"
  echo "$want" >"$dest/.version"
  log "charts: $want (Istio $(cat "$istio/VERSION"))"
}

install_pip() { # name requirement binary: a PyPI tool in its own project-local virtualenv
  local name=$1 requirement=$2 binary=$3 venv="$root/.tools/$1" stamp="$bin/.$1.version"
  if [ -x "$bin/$binary" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$requirement" ]; then
    log "$name already at $requirement"
    return 0
  fi
  local start=$SECONDS
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement"
  ln -sf "$venv/bin/$binary" "$bin/$binary"
  echo "$requirement" >"$stamp"
  log "$requirement installed in $((SECONDS - start)) s"
}

# Builds share the machine with test runs: lowest CPU priority for this script and its children.
renice -n "${TOOLS_NICE:-19}" -p $$ >/dev/null 2>&1 || true

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(node opa moto tofu checkov cluster conftest argo-rollouts istioctl cosign versitygw)
[ "${want[*]}" != all ] || want=(node opa moto tofu checkov cluster conftest argo-rollouts istioctl cosign versitygw)
for t in "${want[@]}"; do
  case "$t" in
    node) install_node && build_cdktf_pty ;;
    # the Node and its link only, no node-pty build (no make or g++): tools/install/npm-ci.sh
    node-binary) install_node ;;
    opa) install_go opa "github.com/open-policy-agent/opa@$OPA_VERSION" opa ;;
    # moto's S3 server (with Object Lock) and checkov (the second opinion on the synth output)
    moto) install_pip moto "moto[server]==$MOTO_VERSION" moto_server ;;
    tofu) install_go_module tofu tofu github.com/opentofu/opentofu/cmd/tofu ;;
    checkov) install_pip checkov "checkov==$CHECKOV_VERSION" checkov ;;
    cluster) install_cluster ;;
    crds) install_crds ;;
    charts) install_charts ;;
    conftest) install_go conftest "github.com/open-policy-agent/conftest@$CONFTEST_VERSION" conftest ;;
    # v1.8.3 needs only Go 1.23; it is built with the go1.27.3 toolchain the go command fetches
    # (the one the earlier v1.10.2 pin needed), so the Go build cache CI keeps stays valid.
    argo-rollouts) GOTOOLCHAIN=go1.27.3 install_go_module rollouts-controller argo-rollouts github.com/argoproj/argo-rollouts/cmd/rollouts-controller ;;
    istioctl) install_go istioctl "istio.io/istio/istioctl/cmd/istioctl@$ISTIO_PSEUDO_VERSION" istioctl ;;
    # cosign verifies the signed pack's signature in __tests__/app/audit/cosign.test.ts
    cosign) install_go cosign "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" cosign ;;
    # the second S3 server with Object Lock (it enforces what moto does not): the WORM and Object Lock suites
    versitygw) install_go versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" versitygw ;;
    *)
      echo "unknown tool: $t (known: node node-binary opa moto tofu checkov cluster crds charts conftest argo-rollouts istioctl cosign versitygw all)" >&2
      exit 2
      ;;
  esac
done
