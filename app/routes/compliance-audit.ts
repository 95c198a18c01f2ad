import type { FastifyInstance } from "fastify";
import type { ServiceContext } from "../context";
import { sendError } from "../http-errors";

/** The resource label of the audit log: restricted by default (RESTRICTED_LABELS), so reads need x-rfa. */
export const auditLogLabel = "audit-log";

/**
 * GET /api/compliance/audit?fromId=&toId=&limit=: the hash-chained audit log. Auditors and admins
 * only, with a reason (x-rfa) that is itself audited before the entries are read.
 */
export function registerComplianceAuditRoute(server: FastifyInstance, context: ServiceContext): void {
  const { authz } = context;
  server.get<{ Querystring: { fromId?: string; toId?: string; limit?: string } }>(
    "/api/compliance/audit",
    { onRequest: [authz.authenticate, authz.requireRole("auditor", "admin"), authz.requireReason(auditLogLabel)] },
    async (request, reply) => {
      const range: { fromId?: number; toId?: number; limit?: number } = {};
      for (const [key, max] of [
        ["fromId", Number.MAX_SAFE_INTEGER],
        ["toId", Number.MAX_SAFE_INTEGER],
        ["limit", 10000],
      ] as const) {
        const raw = request.query[key];
        if (raw === undefined) continue;
        if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
          return sendError(reply, 400, "bad_request", `${key} must be an integer 1-${max} (got '${raw}')`, { parameter: key });
        range[key] = Number(raw);
      }
      const entries = await context.audit.list({ limit: 1000, ...range });
      return { entries };
    },
  );
}
