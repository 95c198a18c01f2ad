import { readFile } from "node:fs/promises";
import { backupRecordSchema, drillRecordSchema, recordProblems, type BackupRecord, type DrillRecord } from "../../../contracts/records";
import type { RecordLocation } from "../settings";
import { failed, missing, type EvidenceProbe } from "./types";
import type { z } from "zod";

export type { BackupRecord, DrillRecord };

/** Where a record is, for people and evidence origins: a path or s3://bucket/key. */
export function describeLocation(location: RecordLocation): string {
  return location.kind === "file" ? location.path : `s3://${location.bucket}/${location.key}`;
}

/** The record's text, or undefined when there is none (no file, no object). */
async function readRecord(location: RecordLocation): Promise<string | undefined> {
  if (location.kind === "file") {
    try {
      return await readFile(location.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }
  // Loaded on use, like the WORM sink: most runs read files and never pay for the SDK.
  const { GetObjectCommand, S3Client } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  const client = new S3Client({
    region: location.region,
    ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
  });
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    return await object.Body!.transformToString("utf8");
  } catch (err) {
    if ((err as { name?: string }).name === "NoSuchKey") return undefined;
    throw err;
  } finally {
    client.destroy();
  }
}

/** A probe over a JSON record (a file, or an object in the backup bucket): none → missing; unreadable or malformed → error. */
function recordProbe<T extends { finished_at: string }>(
  source: string,
  title: string,
  schema: z.ZodType<T>,
  locationOf: (ctx: Parameters<EvidenceProbe["collect"]>[0]) => RecordLocation,
  describe: (record: T) => string,
): EvidenceProbe {
  return {
    source,
    title,
    async collect(ctx) {
      const now = ctx.now();
      const location = locationOf(ctx);
      const origin = describeLocation(location);
      let text: string | undefined;
      try {
        text = await readRecord(location);
      } catch (err) {
        return failed(source, origin, now, err);
      }
      if (text === undefined) return missing(source, origin, now, `no record at ${origin}`);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        return failed(source, origin, now, new Error(`${origin} is not JSON: ${(err as Error).message}`));
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) return failed(source, origin, now, new Error(`${origin} is malformed: ${recordProblems(parsed.error)}`));
      const record = parsed.data;
      return {
        source,
        origin,
        state: "available",
        observedAt: new Date(record.finished_at).toISOString(),
        collectedAt: now.toISOString(),
        summary: describe(record),
        data: record,
      };
    },
  };
}

export const backupProbe = recordProbe(
  "last-backup",
  "Last successful base backup",
  backupRecordSchema,
  (ctx) => ctx.settings.backupRecord,
  (r) =>
    r.backup
      ? `base backup ${r.backup.name} (${r.tool}) consistent at ${r.backup.finish_time}, recorded ${r.finished_at}`
      : `base backup failed at ${r.finished_at} (${r.tool}): ${r.failure}`,
);

export const drillProbe = recordProbe(
  "last-drill",
  "Last disaster-recovery drill",
  drillRecordSchema,
  (ctx) => ctx.settings.drillRecord,
  (r) =>
    `drill ${r.result === "pass" ? "passed" : "failed"} at ${r.finished_at}, restoring to ${r.target}` +
    ` from the ${r.source} archive in ${r.duration_seconds} s` +
    (r.failure ? `: ${r.failure}` : ""),
);
