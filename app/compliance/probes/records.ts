import { readFile } from "node:fs/promises";
import { z } from "zod";
import { failed, missing, type EvidenceProbe } from "./types";

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 time");

/** The last successful base backup, as the backup job records it. */
export const backupRecordSchema = z.object({
  /** When the base backup finished. */
  finishedAt: isoTime,
  /** The backup's name in the backup store, e.g. base_000000010000000000000003. */
  backup: z.string().min(1),
  /** Which tool made it, e.g. "wal-g", "pg_basebackup". */
  tool: z.string().min(1).optional(),
});
export type BackupRecord = z.infer<typeof backupRecordSchema>;

/** The last disaster-recovery drill, as tools/db/pitr.sh records it. */
export const drillRecordSchema = z.object({
  finishedAt: isoTime,
  /** pass: the database was restored to the target time and verified. */
  result: z.enum(["pass", "fail"]),
  /** The point in time the drill restored to. */
  targetTime: isoTime.optional(),
  /** Restore duration, for RTO. */
  durationSeconds: z.number().nonnegative().optional(),
  detail: z.string().optional(),
});
export type DrillRecord = z.infer<typeof drillRecordSchema>;

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** A probe over a JSON record file: missing file → missing; unreadable or malformed → error. */
function recordProbe<T extends { finishedAt: string }>(
  source: string,
  title: string,
  schema: z.ZodType<T>,
  fileOf: (ctx: Parameters<EvidenceProbe["collect"]>[0]) => string,
  describe: (record: T) => string,
): EvidenceProbe {
  return {
    source,
    title,
    async collect(ctx) {
      const now = ctx.now();
      const file = fileOf(ctx);
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return missing(source, file, now, `no record at ${file}`);
        return failed(source, file, now, err);
      }
      try {
        const parsed = schema.safeParse(JSON.parse(text));
        if (!parsed.success) return failed(source, file, now, new Error(`${file} is malformed: ${formatIssues(parsed.error)}`));
        const record = parsed.data;
        return {
          source,
          origin: file,
          state: "available",
          observedAt: new Date(record.finishedAt).toISOString(),
          collectedAt: now.toISOString(),
          summary: describe(record),
          data: record,
        };
      } catch (err) {
        return failed(source, file, now, new Error(`${file} is not JSON: ${(err as Error).message}`));
      }
    },
  };
}

export const backupProbe = recordProbe(
  "last-backup",
  "Last successful base backup",
  backupRecordSchema,
  (ctx) => ctx.settings.backupRecordFile,
  (r) => `base backup ${r.backup}${r.tool ? ` (${r.tool})` : ""} finished ${r.finishedAt}`,
);

export const drillProbe = recordProbe(
  "last-drill",
  "Last disaster-recovery drill",
  drillRecordSchema,
  (ctx) => ctx.settings.drillRecordFile,
  (r) =>
    `drill ${r.result === "pass" ? "passed" : "failed"} at ${r.finishedAt}` +
    (r.targetTime ? `, restored to ${r.targetTime}` : "") +
    (r.durationSeconds !== undefined ? ` in ${r.durationSeconds} s` : ""),
);
