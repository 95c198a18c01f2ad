import type { AuditLog } from "../audit/types";
import type { Db } from "../db";
import { controlCatalogue } from "./catalogue";
import { createAuditChainProbe } from "./probes/audit-chain";
import { mtlsProbe } from "./probes/mtls";
import { backupProbe, drillProbe } from "./probes/records";
import { defaultRegisteredProbes } from "./probes/registered";
import type { EvidenceProbe, ProbeContext } from "./probes/types";
import { failed } from "./probes/types";
import { verdictsProbe } from "./probes/verdicts";
import type { ComplianceSettings } from "./settings";
import type { ServiceSettings } from "../settings";
import {
  frameworks,
  frameworkTitles,
  type ComplianceReport,
  type ControlDefinition,
  type ControlResult,
  type ControlStatus,
  type Evidence,
  type EvidenceResult,
} from "./types";

/** The probes an engine has from the start; other areas replace the registered stand-ins. */
export function builtinProbes(settings: ComplianceSettings): EvidenceProbe[] {
  return [
    verdictsProbe,
    mtlsProbe,
    backupProbe,
    drillProbe,
    createAuditChainProbe({ fullEveryMs: settings.auditFullVerifySeconds * 1000 }),
    ...defaultRegisteredProbes,
  ];
}

/** The compliance part of the service context: its evidence probes and their cached readings. */
export interface ComplianceEngine {
  readonly settings: ComplianceSettings;
  readonly catalogue: readonly ControlDefinition[];
  /** Adds a probe, or replaces the one with the same source id (e.g. the WORM sink's "worm-backlog"). */
  registerEvidenceProbe(probe: EvidenceProbe): void;
  /** The probes by source id. */
  probes(): ReadonlyMap<string, EvidenceProbe>;
  /**
   * Evidence from every probe, read at most once per evidenceTtlSeconds (concurrent callers share
   * one collection). A reading between one and two TTLs old is returned at once while a new one is
   * taken in the background; `fresh` waits for a new reading.
   */
  collectEvidence(options?: { fresh?: boolean }): Promise<Map<string, Evidence>>;
}

export interface ComplianceEngineDeps {
  settings: ComplianceSettings;
  db: Db;
  audit: AuditLog;
  /** @default () => new Date() */
  now?: () => Date;
}

export function createComplianceEngine(
  deps: ComplianceEngineDeps,
  catalogue: readonly ControlDefinition[] = controlCatalogue,
): ComplianceEngine {
  const now = deps.now ?? (() => new Date());
  const probes = new Map(builtinProbes(deps.settings).map((p) => [p.source, p]));
  const probeContext: ProbeContext = { settings: deps.settings, db: deps.db, audit: deps.audit, now };
  let cached: { at: number; evidence: Map<string, Evidence> } | undefined;
  let inflight: Promise<Map<string, Evidence>> | undefined;

  const collectAll = async (): Promise<Map<string, Evidence>> => {
    const readings = await Promise.all(
      [...probes.values()].map(async (probe) => {
        try {
          return await probe.collect(probeContext);
        } catch (err) {
          // collect must not throw; one that does is an error reading, not a failed report.
          return failed(probe.source, probe.title, now(), err);
        }
      }),
    );
    return new Map(readings.map((e) => [e.source, e]));
  };

  return {
    settings: deps.settings,
    catalogue,
    registerEvidenceProbe(probe) {
      probes.set(probe.source, probe);
      cached = undefined;
    },
    probes: () => probes,
    async collectEvidence(options = {}) {
      const ttlMs = deps.settings.evidenceTtlSeconds * 1000;
      const age = cached ? now().getTime() - cached.at : Infinity;
      if (!options.fresh && cached && age < ttlMs) return cached.evidence;
      if (!inflight) {
        const started = now().getTime();
        inflight = collectAll()
          .then((evidence) => {
            cached = { at: started, evidence };
            return evidence;
          })
          .finally(() => (inflight = undefined));
      }
      // Within a second TTL the last reading is served while the new one is taken, so requests
      // never queue behind a collection; older than that, callers wait for the new reading.
      if (!options.fresh && cached && age < 2 * ttlMs) return cached.evidence;
      return inflight;
    },
  };
}

const severity: Record<ControlStatus, number> = { pass: 0, stale: 1, unknown: 2, fail: 3 };

/** One requirement against its evidence at time `now`: missing → unknown, failed check → fail, too old → stale. */
function judge(requirement: ControlDefinition["evidence"][number], evidence: Evidence | undefined, now: Date): EvidenceResult {
  const href = `/api/compliance/evidence/${encodeURIComponent(requirement.source)}`;
  if (!evidence) {
    return {
      source: requirement.source,
      origin: "(no probe)",
      state: "missing",
      observedAt: null,
      collectedAt: now.toISOString(),
      ageSeconds: null,
      maxAgeSeconds: requirement.maxAgeSeconds,
      status: "unknown",
      summary: `no probe is registered for ${requirement.source}`,
      reason: `no probe is registered for ${requirement.source}`,
      href,
    };
  }
  const observed = evidence.observedAt ? Date.parse(evidence.observedAt) : NaN;
  const ageSeconds = Number.isNaN(observed) ? null : Math.max(0, Math.round((now.getTime() - observed) / 1000));
  const base = {
    source: evidence.source,
    origin: evidence.origin,
    state: evidence.state,
    observedAt: evidence.observedAt ?? null,
    collectedAt: evidence.collectedAt,
    ageSeconds,
    maxAgeSeconds: requirement.maxAgeSeconds,
    summary: evidence.summary,
    href,
  };
  if (evidence.state !== "available")
    return { ...base, status: "unknown", reason: `${evidence.source} is ${evidence.state}: ${evidence.summary}` };
  if (ageSeconds === null) return { ...base, status: "unknown", reason: `${evidence.source} has no observation time` };
  let verdict;
  try {
    verdict = requirement.check(evidence, now);
  } catch (err) {
    return { ...base, status: "unknown", reason: `${evidence.source} could not be read: ${(err as Error).message}` };
  }
  if (!verdict.pass) return { ...base, status: "fail", reason: verdict.reason };
  if (ageSeconds > requirement.maxAgeSeconds)
    return {
      ...base,
      status: "stale",
      reason: `${evidence.source} is ${ageSeconds} s old (limit ${requirement.maxAgeSeconds} s): ${verdict.reason}`,
    };
  return { ...base, status: "pass", reason: verdict.reason };
}

/**
 * A control's status from its evidence: fail if any requirement fails, else unknown if any
 * evidence is missing, else stale if any is too old, else pass. A control with no evidence
 * requirements is unknown.
 */
export function evaluateControl(control: ControlDefinition, evidence: ReadonlyMap<string, Evidence>, now: Date): ControlResult {
  const results = control.evidence.map((r) => judge(r, evidence.get(r.source), now));
  let decisive = results[0];
  for (const r of results) if (severity[r.status] > severity[decisive.status]) decisive = r;
  const ages = results.map((r) => r.ageSeconds).filter((a): a is number => a !== null);
  return {
    id: control.id,
    title: control.title,
    objective: control.objective,
    frameworks: control.frameworks,
    status: decisive ? decisive.status : "unknown",
    reason: decisive ? decisive.reason : "the control names no evidence",
    evidenceAgeSeconds: ages.length > 0 ? Math.max(...ages) : null,
    evidence: results,
  };
}

/** The engine of a service: its compliance settings (defaults when the settings carry none). */
export function complianceEngineFor(service: { settings: ServiceSettings; db: Db; audit: AuditLog }): ComplianceEngine {
  const settings = service.settings.compliance;
  return createComplianceEngine({ settings, db: service.db, audit: service.audit });
}

/** Anything with a compliance engine and the environment name: the service context. */
export interface ReportContext {
  compliance: ComplianceEngine;
  settings: { environment: string };
}

/**
 * Every control of the catalogue with its derived status and the evidence behind it. This is
 * the function the exports and the signed pack build on; its return shape is versioned.
 */
export async function buildComplianceReport(
  context: ReportContext,
  options: { fresh?: boolean; now?: Date } = {},
): Promise<ComplianceReport> {
  const evidence = await context.compliance.collectEvidence({ fresh: options.fresh });
  const now = options.now ?? new Date();
  const controls = context.compliance.catalogue.map((c) => evaluateControl(c, evidence, now));
  return {
    version: 1,
    generatedAt: now.toISOString(),
    service: { name: context.compliance.settings.serviceName, environment: context.settings.environment },
    summary: frameworks.map((framework) => {
      const mapped = controls.filter((c) => c.frameworks[framework].length > 0);
      const count = (s: ControlStatus) => mapped.filter((c) => c.status === s).length;
      return {
        framework,
        title: frameworkTitles[framework],
        total: mapped.length,
        pass: count("pass"),
        fail: count("fail"),
        stale: count("stale"),
        unknown: count("unknown"),
      };
    }),
    controls,
  };
}
