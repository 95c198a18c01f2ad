/** The frameworks every control maps to. */
export const frameworks = ["soc2", "iso27001", "nist80053"] as const;
export type Framework = (typeof frameworks)[number];
export const frameworkTitles: Record<Framework, string> = {
  soc2: "SOC 2 (2017 TSC)",
  iso27001: "ISO/IEC 27001:2022 Annex A",
  nist80053: "NIST SP 800-53 Rev. 5",
};

/** A control's status, derived from evidence on every report; never stored by hand. */
export const controlStatuses = ["pass", "fail", "stale", "unknown"] as const;
export type ControlStatus = (typeof controlStatuses)[number];

/**
 * One observation from one evidence source, as a probe returns it.
 * `observedAt` is when the fact was true (a file's generation time, a backup's finish time, a
 * live query's time); `collectedAt` is when the service read it.
 */
export interface Evidence {
  /** The probe's stable id, e.g. "policy-verdicts", "mtls-share". */
  source: string;
  /** Where it came from, for a human: a file path, a Prometheus query, a table. */
  origin: string;
  /** available: the source answered; missing: not configured or not there; error: it failed. */
  state: "available" | "missing" | "error";
  observedAt?: string;
  collectedAt: string;
  /** One line for people: what the source said, or why it said nothing. */
  summary: string;
  /** The source's data, for the control checks and the evidence link (JSON only). */
  data?: unknown;
}

/** A check's reading of one evidence item. */
export interface CheckVerdict {
  pass: boolean;
  /** Why, in one line: names the number or record that decided it. */
  reason: string;
}

/** What a control needs from one evidence source. */
export interface EvidenceRequirement {
  source: string;
  /** Evidence observed longer ago than this is stale, and stale is not a pass. */
  maxAgeSeconds: number;
  /** Decides pass/fail from available evidence at report time (staleness and absence are handled outside). */
  check(evidence: Evidence, now: Date): CheckVerdict;
}

export interface FrameworkMapping {
  soc2: string[];
  iso27001: string[];
  nist80053: string[];
}

/** A control of the catalogue: static text and mappings, and the evidence it is judged by. */
export interface ControlDefinition {
  /** Stable, lower-case kebab id, e.g. "transit-encryption". */
  id: string;
  title: string;
  /** What must hold, in a sentence or two. */
  objective: string;
  frameworks: FrameworkMapping;
  evidence: EvidenceRequirement[];
}

/** One requirement's outcome on a report. */
export interface EvidenceResult {
  source: string;
  origin: string;
  state: Evidence["state"];
  observedAt: string | null;
  collectedAt: string;
  /** Seconds between observedAt and the report; null without observedAt. */
  ageSeconds: number | null;
  maxAgeSeconds: number;
  status: ControlStatus;
  summary: string;
  reason: string;
  /** The API path of this evidence item. */
  href: string;
}

export interface ControlResult {
  id: string;
  title: string;
  objective: string;
  frameworks: FrameworkMapping;
  status: ControlStatus;
  /** The requirement that decided the status, in one line. */
  reason: string;
  /** Age of the oldest evidence the status rests on, in seconds; null when none has a time. */
  evidenceAgeSeconds: number | null;
  evidence: EvidenceResult[];
}

export interface FrameworkSummary {
  framework: Framework;
  title: string;
  /** Controls mapping to this framework, by status. */
  total: number;
  pass: number;
  fail: number;
  stale: number;
  unknown: number;
}

/** What buildComplianceReport returns: the shape the exports and the signed pack rely on. */
export interface ComplianceReport {
  /** Report schema version; bumped only on incompatible change. */
  version: 1;
  generatedAt: string;
  service: { name: string; environment: string };
  summary: FrameworkSummary[];
  controls: ControlResult[];
}
