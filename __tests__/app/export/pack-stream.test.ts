import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openDb, type Db } from "../../../app/db";
import { createAuditLog, entryHash, genesisHash, leafOf, listEntries, merkleBlockSize } from "../../../app/audit/log";
import { merkleRoot } from "../../../app/audit/merkle";
import type { AuditEntry } from "../../../app/audit/types";
import { PackWriter, buildSignedPack, type PackRequest, type SignedPack } from "../../../app/export/pack";
import { signerFromKey } from "../../../app/export/signing";
import { verifySignedPack } from "../../../app/export/verify";

// The route's read of the log (PackWriter.readLog: reads of 5,120, pages of one Merkle block
// joined by the database, stored block roots for whole blocks, only the tree before a range)
// against the pack built from the same entries in memory, over a log long enough for several
// reads, with rows from before migration 014 (no stored bytes, no stored block) in the first.

const n = 12_345;
const legacy = 450; // rows 1..450 written as before migration 014

describe("a signed pack read from the log in pages (PGlite, 12,345 entries)", () => {
  const dir = mkdtempSync(join(tmpdir(), "maestro-pack-stream-"));
  const signer = signerFromKey(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
  const now = new Date("2026-12-01T12:00:00Z");
  let db: Db;
  let entries: AuditEntry[];
  let storedBlocks: { block: number; hash: Buffer }[];

  beforeAll(async () => {
    db = await openDb({ dataDir: dir });
    await migrate(db);
    // Entries 1..450 as written before migration 014: no stored bytes, so no stored block either.
    let prev = genesisHash;
    const made: AuditEntry[] = [];
    for (let id = 1; id <= legacy; id++) {
      const draft = {
        id,
        at: new Date(Date.UTC(2026, 0, 1) + id * 1000).toISOString(),
        type: "legacy",
        actor: `user-${id % 17}`,
        ...(id % 5 === 0 ? { reason: `ticket \u2028 ${id}` } : {}),
        details: { n: id, tag: id % 7 === 0 ? "caf\u00e9 \u{1F600}" : "x" },
        prevHash: prev,
      };
      const entry = { ...draft, hash: entryHash(draft) };
      made.push(entry);
      prev = entry.hash;
    }
    const col = <K extends keyof AuditEntry>(k: K) => made.map((e) => e[k] ?? null);
    await db.query(
      "insert into audit_log (id, at, type, actor, resource, reason, details, prev_hash, hash) " +
        "select * from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::text[])",
      [
        col("id"),
        col("at"),
        col("type"),
        col("actor"),
        col("resource"),
        col("reason"),
        made.map((e) => JSON.stringify(e.details)),
        col("prevHash"),
        col("hash"),
      ],
    );
    // The rest appended as the service appends (stored bytes, and a block root every 256 entries).
    const audit = createAuditLog(db);
    for (let id = legacy + 1; id <= n; id += 500) {
      const events = Array.from({ length: Math.min(500, n - id + 1) }, (_, i) => ({
        type: (id + i) % 3 === 0 ? "auth.login" : "scim.role.granted",
        actor: `user-${(id + i) % 17}`,
        ...((id + i) % 2 === 0 ? { resource: "GET /api/compliance/controls" } : {}),
        details: { n: id + i, tag: (id + i) % 7 === 0 ? "caf\u00e9 \u{1F600}" : "x" },
      }));
      await Promise.all(events.map((e) => audit.append(e)));
    }
    entries = [];
    for (let from = 1; from <= n; from += 5000) entries.push(...(await listEntries(db, { fromId: from, toId: n, limit: 5000 })));
    const blocks = await db.query<{ block: string | number; hash: Uint8Array }>(
      "select block, hash from audit_merkle_blocks order by block",
    );
    storedBlocks = blocks.rows.map((r) => ({ block: Number(r.block), hash: Buffer.from(r.hash) }));
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
    ["a range from a block boundary, consistent with the blocks before it", { fromId: 4097, toId: n, sinceSize: 4096 }],
    ["the whole log with proofs inside stored blocks", { toId: n, proveIds: [1, 300, 513, 5000, 12_288], sinceSize: 7777 }],
    [
      "a range whose proofs and snapshot look inside blocks before it",
      { fromId: 12_000, toId: 12_300, sinceSize: 3001, proveIds: [12_000, 12_289] },
    ],
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

  test("append stored the root of every whole block after the rows from before migration 014, and each is its leaves' root", () => {
    const whole = Math.floor(n / merkleBlockSize);
    // blocks 0 and 1 hold entries 1..450 (no stored leaves); 2..whole-1 were completed by appends
    expect(storedBlocks.map((b) => b.block)).toEqual(Array.from({ length: whole - 2 }, (_, i) => i + 2));
    for (const { block, hash } of storedBlocks) {
      const leaves = entries.slice(block * merkleBlockSize, (block + 1) * merkleBlockSize).map(leafOf);
      expect(hash.equals(merkleRoot(leaves))).toBe(true);
    }
  });

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
