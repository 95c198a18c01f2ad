import { join, resolve } from "node:path";
import { readInteger, SettingsError } from "../settings";

/** Where the compliance service finds its evidence; every source is optional (absent → unknown). */
export interface ComplianceSettings {
  /** The policy verdicts of the deployed synth output, shipped with the release. */
  verdictsFile: string;
  /** Prometheus for runtime probes (mTLS share); runtime probes that need it are unknown without it. */
  prometheusUrl?: string;
  /** JSON record of the last successful base backup, written by the backup job. */
  backupRecordFile: string;
  /** JSON record of the last disaster-recovery drill, written by tools/db/pitr.sh. */
  drillRecordFile: string;
  /**
   * Evidence is collected at most this often; reports in between reuse it. A request after one
   * TTL gets the last reading while a new one is taken; after two TTLs it waits for the new one.
   */
  evidenceTtlSeconds: number;
  /**
   * The audit-chain probe re-computes the whole chain this often; readings in between verify the
   * entries appended since the last one. 0: the whole chain at every reading.
   */
  auditFullVerifySeconds: number;
  /** The labels this service's metrics carry (the SLO gate selects on them). */
  serviceName: string;
  namespace: string;
}

export function readComplianceSettings(env: NodeJS.ProcessEnv, dataDir: string): ComplianceSettings {
  const prometheusUrl = env.PROMETHEUS_URL || undefined;
  if (prometheusUrl && !/^https?:\/\/[^/]+/.test(prometheusUrl)) {
    throw new SettingsError("PROMETHEUS_URL", `must be an http(s):// URL (got '${prometheusUrl}')`);
  }
  const label = (name: string, fallback: string): string => {
    const value = env[name] || fallback;
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) throw new SettingsError(name, `must be a DNS label (got '${value}')`);
    return value;
  };
  return {
    verdictsFile: resolve(env.COMPLIANCE_VERDICTS_FILE || join(dataDir, "release", "policy-verdicts.json")),
    prometheusUrl: prometheusUrl?.replace(/\/+$/, ""),
    backupRecordFile: resolve(env.COMPLIANCE_BACKUP_RECORD_FILE || join(dataDir, "backup", "last-backup.json")),
    drillRecordFile: resolve(env.COMPLIANCE_DRILL_RECORD_FILE || join(dataDir, "drills", "last-drill.json")),
    evidenceTtlSeconds: readInteger(env, "COMPLIANCE_EVIDENCE_TTL_SECONDS", 15, 0, 3600),
    auditFullVerifySeconds: readInteger(env, "COMPLIANCE_AUDIT_FULL_VERIFY_SECONDS", 3600, 0, 86_400),
    serviceName: label("SERVICE_NAME", "compliance"),
    namespace: label("POD_NAMESPACE", "maestro"),
  };
}
