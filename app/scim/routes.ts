import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, onRequestAsyncHookHandler } from "fastify";
import type { ServiceContext } from "../context";
import { tagGuard } from "../auth/guards";
import { parseSnapshot, ScimResponseError } from "./snapshot";
import { applySnapshot, recordFailedRun, startOutboxDrainer, SyncNotAppliedError } from "./sync";
import { sendError } from "../http-errors";

/** How often each replica drains the identity audit outbox (events a replica committed but did not append). */
const outboxDrainIntervalMs = 5000;

const digest = (s: string) => createHash("sha256").update(s).digest();

/** The largest snapshot accepted, and only from a caller that presented the sync token. */
export const scimSnapshotMaxBytes = 32 * 1024 * 1024;

/**
 * POST /api/scim/sync: the ScimSync CronJob pushes the directory snapshot it read from the IdP;
 * the service maps groups to roles (GROUP_ROLES) and applies it in one transaction. The job
 * authenticates with SCIM_SYNC_TOKEN (from the `scim` Secret); without one configured the
 * route answers 503, so it is never open. The token is checked before the body is read.
 */
export function registerScimSyncRoute(server: FastifyInstance, context: ServiceContext): void {
  const identity = context.settings.identity;
  // Role changes committed by any replica (one that died before draining, say) reach the audit log.
  const drainer = startOutboxDrainer(context.db, context.audit, outboxDrainIntervalMs, (err) =>
    server.log.warn({ err: err.message }, "identity audit outbox: drain failed; retrying"),
  );
  server.addHook("onClose", () => drainer.stop());
  const syncToken: onRequestAsyncHookHandler = async (request, reply) => {
    if (!identity.scimSyncToken) return sendError(reply, 503, "sync_disabled", "SCIM_SYNC_TOKEN is not configured");
    const presented = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "")?.[1];
    if (!presented || !timingSafeEqual(digest(presented), digest(identity.scimSyncToken)))
      return sendError(
        reply.header("www-authenticate", 'Bearer realm="maestro-scim-sync"'),
        401,
        "unauthorized",
        "the sync token is required",
      );
    return undefined;
  };
  tagGuard(syncToken, { kind: "sync-token" });
  server.post("/api/scim/sync", { bodyLimit: scimSnapshotMaxBytes, onRequest: [syncToken] }, async (request, reply) => {
    try {
      const snapshot = parseSnapshot(request.body);
      return await applySnapshot(
        context.db,
        context.audit,
        snapshot,
        { groupRoles: identity.groupRoles, subjectAttribute: identity.scimSubjectAttribute },
        {
          // Role bindings may have changed: no request on this replica may act on the old ones
          // (other replicas' cached principals expire within AUTHZ_CACHE_SECONDS).
          onCommitted: () => context.authz.forgetPrincipals(),
          onDrainError: (err) => request.log.warn({ err: err.message }, "identity audit outbox: drain failed; the drainer retries"),
        },
      );
    } catch (err) {
      // Only a run that changed nothing is recorded as failed: a committed run already has its status.
      const cause = err instanceof SyncNotAppliedError ? err.cause : (err as Error);
      await recordFailedRun(context.db, context.audit, cause).catch((recordErr: unknown) =>
        request.log.error({ err: (recordErr as Error).message }, "could not record the failed SCIM sync run"),
      );
      if (cause instanceof ScimResponseError)
        return sendError(reply, 422, "snapshot_invalid", cause.message, { code: cause.code, field: cause.field });
      throw cause;
    }
  });
}
