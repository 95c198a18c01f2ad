import { createHash } from "node:crypto";
import type { Db } from "../db";
import { sortDeep } from "./canonical";
import type { AuditEntry, AuditEventInput, AuditLog } from "./types";

/** The hash of the (empty) chain before the first entry. */
export const genesisHash = "0".repeat(64);

/** The canonical bytes of an entry that its hash covers (everything but the hash itself). */
export function canonicalEntry(e: Omit<AuditEntry, "hash">): string {
  return JSON.stringify([e.id, e.at, e.type, e.actor, e.resource ?? null, e.reason ?? null, sortDeep(e.details ?? {}), e.prevHash]);
}

export function entryHash(e: Omit<AuditEntry, "hash">): string {
  return createHash("sha256").update(canonicalEntry(e)).digest("hex");
}

interface Row {
  id: string | number;
  at: string | Date;
  type: string;
  actor: string;
  resource: string | null;
  reason: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

function fromRow(r: Row): AuditEntry {
  return {
    id: Number(r.id),
    at: r.at instanceof Date ? r.at.toISOString() : new Date(r.at).toISOString(),
    type: r.type,
    actor: r.actor,
    ...(r.resource !== null ? { resource: r.resource } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    details: r.details ?? {},
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * The audit log in the service's database. Appends are serialized (one chain, one writer) and
 * each commits in its own transaction before append resolves.
 */
export function createAuditLog(db: Db): AuditLog {
  let tail: Promise<unknown> = Promise.resolve();
  const appendNow = async (event: AuditEventInput): Promise<AuditEntry> =>
    db.transaction(async (tx) => {
      const last = (await tx.query<Row>("select * from audit_log order by id desc limit 1")).rows[0];
      const draft: Omit<AuditEntry, "hash"> = {
        id: last ? Number(last.id) + 1 : 1,
        at: new Date().toISOString(),
        type: event.type,
        actor: event.actor,
        ...(event.resource !== undefined ? { resource: event.resource } : {}),
        ...(event.reason !== undefined ? { reason: event.reason } : {}),
        details: event.details ?? {},
        prevHash: last ? last.hash : genesisHash,
      };
      const entry: AuditEntry = { ...draft, hash: entryHash(draft) };
      await tx.query(
        "insert into audit_log (id, at, type, actor, resource, reason, details, prev_hash, hash) values ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        [
          entry.id,
          entry.at,
          entry.type,
          entry.actor,
          entry.resource ?? null,
          entry.reason ?? null,
          JSON.stringify(entry.details),
          entry.prevHash,
          entry.hash,
        ],
      );
      return entry;
    });
  return {
    append(event) {
      const result = tail.then(() => appendNow(event));
      tail = result.catch(() => undefined);
      return result;
    },
    async list(range = {}) {
      const { rows } = await db.query<Row>("select * from audit_log where id >= $1 and id <= $2 order by id limit $3", [
        range.fromId ?? 1,
        range.toId ?? Number.MAX_SAFE_INTEGER,
        range.limit ?? 10000,
      ]);
      return rows.map(fromRow);
    },
  };
}
