import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import type { JWTPayload, JWTVerifyGetKey } from "jose" with { "resolution-mode": "import" };
import type { Db } from "../db";
import type { AuditLog } from "../audit/types";
import { SettingsError } from "../env";
import type { ServiceSettings } from "../settings";
import { loadDevIssuerKeys, loadJose } from "./dev-issuer";
import { devIssuer, type IdentitySettings } from "./settings";
import { roles as allRoles, type Role } from "../../contracts/roles";
import type { Authorizer, Principal } from "./types";
import { tagGuard } from "./guards";
import { forbiddenCharacter, headerText } from "./text";
import { MaestroError } from "../../lib/errors";
import { sendError } from "../http-errors";

/** Why a token was refused; the code is stable, the message says what to fix. */
export class TokenRejectedError extends MaestroError<"TOKEN_MISSING" | "TOKEN_INVALID" | "ISSUER_UNAVAILABLE"> {}

/** Verifies a bearer token and returns its principal; throws TokenRejectedError. */
export type TokenVerifier = (token: string) => Promise<Principal>;

/** A verifier that remembers what it verified; forget() drops it all (after a role change, say). */
export type CachingTokenVerifier = TokenVerifier & { forget(): void };

/** A principal and the time (ms since the epoch) its token stops being valid. */
interface Verified {
  principal: Principal;
  expiresAt: number;
}

/** Entries kept at most; past it the oldest go first. */
const principalCacheEntries = 10_000;

/**
 * Reuses each token's verified principal until min(token exp, first verification + maxAgeMs).
 * Concurrent requests with the same token share one verification; a refused token is never
 * remembered, so it is refused (and checked) again every time.
 */
export function cachingVerifier(
  verify: (token: string) => Promise<Verified>,
  maxAgeMs: number,
  now: () => number = Date.now,
): CachingTokenVerifier {
  const entries = new Map<string, { until: number; verified: Promise<Verified> }>();
  const cached = async (token: string): Promise<Principal> => {
    const at = now();
    const hit = entries.get(token);
    if (hit && hit.until > at) {
      const { principal, expiresAt } = await hit.verified;
      if (expiresAt > now()) return principal;
    }
    if (hit) entries.delete(token);
    const verified = verify(token);
    if (maxAgeMs > 0) {
      if (entries.size >= principalCacheEntries) entries.delete(entries.keys().next().value as string);
      const entry = { until: at + maxAgeMs, verified };
      entries.set(token, entry);
      verified.catch(() => {
        if (entries.get(token) === entry) entries.delete(token);
      });
    }
    return (await verified).principal;
  };
  return Object.assign(cached, { forget: () => entries.clear() });
}

/** The longest token subject accepted (it is the audit log's actor). */
const maxSubjectLength = 255;

/** The largest x-rfa reason kept (it goes into the audit log verbatim). */
export const maxReasonLength = 500;
const realm = "maestro";

/** RFC 6750 quoted-string: no quotes, backslashes or control characters. */
function quoted(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/["\\\u0000-\u001f\u007f]/g, "'").slice(0, 200);
}

/** The JWKS source: discovery at the issuer (cached by jose, refetched on an unknown kid), or the dev issuer's key. */
async function keySource(identity: IdentitySettings, dataDir: string): Promise<{ issuer: string; getKey: JWTVerifyGetKey }> {
  const jose = await loadJose();
  if (!identity.issuer) {
    const keys = await loadDevIssuerKeys(dataDir);
    return { issuer: devIssuer, getKey: jose.createLocalJWKSet(keys.jwks) };
  }
  const discoveryUrl = `${identity.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(discoveryUrl, { signal: AbortSignal.timeout(5000), headers: { accept: "application/json" } });
  } catch (err) {
    throw new TokenRejectedError("ISSUER_UNAVAILABLE", `OIDC discovery at ${discoveryUrl} failed: ${(err as Error).message}`);
  }
  if (!response.ok) throw new TokenRejectedError("ISSUER_UNAVAILABLE", `OIDC discovery at ${discoveryUrl} answered ${response.status}`);
  const doc = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // OIDC Discovery §4.3: the document's issuer must be exactly the configured one.
  if (doc.issuer !== identity.issuer)
    throw new TokenRejectedError("ISSUER_UNAVAILABLE", `OIDC discovery: issuer is '${String(doc.issuer)}', expected '${identity.issuer}'`);
  if (typeof doc.jwks_uri !== "string") throw new TokenRejectedError("ISSUER_UNAVAILABLE", "OIDC discovery: jwks_uri is missing");
  const getKey = jose.createRemoteJWKSet(new URL(doc.jwks_uri), {
    cooldownDuration: identity.jwksCooldownMs,
    cacheMaxAge: identity.jwksCacheMaxAgeMs,
    timeoutDuration: 5000,
  });
  return { issuer: identity.issuer, getKey };
}

function groupsOf(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((g) => typeof g !== "string"))
    throw new TokenRejectedError("TOKEN_INVALID", `claim '${claim}' must be an array of strings`);
  return value as string[];
}

/**
 * The token verifier: issuer, audience, exp / nbf with a small clock tolerance, allowed (asymmetric)
 * algorithms only, keys from the issuer's JWKS. Roles come from the token's groups and/or the
 * SCIM-synced role bindings, per identity.roleSource.
 */
export function createTokenVerifier(
  identity: IdentitySettings,
  dataDir: string,
  db: Db,
  now: () => number = Date.now,
): CachingTokenVerifier {
  let source: Promise<{ issuer: string; getKey: JWTVerifyGetKey }> | undefined;
  // A failed discovery is remembered: until the backoff has passed, requests get the same
  // failure without asking the issuer again (so forged tokens cannot make us hammer it).
  let failure: { error: unknown; retryAt: number; backoffMs: number } | undefined;
  const resolveSource = () => {
    if (!source && failure && now() < failure.retryAt) return Promise.reject(failure.error);
    source ??= keySource(identity, dataDir).then(
      (found) => {
        failure = undefined;
        return found;
      },
      (err: unknown) => {
        const backoffMs = failure ? Math.min(identity.discoveryRetryMaxMs, failure.backoffMs * 2) : identity.discoveryRetryMinMs;
        failure = { error: err, retryAt: now() + backoffMs, backoffMs };
        source = undefined; // retried once the backoff has passed
        throw err;
      },
    );
    return source;
  };
  const verify = async (token: string): Promise<Verified> => {
    const jose = await loadJose();
    // A token for another issuer (a development token in production, say) is refused before any
    // JWKS fetch: arbitrary tokens must not make us call the IdP. jwtVerify checks iss again, signed.
    const expectedIssuer = identity.issuer ?? devIssuer;
    let claimed: unknown;
    try {
      claimed = jose.decodeJwt(token).iss;
    } catch (err) {
      throw new TokenRejectedError("TOKEN_INVALID", `not a JWT: ${(err as Error).message}`);
    }
    if (claimed !== expectedIssuer)
      throw new TokenRejectedError(
        "TOKEN_INVALID",
        `unexpected "iss" claim value ${JSON.stringify(claimed ?? null)} (expected ${JSON.stringify(expectedIssuer)})`,
      );
    const { issuer, getKey } = await resolveSource();
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { kid },
      } = await jose.jwtVerify(token, getKey, {
        issuer,
        audience: identity.audiences,
        algorithms: identity.algorithms,
        clockTolerance: identity.clockToleranceSeconds,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ERR_JWKS_TIMEOUT" || (err instanceof TypeError && /fetch/i.test(err.message)))
        throw new TokenRejectedError("ISSUER_UNAVAILABLE", `the issuer's JWKS could not be fetched: ${(err as Error).message}`);
      const detail =
        code === "ERR_JWKS_NO_MATCHING_KEY" ? "no key in the issuer's JWKS matches the token's kid/alg" : (err as Error).message;
      throw new TokenRejectedError("TOKEN_INVALID", detail);
    }
    // A key id not seen before means the issuer rotated (and jose refetched its JWKS): principals
    // remembered under the old key set are dropped, so a withdrawn key's tokens stop at once.
    if (kid !== undefined && !keyIds.has(kid)) {
      if (keyIds.size > 0) cache.forget();
      keyIds.add(kid);
    }
    // Bounded lifetime: a token valid for years is a stolen credential that never expires.
    const exp = payload.exp as number;
    const maxLifetime = identity.maxTokenLifetimeSeconds;
    const left = exp - Math.floor(now() / 1000);
    if (left > maxLifetime + identity.clockToleranceSeconds)
      throw new TokenRejectedError(
        "TOKEN_INVALID",
        `"exp" is ${left} s away, more than the longest accepted lifetime (${maxLifetime} s, OIDC_MAX_TOKEN_LIFETIME_SECONDS)`,
      );
    if (typeof payload.iat === "number" && exp - payload.iat > maxLifetime)
      throw new TokenRejectedError(
        "TOKEN_INVALID",
        `the token's lifetime ("exp" - "iat") is ${exp - payload.iat} s, more than ${maxLifetime} s (OIDC_MAX_TOKEN_LIFETIME_SECONDS)`,
      );
    const subject = payload.sub;
    if (typeof subject !== "string" || subject.trim() === "")
      throw new TokenRejectedError("TOKEN_INVALID", `"sub" claim must be a non-empty string`);
    if (subject.length > maxSubjectLength || forbiddenCharacter(subject))
      throw new TokenRejectedError(
        "TOKEN_INVALID",
        `"sub" claim must be at most ${maxSubjectLength} printable characters${forbiddenCharacter(subject) ? ` (it holds ${forbiddenCharacter(subject)})` : ""}`,
      );
    const tokenGroups = groupsOf(payload, identity.groupsClaim);
    const granted = new Set<Role>();
    const groups = new Set<string>();
    if (identity.roleSource !== "directory") {
      for (const g of tokenGroups) {
        groups.add(g);
        const role = identity.groupRoles[g];
        if (role) granted.add(role);
      }
    }
    if (identity.roleSource !== "token") {
      const { rows } = await db.query<{ role: string; group_name: string }>(
        "select role, group_name from role_bindings where subject = $1",
        [subject],
      );
      for (const r of rows) {
        groups.add(r.group_name);
        if ((allRoles as readonly string[]).includes(r.role)) granted.add(r.role as Role);
      }
    }
    return {
      principal: { subject, groups: [...groups].sort(), roles: allRoles.filter((r) => granted.has(r)) },
      expiresAt: exp * 1000,
    };
  };
  const keyIds = new Set<string>();
  const cache = cachingVerifier(verify, identity.principalCacheSeconds * 1000, now);
  return cache;
}

function resourceOf(request: FastifyRequest): string {
  return `${request.method} ${request.url.split("?")[0]}`;
}

/** Builds the Authorizer from a verifier; split out so tests can drive it with any verifier. */
export function authorizerFromVerifier(
  verify: TokenVerifier & { forget?: () => void },
  identity: IdentitySettings,
  audit: AuditLog,
): Authorizer {
  const restricted = new Set(identity.restrictedLabels);
  const unauthorized = (reply: FastifyReply, error: "invalid_request" | "invalid_token" | undefined, description: string) => {
    const challenge = error
      ? `Bearer realm="${realm}", error="${error}", error_description="${quoted(description)}"`
      : `Bearer realm="${realm}"`;
    return sendError(reply.header("www-authenticate", challenge), 401, "unauthorized", description);
  };

  const authenticate: onRequestAsyncHookHandler = async (request, reply) => {
    const header = request.headers.authorization;
    if (!header) return unauthorized(reply, undefined, "a bearer token is required (Authorization: Bearer <token>)");
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(header);
    if (!match) return unauthorized(reply, "invalid_request", "the Authorization header must be 'Bearer <token>'");
    try {
      request.principal = await verify(match[1]);
    } catch (err) {
      if (err instanceof TokenRejectedError && err.code === "ISSUER_UNAVAILABLE") {
        request.log.error({ err }, "token verification unavailable");
        return sendError(reply.header("retry-after", "5"), 503, "issuer_unavailable", "the identity provider cannot be reached");
      }
      request.log.info({ reason: (err as Error).message }, "bearer token refused");
      return unauthorized(reply, "invalid_token", (err as Error).message);
    }
    return undefined;
  };
  tagGuard(authenticate, { kind: "authenticate" });

  const requireRole = (...allowed: Role[]): onRequestAsyncHookHandler => {
    for (const role of allowed)
      if (!allRoles.includes(role)) throw new Error(`requireRole: unknown role '${role}' (allowed: ${allRoles.join(", ")})`);
    if (allowed.length === 0) throw new Error("requireRole: name at least one role");
    const hook: onRequestAsyncHookHandler = async (request, reply) => {
      const principal = request.principal;
      if (!principal) return unauthorized(reply, undefined, "a bearer token is required (Authorization: Bearer <token>)");
      if (!principal.roles.some((r) => allowed.includes(r)))
        return sendError(reply, 403, "forbidden", `requires role ${allowed.join(" or ")}`, { required: allowed });
      return undefined;
    };
    return tagGuard(hook, { kind: "role", roles: [...allowed] });
  };

  const requireReason = (label: string): onRequestAsyncHookHandler => {
    if (!label) throw new Error("requireReason: a resource label is required");
    const hook: onRequestAsyncHookHandler = async (request, reply) => {
      const principal = request.principal;
      if (!principal) return unauthorized(reply, undefined, "a bearer token is required (Authorization: Bearer <token>)");
      if (!restricted.has(label)) return undefined;
      const raw = request.headers["x-rfa"];
      const text = headerText(Array.isArray(raw) ? raw.join(", ") : (raw ?? ""));
      const invalid = (message: string) => sendError(reply, 400, "reason_invalid", message, { label });
      if (text === undefined) return invalid("x-rfa must be UTF-8 text");
      const reason = text.trim();
      if (reason === "")
        return sendError(
          reply,
          403,
          "reason_required",
          `a reason is required: resources labelled '${label}' need a non-empty x-rfa header`,
          {
            label,
          },
        );
      if ([...reason].length > maxReasonLength) return invalid(`x-rfa must be at most ${maxReasonLength} characters`);
      const bad = forbiddenCharacter(reason);
      if (bad) return invalid(`x-rfa must be printable text: ${bad} (a control, bidirectional or line separator character) is not allowed`);
      // Durable before the handler runs: no restricted read without its recorded reason.
      await audit.append({
        type: "access.reason",
        actor: principal.subject,
        resource: resourceOf(request),
        reason,
        details: { label, roles: principal.roles },
      });
      return undefined;
    };
    return tagGuard(hook, { kind: "reason", label });
  };

  return { authenticate, requireRole, requireReason, forgetPrincipals: () => verify.forget?.() };
}

/**
 * The service's Authorizer: a jose verifier against the configured issuer's JWKS, or the
 * development issuer when none is configured (readIdentitySettings refuses that in production).
 */
export async function createAuthorizer(settings: ServiceSettings, db: Db, audit: AuditLog): Promise<Authorizer> {
  const identity = settings.identity;
  if (!identity.issuer && settings.environment === "production")
    throw new SettingsError("OIDC_ISSUER", "is required in production (the development issuer is never used there)");
  const verify = createTokenVerifier(identity, settings.dataDir, db);
  if (!identity.issuer) await loadDevIssuerKeys(settings.dataDir); // create the key at start, not on the first request
  return authorizerFromVerifier(verify, identity, audit);
}
