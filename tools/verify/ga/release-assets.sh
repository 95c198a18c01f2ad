#!/usr/bin/env bash
# Builds a release's assets into <out-dir>: the synth output of both environments, the signed policy
# bundle (verified with its public key), and the signed compliance pack (verified offline).
# release.yml runs verify:ga first and adds its reports; see docs/release.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: tools/verify/ga/release-assets.sh <tag> <out-dir>

environment:
  POLICY_SIGNING_KEY_FILE  PEM private key that signs the policy bundle (required)
  AUDIT_SIGNING_KEY_FILE   key the compliance service signs its pack with (default: a key the
                           service creates under its data dir)
  MAESTRO_URL, MAESTRO_TOKEN
                           take the compliance pack from this deployed service (auditor token);
                           unset: from the service started here with a development token

writes: synth-<env>.tar.gz, policy-bundle.signed.tar.gz, policy-signing.pub.pem,
        compliance-pack.json, compliance-pack.pub.pem, SHA256SUMS
exit: 0 built and verified, 1 a build or verification failed, 2 bad usage
USAGE
}

if [[ ${1:-} == "-h" || ${1:-} == "--help" ]]; then
  usage
  exit 0
fi
if [[ $# -ne 2 ]]; then
  usage >&2
  exit 2
fi
if [[ -z ${POLICY_SIGNING_KEY_FILE:-} || ! -r ${POLICY_SIGNING_KEY_FILE:-} ]]; then
  echo "release-assets: POLICY_SIGNING_KEY_FILE must name a readable PEM private key" >&2
  exit 2
fi

tag=$1
root=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/maestro-release.XXXXXX")
service_pid=""
cleanup() {
  if [[ -n $service_pid ]]; then kill "$service_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$root"

echo "== synth ($tag)" >&2
for env in staging production; do
  mkdir -p "$work/synth-$env"
  CDKTF_OUTDIR="$work/synth-$env/cdktf.out" npm run -s synth -- --env "$env" >"$work/synth-$env.log"
  tar -czf "$out/synth-$env.tar.gz" -C "$work/synth-$env" cdktf.out
done

echo "== sign the policy bundle" >&2
npm run -s policy:sign -- --key "$POLICY_SIGNING_KEY_FILE" --out "$out/policy-bundle.signed.tar.gz"
openssl pkey -in "$POLICY_SIGNING_KEY_FILE" -pubout -out "$out/policy-signing.pub.pem"
npm run -s policy:verify -- "$out/policy-bundle.signed.tar.gz" --key "$out/policy-signing.pub.pem"

echo "== signed compliance pack" >&2
if [[ -n ${MAESTRO_URL:-} ]]; then
  base=$MAESTRO_URL
  token=${MAESTRO_TOKEN:?MAESTRO_TOKEN (an auditor token) is required with MAESTRO_URL}
else
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  export MAESTRO_DATA_DIR="$work/service"
  PORT=$port HOST=127.0.0.1 node -r ./tools/register.js app/main.ts >"$work/service.log" 2>&1 &
  service_pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 120); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -fsS "$base/healthz" >/dev/null || {
    echo "release-assets: the compliance service did not start:" >&2
    tail -n 20 "$work/service.log" >&2
    exit 1
  }
  token=$(npm run -s app:token -- --sub release-bot --groups auditors)
fi
curl -fsS -H "Authorization: Bearer $token" -H "x-rfa: release $tag signed compliance pack" \
  "$base/api/compliance/export/signed" -o "$out/compliance-pack.json"
curl -fsS -H "Authorization: Bearer $token" "$base/api/compliance/export/key" -o "$out/compliance-pack.pub.pem"
npm run -s verify:export -- "$out/compliance-pack.json" --key "$out/compliance-pack.pub.pem"

(cd "$out" && sha256sum -- * | grep -v ' SHA256SUMS$' >SHA256SUMS)
echo "release-assets: $(find "$out" -maxdepth 1 -type f | wc -l) files in $out" >&2
