import { join, resolve } from "node:path";
import { backupRecordName, drillRecordName } from "../../contracts/records";
import { readInteger, SettingsError } from "../env";
import { dnsLabelPattern, dnsLabelRule } from "../../contracts/names";

/** Where the compliance service finds its evidence; every source is optional (absent → unknown). */
export interface ComplianceSettings {
  /** The policy verdicts of the deployed synth output, shipped with the release. */
  verdictsFile: string;
  /** Prometheus for runtime probes (mTLS share); runtime probes that need it are unknown without it. */
  prometheusUrl?: string;
  /** The last successful base backup's record (contracts/records.ts), written by `pitr.sh base-backup --publish`. */
  backupRecord: RecordLocation;
  /** The last disaster-recovery drill's record, written by `pitr.sh --publish`. */
  drillRecord: RecordLocation;
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

/** A record file, or an object in the backup bucket read with the service's own role. */
export type RecordLocation =
  { kind: "file"; path: string } | { kind: "s3"; bucket: string; key: string; region: string; endpoint?: string };

/** `s3://bucket/key` (with AWS_REGION, and COMPLIANCE_RECORDS_S3_ENDPOINT in tests) or a file path. */
function recordLocation(env: NodeJS.ProcessEnv, name: string, fallback: string): RecordLocation {
  const value = env[name] || fallback;
  if (!value.startsWith("s3://")) return { kind: "file", path: resolve(value) };
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(\S+)$/.exec(value);
  if (!m || m[2].endsWith("/")) throw new SettingsError(name, `must be a file path or s3://bucket/key of a JSON record (got '${value}')`);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) throw new SettingsError("AWS_REGION", `must be set to read ${name} from S3 (got nothing)`);
  const endpoint = env.COMPLIANCE_RECORDS_S3_ENDPOINT || undefined;
  if (endpoint && !/^https?:\/\/[^\s/]+/.test(endpoint))
    throw new SettingsError("COMPLIANCE_RECORDS_S3_ENDPOINT", `must be an http(s) URL (got '${endpoint}')`);
  return { kind: "s3", bucket: m[1], key: m[2], region, endpoint };
}

export function readComplianceSettings(env: NodeJS.ProcessEnv, dataDir: string): ComplianceSettings {
  const prometheusUrl = env.PROMETHEUS_URL || undefined;
  if (prometheusUrl && !/^https?:\/\/[^/]+/.test(prometheusUrl)) {
    throw new SettingsError("PROMETHEUS_URL", `must be an http(s):// URL (got '${prometheusUrl}')`);
  }
  const label = (name: string, fallback: string): string => {
    const value = env[name] || fallback;
    if (!dnsLabelPattern.test(value)) throw new SettingsError(name, `${dnsLabelRule} (got '${value}')`);
    return value;
  };
  return {
    verdictsFile: resolve(env.COMPLIANCE_VERDICTS_FILE || join(dataDir, "release", "policy-verdicts.json")),
    prometheusUrl: prometheusUrl?.replace(/\/+$/, ""),
    backupRecord: recordLocation(env, "COMPLIANCE_BACKUP_RECORD", join(dataDir, "records", backupRecordName)),
    drillRecord: recordLocation(env, "COMPLIANCE_DRILL_RECORD", join(dataDir, "records", drillRecordName)),
    evidenceTtlSeconds: readInteger(env, "COMPLIANCE_EVIDENCE_TTL_SECONDS", 15, 0, 3600),
    auditFullVerifySeconds: readInteger(env, "COMPLIANCE_AUDIT_FULL_VERIFY_SECONDS", 3600, 0, 86_400),
    serviceName: label("SERVICE_NAME", "compliance"),
    namespace: label("POD_NAMESPACE", "maestro"),
  };
}
