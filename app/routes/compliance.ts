import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { buildComplianceReport } from "../compliance/report";
import { controlIdPattern } from "../compliance/catalogue";
import { toOscalAssessmentResults } from "../compliance/oscal";
import { controlStatuses, frameworks, type ComplianceReport } from "../compliance/types";
import { renderCompliancePdf } from "../export/pdf";
import type { ServiceContext } from "../context";
import { roles } from "../../contracts/roles";
import { sendError } from "../http-errors";

export const exportFormats = ["json", "pdf", "oscal"] as const;
const sourcePattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** 400 with the offending parameter and what is allowed. */
function badRequest(reply: FastifyReply, parameter: string, message: string) {
  return sendError(reply, 400, "bad_request", `${parameter}: ${message}`, { parameter });
}

/** Query parameters: each at most once, none outside `allowed`. Returns the error sent, or the values. */
function readQuery(request: FastifyRequest, reply: FastifyReply, allowed: string[]): Record<string, string> | undefined {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    if (!allowed.includes(key)) {
      badRequest(reply, key, `unknown query parameter (allowed: ${allowed.join(", ") || "none"})`);
      return undefined;
    }
    if (typeof value !== "string") {
      badRequest(reply, key, "must be given once");
      return undefined;
    }
    values[key] = value;
  }
  return values;
}

function oneOf<T extends string>(
  reply: FastifyReply,
  parameter: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined | false {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    badRequest(reply, parameter, `must be one of ${allowed.join(", ")} (got '${value.slice(0, 40)}')`);
    return false;
  }
  return value as T;
}

function attachmentName(report: ComplianceReport, ext: string): string {
  return `maestro-compliance-${report.service.environment}-${report.generatedAt.slice(0, 19).replace(/[-:T]/g, "")}.${ext}`;
}

/**
 * /api/compliance/*: the controls with derived status, single controls, evidence items and the
 * JSON / PDF / OSCAL exports. Every route needs an authenticated principal with any role
 * (viewer or above); exports are recorded in the audit log.
 */
export function registerComplianceRoutes(server: FastifyInstance, context: ServiceContext): void {
  const guard = { onRequest: [context.authz.authenticate, context.authz.requireRole(...roles)] };

  server.get("/api/compliance/controls", guard, async (request, reply) => {
    const query = readQuery(request, reply, ["framework", "status"]);
    if (!query) return reply;
    const framework = oneOf(reply, "framework", query.framework, frameworks);
    if (framework === false) return reply;
    const status = oneOf(reply, "status", query.status, controlStatuses);
    if (status === false) return reply;
    const report = await buildComplianceReport(context);
    const controls = report.controls.filter((c) => (!framework || c.frameworks[framework].length > 0) && (!status || c.status === status));
    return {
      generatedAt: report.generatedAt,
      service: report.service,
      filters: { framework: framework ?? null, status: status ?? null },
      summary: report.summary,
      total: report.controls.length,
      controls,
    };
  });

  server.get<{ Params: { id: string } }>("/api/compliance/controls/:id", guard, async (request, reply) => {
    if (!readQuery(request, reply, [])) return reply;
    const { id } = request.params;
    if (id.length > 64 || !controlIdPattern.test(id))
      return badRequest(reply, "id", "must be a lower-case control id such as 'transit-encryption'");
    const report = await buildComplianceReport(context);
    const control = report.controls.find((c) => c.id === id);
    if (!control) return sendError(reply, 404, "not_found", `no control '${id}' (known: ${report.controls.map((c) => c.id).join(", ")})`);
    return { generatedAt: report.generatedAt, control };
  });

  server.get<{ Params: { source: string } }>("/api/compliance/evidence/:source", guard, async (request, reply) => {
    if (!readQuery(request, reply, [])) return reply;
    const { source } = request.params;
    if (source.length > 64 || !sourcePattern.test(source))
      return badRequest(reply, "source", "must be a lower-case evidence source id such as 'policy-verdicts'");
    const evidence = await context.compliance.collectEvidence();
    const item = evidence.get(source);
    if (!item) return sendError(reply, 404, "not_found", `no evidence source '${source}' (known: ${[...evidence.keys()].join(", ")})`);
    return item;
  });

  server.get("/api/compliance/export", guard, async (request, reply) => {
    const query = readQuery(request, reply, ["format"]);
    if (!query) return reply;
    if (query.format === undefined) return badRequest(reply, "format", `is required (one of ${exportFormats.join(", ")})`);
    const format = oneOf(reply, "format", query.format, exportFormats);
    if (!format) return reply;
    const report = await buildComplianceReport(context);
    await context.audit.append({
      type: "compliance.export",
      actor: request.principal?.subject ?? "unknown",
      resource: `GET /api/compliance/export?format=${format}`,
      details: { format, generatedAt: report.generatedAt, statuses: Object.fromEntries(report.controls.map((c) => [c.id, c.status])) },
    });
    if (format === "pdf") {
      const pdf = await renderCompliancePdf(report);
      return reply
        .type("application/pdf")
        .header("content-disposition", `attachment; filename="${attachmentName(report, "pdf")}"`)
        .send(pdf);
    }
    const body = format === "oscal" ? toOscalAssessmentResults(report) : report;
    return reply
      .type("application/json; charset=utf-8")
      .header("content-disposition", `attachment; filename="${attachmentName(report, format === "oscal" ? "oscal.json" : "json")}"`)
      .send(JSON.stringify(body, null, 2));
  });
}
