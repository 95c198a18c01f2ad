#!/usr/bin/env bash
# (Re)writes a wrapper module for a Go program whose own go.mod has replace directives, which
# `go install module@version` refuses. The wrapper is upstream's go.mod with its module renamed,
# the upstream module required, the programs listed as `tool` directives, and every
# `=> ./staging/src/k8s.io/X` replace (Kubernetes) rewritten to the published k8s.io/X at STAGING.
#   tools/install/go/wrap.sh DIR MODULE VERSION [STAGING] -- PACKAGE...
# e.g. wrap.sh kube k8s.io/kubernetes v1.35.4 v0.35.4 -- k8s.io/kubernetes/cmd/kubectl
# Then commit DIR/go.mod and DIR/go.sum; tools/install/tools.sh builds from them.
set -euo pipefail
[ $# -ge 5 ] || {
  sed -n '2,8p' "$0" >&2
  exit 2
}
dir=$1 module=$2 version=$3
shift 3
staging=
if [ "$1" != -- ]; then
  staging=$1
  shift
fi
[ "$1" = -- ] || {
  echo "wrap.sh: expected -- before the packages (got $1)" >&2
  exit 2
}
shift
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/$dir"
upstream=$(go list -m -json "$module@$version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
[ -f "$upstream" ] || {
  echo "wrap.sh: no go.mod for $module@$version" >&2
  exit 1
}
{
  echo "// Wrapper module: $module $version's go.mod, its replace directives kept (staging ones published);"
  echo "// written by tools/install/go/wrap.sh (do not edit by hand)."
  echo "module maestro.local/tools/$dir"
  grep -v -e '^module ' -e '^//' "$upstream" | sed -E "s#=> \\./staging/src/(k8s\\.io/[a-z0-9-]+)\$#=> \\1 ${staging:-STAGING-VERSION-MISSING}#"
  echo
  echo "require $module $version"
  echo
  echo "tool ("
  printf '\t%s\n' "$@"
  echo ")"
} >"$here/$dir/go.mod"
if grep -q STAGING-VERSION-MISSING "$here/$dir/go.mod"; then
  echo "wrap.sh: $module replaces staging modules: give the STAGING version" >&2
  exit 2
fi
(cd "$here/$dir" && GOFLAGS=-mod=mod go mod tidy)
echo "wrap.sh: wrote $dir/go.mod and go.sum" >&2
