#!/usr/bin/env bash
# Turns on versioning and S3 Object Lock on an existing bucket, sets its default retention,
# reads the configuration back and prints it. Idempotent; never lowers an existing retention.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: enable_object_lock.sh <bucket> [--mode COMPLIANCE|GOVERNANCE] [--days N] [--endpoint-url URL]

Enables versioning and Object Lock on an existing S3 bucket and sets its default retention
(one time, per the audit runbook). Uses the AWS CLI and its usual credentials/region.

  --mode MODE         COMPLIANCE (default) or GOVERNANCE
  --days N            default retention in days, 1-36500; required unless the bucket already
                      has a default retention (which is then kept)
  --endpoint-url URL  S3 endpoint (e.g. a local test server); default: AWS
  -h, --help          this text

Refuses to lower an existing retention (fewer days, or COMPLIANCE -> GOVERNANCE).
Exit codes: 0 done (or already so), 1 refused or an S3 call failed, 2 bad usage.
USAGE
}

die_usage() {
  echo "enable_object_lock.sh: $1" >&2
  echo "run with --help for usage" >&2
  exit 2
}
fail() {
  echo "enable_object_lock.sh: $1" >&2
  exit 1
}

bucket=""
mode="COMPLIANCE"
days=""
endpoint=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --mode)
      [ $# -ge 2 ] || die_usage "--mode needs a value: COMPLIANCE or GOVERNANCE"
      mode="$2"
      shift 2
      ;;
    --days)
      [ $# -ge 2 ] || die_usage "--days needs a value: an integer 1-36500"
      days="$2"
      shift 2
      ;;
    --endpoint-url)
      [ $# -ge 2 ] || die_usage "--endpoint-url needs a value: an http(s) URL"
      endpoint=(--endpoint-url "$2")
      shift 2
      ;;
    -*) die_usage "unknown option '$1'" ;;
    *)
      [ -z "$bucket" ] || die_usage "only one bucket may be given (got '$bucket' and '$1')"
      bucket="$1"
      shift
      ;;
  esac
done

[ -n "$bucket" ] || die_usage "missing <bucket>"
[[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die_usage "<bucket> must be a valid S3 bucket name (got '$bucket')"
[[ "$mode" == "COMPLIANCE" || "$mode" == "GOVERNANCE" ]] || die_usage "--mode must be COMPLIANCE or GOVERNANCE (got '$mode')"
if [ -n "$days" ]; then
  if ! [[ "$days" =~ ^[0-9]{1,5}$ ]] || [ "$((10#$days))" -lt 1 ] || [ "$((10#$days))" -gt 36500 ]; then
    die_usage "--days must be an integer 1-36500 (got '$days')"
  fi
  days=$((10#$days))
fi
if [ ${#endpoint[@]} -gt 0 ] && [[ ! "${endpoint[1]}" =~ ^https?:// ]]; then
  die_usage "--endpoint-url must be an http(s) URL (got '${endpoint[1]}')"
fi
command -v aws >/dev/null || fail "the AWS CLI (aws) is not installed"

s3api() { aws "${endpoint[@]}" s3api "$@" --output json; }

err=$(mktemp)
trap 'rm -f "$err"' EXIT

s3api head-bucket --bucket "$bucket" >/dev/null 2>"$err" || fail "bucket '$bucket' is not reachable: $(tr '\n' ' ' <"$err")"

# Versioning first: S3 accepts an Object Lock configuration only on a versioned bucket.
versioning=$(s3api get-bucket-versioning --bucket "$bucket" | jq -rs '.[0].Status // "Unversioned"')
if [ "$versioning" != "Enabled" ]; then
  s3api put-bucket-versioning --bucket "$bucket" --versioning-configuration Status=Enabled >/dev/null
  echo "versioning: $versioning -> Enabled"
fi

# The current default retention, in days ("" when there is none).
current_mode=""
current_days=""
if lock=$(s3api get-object-lock-configuration --bucket "$bucket" 2>"$err"); then
  current_mode=$(jq -r '.ObjectLockConfiguration.Rule.DefaultRetention.Mode // ""' <<<"$lock")
  current_days=$(jq -r '(.ObjectLockConfiguration.Rule.DefaultRetention // {}) | if .Days and .Days > 0 then .Days elif .Years and .Years > 0 then .Years * 365 else "" end' <<<"$lock")
elif ! grep -q "ObjectLockConfigurationNotFound" "$err"; then
  fail "cannot read the Object Lock configuration of '$bucket': $(tr '\n' ' ' <"$err")"
fi

if [ -z "$days" ]; then
  [ -n "$current_days" ] || die_usage "--days is required: bucket '$bucket' has no default retention yet"
  days="$current_days"
fi
if [ -n "$current_days" ] && [ "$days" -lt "$current_days" ]; then
  fail "refusing to lower the default retention of '$bucket' from $current_days to $days days"
fi
if [ "$current_mode" = "COMPLIANCE" ] && [ "$mode" = "GOVERNANCE" ]; then
  fail "refusing to weaken the default retention mode of '$bucket' from COMPLIANCE to GOVERNANCE"
fi

if [ "$current_mode" = "$mode" ] && [ "$current_days" = "$days" ]; then
  echo "object lock: already $mode for $days days"
else
  config=$(jq -cn --arg mode "$mode" --argjson days "$days" '{ObjectLockEnabled: "Enabled", Rule: {DefaultRetention: {Mode: $mode, Days: $days}}}')
  s3api put-object-lock-configuration --bucket "$bucket" --object-lock-configuration "$config" >/dev/null 2>"$err" ||
    fail "cannot set the Object Lock configuration of '$bucket': $(tr '\n' ' ' <"$err")"
  echo "object lock: ${current_mode:-none}${current_days:+ $current_days days} -> $mode $days days"
fi

# Read back what S3 now holds, so the printout is the bucket's state, not our intent.
versioning=$(s3api get-bucket-versioning --bucket "$bucket" | jq -rs '.[0].Status // "Unversioned"')
lock=$(s3api get-object-lock-configuration --bucket "$bucket")
read -r enabled got_mode got_days < <(jq -r '.ObjectLockConfiguration | [.ObjectLockEnabled, .Rule.DefaultRetention.Mode, .Rule.DefaultRetention.Days] | @tsv' <<<"$lock")
echo "bucket=$bucket versioning=$versioning object_lock=$enabled mode=$got_mode days=$got_days"
if [ "$versioning" != "Enabled" ] || [ "$enabled" != "Enabled" ] || [ "$got_mode" != "$mode" ] || [ "$got_days" != "$days" ]; then
  fail "read-back differs from what was set (wanted $mode $days days)"
fi
