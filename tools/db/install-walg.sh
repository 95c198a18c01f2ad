#!/usr/bin/env bash
# Downloads the WAL-G release named in tools/db/wal-g.pin, checks its SHA-256 against the pinned
# digest, and only then installs the binary. Nothing is unpacked, let alone installed with sudo,
# before the digest matches.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: tools/db/install-walg.sh <install-dir> [--pin <file>]

environment:
  WALG_DOWNLOAD_BASE  where releases live (default https://github.com/wal-g/wal-g/releases/download)
  SUDO                command prefix for the install step (the workflow sets SUDO=sudo)

exit: 0 installed, 1 download or digest check failed, 2 bad usage or an unusable pin file
USAGE
}

pin="$(cd "$(dirname "$0")" && pwd)/wal-g.pin"
dest=""
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --pin) pin=${2:?--pin needs a file}; shift 2 ;;
    -*) echo "install-walg: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) [[ -z $dest ]] || { usage >&2; exit 2; }; dest=$1; shift ;;
  esac
done
[[ -n $dest ]] || { usage >&2; exit 2; }
[[ -r $pin ]] || { echo "install-walg: pin file $pin is not readable" >&2; exit 2; }

value() { sed -n "s/^$1=//p" "$pin" | tail -n 1; }
version=$(value version)
asset=$(value asset)
binary=$(value binary)
sha256=$(value sha256)
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "install-walg: $pin: version must look like v3.0.9 (got '$version')" >&2; exit 2; }
[[ $asset =~ ^[A-Za-z0-9._-]+\.tar\.gz$ ]] || { echo "install-walg: $pin: asset must be a .tar.gz file name (got '$asset')" >&2; exit 2; }
[[ $binary =~ ^[A-Za-z0-9._-]+$ ]] || { echo "install-walg: $pin: binary must be a file name (got '$binary')" >&2; exit 2; }
[[ $sha256 =~ ^[0-9a-f]{64}$ ]] || {
  echo "install-walg: $pin: sha256 must be the asset's 64-digit lower-case SHA-256 (got '$sha256'); refusing to install an unverified binary" >&2
  exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url="${WALG_DOWNLOAD_BASE:-https://github.com/wal-g/wal-g/releases/download}/$version/$asset"
curl -fsSL --proto '=https,file' -o "$work/$asset" "$url" || { echo "install-walg: download of $url failed" >&2; exit 1; }
actual=$(sha256sum "$work/$asset" | cut -d' ' -f1)
if [[ $actual != "$sha256" ]]; then
  echo "install-walg: $asset has SHA-256 $actual, the pin says $sha256: not installed" >&2
  exit 1
fi
tar -xzf "$work/$asset" -C "$work" "$binary"
${SUDO:-} install -m 0755 "$work/$binary" "$dest/wal-g"
echo "install-walg: installed WAL-G $version ($asset, sha256 $actual) as $dest/wal-g"
