#!/usr/bin/env bash
# Point-in-time restore of the service's Postgres, as a provable DR drill.
#
#   ISO_TS=2026-11-28T10:15:00Z tools/db/pitr.sh [--driver wal-g|local] [--target-dir DIR] [--port P]
#                                                [--verify-sql SQL] [--outputs FILE] [--record FILE] ...
#   tools/db/pitr.sh base-backup --archive-dir DIR [--host H] [--port P] [--db-user U]   (local driver)
#
# Picks the newest base backup that ended at or before ISO_TS, fetches it into a fresh data
# directory (never over a live one), replays archived WAL up to ISO_TS and promotes, then proves
# the end point from the server's own record of the recovery: the last transaction replayed is at
# or before ISO_TS and the first one after it was not applied. Prints a JSON drill record and exits
# 0 only when every check holds (1: the drill failed, 2: bad usage or input; nothing touched).
#
# Storage drivers (only fetching differs; everything else is shared):
#   wal-g  (default) `wal-g backup-list --json --detail`, `wal-g backup-fetch`, and
#          restore_command 'wal-g wal-fetch %f %p'. Settings: WALG_* / AWS_* in the environment, or
#          the backup stack's outputs (`npx cdktf output backup --outputs-file FILE`) via --outputs.
#   local  a PostgreSQL-native archive directory: DIR/basebackups/<name>/{base.tar,pg_wal.tar,
#          backup.json} written by `pitr.sh base-backup`, and DIR/wal/ filled by
#          archive_command = 'test ! -f DIR/wal/%f && cp %p DIR/wal/%f'.
set -euo pipefail

readonly program=pitr.sh
started_ms=$(date +%s%3N)

usage() {
  cat <<'EOF'
usage: ISO_TS=<timestamp> tools/db/pitr.sh [options]
       tools/db/pitr.sh base-backup --archive-dir DIR [--host H] [--port P] [--db-user U]

Restore Postgres to ISO_TS (ISO-8601 with a zone, e.g. 2026-11-28T10:15:00Z) and prove it.

options:
  --driver wal-g|local   where backups and WAL live (default: wal-g, or PITR_DRIVER)
  --target-dir DIR       fresh data directory to restore into; must not exist or be empty
                         (default: a new directory under ${TMPDIR:-/tmp})
  --port P               port of the restored server (default: 5432, or PITR_PORT)
  --verify-sql SQL       extra check: one boolean; :'target' is ISO_TS (e.g.
                         "select count(*) = 0 from orders where created_at > :'target'")
  --database NAME        database --verify-sql runs in (default: PITR_DATABASE, database_name
                         from --outputs, or postgres)
  --db-user USER         database superuser of the backup (default: postgres, or PITR_DB_USER)
  --outputs FILE         backup stack outputs (cdktf output --outputs-file or terraform output -json):
                         WALG_S3_PREFIX, AWS_REGION and the database name come from it when unset
  --archive-dir DIR      archive of the local driver (or PITR_ARCHIVE_DIR)
  --record FILE          also write the drill record (JSON) to FILE
  --timeout SECONDS      how long recovery may take (default: 600, or PITR_TIMEOUT)
  --keep-running         leave the restored server running (default: stop it after the proof)
  -h, --help             this text

As root, the server runs as PITR_OS_USER (default: postgres); Postgres refuses to run as root.
Exit: 0 restored and verified, 1 restore or verification failed, 2 bad usage or input.
EOF
}

log() { printf '%s: %s\n' "$program" "$*" >&2; }
bad_input() {
  printf '%s: %s\n' "$program" "$*" >&2
  exit 2
}
fail() {
  printf '%s: %s\n' "$program" "$*" >&2
  exit 1
}

# ---- options ----------------------------------------------------------------------------------
command=restore
if [ "${1:-}" = base-backup ]; then
  command=base-backup
  shift
fi
driver=${PITR_DRIVER:-wal-g}
target_dir=""
port=${PITR_PORT:-5432}
verify_sql=""
database=${PITR_DATABASE:-}
db_user=${PITR_DB_USER:-postgres}
outputs=""
archive_dir=${PITR_ARCHIVE_DIR:-}
record_file=""
timeout=${PITR_TIMEOUT:-600}
keep_running=false
source_host=127.0.0.1
os_user=${PITR_OS_USER:-postgres}

need_value() { { [ $# -ge 2 ] && [ -n "$2" ]; } || bad_input "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --driver) need_value "$@"; driver=$2; shift 2 ;;
    --target-dir) need_value "$@"; target_dir=$2; shift 2 ;;
    --port) need_value "$@"; port=$2; shift 2 ;;
    --verify-sql) need_value "$@"; verify_sql=$2; shift 2 ;;
    --database) need_value "$@"; database=$2; shift 2 ;;
    --db-user) need_value "$@"; db_user=$2; shift 2 ;;
    --outputs) need_value "$@"; outputs=$2; shift 2 ;;
    --archive-dir) need_value "$@"; archive_dir=$2; shift 2 ;;
    --record) need_value "$@"; record_file=$2; shift 2 ;;
    --timeout) need_value "$@"; timeout=$2; shift 2 ;;
    --host) need_value "$@"; source_host=$2; shift 2 ;;
    --keep-running) keep_running=true; shift ;;
    *) bad_input "unknown argument '$1' (see --help)" ;;
  esac
done

case "$driver" in wal-g | local) ;; *) bad_input "--driver: must be wal-g or local (got '$driver')" ;; esac
{ [[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } || bad_input "--port: must be 1-65535 (got '$port')"
{ [[ $timeout =~ ^[0-9]+$ ]] && [ "$timeout" -ge 1 ]; } || bad_input "--timeout: must be a positive number of seconds (got '$timeout')"
{ command -v perl >/dev/null && perl -MJSON::PP -e 1 2>/dev/null; } || bad_input "perl with JSON::PP is required (Debian: perl)"

# Postgres server binaries: PATH first, then the newest Debian install.
if ! command -v pg_ctl >/dev/null; then
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  if [ -x "$newest/pg_ctl" ]; then PATH="$PATH:$newest"; fi
fi
for tool in pg_ctl psql; do
  command -v "$tool" >/dev/null || bad_input "$tool not found on PATH (install the PostgreSQL server, e.g. postgresql-15)"
done

# Postgres refuses to run as root: as root, the server (and psql over its socket) run as os_user.
as_server_user() {
  if [ "$EUID" -eq 0 ]; then
    setpriv --reuid="$os_user" --regid="$os_user" --init-groups -- "$@"
  else
    "$@"
  fi
}

# JSON field of a file or stdin: json_field FILE KEY...  (first key found; nested stack maps and
# terraform's {"value": ...} wrappers are looked through).
json_field() {
  local file=$1
  shift
  perl -MJSON::PP -e '
    my ($file, @keys) = @ARGV;
    local $/; open(my $fh, "<", $file) or exit 3; my $doc = eval { decode_json(<$fh>) } or exit 4;
    my @maps = ($doc); push @maps, grep { ref eq "HASH" } values %$doc if ref $doc eq "HASH";
    for my $k (@keys) { for my $m (@maps) {
      next unless ref $m eq "HASH" && exists $m->{$k};
      my $v = $m->{$k}; $v = $v->{value} if ref $v eq "HASH" && exists $v->{value};
      print $v; exit 0 } }
    exit 1' "$file" "$@"
}

# ---- base-backup (local driver) ---------------------------------------------------------------
if [ "$command" = base-backup ]; then
  [ -n "$archive_dir" ] || bad_input "base-backup: --archive-dir DIR is required"
  [ -d "$archive_dir" ] || bad_input "--archive-dir: '$archive_dir' is not a directory"
  command -v pg_basebackup >/dev/null || bad_input "pg_basebackup not found on PATH"
  mkdir -p "$archive_dir/basebackups"
  name="base_$(date -u +%Y%m%dT%H%M%S%6NZ)"
  staging="$archive_dir/basebackups/.incomplete-$name"
  mkdir "$staging"
  trap 'rm -rf "$staging"' EXIT
  pg_basebackup -h "$source_host" -p "$port" -U "$db_user" -D "$staging" -Ft -X stream -c fast --no-sync >&2 ||
    fail "pg_basebackup from $source_host:$port failed"
  # The backup is consistent once its end-of-backup record is written, before this clock reading.
  finish_time=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
  label=$(tar -xOf "$staging/base.tar" backup_label) || fail "base.tar has no backup_label"
  start_label=$(sed -n 's/^START TIME: //p' <<<"$label")
  start_time=$(date -u -d "$start_label" +%Y-%m-%dT%H:%M:%SZ) || fail "backup_label START TIME '$start_label' is not a date"
  start_wal=$(sed -n 's/^START WAL LOCATION: \([^ ]*\) (file \([0-9A-F]*\))$/\1 \2/p' <<<"$label")
  NAME=$name START=$start_time FINISH=$finish_time WAL=$start_wal perl -MJSON::PP -e '
    my ($lsn, $file) = split / /, $ENV{WAL};
    print JSON::PP->new->canonical->pretty->encode({ backup_name => $ENV{NAME}, start_time => $ENV{START},
      finish_time => $ENV{FINISH}, start_lsn => $lsn, wal_file_name => $file })' >"$staging/backup.json"
  mv "$staging" "$archive_dir/basebackups/$name"
  trap - EXIT
  log "base backup $name (start $start_time, consistent by $finish_time)"
  printf '%s\n' "$name"
  exit 0
fi

# ---- input checks: nothing is touched until all of them pass -----------------------------------
[ -n "${ISO_TS:-}" ] || bad_input "ISO_TS is not set: ISO_TS=2026-11-28T10:15:00Z tools/db/pitr.sh ..."
iso_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$'
[[ $ISO_TS =~ $iso_re ]] || bad_input "ISO_TS: must be an ISO-8601 timestamp with a zone, such as 2026-11-28T10:15:00Z (got '$ISO_TS')"
target_us=$(date -u -d "$ISO_TS" +%s%6N 2>/dev/null) || bad_input "ISO_TS: '$ISO_TS' is not a valid date"
target_iso=$(date -u -d "$ISO_TS" +%Y-%m-%dT%H:%M:%S.%6NZ)
now_us=$(date -u +%s%6N)
[ "$target_us" -le "$now_us" ] || bad_input "ISO_TS: $ISO_TS is in the future (now $(date -u +%Y-%m-%dT%H:%M:%SZ)): nothing to restore yet"

if [ -n "$outputs" ]; then
  [ -r "$outputs" ] || bad_input "--outputs: cannot read '$outputs'"
  json_field "$outputs" bucket >/dev/null || bad_input "--outputs: '$outputs' is not the backup stack's outputs (no 'bucket'); use: npx cdktf output backup --outputs-file FILE"
fi

case "$driver" in
  wal-g)
    if [ -n "$outputs" ]; then
      # The environment wins over the outputs file, so an operator can point at a copy.
      [ -n "${WALG_S3_PREFIX:-}${WALG_FILE_PREFIX:-}" ] || WALG_S3_PREFIX=$(json_field "$outputs" walg_s3_prefix) || true
      [ -n "${AWS_REGION:-}" ] || AWS_REGION=$(json_field "$outputs" region) || true
      [ -n "$database" ] || database=$(json_field "$outputs" database_name) || true
      rpo_seconds=$(json_field "$outputs" archive_timeout_seconds) || true
    fi
    if [ -n "${WALG_S3_PREFIX:-}" ]; then
      [ -n "${AWS_REGION:-}" ] || bad_input "missing WAL-G settings: AWS_REGION is unset (set it, or pass --outputs FILE)"
      export WALG_S3_PREFIX AWS_REGION
      storage=$WALG_S3_PREFIX
    elif [ -n "${WALG_FILE_PREFIX:-}" ]; then
      export WALG_FILE_PREFIX
      storage=$WALG_FILE_PREFIX
    else
      bad_input "missing WAL-G settings: set WALG_S3_PREFIX and AWS_REGION (or WALG_FILE_PREFIX), or pass --outputs FILE from 'npx cdktf output backup --outputs-file FILE'"
    fi
    command -v wal-g >/dev/null || bad_input "wal-g not found on PATH (the wal-g driver needs it; --driver local restores from a PostgreSQL archive directory)"
    ;;
  local)
    [ -n "$archive_dir" ] || bad_input "--driver local needs --archive-dir DIR (or PITR_ARCHIVE_DIR)"
    { [ -d "$archive_dir/basebackups" ] && [ -d "$archive_dir/wal" ]; } || bad_input "--archive-dir: '$archive_dir' has no basebackups/ and wal/ (see --help)"
    archive_dir=$(cd "$archive_dir" && pwd)
    [[ $archive_dir != *[\'\"]* ]] || bad_input "--archive-dir: quotes are not allowed in the path ('$archive_dir')"
    storage=$archive_dir
    ;;
esac
database=${database:-postgres}

if [ -n "$target_dir" ]; then
  if [ -e "$target_dir" ]; then
    [ -d "$target_dir" ] || bad_input "--target-dir: '$target_dir' exists and is not a directory"
    [ ! -e "$target_dir/postmaster.pid" ] || bad_input "--target-dir: '$target_dir' holds a live (or crashed) server (postmaster.pid): never restoring over it"
    [ -z "$(ls -A "$target_dir")" ] || bad_input "--target-dir: '$target_dir' is not empty: restore into a fresh directory"
  fi
fi

# Base backups as lines: finish_us <TAB> name <TAB> start_time <TAB> finish_time (oldest first).
list_backups() {
  local raw
  if [ "$driver" = wal-g ]; then
    raw=$(wal-g backup-list --json --detail) || fail "wal-g backup-list failed (storage $storage)"
    [ -n "$raw" ] || raw="[]"
    perl -MJSON::PP -e '
      local $/; my $list = eval { decode_json(<STDIN>) };
      die "wal-g backup-list --json did not print a JSON array\n" unless ref $list eq "ARRAY";
      for my $b (@$list) {
        my $finish = $b->{finish_time} // $b->{time};
        print join("\t", $b->{backup_name}, $b->{start_time} // $finish, $finish), "\n" if $b->{backup_name} && $finish;
      }' <<<"$raw"
  else
    local sidecar
    for sidecar in "$archive_dir"/basebackups/*/backup.json; do
      [ -f "$sidecar" ] || continue
      perl -MJSON::PP -e 'local $/; my $b = decode_json(<STDIN>);
        print join("\t", $b->{backup_name}, $b->{start_time}, $b->{finish_time}), "\n"' <"$sidecar" ||
        fail "unreadable backup record $sidecar"
    done
  fi | while IFS=$'\t' read -r name start finish; do
    printf '%s\t%s\t%s\t%s\n' "$(date -u -d "$finish" +%s%6N)" "$name" "$start" "$finish"
  done | sort -n
}
backups=$(list_backups)
[ -n "$backups" ] || bad_input "no base backups in $storage: take one first (wal-g backup-push / pitr.sh base-backup)"
chosen=$(awk -F'\t' -v t="$target_us" '$1 <= t { line = $0 } END { print line }' <<<"$backups")
if [ -z "$chosen" ]; then
  IFS=$'\t' read -r _ oldest_name _ oldest_finish <<<"$(head -n1 <<<"$backups")"
  bad_input "ISO_TS: $ISO_TS is before the oldest base backup ($oldest_name, consistent at $oldest_finish): no backup to restore from"
fi
IFS=$'\t' read -r _ backup_name backup_start backup_finish <<<"$chosen"
log "target $target_iso: base backup $backup_name (consistent at $backup_finish), driver $driver"

# ---- restore ------------------------------------------------------------------------------------
if [ -z "$target_dir" ]; then
  target_dir=$(mktemp -d "${TMPDIR:-/tmp}/pitr-restore.XXXXXX")
else
  mkdir -p "$target_dir"
fi
target_dir=$(cd "$target_dir" && pwd)
chmod 700 "$target_dir"
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/pitr-run.XXXXXX")
chmod 755 "$run_dir"
server_log="$run_dir/postgres.log"

case "$driver" in
  local)
    src="$archive_dir/basebackups/$backup_name"
    tar -xf "$src"/base.tar* -C "$target_dir" || fail "cannot unpack $src/base.tar"
    mkdir -p "$target_dir/pg_wal"
    if compgen -G "$src/pg_wal.tar*" >/dev/null; then tar -xf "$src"/pg_wal.tar* -C "$target_dir/pg_wal"; fi
    restore_command="cp \"$archive_dir/wal/%f\" \"%p\""
    ;;
  wal-g)
    wal-g backup-fetch "$target_dir" "$backup_name" >&2 || fail "wal-g backup-fetch $backup_name failed"
    restore_command="wal-g wal-fetch %f %p"
    ;;
esac
# Whatever the source ran as (primary, standby), this copy recovers on its own.
rm -f "$target_dir/postmaster.pid" "$target_dir/standby.signal" "$target_dir/recovery.signal"
target_pg=$(date -u -d "$ISO_TS" '+%Y-%m-%d %H:%M:%S.%6N+00')
cat >>"$target_dir/postgresql.auto.conf" <<EOF
# pitr.sh $(date -u +%Y-%m-%dT%H:%M:%SZ): point-in-time restore to $target_iso from $backup_name
restore_command = '$restore_command'
recovery_target_time = '$target_pg'
recovery_target_inclusive = on
recovery_target_timeline = 'latest'
recovery_target_action = 'promote'
# A restore never writes into the archive it reads from, nor follows the source's primary.
archive_mode = off
primary_conninfo = ''
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '$run_dir'
hot_standby = on
lc_messages = 'C'
logging_collector = off
log_min_messages = info
EOF
touch "$target_dir/recovery.signal"
if [ "$EUID" -eq 0 ]; then chown -R "$os_user:" "$target_dir" "$run_dir"; fi

sql() { as_server_user psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$run_dir" -p "$port" -U "$db_user" -d "$1" "${@:2}"; }
# shellcheck disable=SC2317 # run by the EXIT trap
stop_server() { as_server_user pg_ctl -D "$target_dir" -m fast -w stop >/dev/null 2>&1 || true; }

log "starting the restored server on port $port (data $target_dir)"
if ! as_server_user pg_ctl -D "$target_dir" -l "$server_log" -w -t "$timeout" -o "-c port=$port" start >/dev/null; then
  cp "$server_log" "$target_dir.pitr.log" 2>/dev/null || true
  tail -n 20 "$server_log" >&2 || true
  if grep -q "recovery ended before configured recovery target was reached" "$server_log"; then
    fail "the archive does not reach ISO_TS $target_iso yet (WAL is archived every archive_timeout): pick an earlier time or wait"
  fi
  fail "the restored server did not start (log: $target_dir.pitr.log)"
fi
[ "$keep_running" = true ] || trap stop_server EXIT

deadline=$((SECONDS + timeout))
until [ "$(sql postgres -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do
  if ! as_server_user pg_ctl -D "$target_dir" status >/dev/null 2>&1; then
    tail -n 20 "$server_log" >&2 || true
    fail "the restored server stopped during recovery"
  fi
  [ "$SECONDS" -lt "$deadline" ] || fail "recovery did not end within ${timeout}s (see $server_log)"
  sleep 0.2
done
recovered_ms=$(date +%s%3N)

# ---- proof -------------------------------------------------------------------------------------
iso_of() { printf "to_char((%s) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')" "$1"; }
achieved=$(sql postgres -c "select coalesce($(iso_of 'pg_last_xact_replay_timestamp()'), '')")
achieved_ok=$(sql postgres -c "select coalesce(pg_last_xact_replay_timestamp() <= '$target_pg'::timestamptz, true)")
stop_line=$(grep -E -m1 'recovery stopping before (commit|abort) of transaction [0-9]+, time ' "$server_log" || true)
stopped_xid=$(sed -n 's/.*recovery stopping before [a-z]* of transaction \([0-9]*\), time .*/\1/p' <<<"$stop_line")
stopped_time_pg=$(sed -n 's/.*recovery stopping before [a-z]* of transaction [0-9]*, time \(.*\)$/\1/p' <<<"$stop_line")
stopped_time=""
stopped_ok=f
if [ -n "$stopped_time_pg" ]; then
  stopped_time=$(sql postgres -c "select $(iso_of "'$stopped_time_pg'::timestamptz")")
  stopped_ok=$(sql postgres -c "select '$stopped_time_pg'::timestamptz > '$target_pg'::timestamptz")
fi
promoted=$(grep -c -E 'database system is ready to accept connections|selected new timeline ID' "$server_log" || true)
redo_start=$(sed -n 's/.*redo starts at \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$server_log" | head -n1)
redo_end=$(sed -n 's/.*redo done at \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$server_log" | head -n1)
wal_bytes=0
if [ -n "$redo_start" ] && [ -n "$redo_end" ]; then wal_bytes=$(sql postgres -c "select pg_wal_lsn_diff('$redo_end', '$redo_start')::bigint"); fi
restored_segments=$(sed -n 's/.*restored log file "\([0-9A-F]\{24\}\)" from archive.*/\1/p' "$server_log" | sort -u)
verify_result=""
if [ -n "$verify_sql" ]; then
  verify_result=$(printf '%s\n' "$verify_sql" | sql "$database" -v target="$target_pg" 2>&1) || verify_result="error: $verify_result"
fi
finished_ms=$(date +%s%3N)
cp "$server_log" "$target_dir.pitr.log" 2>/dev/null || true

record=$(
  TARGET=$target_iso INPUT=$ISO_TS ACHIEVED=$achieved ACHIEVED_OK=$achieved_ok STOP_XID=$stopped_xid STOP_TIME=$stopped_time \
    STOP_OK=$stopped_ok BACKUP=$backup_name BACKUP_START=$backup_start BACKUP_FINISH=$backup_finish DRIVER=$driver STORAGE=$storage \
    REDO_START=$redo_start REDO_END=$redo_end WAL_BYTES=$wal_bytes SEGMENTS=$restored_segments VERIFY_SQL=$verify_sql \
    VERIFY_RESULT=$verify_result DURATION_MS=$((finished_ms - started_ms)) RECOVERY_MS=$((recovered_ms - started_ms)) \
    DATA_DIR=$target_dir PORT=$port PROMOTED=$promoted RPO=${rpo_seconds:-} KEEP=$keep_running \
    perl -MJSON::PP -e '
      my %e = %ENV; my $t = JSON::PP::true; my $f = JSON::PP::false;
      my @segments = grep { length } split /\n/, $e{SEGMENTS};
      my @checks = (
        { name => "recovery ended and the server was promoted", ok => $e{PROMOTED} > 0 ? $t : $f },
        { name => "last replayed transaction is at or before the target", ok => $e{ACHIEVED_OK} eq "t" ? $t : $f,
          detail => length $e{ACHIEVED} ? $e{ACHIEVED} : "no transaction replayed after the backup point" },
        { name => "the first transaction after the target was not applied", ok => $e{STOP_OK} eq "t" ? $t : $f,
          detail => length $e{STOP_XID} ? "stopped before xid $e{STOP_XID} at $e{STOP_TIME}" : "no stop record in the server log" },
      );
      push @checks, { name => "verify-sql", ok => $e{VERIFY_RESULT} eq "t" ? $t : $f, detail => "$e{VERIFY_SQL} => $e{VERIFY_RESULT}" }
        if length $e{VERIFY_SQL};
      my $verified = !grep { !$_->{ok} } @checks;
      print JSON::PP->new->canonical->pretty->encode({
        target => $e{TARGET}, target_input => $e{INPUT},
        achieved => length $e{ACHIEVED} ? $e{ACHIEVED} : undef,
        stopped_before => length $e{STOP_XID} ? { xid => 0 + $e{STOP_XID}, time => $e{STOP_TIME} } : undef,
        backup => { name => $e{BACKUP}, start_time => $e{BACKUP_START}, finish_time => $e{BACKUP_FINISH} },
        driver => $e{DRIVER}, storage => $e{STORAGE},
        wal_replayed => { redo_start_lsn => $e{REDO_START} || undef, redo_end_lsn => $e{REDO_END} || undef,
          bytes => 0 + $e{WAL_BYTES}, segments_restored => scalar @segments,
          first_segment => $segments[0], last_segment => $segments[-1] },
        duration_seconds => $e{DURATION_MS} / 1000, recovery_seconds => $e{RECOVERY_MS} / 1000,
        rpo_seconds => length $e{RPO} ? 0 + $e{RPO} : undef,
        data_dir => $e{DATA_DIR}, port => 0 + $e{PORT}, server_running => $e{KEEP} eq "true" ? $t : $f,
        verification => { verified => $verified ? $t : $f, checks => \@checks },
      })'
)
printf '%s\n' "$record"
if [ -n "$record_file" ]; then printf '%s\n' "$record" >"$record_file"; fi
if grep -q '"verified" : true' <<<"$record"; then
  log "verified: restored to $target_iso (last commit replayed: ${achieved:-none}) in $(((finished_ms - started_ms) / 1000))s"
  exit 0
fi
fail "NOT verified: see the checks in the drill record (server log: $target_dir.pitr.log)"
