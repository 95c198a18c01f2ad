import type { FastifyInstance } from "fastify";
import type { ServiceContext } from "../context";
import { buildComplianceReport } from "../compliance";
import type { AuditEntry } from "../audit/types";
import { buildSignedPack, PackRequestError } from "./pack";
import { loadPackKeyring, type PackKeyring } from "./signing";
import { auditLogLabel } from "../routes/compliance-audit";

const pageSize = 50_000;

/** Every entry of the log, in id order. */
async function allEntries(context: ServiceContext): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (;;) {
    const page = await context.audit.list({ fromId: entries.length + 1, limit: pageSize });
    entries.push(...page);
    if (page.length < pageSize) return entries;
  }
}

function parseIds(raw: string | undefined): number[] | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+(,\d+)*$/.test(raw)) throw new PackRequestError("proveIds", `must be comma-separated entry ids (got '${raw}')`);
  return raw.split(",").map(Number);
}

/**
 * GET /api/compliance/export/signed (auditor, admin, with an x-rfa reason: the pack holds every
 * audit entry and its reason, the audit log's label): the signed pack. Query: proveIds=1,2
 * (inclusion proofs; default the last entry), since=<earlier tree size> (consistency proof).
 * GET /api/compliance/export/key (auditor, admin): the PEM public key that verifies it.
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

  server.get<{ Querystring: { proveIds?: string; since?: string } }>("/api/compliance/export/signed", withReason, async (req, reply) => {
    let proveIds: number[] | undefined;
    let sinceSize: number | undefined;
    try {
      proveIds = parseIds(req.query.proveIds);
      if (req.query.since !== undefined) {
        if (!/^\d+$/.test(req.query.since)) throw new PackRequestError("since", `must be an earlier tree size (got '${req.query.since}')`);
        sinceSize = Number(req.query.since);
      }
    } catch (err) {
      return reply.code(400).send({ error: (err as Error).message, code: (err as PackRequestError).code });
    }
    const report = await buildComplianceReport(context);
    const entries = await allEntries(context);
    let signed;
    try {
      signed = buildSignedPack(
        { entries, environment: context.settings.environment, controls: report.controls, summary: report.summary, proveIds, sinceSize },
        getSigner(),
      );
    } catch (err) {
      if (err instanceof PackRequestError) return reply.code(400).send({ error: err.message, code: err.code });
      throw err;
    }
    await context.audit.append({
      type: "export.signed",
      actor: req.principal?.subject ?? "unknown",
      resource: "GET /api/compliance/export/signed",
      details: { treeSize: signed.pack.merkle.treeSize, root: signed.pack.merkle.root, keyId: signed.signature.keyId },
    });
    return reply.header("content-type", "application/json; charset=utf-8").send(JSON.stringify(signed));
  });
}
