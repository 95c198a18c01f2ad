import { createHash, randomUUID } from "node:crypto";
import type { ComplianceReport, ControlResult, EvidenceResult } from "./types";

/** The OSCAL model version the export is written against. */
export const oscalVersion = "1.1.2";
/** Namespace of this project's OSCAL props (OSCAL requires a URI for non-core props). */
export const maestroNs = "https://maestro.example/ns/oscal";

/** NIST SP 800-53 ids as OSCAL's catalog spells them: "SC-8(1)" → "sc-8.1". */
export function oscalControlId(nistId: string): string {
  const m = /^([A-Z]{2})-(\d+)(?:\((\d+)\))?$/.exec(nistId);
  if (!m) throw new Error(`not a NIST SP 800-53 control id: '${nistId}'`);
  return `${m[1].toLowerCase()}-${Number(m[2])}${m[3] ? `.${Number(m[3])}` : ""}`;
}

/** A name-based UUID (v5 layout over SHA-1), so the same report yields the same observation ids. */
function stableUuid(...parts: string[]): string {
  const h = createHash("sha1").update(parts.join("\u0000")).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function observation(report: ComplianceReport, control: ControlResult, e: EvidenceResult) {
  return {
    uuid: stableUuid(report.generatedAt, control.id, e.source),
    title: `${control.id}: ${e.source}`,
    description: e.summary,
    props: [
      { name: "evidence-source", ns: maestroNs, value: e.source },
      { name: "evidence-status", ns: maestroNs, value: e.status },
    ],
    methods: ["TEST"],
    types: ["control-objective"],
    collected: e.collectedAt,
    ...(e.observedAt ? { expires: new Date(Date.parse(e.observedAt) + e.maxAgeSeconds * 1000).toISOString() } : {}),
    "relevant-evidence": [{ href: e.href, description: `${e.origin} (${e.state})` }],
    remarks: e.reason,
  };
}

/**
 * The report as an OSCAL assessment-results document: one result for this assessment, one
 * observation per evidence item, one finding per NIST SP 800-53 control a catalogue control
 * maps to. Only pass is "satisfied"; fail, stale and unknown are "not-satisfied", with the
 * project's status in a prop and the deciding reason in remarks.
 */
export function toOscalAssessmentResults(report: ComplianceReport, options: { documentUuid?: string } = {}) {
  const observations = report.controls.flatMap((c) => c.evidence.map((e) => ({ control: c, obs: observation(report, c, e) })));
  const nistIds = [...new Set(report.controls.flatMap((c) => c.frameworks.nist80053))];
  const findings = report.controls.flatMap((c) =>
    c.frameworks.nist80053.map((nist) => ({
      uuid: stableUuid(report.generatedAt, c.id, nist),
      title: `${nist}: ${c.title}`,
      description: c.objective,
      props: [
        { name: "maestro-control-id", ns: maestroNs, value: c.id },
        { name: "maestro-status", ns: maestroNs, value: c.status },
        ...c.frameworks.soc2.map((id) => ({ name: "soc2-criterion", ns: maestroNs, value: id })),
        ...c.frameworks.iso27001.map((id) => ({ name: "iso27001-control", ns: maestroNs, value: id })),
      ],
      target: {
        type: "statement-id",
        "target-id": `${oscalControlId(nist)}_smt`,
        status: {
          state: c.status === "pass" ? "satisfied" : "not-satisfied",
          reason: c.status === "pass" ? "pass" : c.status === "fail" ? "fail" : "other",
        },
        ...(c.status === "stale" || c.status === "unknown" ? { remarks: `${c.status}: ${c.reason}` } : {}),
      },
      "related-observations": observations.filter((o) => o.control.id === c.id).map((o) => ({ "observation-uuid": o.obs.uuid })),
      remarks: c.reason,
    })),
  );
  return {
    "assessment-results": {
      uuid: options.documentUuid ?? randomUUID(),
      metadata: {
        title: `Maestro compliance assessment results (${report.service.environment})`,
        "last-modified": report.generatedAt,
        version: String(report.version),
        "oscal-version": oscalVersion,
        props: [{ name: "service", ns: maestroNs, value: report.service.name }],
      },
      // The plan is this service's control catalogue; it is not published as an OSCAL AP document.
      "import-ap": { href: "/api/compliance/controls", remarks: "The assessment plan is the service's control catalogue." },
      results: [
        {
          uuid: stableUuid(report.generatedAt, "result"),
          title: "Automated assessment from live evidence",
          description: "Control status derived by the compliance service from policy verdicts and runtime probes.",
          start: report.generatedAt,
          end: report.generatedAt,
          "reviewed-controls": {
            "control-selections": [{ "include-controls": nistIds.map((id) => ({ "control-id": oscalControlId(id) })) }],
          },
          observations: observations.map((o) => o.obs),
          findings,
        },
      ],
    },
  };
}
