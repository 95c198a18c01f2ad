import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openDb, type Db } from "../../../app/db";
import {
  canonicalEntry,
  createAuditLog,
  entryHash,
  genesisHash,
  leafOf,
  listEntries,
  listPackRows,
  packEntryJson,
} from "../../../app/audit/log";
import { canonicalJson } from "../../../app/audit/canonical";
import { leafHash } from "../../../app/audit/merkle";
import type { AuditEventInput } from "../../../app/audit/types";
import { describeWithService } from "../../support/services";
import { postgresMissing, startPostgres, type RunningPostgres } from "../../../harness/postgres";

// Migration 014: each entry's Merkle leaf and its bytes in a signed pack are stored at append, so
// an export copies them instead of re-encoding and re-hashing. They must be exactly what the
// export would compute from the row as read back, for any content the log accepts.

const awkward: AuditEventInput[] = [
  { type: "auth.login", actor: "alice", resource: "GET /x", details: { z: 1, a: { y: [3, { b: 2, a: 1 }], x: null } } },
  {
    type: "t",
    actor: "bob",
    reason: "SOC 2 \u2028 line\u2029sep\u0085 del\u007f",
    details: { "\u{1F600}": "astral", "\uE000": "private use", "\uD7FF": 1 },
  },
  { type: "t", actor: "carol", details: { n: 1e21, f: 0.1, neg: -0, big: JSON.parse("12345678901234567890") as number, exp: 1.5e-7 } },
  {
    type: "t",
    actor: "dave",
    details: JSON.parse('{"__proto__": {"polluted": true}, "b": "\\" quote \\\\ back"}') as Record<string, unknown>,
  },
  {
    type: "t",
    actor: "erin",
    details: { when: new Date("2026-12-01T00:00:00Z"), skip: undefined, list: [undefined, 1] } as Record<string, unknown>,
  },
  { type: "t", actor: "frank" },
];

function suite(open: () => Promise<{ db: Db; raw: (sql: string, params?: unknown[]) => Promise<unknown> }>): void {
  let db: Db;
  let raw: (sql: string, params?: unknown[]) => Promise<unknown>;
  beforeAll(async () => {
    ({ db, raw } = await open());
    await migrate(db);
  }, 120_000);
  afterAll(async () => db?.close());

  test("what append stores is what an export computes from the row read back, for awkward content", async () => {
    const audit = createAuditLog(db);
    await Promise.all(awkward.map((e) => audit.append(e)));
    const entries = await listEntries(db, { fromId: 1, toId: awkward.length });
    expect(entries).toHaveLength(awkward.length);
    const rows = await listPackRows(db, { fromId: 1, toId: awkward.length, limit: 100 });
    const stored = await db.query<{ id: string | number; leaf_hash: unknown }>(
      "select id, leaf_hash from audit_log where leaf_hash is not null",
    );
    expect(stored.rows).toHaveLength(awkward.length); // stored, not computed on read
    for (const [i, entry] of entries.entries()) {
      const { hash, ...content } = entry;
      expect(entryHash(content)).toBe(hash);
      expect(rows[i].id).toBe(entry.id);
      expect(rows[i].leaf.equals(leafHash(canonicalEntry(entry)))).toBe(true);
      expect(rows[i].json).toBe(canonicalJson(entry));
      expect(JSON.parse(rows[i].json)).toEqual(JSON.parse(JSON.stringify(entry)));
    }
  }, 60_000);

  test("rows written before migration 014 (no stored bytes) are computed at export, in the same page as stored ones", async () => {
    const [last] = await listEntries(db, { fromId: awkward.length, toId: awkward.length });
    const draft = {
      id: last.id + 1,
      at: "2026-12-01T10:00:00.000Z",
      type: "legacy",
      actor: "old",
      details: { k: "v" },
      prevHash: last.hash,
    };
    const hash = entryHash(draft);
    await raw("insert into audit_log (id, at, type, actor, details, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7)", [
      draft.id,
      draft.at,
      draft.type,
      draft.actor,
      JSON.stringify(draft.details),
      draft.prevHash,
      hash,
    ]);
    await createAuditLog(db).append({ type: "after", actor: "new" });
    const rows = await listPackRows(db, { fromId: last.id, toId: last.id + 2, limit: 10 });
    const entries = await listEntries(db, { fromId: last.id, toId: last.id + 2 });
    expect(rows.map((r) => r.id)).toEqual([last.id, last.id + 1, last.id + 2]);
    for (const [i, entry] of entries.entries()) {
      expect(rows[i].leaf.equals(leafOf(entry))).toBe(true);
      expect(rows[i].json).toBe(packEntryJson(entry));
    }
    expect(entries[2].prevHash).toBe(hash);
  });

  test("a leaf without pack bytes (or a leaf that is not 32 bytes) is refused by the table", async () => {
    const bad = (leaf: Buffer | null, json: string | null) =>
      raw(
        "insert into audit_log (id, at, type, actor, prev_hash, hash, leaf_hash, pack_json) values (999, now(), 't', 'a', $1, $2, $3, $4)",
        [genesisHash, "f".repeat(64), leaf, json],
      );
    await expect(bad(Buffer.alloc(32), null)).rejects.toThrow(/audit_log_pack_bytes_together/);
    await expect(bad(null, "{}")).rejects.toThrow(/audit_log_pack_bytes_together/);
    await expect(bad(Buffer.alloc(31), "{}")).rejects.toThrow(/audit_log_pack_bytes_together/);
  });
}

describe("stored pack bytes (PGlite)", () => {
  const dir = mkdtempSync(join(tmpdir(), "maestro-pack-bytes-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  suite(async () => {
    const db = await openDb({ dataDir: dir });
    return { db, raw: (sql, params) => db.query(sql, params) };
  });
});

describeWithService("stored pack bytes (Postgres 15)", postgresMissing, () => {
  let pg: RunningPostgres;
  afterAll(async () => pg?.stop());
  suite(async () => {
    pg = await startPostgres();
    const db = await openDb({ databaseUrl: pg.url, dataDir: pg.dir });
    return { db, raw: (sql, params) => db.query(sql, params) };
  });
});
