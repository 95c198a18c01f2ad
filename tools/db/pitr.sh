#!/usr/bin/env bash
# Point-in-time restore of the service's Postgres, as a provable DR drill; and the base backups it
# restores from.
#
#   ISO_TS=2026-11-28T10:15:00Z tools/db/pitr.sh [--driver wal-g|local] [--target-dir DIR] [--port P]
#                                                [--verify-sql SQL] [--outputs FILE] [--record FILE] ...
#   tools/db/pitr.sh base-backup [--driver wal-g|local] [--retain-full N] [--publish] ...
#
# Picks the newest base backup that ended at or before ISO_TS, fetches it into a fresh data
# directory (never over a live one), replays archived WAL up to ISO_TS and promotes, then proves
# the end point from the server's own record of the recovery: the last transaction replayed is at
# or before ISO_TS and the first one after it was not applied. Prints a JSON drill record
# (contracts/records.ts, maestro.drill-record/v1) and exits 0 only when every check holds
# (1: the drill failed, with a record saying why; 2: bad usage or input, nothing touched).
#
# Storage drivers (only fetching differs; everything else is shared):
#   wal-g  (default) `wal-g backup-list --json --detail`, `wal-g backup-fetch`, and
#          restore_command running `wal-g wal-fetch`. Settings: WALG_* / AWS_* in the environment, or
#          the backup stack's outputs (`npx cdktf output backup --outputs-file FILE`) via --outputs.
#   local  (default when --archive-dir is given) a PostgreSQL-native archive directory:
#          DIR/basebackups/<name>/{base.tar,pg_wal.tar,backup.json} written by `pitr.sh base-backup`,
#          and DIR/wal/ filled by archive_command = 'test ! -f DIR/wal/%f && cp %p DIR/wal/%f'.
# --publish puts the record where the compliance service reads it: records/last-drill.json (or
# records/last-backup.json) under the archive (the bucket prefix with `wal-g st put`, or DIR/records/).
set -euo pipefail

readonly program=pitr.sh
started_ms=$(date +%s%3N)
started_at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)

usage() {
  cat <<'EOF'
usage: ISO_TS=<timestamp> tools/db/pitr.sh [options]
       tools/db/pitr.sh base-backup [--driver wal-g|local] [--retain-full N] [--publish] [options]

Restore Postgres to ISO_TS (ISO-8601 with a zone, e.g. 2026-11-28T10:15:00Z) and prove it.

options:
  --driver wal-g|local   where backups and WAL live (default: PITR_DRIVER, else local when
                         --archive-dir is given, else wal-g)
  --source primary|replica
                         restore from the backup bucket, or from its cross-region replica
                         (replica_walg_s3_prefix / replica_region of --outputs; default primary)
  --target-dir DIR       fresh data directory to restore into; must not exist or be empty
                         (default: a new directory under $TMPDIR, or /tmp)
  --port P               port of the restored server (default: 5432, or PITR_PORT)
  --verify-sql SQL       extra check: one boolean; :'target' is ISO_TS (e.g.
                         "select count(*) = 0 from orders where created_at > :'target'")
  --database NAME        database --verify-sql runs in (default: PITR_DATABASE, database_name
                         from --outputs, or postgres)
  --db-user USER         database superuser of the backup (default: postgres, or PITR_DB_USER)
  --outputs FILE         backup stack outputs (cdktf output --outputs-file or terraform output -json):
                         WALG_S3_PREFIX, AWS_REGION and the database name come from it when unset
  --archive-dir DIR      archive of the local driver (or PITR_ARCHIVE_DIR)
  --record FILE          also write the record (JSON) to FILE
  --publish              also put the record into the archive's records/ folder, where the
                         compliance service reads it (always the primary archive)
  --timeout SECONDS      how long recovery may take (default: 600, or PITR_TIMEOUT)
  --keep-running         leave the restored server running (default: stop it after the proof)
  -h, --help             this text

base-backup options:
  --host H, --port P, --db-user U   the server to back up (local driver: pg_basebackup's source;
                         wal-g reads PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD)
  --retain-full N        wal-g: then `wal-g delete retain FULL N --confirm`

As root, the server runs as PITR_OS_USER (default: postgres); Postgres refuses to run as root.
Exit: 0 done and verified, 1 the backup or restore failed (a drill still writes its record),
2 bad usage or input (nothing touched).
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
driver=${PITR_DRIVER:-}
source_kind=primary
target_dir=""
port=${PITR_PORT:-5432}
verify_sql=""
database=${PITR_DATABASE:-}
db_user=${PITR_DB_USER:-postgres}
outputs=""
archive_dir=${PITR_ARCHIVE_DIR:-}
record_file=""
publish=false
retain_full=""
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
    --source) need_value "$@"; source_kind=$2; shift 2 ;;
    --target-dir) need_value "$@"; target_dir=$2; shift 2 ;;
    --port) need_value "$@"; port=$2; shift 2 ;;
    --verify-sql) need_value "$@"; verify_sql=$2; shift 2 ;;
    --database) need_value "$@"; database=$2; shift 2 ;;
    --db-user) need_value "$@"; db_user=$2; shift 2 ;;
    --outputs) need_value "$@"; outputs=$2; shift 2 ;;
    --archive-dir) need_value "$@"; archive_dir=$2; shift 2 ;;
    --record) need_value "$@"; record_file=$2; shift 2 ;;
    --publish) publish=true; shift ;;
    --retain-full) need_value "$@"; retain_full=$2; shift 2 ;;
    --timeout) need_value "$@"; timeout=$2; shift 2 ;;
    --host) need_value "$@"; source_host=$2; shift 2 ;;
    --keep-running) keep_running=true; shift ;;
    *) bad_input "unknown argument '$1' (see --help)" ;;
  esac
done

if [ -z "$driver" ]; then
  if [ -n "$archive_dir" ]; then driver=local; else driver=wal-g; fi
fi
case "$driver" in wal-g | local) ;; *) bad_input "--driver: must be wal-g or local (got '$driver')" ;; esac
case "$source_kind" in primary | replica) ;; *) bad_input "--source: must be primary or replica (got '$source_kind')" ;; esac
{ [[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } || bad_input "--port: must be 1-65535 (got '$port')"
{ [[ $timeout =~ ^[0-9]+$ ]] && [ "$timeout" -ge 1 ]; } || bad_input "--timeout: must be a positive number of seconds (got '$timeout')"
[ -z "$retain_full" ] || { [[ $retain_full =~ ^[0-9]+$ ]] && [ "$retain_full" -ge 1 ]; } || bad_input "--retain-full: must be a whole number >= 1 (got '$retain_full')"
[ -z "$retain_full" ] || [ "$command" = base-backup ] || bad_input "--retain-full applies to base-backup only"
[ -z "$retain_full" ] || [ "$driver" = wal-g ] || bad_input "--retain-full: the local driver keeps every base backup (wal-g only)"
{ command -v perl >/dev/null && perl -MJSON::PP -e 1 2>/dev/null; } || bad_input "perl with JSON::PP is required (Debian: perl)"
if [ -n "$record_file" ]; then
  record_parent=$(dirname -- "$record_file")
  { [ -d "$record_parent" ] && [ -w "$record_parent" ]; } || bad_input "--record: cannot write into '$record_parent'"
fi

# Postgres server binaries: PATH first, then the newest Debian install.
if ! command -v pg_ctl >/dev/null; then
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  if [ -x "$newest/pg_ctl" ]; then PATH="$PATH:$newest"; fi
fi
for tool in pg_ctl psql; do
  command -v "$tool" >/dev/null || bad_input "$tool not found on PATH (install the PostgreSQL server, e.g. postgresql-15)"
done

# Postgres refuses to run as root: as root, the server (and psql over its socket) run as os_user,
# from /, so a working directory that user cannot enter (a clone under /root, a private mktemp -d)
# changes nothing.
as_server_user() {
  if [ "$EUID" -eq 0 ]; then
    (cd / && setpriv --reuid="$os_user" --regid="$os_user" --init-groups -- "$@")
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

# A private work directory (restore_command wrapper, socket, log), removed at exit unless the
# restored server keeps running in it. Its path goes into postgresql.auto.conf and restore_command,
# so it may hold only characters that need no quoting there.
new_run_dir() {
  run_dir=$(mktemp -d "${TMPDIR:-/tmp}/pitr-run.XXXXXX")
  [[ $run_dir =~ ^[A-Za-z0-9/._+-]+$ ]] || {
    rm -rf "$run_dir"
    bad_input "TMPDIR: '${TMPDIR:-/tmp}' holds characters that are unsafe in restore_command (use letters, digits and /._+-)"
  }
  chmod 755 "$run_dir"
}

# ---- where the archive is: the environment, else the stack outputs --------------------------------
[ -z "$outputs" ] || [ -r "$outputs" ] || bad_input "--outputs: cannot read '$outputs'"
if [ -n "$outputs" ]; then
  json_field "$outputs" bucket >/dev/null || bad_input "--outputs: '$outputs' is not the backup stack's outputs (no 'bucket'); use: npx cdktf output backup --outputs-file FILE"
fi
primary_prefix=""
primary_region=""
case "$driver" in
  wal-g)
    if [ -n "$outputs" ]; then
      primary_prefix=$(json_field "$outputs" walg_s3_prefix) || true
      primary_region=$(json_field "$outputs" region) || true
      [ -n "$database" ] || database=$(json_field "$outputs" database_name) || true
      rpo_seconds=$(json_field "$outputs" archive_timeout_seconds) || true
      if [ "$source_kind" = replica ]; then
        replica_prefix=$(json_field "$outputs" replica_walg_s3_prefix) || bad_input "--source replica: '$outputs' has no replica_walg_s3_prefix (the environment has no backup replica)"
        replica_region=$(json_field "$outputs" replica_region) || bad_input "--source replica: '$outputs' has no replica_region"
        # The environment wins over the outputs file, so an operator can point at a copy.
        [ -n "${WALG_S3_PREFIX:-}${WALG_FILE_PREFIX:-}" ] || WALG_S3_PREFIX=$replica_prefix
        [ -n "${AWS_REGION:-}" ] || AWS_REGION=$replica_region
      else
        [ -n "${WALG_S3_PREFIX:-}${WALG_FILE_PREFIX:-}" ] || WALG_S3_PREFIX=$primary_prefix
        [ -n "${AWS_REGION:-}" ] || AWS_REGION=$primary_region
      fi
    elif [ "$source_kind" = replica ]; then
      bad_input "--source replica needs --outputs FILE (the replica's prefix and region are stack outputs)"
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
    # Records are published to the primary archive (where the service reads them), also after a
    # drill from the replica.
    [ -n "$primary_prefix" ] || primary_prefix=${WALG_S3_PREFIX:-}
    [ -n "$primary_region" ] || primary_region=${AWS_REGION:-}
    command -v wal-g >/dev/null || bad_input "wal-g not found on PATH (the wal-g driver needs it; --driver local restores from a PostgreSQL archive directory)"
    ;;
  local)
    [ "$source_kind" = primary ] || bad_input "--source replica needs the wal-g driver (a local archive has no replica)"
    [ -n "$archive_dir" ] || bad_input "--driver local needs --archive-dir DIR (or PITR_ARCHIVE_DIR)"
    [ -d "$archive_dir" ] || bad_input "--archive-dir: '$archive_dir' is not a directory"
    archive_dir=$(cd "$archive_dir" && pwd)
    storage=$archive_dir
    ;;
esac
database=${database:-postgres}

# Puts a record into the archive's records/ folder (--publish): the primary bucket through
# `wal-g st put` (uncompressed, so the service reads plain JSON), or DIR/records/ locally.
publish_record() { # file name
  local file=$1 name=$2
  if [ "$driver" = local ]; then
    mkdir -p "$archive_dir/records"
    cp -- "$file" "$archive_dir/records/.$name.tmp" && mv -f -- "$archive_dir/records/.$name.tmp" "$archive_dir/records/$name"
  elif [ -n "$primary_prefix" ]; then
    WALG_S3_PREFIX=$primary_prefix AWS_REGION=$primary_region wal-g st put --no-compress -f "$file" "records/$name" >&2
  else
    WALG_FILE_PREFIX=$WALG_FILE_PREFIX wal-g st put --no-compress -f "$file" "records/$name" >&2
  fi
}

# Prints a record, writes it to --record and publishes it (--publish); exits 1 if publishing fails.
emit_record() { # json name
  local json=$1 name=$2 file
  printf '%s\n' "$json"
  if [ -n "$record_file" ]; then printf '%s\n' "$json" >"$record_file"; fi
  if [ "$publish" = true ]; then
    file=$(mktemp "${TMPDIR:-/tmp}/pitr-record.XXXXXX")
    printf '%s\n' "$json" >"$file"
    if ! publish_record "$file" "$name"; then
      rm -f "$file"
      fail "could not publish the record to records/$name in $storage"
    fi
    rm -f "$file"
    log "record published to records/$name"
  fi
}

# ---- base-backup ----------------------------------------------------------------------------------
name="" start_time="" finish_time="" start_lsn="" finish_lsn=""
backup_record() { # failure-message (empty when the backup was taken)
  SCHEMA=maestro.backup-record/v1 FINISHED=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) FAILURE=$1 NAME=$name START=$start_time \
    FINISH=$finish_time START_LSN=$start_lsn FINISH_LSN=$finish_lsn TOOL=$([ "$driver" = local ] && echo pg_basebackup || echo wal-g) \
    STORAGE=$storage RETAINED=$retain_full perl -MJSON::PP -e '
      my %e = %ENV; my $iso = sub { my $t = shift; $t =~ s/ /T/; $t =~ s/\+00(:00)?$/Z/; $t };
      my $ok = !length $e{FAILURE};
      print JSON::PP->new->canonical->pretty->encode({ schema => $e{SCHEMA}, result => $ok ? "pass" : "fail",
        failure => $ok ? undef : $e{FAILURE}, finished_at => $e{FINISHED},
        backup => $ok ? { name => $e{NAME}, start_time => $iso->($e{START}), finish_time => $iso->($e{FINISH}),
          start_lsn => length $e{START_LSN} ? $e{START_LSN} : undef, finish_lsn => length $e{FINISH_LSN} ? $e{FINISH_LSN} : undef } : undef,
        tool => $e{TOOL}, storage => $e{STORAGE}, retained_full => length $e{RETAINED} ? 0 + $e{RETAINED} : undef })'
}
# A backup attempt that failed: the record says why (the backup control turns fail), then exit 1.
fail_backup() {
  printf '%s: %s\n' "$program" "$1" >&2
  emit_record "$(backup_record "$1")" last-backup.json || true
  exit 1
}
if [ "$command" = base-backup ]; then
  case "$driver" in
    local)
      command -v pg_basebackup >/dev/null || bad_input "pg_basebackup not found on PATH"
      mkdir -p "$archive_dir/basebackups"
      name="base_$(date -u +%Y%m%dT%H%M%S%6NZ)"
      staging="$archive_dir/basebackups/.incomplete-$name"
      mkdir "$staging"
      trap 'rm -rf "$staging"' EXIT
      pg_basebackup -h "$source_host" -p "$port" -U "$db_user" -D "$staging" -Ft -X stream -c fast --no-sync >&2 ||
        fail_backup "pg_basebackup from $source_host:$port failed"
      # The backup is consistent once its end-of-backup record is written, before this clock reading.
      finish_time=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
      label=$(tar -xOf "$staging/base.tar" backup_label) || fail_backup "base.tar has no backup_label"
      start_label=$(sed -n 's/^START TIME: //p' <<<"$label")
      start_time=$(date -u -d "$start_label" +%Y-%m-%dT%H:%M:%SZ) || fail_backup "backup_label START TIME '$start_label' is not a date"
      start_lsn=$(sed -n 's/^START WAL LOCATION: \([^ ]*\) (file \([0-9A-F]*\))$/\1/p' <<<"$label")
      start_file=$(sed -n 's/^START WAL LOCATION: \([^ ]*\) (file \([0-9A-F]*\))$/\2/p' <<<"$label")
      # The manifest's WAL range ends where the backup became consistent.
      finish_lsn=$(perl -MJSON::PP -e 'local $/; my $m = eval { decode_json(<STDIN>) } or exit 0;
        my @r = @{ $m->{"WAL-Ranges"} // [] }; print $r[-1]{"End-LSN"} if @r' <"$staging/backup_manifest" 2>/dev/null || true)
      NAME=$name START=$start_time FINISH=$finish_time LSN=$start_lsn FILE=$start_file perl -MJSON::PP -e '
        print JSON::PP->new->canonical->pretty->encode({ backup_name => $ENV{NAME}, start_time => $ENV{START},
          finish_time => $ENV{FINISH}, start_lsn => $ENV{LSN}, wal_file_name => $ENV{FILE} })' >"$staging/backup.json"
      mv "$staging" "$archive_dir/basebackups/$name"
      trap - EXIT
      ;;
    wal-g)
      # Remote backup over the replication protocol (no data directory argument): PGHOST, PGPORT,
      # PGUSER, PGDATABASE and PGPASSWORD say where (see docs/dr.md for what it runs there).
      before=$(wal-g backup-list --json 2>/dev/null || true)
      wal-g backup-push >&2 || fail_backup "wal-g backup-push failed (storage $storage)"
      listing=$(wal-g backup-list --json --detail) || fail_backup "wal-g backup-list failed after the backup (storage $storage)"
      # The new backup: the newest one that was not listed before.
      IFS=$'\x1f' read -r name start_time finish_time start_lsn finish_lsn < <(BEFORE=${before:-[]} perl -MJSON::PP -e '
        local $/; my $after = eval { decode_json(<STDIN>) } || [];
        my $before = eval { decode_json($ENV{BEFORE}) }; $before = [] unless ref $before eq "ARRAY";
        my %old = map { ($_->{backup_name}, 1) } @$before;
        my @new = sort { ($a->{start_time} // "") cmp ($b->{start_time} // "") } grep { !$old{$_->{backup_name}} } @$after;
        exit 1 unless @new; my $b = $new[-1];
        print join("\x1f", map { $_ // "" } @$b{qw(backup_name start_time finish_time start_lsn finish_lsn)}), "\n"' <<<"$listing") ||
        fail_backup "wal-g backup-push succeeded but backup-list shows no new backup (storage $storage)"
      # Retention after the new backup is listed: it never deletes the one just taken.
      if [ -n "$retain_full" ]; then
        wal-g delete retain FULL "$retain_full" --confirm >&2 || fail_backup "backup $name taken, but wal-g delete retain FULL $retain_full failed (storage $storage)"
      fi
      ;;
  esac
  log "base backup $name (start $start_time, consistent by $finish_time)"
  emit_record "$(backup_record "")" last-backup.json
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
if [ "$driver" = local ]; then
  { [ -d "$archive_dir/basebackups" ] && [ -d "$archive_dir/wal" ]; } || bad_input "--archive-dir: '$archive_dir' has no basebackups/ and wal/ (see --help)"
fi

if [ -n "$target_dir" ]; then
  if [ -e "$target_dir" ]; then
    [ -d "$target_dir" ] || bad_input "--target-dir: '$target_dir' exists and is not a directory"
    [ ! -e "$target_dir/postmaster.pid" ] || bad_input "--target-dir: '$target_dir' holds a live (or crashed) server (postmaster.pid): never restoring over it"
    [ -z "$(ls -A "$target_dir")" ] || bad_input "--target-dir: '$target_dir' is not empty: restore into a fresh directory"
  fi
fi

# ---- the drill record: written for every restore attempted, passed or failed --------------------
backup_name="" backup_start="" backup_finish=""
achieved="" achieved_ok=f stopped_xid="" stopped_time="" stopped_ok=f promoted=0
redo_start="" redo_end="" wal_bytes=0 segments="" verify_result="" recovered_ms=""
drill_record() { # failure-message (empty when the checks ran)
  local finished_ms
  finished_ms=$(date +%s%3N)
  SCHEMA=maestro.drill-record/v1 STARTED=$started_at FINISHED=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) FAILURE=$1 \
    TARGET=$target_iso INPUT=$ISO_TS ACHIEVED=$achieved ACHIEVED_OK=$achieved_ok STOP_XID=$stopped_xid STOP_TIME=$stopped_time \
    STOP_OK=$stopped_ok BACKUP=$backup_name BACKUP_START=$backup_start BACKUP_FINISH=$backup_finish DRIVER=$driver \
    STORAGE=$storage SOURCE=$source_kind REDO_START=$redo_start REDO_END=$redo_end WAL_BYTES=$wal_bytes SEGMENTS=$segments \
    VERIFY_SQL=$verify_sql VERIFY_RESULT=$verify_result DURATION_MS=$((finished_ms - started_ms)) \
    RECOVERY_MS=$([ -n "$recovered_ms" ] && echo $((recovered_ms - started_ms))) DATA_DIR=${target_dir:-none} PORT=$port \
    PROMOTED=$promoted RPO=${rpo_seconds:-} RUNNING=$([ "$keep_running" = true ] && [ -z "$1" ] && echo true) \
    perl -MJSON::PP -e '
      my %e = %ENV; my $t = JSON::PP::true; my $f = JSON::PP::false;
      my @segments = grep { length } split /\n/, $e{SEGMENTS};
      my @checks = length $e{FAILURE} ? () : (
        { name => "recovery ended and the server was promoted", ok => $e{PROMOTED} > 0 ? $t : $f },
        { name => "last replayed transaction is at or before the target", ok => $e{ACHIEVED_OK} eq "t" ? $t : $f,
          detail => length $e{ACHIEVED} ? $e{ACHIEVED} : "no transaction replayed after the backup point" },
        { name => "the first transaction after the target was not applied", ok => $e{STOP_OK} eq "t" ? $t : $f,
          detail => length $e{STOP_XID} ? "stopped before xid $e{STOP_XID} at $e{STOP_TIME}" : "no stop record in the server log" },
      );
      push @checks, { name => "verify-sql", ok => $e{VERIFY_RESULT} eq "t" ? $t : $f, detail => "$e{VERIFY_SQL} => $e{VERIFY_RESULT}" }
        if length $e{VERIFY_SQL} && !length $e{FAILURE};
      my $verified = @checks && !grep { !$_->{ok} } @checks;
      my $pass = $verified && !length $e{FAILURE};
      print JSON::PP->new->canonical->pretty->encode({
        schema => $e{SCHEMA}, result => $pass ? "pass" : "fail", failure => length $e{FAILURE} ? $e{FAILURE} : undef,
        started_at => $e{STARTED}, finished_at => $e{FINISHED},
        target => $e{TARGET}, target_input => $e{INPUT},
        achieved => length $e{ACHIEVED} ? $e{ACHIEVED} : undef,
        stopped_before => length $e{STOP_XID} ? { xid => 0 + $e{STOP_XID}, time => $e{STOP_TIME} } : undef,
        backup => length $e{BACKUP} ? { name => $e{BACKUP}, start_time => $e{BACKUP_START}, finish_time => $e{BACKUP_FINISH} } : undef,
        driver => $e{DRIVER}, storage => $e{STORAGE}, source => $e{SOURCE},
        wal_replayed => { redo_start_lsn => $e{REDO_START} || undef, redo_end_lsn => $e{REDO_END} || undef,
          bytes => 0 + $e{WAL_BYTES}, segments_restored => scalar @segments,
          first_segment => $segments[0], last_segment => $segments[-1] },
        duration_seconds => $e{DURATION_MS} / 1000,
        recovery_seconds => length $e{RECOVERY_MS} ? $e{RECOVERY_MS} / 1000 : undef,
        rpo_seconds => length $e{RPO} ? 0 + $e{RPO} : undef,
        data_dir => $e{DATA_DIR}, port => 0 + $e{PORT}, server_running => $e{RUNNING} eq "true" ? $t : $f,
        verification => { verified => $verified ? $t : $f, checks => \@checks },
      })'
}
# A drill that went wrong after it started: the record says why, then exit 1.
fail_drill() {
  printf '%s: %s\n' "$program" "$1" >&2
  emit_record "$(drill_record "$1")" last-drill.json || true
  exit 1
}

# Base backups as lines: finish_us <TAB> name <TAB> start_time <TAB> finish_time (oldest first).
list_backups() {
  local raw
  if [ "$driver" = wal-g ]; then
    raw=$(wal-g backup-list --json --detail) || return 1
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
        print join("\t", $b->{backup_name}, $b->{start_time}, $b->{finish_time}), "\n"' <"$sidecar" || return 1
    done
  fi | while IFS=$'\t' read -r name start finish; do
    printf '%s\t%s\t%s\t%s\n' "$(date -u -d "$finish" +%s%6N)" "$name" "$(date -u -d "$start" +%Y-%m-%dT%H:%M:%S.%6NZ)" "$(date -u -d "$finish" +%Y-%m-%dT%H:%M:%S.%6NZ)"
  done | sort -n
}
backups=$(list_backups) || fail_drill "cannot list the base backups in $storage (wal-g backup-list or a backup record failed)"
[ -n "$backups" ] || bad_input "no base backups in $storage: take one first (pitr.sh base-backup)"
chosen=$(awk -F'\t' -v t="$target_us" '$1 <= t { line = $0 } END { print line }' <<<"$backups")
if [ -z "$chosen" ]; then
  IFS=$'\t' read -r _ oldest_name _ oldest_finish <<<"$(head -n1 <<<"$backups")"
  bad_input "ISO_TS: $ISO_TS is before the oldest base backup ($oldest_name, consistent at $oldest_finish): no backup to restore from"
fi
IFS=$'\t' read -r _ backup_name backup_start backup_finish <<<"$chosen"
log "target $target_iso: base backup $backup_name (consistent at $backup_finish), driver $driver, source $source_kind"

# ---- restore ------------------------------------------------------------------------------------
if [ -z "$target_dir" ]; then
  target_dir=$(mktemp -d "${TMPDIR:-/tmp}/pitr-restore.XXXXXX")
else
  mkdir -p "$target_dir"
fi
target_dir=$(cd "$target_dir" && pwd)
chmod 700 "$target_dir"
new_run_dir
server_log="$run_dir/postgres.log"
saved_log="$target_dir.pitr.log"
server_started=false
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ "$server_started" = true ] && [ "$keep_running" != true ]; then
    as_server_user pg_ctl -D "$target_dir" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$server_log" ]; then cp "$server_log" "$saved_log" 2>/dev/null || true; fi
  if [ "$keep_running" != true ] || [ "$server_started" != true ]; then rm -rf "$run_dir"; fi
  return 0
}
trap cleanup EXIT

# restore_command runs a wrapper whose path needs no quoting; the archive's location is inside it,
# quoted by printf %q, so no path (quotes, $(...), backticks, %) reaches a shell or Postgres unquoted.
# A segment or history file the archive does not have is the normal end of recovery's search: the
# wrapper exits 1 for it without WAL-G's "does not exist" ERROR lines.
{
  echo '#!/usr/bin/env bash'
  echo 'set -u'
  if [ "$driver" = local ]; then
    printf 'archive=%q\n' "$archive_dir/wal"
    cat <<'WRAPPER'
[ -f "$archive/$1" ] || exit 1
exec cp -- "$archive/$1" "$2"
WRAPPER
  else
    printf 'export PATH=%q\n' "$PATH"
    for var in WALG_S3_PREFIX WALG_FILE_PREFIX AWS_REGION; do
      if [ -n "${!var:-}" ]; then printf 'export %s=%q\n' "$var" "${!var}"; fi
    done
    cat <<'WRAPPER'
err=$(wal-g wal-fetch "$1" "$2" 2>&1 >/dev/null) && exit 0
case $err in *"does not exist"* | *"not found"*) exit 1 ;; esac
printf '%s\n' "$err" >&2
exit 1
WRAPPER
  fi
} >"$run_dir/restore-wal"
chmod 755 "$run_dir/restore-wal"

case "$driver" in
  local)
    src="$archive_dir/basebackups/$backup_name"
    tar -xf "$src"/base.tar* -C "$target_dir" || fail_drill "cannot unpack $src/base.tar"
    mkdir -p "$target_dir/pg_wal"
    if compgen -G "$src/pg_wal.tar*" >/dev/null; then tar -xf "$src"/pg_wal.tar* -C "$target_dir/pg_wal" || fail_drill "cannot unpack $src/pg_wal.tar"; fi
    ;;
  wal-g)
    wal-g backup-fetch "$target_dir" "$backup_name" >&2 || fail_drill "wal-g backup-fetch $backup_name failed (storage $storage)"
    ;;
esac
# Whatever the source ran as (primary, standby), this copy recovers on its own.
rm -f "$target_dir/postmaster.pid" "$target_dir/standby.signal" "$target_dir/recovery.signal"
target_pg=$(date -u -d "$ISO_TS" '+%Y-%m-%d %H:%M:%S.%6N+00')
cat >>"$target_dir/postgresql.auto.conf" <<EOF
# pitr.sh $(date -u +%Y-%m-%dT%H:%M:%SZ): point-in-time restore to $target_iso from $backup_name
restore_command = '$run_dir/restore-wal %f %p'
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

# Recovery that ends before the target: the archive has no WAL up to ISO_TS. With hot_standby the
# server may already accept read-only connections when it finds out, so every failure path asks.
recovery_fell_short() {
  grep -q "recovery ended before configured recovery target was reached" "$server_log" 2>/dev/null || return 1
  local last
  last=$(sed -n 's/.*last completed transaction was at log time \(.*\)$/\1/p' "$server_log" | tail -n1)
  fail_drill "the archive ends before ISO_TS $target_iso: the last transaction it holds committed at ${last:-an unknown time (no transaction after the backup point)}. Restore to that time or earlier; WAL written after it is archived within archive_timeout only while the database is written (an idle database archives nothing new, so waiting does not help)"
}
server_failed() { # message
  tail -n 20 "$server_log" >&2 || true
  recovery_fell_short || true
  fail_drill "$1 (server log: $saved_log)"
}

log "starting the restored server on port $port (data $target_dir)"
server_started=true
if ! as_server_user pg_ctl -D "$target_dir" -l "$server_log" -w -t "$timeout" -o "-c port=$port" start >/dev/null; then
  server_failed "the restored server did not start"
fi

deadline=$((SECONDS + timeout))
until [ "$(sql postgres -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do
  if ! as_server_user pg_ctl -D "$target_dir" status >/dev/null 2>&1; then
    server_failed "the restored server stopped during recovery"
  fi
  [ "$SECONDS" -lt "$deadline" ] || server_failed "recovery did not end within ${timeout}s"
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
if [ -n "$stopped_time_pg" ]; then
  stopped_time=$(sql postgres -c "select $(iso_of "'$stopped_time_pg'::timestamptz")")
  stopped_ok=$(sql postgres -c "select '$stopped_time_pg'::timestamptz > '$target_pg'::timestamptz")
fi
promoted=$(grep -c -E 'database system is ready to accept connections|selected new timeline ID' "$server_log" || true)
redo_start=$(sed -n 's/.*redo starts at \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$server_log" | head -n1)
redo_end=$(sed -n 's/.*redo done at \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$server_log" | head -n1)
if [ -n "$redo_start" ] && [ -n "$redo_end" ]; then
  wal_bytes=$(sql postgres -c "select pg_wal_lsn_diff('$redo_end', '$redo_start')::bigint")
  # The segments recovery needed: those between the redo start and end. Recovery prefetch also
  # restores segments past the end, which it never replayed; they are not counted.
  segment_size=$(sql postgres -c "select setting::bigint * (case unit when 'B' then 1 when 'kB' then 1024 when 'MB' then 1048576 else 1 end) from pg_settings where name = 'wal_segment_size'")
  segments=$(sed -n 's/.*restored log file "\([0-9A-F]\{24\}\)" from archive.*/\1/p' "$server_log" | sort -u |
    START=$redo_start END=$redo_end SIZE=$segment_size perl -ne '
      BEGIN { sub segno { my ($hi, $lo) = map { hex } split m{/}, shift; int(($hi * 2**32 + $lo) / $ENV{SIZE}) }
              $first = segno($ENV{START}); $last = segno($ENV{END}); $per = int(2**32 / $ENV{SIZE}) }
      chomp; my $n = hex(substr($_, 8, 8)) * $per + hex(substr($_, 16, 8));
      print "$_\n" if $n >= $first && $n <= $last')
fi
if [ -n "$verify_sql" ]; then
  # psql's stderr is kept apart: the check's answer is its stdout only.
  verify_err="$run_dir/verify.err"
  if verify_result=$(printf '%s\n' "$verify_sql" | sql "$database" -v target="$target_pg" 2>"$verify_err"); then
    :
  else
    verify_result="error: $(tr '\n' ' ' <"$verify_err" | sed 's/ *$//')"
  fi
fi

record=$(drill_record "")
emit_record "$record" last-drill.json
if grep -q '"result" : "pass"' <<<"$record"; then
  log "verified: restored to $target_iso (last commit replayed: ${achieved:-none}) in $((($(date +%s%3N) - started_ms) / 1000))s"
  if [ "$keep_running" = true ]; then log "the restored server keeps running (socket and log in $run_dir: remove it after pg_ctl -D $target_dir stop)"; fi
  exit 0
fi
fail "NOT verified: see the checks in the drill record (server log: $saved_log)"
