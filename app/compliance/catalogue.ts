import { isBlocking, type Verdicts } from "./probes/verdicts";
import type { BackupRecord, DrillRecord } from "./probes/records";
import { bundleSignatureSource, scimSyncSource, wormBacklogSource } from "./probes/registered";
import type { CheckVerdict, ControlDefinition, Evidence, EvidenceRequirement } from "./types";

const minute = 60;
const hour = 60 * minute;
const day = 24 * hour;

/** The deployed release's verdicts may be this old before they no longer count (one release cycle). */
const verdictsMaxAge = 30 * day;

/**
 * Requirement: no blocking policy violation in the named stacks (and, when given, rule ids with
 * one of the prefixes). Advisory severities (warn, info) do not fail it.
 */
export function policyVerdicts(scope: { stacks?: string[]; rulePrefixes?: string[] }): EvidenceRequirement {
  const inScope = (v: { stack: string; rule: string }) =>
    (scope.stacks === undefined || scope.stacks.includes(v.stack)) &&
    (scope.rulePrefixes === undefined || scope.rulePrefixes.some((p) => v.rule.startsWith(p)));
  const where = [scope.stacks && `stacks ${scope.stacks.join(", ")}`, scope.rulePrefixes && `rules ${scope.rulePrefixes.join(", ")}*`]
    .filter(Boolean)
    .join(", ");
  return {
    source: "policy-verdicts",
    maxAgeSeconds: verdictsMaxAge,
    check(evidence): CheckVerdict {
      const verdicts = evidence.data as Verdicts;
      const blocking = verdicts.violations.filter((v) => inScope(v) && isBlocking(v));
      if (blocking.length === 0) return { pass: true, reason: `no blocking policy violation in ${where || "any stack"}` };
      const first = blocking[0];
      return {
        pass: false,
        reason: `${blocking.length} blocking violation(s) in ${where || "the synth output"}, first: ${first.rule} at ${first.resource}: ${first.message}`,
      };
    },
  };
}

/** A probe whose data carries a numeric field: pass when the predicate holds. */
function measured<T>(
  source: string,
  maxAgeSeconds: number,
  decide: (data: T, evidence: Evidence, now: Date) => CheckVerdict,
): EvidenceRequirement {
  return { source, maxAgeSeconds, check: (evidence, now) => decide(evidence.data as T, evidence, now) };
}

/** mTLS share below this (as a fraction) fails SC-8: STRICT mode admits no plaintext. */
export const minMtlsShare = 0.999;
/** A daily base backup plus two hours of slack (CP-9 / RPO). */
export const maxBackupAgeSeconds = 26 * hour;
/** Drills are quarterly; a record older than that is stale. */
export const maxDrillAgeSeconds = 92 * day;

/** The checks of a drill that did not hold, for the reason a control gives. */
function failedChecks(d: DrillRecord): string {
  const failing = d.verification.checks.filter((c) => !c.ok);
  return failing.length ? failing.map((c) => (c.detail ? `${c.name} (${c.detail})` : c.name)).join("; ") : "not verified";
}
/** Audit events waiting for the Object Lock bucket longer than this fail AU-9. */
export const maxWormLagSeconds = 5 * minute;

/**
 * The control catalogue. Mappings follow NIST SP 800-53 Rev. 5, the 2017 Trust Services
 * Criteria (SOC 2) and ISO/IEC 27001:2022 Annex A. Each control is judged only by its evidence.
 */
export const controlCatalogue: readonly ControlDefinition[] = [
  {
    id: "transit-encryption",
    title: "Service-to-service traffic is encrypted and mutually authenticated (mTLS)",
    objective: "Mesh-wide PeerAuthentication is STRICT and every request between workloads arrives over mutual TLS with a SPIFFE identity.",
    frameworks: { soc2: ["CC6.1", "CC6.7"], iso27001: ["A.8.20", "A.8.24"], nist80053: ["SC-8", "SC-8(1)", "IA-3"] },
    evidence: [
      policyVerdicts({ stacks: ["mesh"] }),
      measured<{ share: number }>("mtls-share", 15 * minute, (d) =>
        d.share >= minMtlsShare
          ? { pass: true, reason: `${(d.share * 100).toFixed(2)}% of mesh requests over mTLS (≥ ${minMtlsShare * 100}%)` }
          : { pass: false, reason: `only ${(d.share * 100).toFixed(2)}% of mesh requests over mTLS (needs ≥ ${minMtlsShare * 100}%)` },
      ),
    ],
  },
  {
    id: "audit-log-integrity",
    title: "Audit records are tamper-evident and retained on WORM storage",
    objective:
      "Every security-relevant event is appended to a hash-chained log and written to an S3 Object Lock bucket in COMPLIANCE mode before retention.",
    frameworks: { soc2: ["CC7.2", "CC7.3"], iso27001: ["A.8.15", "A.5.28"], nist80053: ["AU-9", "AU-9(4)", "AU-10", "AU-11"] },
    evidence: [
      policyVerdicts({ stacks: ["audit"] }),
      measured<{ intact: boolean; verified: number; brokenAt: number | null; problem?: string }>("audit-chain", 15 * minute, (d) =>
        d.intact
          ? { pass: true, reason: `hash chain intact over ${d.verified} entries` }
          : { pass: false, reason: d.problem ?? `hash chain broken at entry ${d.brokenAt}` },
      ),
      measured<{ pending: number; oldestPendingAt?: string | null }>(wormBacklogSource, 10 * minute, (d, _e, now) => {
        const lag = d.oldestPendingAt ? (now.getTime() - Date.parse(d.oldestPendingAt)) / 1000 : 0;
        return d.pending === 0 || lag <= maxWormLagSeconds
          ? { pass: true, reason: `${d.pending} event(s) waiting for the Object Lock bucket` }
          : { pass: false, reason: `${d.pending} event(s) waiting, the oldest for ${Math.round(lag)} s (limit ${maxWormLagSeconds} s)` };
      }),
    ],
  },
  {
    id: "database-backup",
    title: "The service database is backed up continuously",
    objective:
      "WAL is archived continuously and a base backup completes at least daily, so any point in the retention window can be restored.",
    frameworks: { soc2: ["A1.2"], iso27001: ["A.8.13"], nist80053: ["CP-9", "CP-9(1)"] },
    evidence: [
      policyVerdicts({ stacks: ["backup"] }),
      // Older than the limit: stale (the report's age check), so an operator sees the job stopped.
      measured<BackupRecord>("last-backup", maxBackupAgeSeconds, (d, _e, now) =>
        d.result === "pass" && d.backup
          ? {
              pass: true,
              reason: `last base backup ${d.backup.name} is ${Math.round((now.getTime() - Date.parse(d.finished_at)) / 1000 / hour)} h old`,
            }
          : { pass: false, reason: `last base backup failed at ${d.finished_at}: ${d.failure ?? "no backup taken"}` },
      ),
    ],
  },
  {
    id: "recovery-drill",
    title: "Point-in-time recovery is drilled and works",
    objective: "A disaster-recovery drill restores the database to an exact point in time at least quarterly, and the last one passed.",
    frameworks: { soc2: ["A1.3", "CC7.5"], iso27001: ["A.5.30", "A.8.14"], nist80053: ["CP-4", "CP-10", "CP-10(2)"] },
    evidence: [
      measured<DrillRecord>("last-drill", maxDrillAgeSeconds, (d) =>
        d.result === "pass"
          ? { pass: true, reason: `last drill passed at ${d.finished_at}, restored to ${d.target} in ${d.duration_seconds} s` }
          : { pass: false, reason: `last drill failed at ${d.finished_at}: ${d.failure ?? failedChecks(d)}` },
      ),
    ],
  },
  {
    id: "account-management",
    title: "Accounts and group memberships are provisioned from the identity provider",
    objective: "Users and groups are synced by SCIM from the IdP; access ends when the IdP removes a user, with no local accounts.",
    frameworks: { soc2: ["CC6.2", "CC6.3"], iso27001: ["A.5.16", "A.5.18"], nist80053: ["AC-2", "AC-2(1)", "IA-2"] },
    evidence: [
      policyVerdicts({ stacks: ["gateway"] }),
      measured<{ ok: boolean; detail?: string }>(scimSyncSource, 26 * hour, (d) =>
        d.ok
          ? { pass: true, reason: "last SCIM sync completed" }
          : { pass: false, reason: `last SCIM sync failed${d.detail ? `: ${d.detail}` : ""}` },
      ),
    ],
  },
  {
    id: "least-privilege",
    title: "Access is role-based and least-privilege",
    objective:
      "Every API route requires an authenticated principal with a named role; workload identities and IAM roles grant only what each workload needs.",
    frameworks: { soc2: ["CC6.1", "CC6.3"], iso27001: ["A.5.15", "A.8.2", "A.8.3"], nist80053: ["AC-3", "AC-6", "AC-6(9)"] },
    evidence: [policyVerdicts({ stacks: ["gateway", "mesh", "audit"] })],
  },
  {
    id: "change-control",
    title: "Changes ship only signed and through gated rollouts",
    objective:
      "The policy bundle is signed and loaded only when its signature verifies; releases roll out blue/green and promote only when the SLO gate passes.",
    frameworks: { soc2: ["CC8.1", "CC7.1"], iso27001: ["A.8.32", "A.8.9"], nist80053: ["CM-3", "CM-5", "SI-7"] },
    evidence: [
      policyVerdicts({ stacks: ["app", "platform"] }),
      measured<{ verified: boolean; detail?: string }>(bundleSignatureSource, hour, (d) =>
        d.verified
          ? { pass: true, reason: "the loaded policy bundle's signature verified" }
          : { pass: false, reason: `policy bundle signature did not verify${d.detail ? `: ${d.detail}` : ""}` },
      ),
    ],
  },
  {
    id: "configuration-baseline",
    title: "Deployed infrastructure matches the hardened baseline",
    objective: "The synthesized Terraform and Kubernetes manifests of every stack pass every blocking policy of the gate.",
    frameworks: { soc2: ["CC7.1", "CC8.1"], iso27001: ["A.8.9"], nist80053: ["CM-2", "CM-6", "CA-7"] },
    evidence: [policyVerdicts({})],
  },
];

/** Control ids are lower-case kebab words; anything else is a bad request, not a miss. */
export const controlIdPattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
