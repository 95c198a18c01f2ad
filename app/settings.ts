import { serviceEnvironments, type ServiceEnvironment } from "../contracts/environments";
import { resolve } from "node:path";
import { readInteger, SettingsError } from "./env";
import { readIdentitySettings, type IdentitySettings } from "./auth/settings";
import { readComplianceSettings, type ComplianceSettings } from "./compliance/settings";
import { readAuditSettings, type AuditSettings } from "./audit/settings";
import { readPolicySettings, type PolicyRuntimeSettings } from "./policy/settings";

export { SettingsError };

/** The compliance service's settings, read once from the environment at start (readServiceSettings), every section included. */
export interface ServiceSettings {
  port: number;
  host: string;
  /** Root for every embedded default (PGlite, keys, queues). */
  dataDir: string;
  /** A real Postgres; PGlite under dataDir when absent. */
  databaseUrl?: string;
  /** production refuses development-only conveniences (local issuer, dev tokens). */
  environment: ServiceEnvironment;
  logLevel: string;
  /** OIDC verifier, group → role mapping, restricted labels (app/auth/settings.ts). */
  identity: IdentitySettings;
  /** Evidence sources and metric labels of the compliance service (app/compliance/settings.ts). */
  compliance: ComplianceSettings;
  /** WORM sink (S3 Object Lock) and export signing key (app/audit/settings.ts). */
  audit: AuditSettings;
  /** Policy bundle path, verification key, ALLOW_UNSIGNED_POLICY (app/policy/settings.ts). */
  policy: PolicyRuntimeSettings;
  /** Time limits on every connection (readHttpSettings). */
  http: HttpSettings;
}

/** How long a client may take: a slow or silent client is cut off, never held open. */
export interface HttpSettings {
  /** HTTP_REQUEST_TIMEOUT_MS: the whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** HTTP_HEADERS_TIMEOUT_MS: the headers must arrive within this (at most requestTimeoutMs). */
  headersTimeoutMs: number;
  /** HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this (above a proxy's usual 60 s idle timeout). */
  keepAliveTimeoutMs: number;
  /** HTTP_CONNECTION_TIMEOUT_MS: a socket with no traffic in either direction is closed after this (above keep-alive). */
  connectionTimeoutMs: number;
}

export function readHttpSettings(env: NodeJS.ProcessEnv): HttpSettings {
  const settings = {
    requestTimeoutMs: readInteger(env, "HTTP_REQUEST_TIMEOUT_MS", 60_000, 100, 600_000),
    headersTimeoutMs: readInteger(env, "HTTP_HEADERS_TIMEOUT_MS", 10_000, 100, 600_000),
    keepAliveTimeoutMs: readInteger(env, "HTTP_KEEP_ALIVE_TIMEOUT_MS", 65_000, 100, 600_000),
    connectionTimeoutMs: readInteger(env, "HTTP_CONNECTION_TIMEOUT_MS", 70_000, 100, 600_000),
  };
  if (settings.headersTimeoutMs > settings.requestTimeoutMs)
    throw new SettingsError(
      "HTTP_HEADERS_TIMEOUT_MS",
      `must be at most HTTP_REQUEST_TIMEOUT_MS (${settings.requestTimeoutMs}) (got '${settings.headersTimeoutMs}')`,
    );
  return settings;
}

export function readServiceSettings(env: NodeJS.ProcessEnv = process.env): ServiceSettings {
  const environment = (env.MAESTRO_ENVIRONMENT ?? "development") as ServiceEnvironment;
  if (!serviceEnvironments.includes(environment)) {
    throw new SettingsError(
      "MAESTRO_ENVIRONMENT",
      `must be ${serviceEnvironments.join(", ").replace(/, (?=[^,]*$)/, " or ")} (got '${environment}')`,
    );
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new SettingsError("DATABASE_URL", "must be a postgres:// URL");
  return {
    port: readInteger(env, "PORT", 8080, 0, 65535),
    host: env.HOST || "0.0.0.0",
    dataDir: resolve(env.MAESTRO_DATA_DIR || ".data"),
    databaseUrl,
    environment,
    logLevel: env.LOG_LEVEL || "info",
    identity: readIdentitySettings(env, environment),
    compliance: readComplianceSettings(env, resolve(env.MAESTRO_DATA_DIR || ".data")),
    audit: readAuditSettings(env, resolve(env.MAESTRO_DATA_DIR || ".data"), environment),
    policy: readPolicySettings(env, resolve(env.MAESTRO_DATA_DIR || ".data")),
    http: readHttpSettings(env),
  };
}
