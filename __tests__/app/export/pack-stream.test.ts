import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openDb, type Db } from "../../../app/db";
import { entryHash, genesisHash, listEntries, packRowOf } from "../../../app/audit/log";
import type { AuditEntry } from "../../../app/audit/types";
import { PackWriter, buildSignedPack, type PackRequest, type SignedPack } from "../../../app/export/pack";
import { signerFromKey } from "../../../app/export/signing";
import { verifySignedPack } from "../../../app/export/verify";

// The route's read of the log (PackWriter.readLog: reads of 5,000, pages of 200 joined by the
// database, leaves only before a range) against the pack built from the same entries in memory,
// over a log long enough for several reads, with rows from before migration 014 (no stored
// bytes) in the first read.

const n = 12_345;
const legacy = 450; // rows 1..450 written as before migration 014

describe("a signed pack read from the log in pages (PGlite, 12,345 entries)", () => {
  const dir = mkdtempSync(join(tmpdir(), "maestro-pack-stream-"));
  const signer = signerFromKey(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
  const now = new Date("2026-12-01T12:00:00Z");
  let db: Db;
  let entries: AuditEntry[];

  beforeAll(async () => {
    db = await openDb({ dataDir: dir });
    await migrate(db);
    let prev = genesisHash;
    const made: AuditEntry[] = [];
    for (let id = 1; id <= n; id++) {
      const draft = {
        id,
        at: new Date(Date.UTC(2026, 0, 1) + id * 1000).toISOString(),
        type: id % 3 === 0 ? "auth.login" : "scim.role.granted",
        actor: `user-${id % 17}`,
        ...(id % 5 === 0 ? { reason: `ticket \u2028 ${id}` } : {}),
        ...(id % 2 === 0 ? { resource: "GET /api/compliance/controls" } : {}),
        details: { n: id, tag: id % 7 === 0 ? "caf\u00e9 \u{1F600}" : "x" },
        prevHash: prev,
      };
      const entry = { ...draft, hash: entryHash(draft) };
      made.push(entry);
      prev = entry.hash;
    }
    for (let from = 0; from < n; from += 1000) {
      const batch = made.slice(from, from + 1000);
      const col = <K extends keyof AuditEntry>(k: K) => batch.map((e) => e[k] ?? null);
      const stored = batch.map((e) => (e.id <= legacy ? { leaf: null, json: null } : packRowOf(e)));
      await db.query(
        "insert into audit_log (id, at, type, actor, resource, reason, details, prev_hash, hash, leaf_hash, pack_json) " +
          "select * from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::text[], $10::bytea[], $11::text[])",
        [
          col("id"),
          col("at"),
          col("type"),
          col("actor"),
          col("resource"),
          col("reason"),
          batch.map((e) => JSON.stringify(e.details)),
          col("prevHash"),
          col("hash"),
          stored.map((s) => s.leaf),
          stored.map((s) => s.json),
        ],
      );
    }
    entries = [];
    for (let from = 1; from <= n; from += 5000) entries.push(...(await listEntries(db, { fromId: from, toId: n, limit: 5000 })));
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const streamed = async (request: PackRequest): Promise<string> => {
    const writer = new PackWriter(request, signer);
    const parts = [writer.start()];
    for await (const text of writer.readLog(db)) parts.push(text);
    parts.push(writer.finish().text);
    return parts.join("");
  };
  /** The pack text without its signature value (ECDSA signatures are randomised; the digest is not). */
  const unsigned = (pack: SignedPack) => JSON.stringify({ ...pack, signature: { ...pack.signature, value: "" } });

  test.each<[string, Omit<PackRequest, "environment">]>([
    ["the whole log", { toId: n }],
    [
      "a range starting inside a read and a page, with a consistency proof",
      { fromId: 4321, toId: n, sinceSize: 4320, proveIds: [4321, 9999] },
    ],
    ["a range of one entry at the end", { fromId: n, toId: n, sinceSize: 5000 }],
    ["a range within the rows from before migration 014", { fromId: 7, toId: 401 }],
    ["a range across the first read's end", { fromId: 4999, toId: 5002 }],
  ])(
    "%s: the same bytes as the pack built in memory, and it verifies",
    async (_name, request) => {
      const text = await streamed({ ...request, environment: "test", now });
      const pack = JSON.parse(text) as SignedPack;
      expect(JSON.stringify(pack)).toBe(text);
      const inMemory = buildSignedPack({ ...request, entries: entries.slice(0, request.toId), environment: "test", now }, signer);
      expect(unsigned(pack)).toBe(unsigned(inMemory));
      const result = verifySignedPack(pack, signer.publicKeyPem);
      expect(result.failures).toEqual([]);
      expect(result.checked).toMatchObject({ entries: request.toId - (request.fromId ?? 1) + 1, treeSize: request.toId });
    },
    60_000,
  );

  test("a log missing an entry of the range fails naming the ids, not a pack that skips it", async () => {
    const writer = new PackWriter({ toId: n + 1, environment: "test" }, signer);
    writer.start();
    await expect(
      (async () => {
        for await (const _ of writer.readLog(db));
      })(),
    ).rejects.toThrow(/the audit log ends at entry 12345, before 12346/);
  });
});
