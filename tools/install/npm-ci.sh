#!/usr/bin/env bash
# `npm ci` on the Node of .nvmrc, for a machine whose own Node is another (e.g. only Node 20):
# README's first command (`npm run bootstrap`) and .ci/run. npm checks `engines` against the Node
# it runs on, so a plain `npm ci` there warns EBADENGINE and installs on the old Node. This script
# first installs the pinned Node into .tools/node (tools.sh node-binary: the registry's
# node-linux-<arch> package, run by whichever npm is at hand, with no engines check), then runs the
# machine's npm on it (its #!/usr/bin/env node finds .tools/node/bin first), then links the pin as
# node_modules/.bin/node again (npm ci removed it), so every later `npm run` script runs on it.
#   tools/install/npm-ci.sh [NPM CI OPTION...]   (e.g. --no-audit --no-fund)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

bash tools/install/tools.sh node-binary
PATH="$root/.tools/node/bin:$PATH" npm ci "$@"
bash tools/install/tools.sh node-binary
