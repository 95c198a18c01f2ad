import { readInteger, SettingsError } from "../env";
import { roles, type Role } from "../../contracts/roles";
import { isLoopbackHost } from "../../lib/net";

/** Where a principal's roles come from. */
export type RoleSource = "token" | "directory" | "both";

/** The service's identity settings (OIDC verifier, role mapping, restricted labels), read from the environment. */
export interface IdentitySettings {
  /** The OIDC issuer; absent → the built-in development issuer (never in production). */
  issuer?: string;
  /** Accepted `aud` values; a token must name at least one. */
  audiences: string[];
  /** Accepted signature algorithms: asymmetric only. */
  algorithms: string[];
  /** Claim that carries the caller's groups in a token. */
  groupsClaim: string;
  /** token: groups claim mapped by groupRoles; directory: SCIM-synced bindings; both: the union. */
  roleSource: RoleSource;
  /** IdP group name → role. */
  groupRoles: Record<string, Role>;
  /** Resource labels that need an x-rfa reason. */
  restrictedLabels: string[];
  /** Minimum time between two JWKS fetches triggered by an unknown kid. */
  jwksCooldownMs: number;
  /** How long a fetched JWKS is used before it is fetched again. */
  jwksCacheMaxAgeMs: number;
  /** Allowed clock skew for exp / nbf / iat. */
  clockToleranceSeconds: number;
  /** Longest accepted token lifetime: exp may be at most this far from now, and from iat. */
  maxTokenLifetimeSeconds: number;
  /** First wait after a failed OIDC discovery before the issuer is asked again; doubles per failure. */
  discoveryRetryMinMs: number;
  /** Longest wait between two discovery attempts while the issuer keeps failing. */
  discoveryRetryMaxMs: number;
  /**
   * How long a verified token's principal (its roles included) is reused before the token is
   * verified and the role bindings read again; never past the token's exp. 0 turns it off.
   */
  principalCacheSeconds: number;
  /** Which SCIM user attribute equals a token's `sub`. */
  scimSubjectAttribute: "userName" | "externalId" | "id";
  /** Bearer token the SCIM sync job presents to POST /api/scim/sync; absent → the route answers 503. */
  scimSyncToken?: string;
}

/** The issuer identifier of the development issuer (never accepted in production). */
export const devIssuer = "urn:maestro:dev-issuer";
export const defaultAudience = "maestro-compliance";
/** Same defaults as config/common.ts: group `auditors` → role `auditor`. */
export const defaultGroupRoles: Readonly<Record<string, Role>> = {
  viewers: "viewer",
  operators: "operator",
  auditors: "auditor",
  "platform-admins": "admin",
};
export const defaultRestrictedLabels = ["audit-log", "pii"];
const asymmetricAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function discoveryRetry(env: NodeJS.ProcessEnv): { discoveryRetryMinMs: number; discoveryRetryMaxMs: number } {
  const discoveryRetryMinMs = readInteger(env, "OIDC_DISCOVERY_RETRY_MIN_MS", 1_000, 100, 60_000);
  const discoveryRetryMaxMs = readInteger(env, "OIDC_DISCOVERY_RETRY_MAX_MS", 60_000, 100, 3_600_000);
  if (discoveryRetryMaxMs < discoveryRetryMinMs)
    throw new SettingsError(
      "OIDC_DISCOVERY_RETRY_MAX_MS",
      `must be at least OIDC_DISCOVERY_RETRY_MIN_MS (${discoveryRetryMinMs}) (got '${discoveryRetryMaxMs}')`,
    );
  return { discoveryRetryMinMs, discoveryRetryMaxMs };
}

/** `viewers=viewer,auditors=auditor`: group names may hold anything but ',' and '='. */
export function parseGroupRoles(raw: string): Record<string, Role> {
  const mapping: Record<string, Role> = {};
  for (const pair of raw.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.lastIndexOf("=");
    const group = pair.slice(0, eq).trim();
    const role = pair.slice(eq + 1).trim();
    if (eq <= 0 || group === "") throw new SettingsError("GROUP_ROLES", `must be group=role pairs separated by ',' (got '${pair}')`);
    if (!(roles as readonly string[]).includes(role))
      throw new SettingsError("GROUP_ROLES", `role of group '${group}' must be one of ${roles.join(", ")} (got '${role}')`);
    mapping[group] = role as Role;
  }
  return mapping;
}

/**
 * Reads OIDC_ISSUER, OIDC_AUDIENCE, OIDC_ALGORITHMS, OIDC_GROUPS_CLAIM, AUTHZ_ROLE_SOURCE, GROUP_ROLES,
 * RESTRICTED_LABELS, OIDC_JWKS_COOLDOWN_MS, OIDC_JWKS_CACHE_MAX_AGE_MS, OIDC_CLOCK_TOLERANCE_SECONDS,
 * OIDC_MAX_TOKEN_LIFETIME_SECONDS, OIDC_DISCOVERY_RETRY_MIN_MS, OIDC_DISCOVERY_RETRY_MAX_MS,
 * SCIM_SUBJECT_ATTRIBUTE, SCIM_SYNC_TOKEN. Production requires an issuer: the development issuer never runs there.
 */
export function readIdentitySettings(env: NodeJS.ProcessEnv, environment: "development" | "staging" | "production"): IdentitySettings {
  const issuer = env.OIDC_ISSUER?.trim() || undefined;
  if (issuer) {
    let url: URL;
    try {
      url = new URL(issuer);
    } catch {
      throw new SettingsError("OIDC_ISSUER", `must be an https:// URL (got '${issuer}')`);
    }
    // Plain http only for a loopback issuer outside production (tests, local IdPs).
    const httpAllowed = url.protocol === "http:" && isLoopbackHost(url.hostname) && environment !== "production";
    if (url.protocol !== "https:" && !httpAllowed)
      throw new SettingsError(
        "OIDC_ISSUER",
        `must be an https:// URL (got '${issuer}'); http is allowed only for loopback outside production`,
      );
  } else if (environment === "production") {
    throw new SettingsError("OIDC_ISSUER", "is required in production (the development issuer is never used there)");
  }
  const algorithms = list(env.OIDC_ALGORITHMS) ?? ["RS256", "ES256"];
  for (const alg of algorithms) {
    if (!asymmetricAlgorithms.includes(alg))
      throw new SettingsError("OIDC_ALGORITHMS", `must list asymmetric algorithms from ${asymmetricAlgorithms.join(", ")} (got '${alg}')`);
  }
  const roleSource = (env.AUTHZ_ROLE_SOURCE?.trim() || (issuer ? "directory" : "both")) as RoleSource;
  if (!["token", "directory", "both"].includes(roleSource))
    throw new SettingsError("AUTHZ_ROLE_SOURCE", `must be token, directory or both (got '${roleSource}')`);
  const groupsClaim = env.OIDC_GROUPS_CLAIM?.trim() || "groups";
  const scimSubjectAttribute = (env.SCIM_SUBJECT_ATTRIBUTE?.trim() || "userName") as IdentitySettings["scimSubjectAttribute"];
  if (!["userName", "externalId", "id"].includes(scimSubjectAttribute))
    throw new SettingsError("SCIM_SUBJECT_ATTRIBUTE", `must be userName, externalId or id (got '${scimSubjectAttribute}')`);
  const scimSyncToken = env.SCIM_SYNC_TOKEN || undefined;
  if (scimSyncToken !== undefined && scimSyncToken.length < 32)
    throw new SettingsError("SCIM_SYNC_TOKEN", `must be at least 32 characters (got ${scimSyncToken.length})`);
  return {
    ...(issuer ? { issuer } : {}),
    audiences: list(env.OIDC_AUDIENCE) ?? [defaultAudience],
    algorithms,
    groupsClaim,
    roleSource,
    groupRoles:
      env.GROUP_ROLES !== undefined && env.GROUP_ROLES.trim() !== "" ? parseGroupRoles(env.GROUP_ROLES) : { ...defaultGroupRoles },
    restrictedLabels: list(env.RESTRICTED_LABELS) ?? [...defaultRestrictedLabels],
    jwksCooldownMs: readInteger(env, "OIDC_JWKS_COOLDOWN_MS", 30_000, 0, 3_600_000),
    jwksCacheMaxAgeMs: readInteger(env, "OIDC_JWKS_CACHE_MAX_AGE_MS", 600_000, 1_000, 86_400_000),
    clockToleranceSeconds: readInteger(env, "OIDC_CLOCK_TOLERANCE_SECONDS", 5, 0, 300),
    maxTokenLifetimeSeconds: readInteger(env, "OIDC_MAX_TOKEN_LIFETIME_SECONDS", 86_400, 60, 604_800),
    ...discoveryRetry(env),
    principalCacheSeconds: readInteger(env, "AUTHZ_CACHE_SECONDS", 30, 0, 300),
    scimSubjectAttribute,
    ...(scimSyncToken ? { scimSyncToken } : {}),
  };
}
