// The DR records: what tools/db/pitr.sh writes after a base backup and after a restore drill, and
// what the compliance service reads as evidence (database-backup, recovery-drill). One schema each,
// owned here; pitr.sh's tests validate what it writes against them, the drill workflow checks its
// record with `node -r ./tools/register.js tools/db/check-record.ts`, and the probes parse with them.
import { z } from "zod";
import { schemaProblems } from "../lib/problems";

/** An ISO 8601 time with a zone (Z or ±hh:mm): the one check for times in records and in query parameters. */
export const isoTime = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)) && /T.*(Z|[+-]\d\d:\d\d)$/.test(s), "must be an ISO 8601 time with a zone");
const lsn = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/, "must be a WAL location such as 0/3000028");

/** Where the records live inside an archive: `<prefix>/records/` in the bucket, `<dir>/records/` locally. */
export const recordsFolder = "records";
export const backupRecordName = "last-backup.json";
export const drillRecordName = "last-drill.json";

/** The object key of a record in an archive whose key prefix is `prefix` (no leading or trailing '/'). */
export function recordKey(prefix: string, record: typeof backupRecordName | typeof drillRecordName): string {
  return `${prefix}/${recordsFolder}/${record}`;
}

export const backupSchemaId = "maestro.backup-record/v1";
export const drillSchemaId = "maestro.drill-record/v1";

/** The last base backup attempt (`pitr.sh base-backup` writes one after each, passed or failed). */
export const backupRecordSchema = z
  .object({
    schema: z.literal(backupSchemaId),
    /** pass: the backup was taken (and retention ran, if asked); fail: it was not. */
    result: z.enum(["pass", "fail"]),
    /** Why the attempt failed; null when it passed. */
    failure: z.string().min(1).nullable(),
    /** When the record was written, after the backup (and retention) finished. */
    finished_at: isoTime,
    /** The backup taken; null when the attempt failed. */
    backup: z
      .object({
        /** The backup's name in the store, e.g. base_000000010000000000000003. */
        name: z.string().min(1),
        start_time: isoTime,
        /** The backup is consistent from this time on: the earliest point it can restore. */
        finish_time: isoTime,
        start_lsn: lsn.nullable(),
        finish_lsn: lsn.nullable(),
      })
      .strict()
      .nullable(),
    /** wal-g (production) or pg_basebackup (the local driver). */
    tool: z.enum(["wal-g", "pg_basebackup"]),
    /** WALG_S3_PREFIX / WALG_FILE_PREFIX, or the local archive directory. */
    storage: z.string().min(1),
    /** Full backups kept by `wal-g delete retain FULL n` after this one; null when retention did not run. */
    retained_full: z.number().int().min(1).nullable(),
  })
  .strict()
  .refine((r) => (r.result === "pass") === (r.backup !== null && r.failure === null), {
    message: "result must be pass exactly when there is a backup and no failure",
    path: ["result"],
  });
export type BackupRecord = z.infer<typeof backupRecordSchema>;

const check = z.object({ name: z.string().min(1), ok: z.boolean(), detail: z.string().optional() }).strict();

/** The last disaster-recovery drill (`pitr.sh` writes one for every restore it attempted). */
export const drillRecordSchema = z
  .object({
    schema: z.literal(drillSchemaId),
    /** pass: restored to the target and every check held; fail: anything else. */
    result: z.enum(["pass", "fail"]),
    started_at: isoTime,
    finished_at: isoTime,
    /** The point in time restored to (ISO_TS, normalised to UTC with microseconds), and as given. */
    target: isoTime,
    target_input: z.string().min(1),
    /** Commit time of the last transaction replayed; null when none was replayed after the backup point. */
    achieved: isoTime.nullable(),
    /** The first transaction after the target, which recovery did not apply. */
    stopped_before: z.object({ xid: z.number().int().nonnegative(), time: isoTime }).strict().nullable(),
    /** The base backup restored from; null when the drill failed before one was chosen. */
    backup: z
      .object({ name: z.string().min(1), start_time: isoTime, finish_time: isoTime })
      .strict()
      .nullable(),
    driver: z.enum(["wal-g", "local"]),
    storage: z.string().min(1),
    /** primary: the backup bucket in the stack's region; replica: its cross-region replica. */
    source: z.enum(["primary", "replica"]),
    wal_replayed: z
      .object({
        redo_start_lsn: lsn.nullable(),
        redo_end_lsn: lsn.nullable(),
        bytes: z.number().int().nonnegative(),
        /** Segments between the redo start and end (what recovery needed, not what it prefetched). */
        segments_restored: z.number().int().nonnegative(),
        first_segment: z
          .string()
          .regex(/^[0-9A-F]{24}$/)
          .nullable(),
        last_segment: z
          .string()
          .regex(/^[0-9A-F]{24}$/)
          .nullable(),
      })
      .strict(),
    /** Wall time of the whole drill (RTO as measured) and until the restored server was promoted. */
    duration_seconds: z.number().nonnegative(),
    recovery_seconds: z.number().nonnegative().nullable(),
    /** archive_timeout of the source: the RPO bound, when known (from the stack outputs). */
    rpo_seconds: z.number().int().positive().nullable(),
    data_dir: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    server_running: z.boolean(),
    verification: z.object({ verified: z.boolean(), checks: z.array(check) }).strict(),
    /** Why the drill failed before its checks could run (recovery did not reach the target, ...). */
    failure: z.string().min(1).nullable(),
  })
  .strict()
  .refine((r) => (r.result === "pass") === (r.verification.verified && r.failure === null), {
    message: "result must be pass exactly when verification.verified is true and there is no failure",
    path: ["result"],
  });
export type DrillRecord = z.infer<typeof drillRecordSchema>;

/** Problems of a parsed record, one line each (`path: message`), for errors and evidence summaries. */
export function recordProblems(error: z.ZodError): string {
  return schemaProblems(error).join("; ");
}
