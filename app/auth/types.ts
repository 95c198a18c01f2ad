import type { preHandlerAsyncHookHandler } from "fastify";

/** Duties, least to most privileged; see docs/identity.md. */
export const roles = ["viewer", "operator", "auditor", "admin"] as const;
export type Role = (typeof roles)[number];

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

/** Request guards, applied as route preHandlers in this order: authenticate, requireRole, requireReason. */
export interface Authorizer {
  /** 401 with WWW-Authenticate unless the bearer token verifies; sets request.principal. */
  authenticate: preHandlerAsyncHookHandler;
  /** 403 unless the principal holds one of the roles. */
  requireRole(...allowed: Role[]): preHandlerAsyncHookHandler;
  /** 403 without a non-empty x-rfa header when the resource's label is restricted; audits the reason. */
  requireReason(label: string): preHandlerAsyncHookHandler;
  /** Drops remembered principals, so the next request of every token reads its roles again. */
  forgetPrincipals(): void;
}
