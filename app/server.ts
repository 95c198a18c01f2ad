import { createRequire } from "node:module";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { migrate, openDb, type Db } from "./db";
import type { ServiceSettings } from "./settings";
import { createAuditLog } from "./audit/log";
import type { AuditLog } from "./audit/types";
import { createAuthorizer } from "./auth/authorizer";
import type { Authorizer } from "./auth/types";
import { complianceEngineFor, type ComplianceEngine } from "./compliance/report";
import { registerComplianceRoutes } from "./routes/compliance";
import { registerMetrics } from "./metrics";
import { registerUi } from "./ui/serve";
import { registerComplianceAuditRoute } from "./routes/compliance-audit";
import { registerScimSyncRoute } from "./scim/routes";
import { scimSyncProbe } from "./scim/evidence";
import { bundleSignatureProbe } from "./policy/evidence";
import { startPolicyRuntime, type PolicyRuntime } from "./policy/runtime";
import { readPolicySettings } from "./policy/settings";
import { registerAuditExportRoutes } from "./export/routes";
import { registerWormSink } from "./audit/worm";

/** Longest /readyz waits for the database before it answers 503. */
const readinessTimeoutMs = 1500;

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

export interface BuiltService {
  server: FastifyInstance;
  context: ServiceContext;
  /** Closes the server, then the database. */
  close(): Promise<void>;
}

/**
 * Fastify builds Ajv and fast-json-stringify when the server is constructed (~150 ms of a cold
 * start); these routes validate their input by hand and declare no JSON schemas, so the
 * compilers are loaded the first time a route asks for one, and never otherwise.
 */
function onDemandSchemaCompilers(): NonNullable<FastifyServerOptions["schemaController"]> {
  const fromFastify = createRequire(require.resolve("fastify"));
  type Factory = (...args: unknown[]) => unknown;
  let validator: Factory | undefined;
  let serializer: Factory | undefined;
  return {
    compilersFactory: {
      buildValidator: (...args: unknown[]) => (validator ??= (fromFastify("@fastify/ajv-compiler") as () => Factory)())(...args),
      buildSerializer: (...args: unknown[]) =>
        (serializer ??= (fromFastify("@fastify/fast-json-stringify-compiler") as () => Factory)())(...args),
    },
  } as NonNullable<FastifyServerOptions["schemaController"]>;
}

/**
 * Builds the compliance service: opens the database, runs migrations, registers every route
 * module. Listening is the caller's choice (app/main.ts listens; tests use inject or port 0).
 */
export async function buildService(settings: ServiceSettings, options: { logger?: boolean } = {}): Promise<BuiltService> {
  const server = Fastify({
    logger: options.logger === false ? false : { level: settings.logLevel },
    schemaController: onDemandSchemaCompilers(),
  });
  const db = await openDb({
    databaseUrl: settings.databaseUrl,
    dataDir: settings.dataDir,
    onConnectionError: (err) => server.log.warn({ err: err.message }, "database connection lost; the pool reconnects"),
  });
  await migrate(db);
  const audit = createAuditLog(db);
  const context: ServiceContext = {
    settings,
    db,
    audit,
    authz: await createAuthorizer(settings, db, audit),
    compliance: complianceEngineFor({ settings, db, audit }),
    policy: await startPolicyRuntime(settings.policy ?? readPolicySettings({}, settings.dataDir), server.log, audit),
  };

  registerComplianceAuditRoute(server, context);
  registerScimSyncRoute(server, context);
  context.compliance.registerEvidenceProbe(scimSyncProbe);
  context.compliance.registerEvidenceProbe(bundleSignatureProbe(context.policy));
  registerMetrics(server, context);
  registerComplianceRoutes(server, context);
  await registerUi(server);
  registerAuditExportRoutes(server, context);
  registerWormSink(server, context);
  server.get("/healthz", async () => ({ status: "ok" }));
  server.get("/readyz", async (_req, reply) => {
    try {
      await db.ping(readinessTimeoutMs);
      return { status: "ready" };
    } catch (err) {
      return reply.code(503).send({ status: "not-ready", error: (err as Error).message });
    }
  });

  let closed = false;
  return {
    server,
    context,
    close: async () => {
      if (closed) return;
      closed = true;
      await server.close();
      await db.close();
    },
  };
}
