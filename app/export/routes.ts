import type { FastifyInstance } from "fastify";
import { sendError } from "../http-errors";
import type { ServiceContext } from "../context";
import { buildComplianceReport } from "../compliance";
import { Readable } from "node:stream";
import { idRangeOfTimes, tailId } from "../audit/log";
import { isoTime } from "../../contracts/records";
import { PackRequestError, PackWriter } from "./pack";
import { loadPackKeyring, type PackKeyring } from "./signing";
import { auditLogLabel } from "../routes/compliance-audit";

function parseIds(raw: string | undefined): number[] | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+(,\d+)*$/.test(raw)) throw new PackRequestError("proveIds", `must be comma-separated entry ids (got '${raw}')`);
  return raw.split(",").map(Number);
}

function parseId(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) throw new PackRequestError(name, `must be an entry id, 1 or more (got '${raw}')`);
  return Number(raw);
}

function parseTime(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!isoTime.safeParse(raw).success)
    throw new PackRequestError(name, `must be an ISO 8601 time with a zone, e.g. 2026-12-01T00:00:00Z (got '${raw}')`);
  return raw;
}

interface ExportQuery {
  proveIds?: string;
  since?: string;
  fromId?: string;
  toId?: string;
  from?: string;
  to?: string;
}

/** The pack's range (fromId..toId, toId the tree size) and proofs from the query, against the log as it is now. */
async function packRange(
  context: ServiceContext,
  query: ExportQuery,
): Promise<{ fromId: number; toId: number; proveIds?: number[]; sinceSize?: number }> {
  const proveIds = parseIds(query.proveIds);
  let sinceSize: number | undefined;
  if (query.since !== undefined) {
    if (!/^\d+$/.test(query.since)) throw new PackRequestError("since", `must be an earlier tree size (got '${query.since}')`);
    sinceSize = Number(query.since);
  }
  const byId = { fromId: parseId("fromId", query.fromId), toId: parseId("toId", query.toId) };
  const byTime = { from: parseTime("from", query.from), to: parseTime("to", query.to) };
  if ((byId.fromId !== undefined || byId.toId !== undefined) && (byTime.from !== undefined || byTime.to !== undefined))
    throw new PackRequestError("from", "give a range by id (fromId, toId) or by time (from, to), not both");
  const tail = await tailId(context.db);
  if (byTime.from === undefined && byTime.to === undefined) {
    const toId = byId.toId ?? tail;
    if (toId > tail) throw new PackRequestError("toId", `must be at most ${tail}, the log's last entry (got ${toId})`);
    const fromId = byId.fromId ?? (toId > 0 ? 1 : 0);
    if (fromId > toId) throw new PackRequestError("fromId", `must be at most toId ${toId} (got ${fromId})`);
    return { fromId, toId, proveIds, sinceSize };
  }
  const ids = await idRangeOfTimes(context.db, byTime);
  const toId = Math.min(ids.toId ?? 0, tail);
  if (ids.fromId === null || toId < ids.fromId)
    throw new PackRequestError(
      byTime.from !== undefined ? "from" : "to",
      `no audit entries from ${byTime.from ?? "the start"} to ${byTime.to ?? "now"}`,
    );
  return { fromId: ids.fromId, toId, proveIds, sinceSize };
}

/**
 * GET /api/compliance/export/signed (auditor, admin, with an x-rfa reason: the pack holds audit
 * entries and their reasons, the audit log's label): the signed pack, streamed. Query: a range
 * by id (fromId, toId; default the whole log) or by time (from, to: ISO 8601 with a zone; from
 * inclusive, to exclusive), proveIds=1,2 (inclusion proofs, ids in the range; default the last
 * entry), since=<earlier tree size> (consistency proof). The tree is always entries 1..toId.
 * GET /api/compliance/export/key (auditor, admin): the PEM public keys that verify it.
 */
export function registerAuditExportRoutes(server: FastifyInstance, context: ServiceContext): void {
  const settings = context.settings.audit;
  let keyring: PackKeyring | undefined;
  const getKeyring = () => (keyring ??= loadPackKeyring(settings));
  const getSigner = () => getKeyring().signer;
  const { authz } = context;
  const guard = { onRequest: [authz.authenticate, authz.requireRole("auditor", "admin")] };
  const withReason = { onRequest: [...guard.onRequest, authz.requireReason(auditLogLabel)] };

  // Every key still valid, the current one first: a pack signed before a rotation, or by any
  // replica, verifies against this bundle (verify:export picks the key by the pack's keyId).
  server.get("/api/compliance/export/key", guard, async (_req, reply) => {
    const { signer, keys } = getKeyring();
    return reply
      .header("content-type", "application/x-pem-file")
      .header("x-key-id", signer.keyId)
      .header("x-key-ids", keys.map((k) => k.keyId).join(","))
      .send(keys.map((k) => k.publicKeyPem).join(""));
  });

  server.get<{ Querystring: ExportQuery }>("/api/compliance/export/signed", withReason, async (req, reply) => {
    let writer: PackWriter;
    try {
      const range = await packRange(context, req.query);
      const report = await buildComplianceReport(context);
      writer = new PackWriter(
        { ...range, environment: context.settings.environment, controls: report.controls, summary: report.summary },
        getSigner(),
      );
    } catch (err) {
      if (err instanceof PackRequestError)
        return sendError(reply, 400, "bad_request", err.message, { parameter: err.parameter, code: err.code });
      throw err;
    }
    const actor = req.principal?.subject ?? "unknown";
    // Written as it is read: a failure part-way (the database gone for longer than the retry
    // budget) ends the response early, and a truncated pack is not JSON, so it cannot pass.
    async function* body(): AsyncGenerator<string> {
      yield writer.start();
      yield* writer.readLog(context.db);
      const { text, pack, signature } = writer.finish();
      await context.audit.append({
        type: "export.signed",
        actor,
        resource: "GET /api/compliance/export/signed",
        details: { fromId: writer.fromId, treeSize: pack.merkle.treeSize, root: pack.merkle.root, keyId: signature.keyId },
      });
      yield text;
    }
    // One page (~60 KB) ahead of the socket, not Readable.from's default 16: measured over
    // 1,000,000 entries, ~20 MB less peak RSS than 4 and no slower.
    return reply.header("content-type", "application/json; charset=utf-8").send(Readable.from(body(), { highWaterMark: 1 }));
  });
}
