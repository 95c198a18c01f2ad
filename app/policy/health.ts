// GET /healthz/policy: which policy bundle is in force, for a probe or an operator (verify:ga's
// policy.runtime-signed asks every pod of the Rollout). Unauthenticated, like /healthz/audit-worm:
// the bundle's revision and digest are what the image ships, so nothing here is secret; the
// reason of a refusal is in the log and the audit log, not here.
import type { FastifyInstance } from "fastify";
import type { PolicyRuntime } from "./runtime";
import type { PolicyRuntimeSettings } from "./settings";

export interface PolicyHealth {
  /** A bundle is in force (503 when not). */
  loaded: boolean;
  /** It was loaded through a verified signature. */
  signed: boolean;
  /** ALLOW_UNSIGNED_POLICY: false means an unsigned bundle is refused. */
  allowUnsigned: boolean;
  revision: string | null;
  sha256: string | null;
  keyId: string | null;
  loadedAt: string | null;
}

export function policyHealth(policy: PolicyRuntime, settings: Pick<PolicyRuntimeSettings, "allowUnsigned">): PolicyHealth {
  const info = policy.info();
  return {
    loaded: info !== undefined,
    signed: info?.signed ?? false,
    allowUnsigned: settings.allowUnsigned,
    revision: info?.revision ?? null,
    sha256: info?.sha256 ?? null,
    keyId: info ? (info.keyId ?? null) : null,
    loadedAt: info?.loadedAt ?? null,
  };
}

export function registerPolicyHealth(server: FastifyInstance, policy: PolicyRuntime, settings: PolicyRuntimeSettings): void {
  server.get("/healthz/policy", async (_request, reply) => {
    const health = policyHealth(policy, settings);
    return reply.code(health.loaded ? 200 : 503).send(health);
  });
}
