import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  backupRecordName,
  backupSchemaId,
  drillRecordName,
  drillSchemaId,
  recordsFolder,
  type BackupRecord,
  type DrillRecord,
} from "../contracts/records";

/** Writes the evidence files a release and the backup/drill jobs would leave, under dataDir's defaults. */
export interface EvidenceFiles {
  verdicts?: unknown;
  /** mtime of the verdicts file when it carries no generatedAt. */
  verdictsMtime?: Date;
  backup?: unknown;
  drill?: unknown;
}

export const hoursAgo = (h: number, from = new Date()) => new Date(from.getTime() - h * 3600_000);

export function writeEvidence(dataDir: string, files: EvidenceFiles): void {
  const put = (path: string, value: unknown) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  };
  const verdictsPath = join(dataDir, "release", "policy-verdicts.json");
  if (files.verdicts !== undefined) put(verdictsPath, files.verdicts);
  if (files.verdictsMtime) utimesSync(verdictsPath, files.verdictsMtime, files.verdictsMtime);
  if (files.backup !== undefined) put(join(dataDir, recordsFolder, backupRecordName), files.backup);
  if (files.drill !== undefined) put(join(dataDir, recordsFolder, drillRecordName), files.drill);
}

/** A clean gate run: no violations. */
export const cleanVerdicts = (generatedAt = new Date()) => ({ violations: [], passed: 42, generatedAt: generatedAt.toISOString() });

/** A valid backup record (contracts/records.ts) as `pitr.sh base-backup --driver wal-g` writes it. */
export function backupRecord(finishedAt: Date, name: string, overrides: Partial<BackupRecord> = {}): BackupRecord {
  const finish = new Date(finishedAt.getTime() - 60_000).toISOString();
  return {
    schema: backupSchemaId,
    result: "pass",
    failure: null,
    finished_at: finishedAt.toISOString(),
    backup: {
      name,
      start_time: new Date(finishedAt.getTime() - 300_000).toISOString(),
      finish_time: finish,
      start_lsn: "0/2000028",
      finish_lsn: "0/2000100",
    },
    tool: "wal-g",
    storage: "s3://maestro-staging-backups/walg/compliance",
    retained_full: 3,
    ...overrides,
  };
}

/** A valid drill record as pitr.sh writes it; `result: "fail"` comes with a failed check. */
export function drillRecord(finishedAt: Date, result: "pass" | "fail", overrides: Partial<DrillRecord> = {}): DrillRecord {
  const at = (ms: number) => new Date(finishedAt.getTime() - ms).toISOString();
  return {
    schema: drillSchemaId,
    result,
    started_at: at(412_000),
    finished_at: finishedAt.toISOString(),
    target: at(86_400_000),
    target_input: at(86_400_000),
    achieved: at(86_401_000),
    stopped_before: { xid: 812, time: at(86_399_000) },
    backup: { name: "base_000000010000000000000009", start_time: at(90_000_000), finish_time: at(89_990_000) },
    driver: "wal-g",
    storage: "s3://maestro-staging-backups/walg/compliance",
    source: "primary",
    wal_replayed: {
      redo_start_lsn: "0/9000028",
      redo_end_lsn: "0/B000100",
      bytes: 33554648,
      segments_restored: 3,
      first_segment: "000000010000000000000009",
      last_segment: "00000001000000000000000B",
    },
    duration_seconds: 412,
    recovery_seconds: 380,
    rpo_seconds: 60,
    data_dir: "/restore/data",
    port: 5432,
    server_running: false,
    verification: {
      verified: result === "pass",
      checks: [
        { name: "recovery ended and the server was promoted", ok: true },
        { name: "verify-sql", ok: result === "pass", detail: result === "pass" ? "select true => t" : "row count mismatch => f" },
      ],
    },
    failure: null,
    ...overrides,
  };
}
