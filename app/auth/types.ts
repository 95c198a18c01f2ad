import type { onRequestAsyncHookHandler } from "fastify";
import type { Role } from "../../contracts/roles";

/** The authenticated caller of a request. */
export interface Principal {
  subject: string;
  groups: string[];
  roles: Role[];
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by Authorizer.authenticate. */
    principal?: Principal;
  }
}

/**
 * Request guards, applied as a route's onRequest hooks (before its body is read) in this order:
 * authenticate, requireRole, requireReason. Each hook is tagged (app/auth/guards.ts), so the
 * service can list every route's guards.
 */
export interface Authorizer {
  /** 401 with WWW-Authenticate unless the bearer token verifies; sets request.principal. */
  authenticate: onRequestAsyncHookHandler;
  /** 403 unless the principal holds one of the roles. */
  requireRole(...allowed: Role[]): onRequestAsyncHookHandler;
  /** 403 without a non-empty x-rfa header when the resource's label is restricted; audits the reason. */
  requireReason(label: string): onRequestAsyncHookHandler;
  /** Drops remembered principals, so the next request of every token reads its roles again. */
  forgetPrincipals(): void;
}
