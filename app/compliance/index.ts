// The compliance service's public surface: the catalogue, the engine and the report function
// the exports and the signed pack (app/audit) build on.
export {
  buildComplianceReport,
  complianceEngineFor,
  createComplianceEngine,
  evaluateControl,
  type ComplianceEngine,
  type ReportContext,
} from "./report";
export { controlCatalogue, controlIdPattern } from "./catalogue";
export type { EvidenceProbe, ProbeContext } from "./probes/types";
export type * from "./types";
