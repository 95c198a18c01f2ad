// The service's shared parts, as route modules and sinks receive them from buildService
// (app/server.ts). Its own module, so that a route imports the context, never the server.
import type { Db } from "./db";
import type { ServiceSettings } from "./settings";
import type { AuditLog } from "./audit/types";
import type { Authorizer } from "./auth/types";
import type { ComplianceEngine } from "./compliance/report";
import type { PolicyRuntime } from "./policy/runtime";

/** What route modules receive: the service's shared parts. */
export interface ServiceContext {
  settings: ServiceSettings;
  db: Db;
  /** The hash-chained audit log; every security-relevant event goes here. */
  audit: AuditLog;
  /** Request guards: authenticate, then requireRole(...), then requireReason(label) (app/auth). */
  authz: Authorizer;
  /** Control catalogue, evidence probes and their cached readings (app/compliance); registerEvidenceProbe adds sources. */
  compliance: ComplianceEngine;
  /** The policy bundle in force: verified at start and on reload, refusals audited (app/policy/runtime.ts). */
  policy: PolicyRuntime;
}
