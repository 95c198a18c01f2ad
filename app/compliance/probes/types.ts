import type { Db } from "../../db";
import type { AuditLog } from "../../audit/types";
import type { ComplianceSettings } from "../settings";
import type { Evidence } from "../types";

/** What a probe may read: settings, the service database and audit log, and the clock. */
export interface ProbeContext {
  settings: ComplianceSettings;
  db: Db;
  audit: AuditLog;
  now(): Date;
}

/**
 * One evidence source. `collect` never throws: a source that cannot answer returns
 * state "missing" (not configured / not there) or "error" (it failed), which makes the
 * controls that need it unknown. Other areas add theirs with registerEvidenceProbe.
 */
export interface EvidenceProbe {
  /** Stable id the catalogue refers to, e.g. "worm-backlog". */
  source: string;
  /** What it measures, for people. */
  title: string;
  collect(ctx: ProbeContext): Promise<Evidence>;
}

/** Evidence that a source is not there (absent file, unset URL, no registered provider). */
export function missing(source: string, origin: string, collectedAt: Date, summary: string): Evidence {
  return { source, origin, state: "missing", collectedAt: collectedAt.toISOString(), summary };
}

/** Evidence that a source failed to answer; the summary carries the error. */
export function failed(source: string, origin: string, collectedAt: Date, err: unknown): Evidence {
  const message = err instanceof Error ? err.message : String(err);
  return { source, origin, state: "error", collectedAt: collectedAt.toISOString(), summary: message.slice(0, 500) };
}
