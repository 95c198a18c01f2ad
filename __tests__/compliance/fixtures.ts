import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

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
  if (files.backup !== undefined) put(join(dataDir, "backup", "last-backup.json"), files.backup);
  if (files.drill !== undefined) put(join(dataDir, "drills", "last-drill.json"), files.drill);
}

/** A clean gate run: no violations. */
export const cleanVerdicts = (generatedAt = new Date()) => ({ violations: [], passed: 42, generatedAt: generatedAt.toISOString() });
