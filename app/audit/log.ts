import { createHash, randomUUID } from "node:crypto";
import { advisoryLocks, type Db, type Queryable } from "../db";
import { canonicalJson, sortDeep } from "./canonical";
import { leafHash } from "./merkle";
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

/** The entry's RFC 6962 Merkle leaf, SHA-256(0x00 ‖ utf8(canonicalEntry)) (canonicalEntry reads only the hashed fields). */
export const leafOf = (entry: AuditEntry): Buffer => leafHash(canonicalEntry(entry));

/** The entry as a signed pack holds it: canonicalJson (keys in order, so sortDeep copies nothing but details). */
export function packEntryJson(e: AuditEntry): string {
  return canonicalJson({
    actor: e.actor,
    at: e.at,
    details: e.details,
    hash: e.hash,
    id: e.id,
    prevHash: e.prevHash,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.resource !== undefined ? { resource: e.resource } : {}),
    type: e.type,
  });
}

/** An entry as an export reads it: its id, leaf and pack bytes (stored at append, migration 014). */
export interface PackRow {
  id: number;
  leaf: Buffer;
  json: string;
}

/**
 * The leaf and pack bytes of an entry as it will be read back from the database (NULL resource
 * and reason dropped, details through JSON as jsonb returns them), so what is stored at append
 * is what an export would compute from the row (tested for awkward content). `canonical`: the
 * entry's canonicalEntry, when the caller has it (append: the string its hash covers).
 */
export function packRowOf(e: AuditEntry, canonical: string = canonicalEntry(e)): PackRow {
  const json = canonicalJson({
    actor: e.actor,
    at: e.at,
    details: JSON.parse(JSON.stringify(e.details ?? {})) as unknown,
    hash: e.hash,
    id: e.id,
    prevHash: e.prevHash,
    ...(e.reason !== undefined && e.reason !== null ? { reason: e.reason } : {}),
    ...(e.resource !== undefined && e.resource !== null ? { resource: e.resource } : {}),
    type: e.type,
  });
  return { id: e.id, leaf: leafHash(canonical), json };
}

/** The columns an entry is read from (not `*`: the stored leaf and pack bytes are the export's alone). */
const entryColumns = "id, at, type, actor, resource, reason, details, prev_hash, hash";

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

/** Entries with id in [fromId, toId], in order, read through q (the database, or an open transaction). */
export async function listEntries(q: Queryable, range: { fromId?: number; toId?: number; limit?: number } = {}): Promise<AuditEntry[]> {
  const { rows } = await q.query<Row>(`select ${entryColumns} from audit_log where id >= $1 and id <= $2 order by id limit $3`, [
    range.fromId ?? 1,
    range.toId ?? Number.MAX_SAFE_INTEGER,
    range.limit ?? 10000,
  ]);
  return rows.map(fromRow);
}

/**
 * Entries with id in [fromId, toId], in order, as an export writes them: the leaf and pack bytes
 * stored at append; for rows older than migration 014 (NULL there) computed from the row.
 */
export async function listPackRows(q: Queryable, range: { fromId: number; toId: number; limit: number }): Promise<PackRow[]> {
  const { rows } = await q.query<{ id: string | number; leaf_hash: Uint8Array | null; pack_json: string | null }>(
    "select id, leaf_hash, pack_json from audit_log where id >= $1 and id <= $2 order by id limit $3",
    [range.fromId, range.toId, range.limit],
  );
  const out: PackRow[] = new Array(rows.length);
  let missing: number[] | undefined;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r.leaf_hash === null || r.pack_json === null) (missing ??= []).push(i);
    else {
      out[i] = { id: Number(r.id), leaf: asBuffer(r.leaf_hash), json: r.pack_json }; // pg gives a Buffer, PGlite a Uint8Array
    }
  }
  if (missing) {
    const ids = missing.map((i) => Number(rows[i].id));
    const full = new Map((await listEntries(q, { fromId: ids[0], toId: ids[ids.length - 1], limit: rows.length })).map((e) => [e.id, e]));
    for (const i of missing) {
      const entry = full.get(Number(rows[i].id));
      if (!entry) throw new Error(`audit entry ${rows[i].id} vanished while it was exported`);
      out[i] = { id: entry.id, leaf: leafOf(entry), json: packEntryJson(entry) };
    }
  }
  return out;
}

/**
 * Entries fromId..toId as one page of a signed pack: their pack bytes joined by ",", and their
 * leaves end to end or, for a whole stored block (migration 015), the block's root.
 */
export interface PackPage {
  fromId: number;
  toId: number;
  /** The entries' pack bytes (packEntryJson), in id order, joined by ","; not read for a page of leaves only. */
  json?: string;
  /** Their Merkle leaves, 32 bytes each, in id order (absent for a block page before a range). */
  leaves?: Buffer;
  /** The stored root of the block these entries are, when they are a whole block and it is stored. */
  block?: Buffer;
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Entries fromId..toId (all of them: ids have no gaps) as pages, one per Merkle block (the
 * entries of one block of 256 that are in the range), each joined by the database into one row
 * with the block's stored root: so the service parses a few values per page, not one row per
 * entry, and each page's text (~80 KB) stays small enough to die young (a string over ~128 KB
 * would be allocated in the old generation and stay until a full collection). Pages with rows
 * older than migration 014 (no stored bytes) are computed from the rows. Fails naming the ids
 * when the log does not hold every entry of the range.
 */
export async function readPackPages(q: Queryable, range: { fromId: number; toId: number; leavesOnly?: boolean }): Promise<PackPage[]> {
  const { fromId, toId } = range;
  const leavesOnly = range.leavesOnly === true;
  const json = leavesOnly ? "null" : "string_agg(pack_json, ',' order by id)";
  const { rows } = await q.query<{
    lo: string | number;
    hi: string | number;
    n: string | number;
    stored: string | number;
    json: string | null;
    leaves: Uint8Array | null;
    block: Uint8Array | null;
  }>(
    "select p.lo, p.hi, p.n, p.stored, p.json, p.leaves, b.hash as block from (" +
      `select (id - 1) / ${merkleBlockSize} as k, min(id) as lo, max(id) as hi, count(*) as n, count(leaf_hash) as stored, ${json} as json, ` +
      "string_agg(leaf_hash, ''::bytea order by id) as leaves from audit_log where id >= $1 and id <= $2 group by 1" +
      ") p left join audit_merkle_blocks b on b.block = p.k order by p.k",
    [fromId, toId],
  );
  const pages: PackPage[] = [];
  let next = fromId;
  for (const r of rows) {
    const lo = Number(r.lo);
    const hi = Number(r.hi);
    if (lo !== next || Number(r.n) !== hi - lo + 1)
      throw new Error(`the audit log does not hold every entry of ${next}-${Math.min(next + merkleBlockSize - 1, toId)}`);
    next = hi + 1;
    const block = r.block === null ? undefined : asBuffer(r.block);
    if (Number(r.stored) === Number(r.n)) {
      pages.push({
        fromId: lo,
        toId: hi,
        json: leavesOnly ? undefined : (r.json ?? ""),
        leaves: asBuffer(r.leaves ?? new Uint8Array()),
        block,
      });
      continue;
    }
    const old = await listPackRows(q, { fromId: lo, toId: hi, limit: hi - lo + 1 });
    pages.push({
      fromId: lo,
      toId: hi,
      json: leavesOnly ? undefined : old.map((o) => o.json).join(","),
      leaves: Buffer.concat(old.map((o) => o.leaf)),
    });
  }
  if (next !== toId + 1) throw new Error(`the audit log ends at entry ${next - 1}, before ${toId}`);
  return pages;
}

/**
 * The tree's part for entries fromId..toId before a range: the stored root of each whole block
 * that `usable` accepts (no proof node or snapshot inside it), read from audit_merkle_blocks
 * without touching the entries; the leaves of the rest (partial blocks at the ends, blocks not
 * stored, blocks a proof looks inside), read from the log.
 */
export async function readLeafPages(
  q: Queryable,
  range: { fromId: number; toId: number },
  usable: (fromId: number) => boolean,
): Promise<PackPage[]> {
  const { fromId, toId } = range;
  const firstBlock = Math.ceil((fromId - 1) / merkleBlockSize);
  const lastBlock = Math.floor(toId / merkleBlockSize) - 1;
  const stored = new Map<number, Buffer>();
  if (lastBlock >= firstBlock)
    for (const r of (
      await q.query<{ block: string | number; hash: Uint8Array }>(
        "select block, hash from audit_merkle_blocks where block >= $1 and block <= $2",
        [firstBlock, lastBlock],
      )
    ).rows)
      stored.set(Number(r.block), asBuffer(r.hash));
  const pages: PackPage[] = [];
  let leavesFrom = fromId; // the first id not yet covered
  const leavesUpTo = async (end: number) => {
    if (end >= leavesFrom) pages.push(...(await readPackPages(q, { fromId: leavesFrom, toId: end, leavesOnly: true })));
  };
  for (let k = firstBlock; k <= lastBlock; k++) {
    const start = k * merkleBlockSize + 1;
    const hash = stored.get(k);
    if (hash === undefined || !usable(start)) continue;
    await leavesUpTo(start - 1);
    pages.push({ fromId: start, toId: start + merkleBlockSize - 1, block: hash });
    leavesFrom = start + merkleBlockSize;
  }
  await leavesUpTo(toId);
  return pages;
}

/** The id of the newest entry, 0 for an empty log. */
export async function tailId(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ id: string | number | null }>("select max(id) as id from audit_log");
  return Number(rows[0]?.id ?? 0);
}

/**
 * The ids of the first entry at or after `from` and of the last entry before `to` (null where
 * there is none). Entry times come from the database's clock under the chain lock, so they rise
 * with the id and the ids between the two are the entries of that time window.
 */
export async function idRangeOfTimes(
  q: Queryable,
  range: { from?: string; to?: string },
): Promise<{ fromId: number | null; toId: number | null }> {
  const { rows } = await q.query<{ from_id: string | number | null; to_id: string | number | null }>(
    "select (select min(id) from audit_log where at >= $1::timestamptz) as from_id, (select max(id) from audit_log where at < $2::timestamptz) as to_id",
    [range.from ?? "-infinity", range.to ?? "infinity"],
  );
  const id = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return { fromId: id(rows[0]?.from_id), toId: id(rows[0]?.to_id) };
}

/** Events written in one transaction at most (group commit). */
const maxBatch = 200;

interface Pending {
  event: AuditEventInput;
  eventId: string;
  /** The caller chose the key (it may already be in the log); otherwise it is fresh. */
  keyed: boolean;
  resolve(entry: AuditEntry): void;
  reject(err: unknown): void;
}

/**
 * Appends a batch under the chain lock: ids and time come from the database, each entry links to
 * the one committed before it, whichever replica wrote that. Events whose delivery key is already
 * in the log resolve to the stored entry (a retried commit, or a second delivery).
 */
async function appendBatch(tx: Queryable, kind: Db["kind"], batch: Pending[], mayExist: boolean): Promise<AuditEntry[]> {
  // One writer at a time for the whole fleet; held until commit, so the next writer sees this tail.
  if (kind === "postgres") await tx.query(`select pg_advisory_xact_lock(${advisoryLocks.auditChain})`);
  const stored = new Map<string, AuditEntry>();
  // Fresh random keys cannot be in the log on a first attempt; the unique index backs that up.
  if (mayExist) {
    const ids = [...new Set(batch.map((p) => p.eventId))];
    for (const r of (
      await tx.query<Row & { event_id: string }>(`select ${entryColumns}, event_id from audit_log where event_id = any($1)`, [ids])
    ).rows)
      stored.set(r.event_id, fromRow(r));
  }
  const head = (
    await tx.query<{ id: string | number | null; hash: string | null; now: string | Date }>(
      "select t.id, t.hash, date_trunc('milliseconds', clock_timestamp()) as now from (select 1) one left join lateral (select id, hash from audit_log order by id desc limit 1) t on true",
    )
  ).rows[0];
  let id = head.id === null ? 0 : Number(head.id);
  let prevHash = head.hash ?? genesisHash;
  const at = new Date(head.now).toISOString();
  const fresh: { entry: AuditEntry; eventId: string; canonical: string }[] = [];
  for (const p of batch) {
    if (stored.has(p.eventId)) continue;
    const draft: Omit<AuditEntry, "hash"> = {
      id: ++id,
      at,
      type: p.event.type,
      actor: p.event.actor,
      ...(p.event.resource !== undefined ? { resource: p.event.resource } : {}),
      ...(p.event.reason !== undefined ? { reason: p.event.reason } : {}),
      details: p.event.details ?? {},
      prevHash,
    };
    const canonical = canonicalEntry(draft);
    const entry: AuditEntry = { ...draft, hash: createHash("sha256").update(canonical).digest("hex") }; // entryHash(draft)
    prevHash = entry.hash;
    stored.set(p.eventId, entry);
    fresh.push({ entry, eventId: p.eventId, canonical });
  }
  if (fresh.length > 0) {
    const params: unknown[] = [];
    const packRows = fresh.map(({ entry, canonical }) => packRowOf(entry, canonical));
    const rows = fresh.map(({ entry: e, eventId }, i) => {
      const at = params.length;
      const stored = packRows[i];
      params.push(
        e.id,
        e.at,
        e.type,
        e.actor,
        e.resource ?? null,
        e.reason ?? null,
        JSON.stringify(e.details),
        e.prevHash,
        e.hash,
        eventId,
        stored.leaf,
        stored.json,
      );
      return `(${Array.from({ length: 12 }, (_, i) => `$${at + i + 1}`).join(",")})`;
    });
    await tx.query(
      `insert into audit_log (id, at, type, actor, resource, reason, details, prev_hash, hash, event_id, leaf_hash, pack_json) values ${rows.join(",")}`,
      params,
    );
    await storeBlocks(tx, packRows);
  }
  return batch.map((p) => stored.get(p.eventId)!);
}

/** Entries per stored Merkle block (migration 015): a complete subtree, 2^8 leaves. */
export const merkleBlockSize = 256;

/**
 * The blocks the entries just written complete (an entry whose id is a multiple of the block
 * size): their root, computed by the database from the leaves in the log (audit_block_root,
 * migration 015), one statement per block, none for the other appends. A block with a leaf from
 * before migration 014 is not stored. Called under the chain lock, in the append's transaction;
 * a re-run after a lost commit finds its block already there.
 */
async function storeBlocks(tx: Queryable, written: readonly PackRow[]): Promise<void> {
  for (const r of written)
    if (r.id % merkleBlockSize === 0)
      await tx.query(
        "insert into audit_merkle_blocks (block, hash) select $1, audit_block_root(array_agg(leaf_hash order by id)) " +
          "from audit_log where id > $2 and id <= $3 having count(leaf_hash) = $4 on conflict (block) do nothing",
        [r.id / merkleBlockSize - 1, r.id - merkleBlockSize, r.id, merkleBlockSize],
      );
}

/**
 * The audit log in the service's database. Appends from every replica form one chain: each
 * process groups the events waiting while its previous write commits into one transaction (group
 * commit), and the transactions of all replicas take turns on a database lock. append resolves
 * only after its transaction committed.
 */
export function createAuditLog(db: Db): AuditLog {
  const queue: Pending[] = [];
  let writing = false;
  const writeNext = () => {
    if (writing || queue.length === 0) return;
    writing = true;
    const batch = queue.splice(0, maxBatch);
    let attempts = 0;
    const keyed = batch.some((p) => p.keyed);
    // idempotent: a re-run after a lost commit finds its own entries by their delivery keys.
    db.transaction((tx) => appendBatch(tx, db.kind, batch, keyed || attempts++ > 0), { idempotent: true })
      .then(
        (entries) => batch.forEach((p, i) => p.resolve(entries[i])),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => {
        writing = false;
        writeNext();
      });
  };
  return {
    append(event) {
      return new Promise<AuditEntry>((resolve, reject) => {
        queue.push({ event, eventId: event.eventId ?? randomUUID(), keyed: event.eventId !== undefined, resolve, reject });
        writeNext();
      });
    },
    list: (range) => listEntries(db, range),
  };
}
