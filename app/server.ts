import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import { createRequire } from "node:module";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { migrate, openDb } from "./db";
import type { ServiceSettings } from "./settings";
import { createAuditLog } from "./audit/log";
import { createAuthorizer } from "./auth/authorizer";
import { complianceEngineFor } from "./compliance/report";
import { registerComplianceRoutes } from "./routes/compliance";
import { registerMetrics } from "./metrics";
import { registerUi } from "./ui/serve";
import { registerComplianceAuditRoute } from "./routes/compliance-audit";
import { registerScimSyncRoute } from "./scim/routes";
import { scimSyncProbe } from "./scim/evidence";
import { bundleSignatureProbe } from "./policy/evidence";
import { startPolicyRuntime } from "./policy/runtime";
import { registerPolicyHealth } from "./policy/health";
import { registerAuditExportRoutes } from "./export/routes";
import { registerWormSink } from "./audit/worm";
import { routeGuards, type RouteGuards } from "./auth/guards";
import type { ServiceContext } from "./context";
import { sendError } from "./http-errors";

/** Longest /readyz waits for the database before it answers 503. */
const readinessTimeoutMs = 1500;

export interface BuiltService {
  server: FastifyInstance;
  context: ServiceContext;
  /** Every registered route (HEAD included) with its guards, in registration order. */
  routes: RouteGuards[];
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

/** The body limit of every route that does not declare its own (only POST /api/scim/sync does). */
export const defaultBodyLimit = 64 * 1024;

/** snake_case of an HTTP status text: 413 → payload_too_large. */
const statusError = (status: number) => (STATUS_CODES[status] ?? "error").toLowerCase().replace(/[^a-z0-9]+/g, "_");

/**
 * One error body for every error a handler throws: `{ error, message, requestId }`. A client
 * error (4xx: bad JSON, body too large) says what was wrong; a server error says only that it
 * happened and the request id, and the details go to the log under that id.
 */
function registerErrorBodies(server: FastifyInstance): void {
  server.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err, requestId: request.id }, "request failed");
      return sendError(reply, status, "internal_error", "internal error; quote the request id to the operator");
    }
    request.log.info({ err: { code: err.code, message: err.message }, requestId: request.id }, "request refused");
    return sendError(reply, status, statusError(status), err.message, err.code ? { code: err.code } : {});
  });
  server.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, "not_found", `no route ${request.method} ${request.url.split("?")[0]}`),
  );
}

/**
 * Builds the compliance service: opens the database, runs migrations, registers every route
 * module. Listening is the caller's choice (app/main.ts listens; tests use inject or port 0).
 */
export async function buildService(
  settings: ServiceSettings,
  options: {
    logger?: boolean;
    /** Where log lines go instead of stdout (tests read them). */ logStream?: { write(line: string): void };
  } = {},
): Promise<BuiltService> {
  const http = settings.http;
  const server = Fastify({
    logger: options.logger === false ? false : { level: settings.logLevel, ...(options.logStream ? { stream: options.logStream } : {}) },
    schemaController: onDemandSchemaCompilers(),
    genReqId: () => randomUUID(),
    bodyLimit: defaultBodyLimit,
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    connectionTimeout: http.connectionTimeoutMs,
    // Node checks request and header deadlines on this interval (30 s by default, which would let
    // a slow client overstay a short limit by that much).
    http: { headersTimeout: http.headersTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(1000, http.headersTimeoutMs / 4)) },
  });
  const routes: RouteGuards[] = [];
  server.addHook("onRoute", (route) => {
    routes.push(...routeGuards(route));
  });
  server.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  registerErrorBodies(server);
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
    policy: await startPolicyRuntime(settings.policy, server.log, audit),
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
  registerPolicyHealth(server, context.policy, settings.policy);
  server.get("/healthz", async () => ({ status: "ok" }));
  server.get("/readyz", async (request, reply) => {
    try {
      await db.ping(readinessTimeoutMs);
      return { status: "ready" };
    } catch (err) {
      request.log.error({ err }, "readiness: the database does not answer");
      return reply.code(503).send({ status: "not-ready", error: "the database does not answer" });
    }
  });

  let closed = false;
  return {
    server,
    context,
    routes,
    close: async () => {
      if (closed) return;
      closed = true;
      await server.close();
      await db.close();
    },
  };
}
