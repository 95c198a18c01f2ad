#!/usr/bin/env bash
# `npm run synth [-- --env NAME]`: main.ts started from a V8 start-up snapshot, so cdktf, the
# providers, zod, the config and the schema models are already loaded (tools/synth/build.js).
# The blob is kept under node_modules/.cache/maestro-synth, keyed by a hash of what it was built
# from: the repository's files the bundle read (their contents), node_modules/.package-lock.json
# (what npm installed), this script and build.js, the Node binary and the checkout's path. When
# any of them changed, the first synth rebuilds it (a few seconds) and says so on stderr.
#   MAESTRO_SYNTH_SNAPSHOT=0  run main.ts through tools/register.js instead (no snapshot)
#   MAESTRO_SOURCE_MAPS=1     the same, with TypeScript line numbers in stack traces
#   MAESTRO_SYNTH_CACHE=DIR   keep the blob in DIR instead
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ "${MAESTRO_SYNTH_SNAPSHOT:-1}" = 0 ] || [ "${MAESTRO_SOURCE_MAPS:-}" = 1 ]; then
  exec node -r "$root/tools/register.js" "$root/main.ts" "$@"
fi
cache="${MAESTRO_SYNTH_CACHE:-$root/node_modules/.cache/maestro-synth}"
node_bin=$(command -v node) || { echo "synth: no node on PATH" >&2; exit 1; }

key() { # prints the hash of the inputs list's files and the rest, or nothing when one is missing
  local files
  [ -f "$cache/inputs" ] || return 0
  mapfile -t files <"$cache/inputs"
  (
    cd "$root" &&
      { printf '%s\n' "$root" "$(stat -L -c '%n %s %Y' "$node_bin")" && cat -- "${files[@]}" node_modules/.package-lock.json tools/synth/build.js tools/synth/run.sh; } 2>/dev/null |
      sha256sum | cut -c1-32
  ) || true
}

k=$(key)
if [ -z "$k" ] || [ ! -f "$cache/$k.blob" ]; then
  echo "synth: building the start-up snapshot (its inputs changed; tools/synth/build.js)" >&2
  node "$root/tools/synth/build.js" "$cache" "$$"
  mv -f "$cache/inputs.$$" "$cache/inputs" 2>/dev/null || true
  k=$(key)
  [ -n "$k" ] || { echo "synth: cannot hash the snapshot's inputs after building it (a file named in $cache/inputs, or node_modules/.package-lock.json, is missing: run npm ci)" >&2; exit 1; }
  mv -f "$cache/synth.blob.$$" "$cache/$k.blob"
  # Older blobs go once no synth that started before this build can still be about to open one.
  find "$cache" -maxdepth 1 -name '*.blob' ! -name "$k.blob" -mmin +10 -delete
fi
exec node --snapshot-blob "$cache/$k.blob" "$root/main.ts" "$@"
