import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openDb } from "../../app/db";
import { createAuditLog, entryHash, genesisHash } from "../../app/audit/log";
import { MerkleTree, leafHash, verifyInclusion } from "../../app/audit/merkle";
import { canonicalJson } from "../../app/audit/canonical";
import type { AuditEntry } from "../../app/audit/types";
import { buildSignedPack } from "../../app/export/pack";
import { signerFromKey } from "../../app/export/signing";
import { median, ms, ratio, type BenchRow, type BenchSuite } from "../harness";

const appends = 400;
const exportSize = 100_000;

/** Entries 1..n chained exactly as the log chains them (no database), for the export rows. */
function syntheticLog(n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prev = genesisHash;
  const at = new Date("2026-01-01T00:00:00Z").getTime();
  for (let id = 1; id <= n; id++) {
    const draft = {
      id,
      at: new Date(at + id * 1000).toISOString(),
      type: "auth.login",
      actor: `user-${id % 97}`,
      details: { ip: "10.0.0.1", n: id },
      prevHash: prev,
    };
    const entry = { ...draft, hash: entryHash(draft) };
    entries.push(entry);
    prev = entry.hash;
  }
  return entries;
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.99) - 1];

export const suite: BenchSuite = {
  title: "Audit log and signed export",
  async run() {
    const rows: BenchRow[] = [];
    const dir = mkdtempSync(join(tmpdir(), "maestro-bench-audit-"));
    try {
      // Append with durability on: each append is its own committed transaction (PGlite on disk).
      const db = await openDb({ dataDir: dir });
      await migrate(db);
      await db.query("create table bench_plain (id bigint primary key, at timestamptz not null, type text, actor text, details jsonb)");
      const audit = createAuditLog(db);
      const chained: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < 20; i++) await audit.append({ type: "warmup", actor: "bench" });
      let start = process.hrtime.bigint();
      for (let i = 0; i < appends; i++) {
        const t = process.hrtime.bigint();
        await audit.append({ type: "auth.login", actor: "bench", details: { i } });
        chained.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const chainedTotal = Number(process.hrtime.bigint() - start) / 1e6;
      start = process.hrtime.bigint();
      for (let i = 0; i < appends; i++) {
        const t = process.hrtime.bigint();
        await db.query("insert into bench_plain (id, at, type, actor, details) values ($1, now(), $2, $3, $4)", [
          i + 1,
          "auth.login",
          "bench",
          JSON.stringify({ i }),
        ]);
        plain.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const plainTotal = Number(process.hrtime.bigint() - start) / 1e6;
      await db.close();
      const rate = (total: number) => (appends / total) * 1000;
      rows.push({
        name: "audit append throughput (PGlite, one commit per event)",
        subject: "AuditLog.append (read tail, hash, insert, commit)",
        value: `${rate(chainedTotal).toFixed(0)} events/s`,
        baseline: "plain INSERT of the same event, no chain, same database",
        baselineValue: `${rate(plainTotal).toFixed(0)} events/s`,
        ratio: ratio(rate(chainedTotal), rate(plainTotal)),
      });
      rows.push({
        name: "audit append p99 latency",
        subject: "AuditLog.append",
        value: ms(p99(chained)),
        baseline: "plain INSERT (as above)",
        baselineValue: ms(p99(plain)),
        ratio: ratio(p99(chained), p99(plain)),
      });

      // Signed export of 100 000 entries: Merkle tree, proofs, canonical JSON, ECDSA signature.
      const entries = syntheticLog(exportSize);
      const signer = signerFromKey(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
      const exportTimes: number[] = [];
      const hashTimes: number[] = [];
      for (let run = 0; run < 3; run++) {
        let t = process.hrtime.bigint();
        buildSignedPack({ entries, environment: "bench", sinceSize: exportSize - 1000 }, signer);
        exportTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
        t = process.hrtime.bigint();
        createHash("sha256").update(JSON.stringify(entries)).digest();
        hashTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const exportMs = median(exportTimes);
      rows.push({
        name: `signed export, ${exportSize.toLocaleString("en")} entries`,
        subject: "buildSignedPack (tree, proofs, canonical JSON, P-256 signature)",
        value: ms(exportMs),
        baseline: "JSON.stringify + SHA-256 of the same entries",
        baselineValue: ms(median(hashTimes)),
        ratio: ratio(exportMs, median(hashTimes)),
        target: "≤ 2 s",
        met: exportMs <= 2000,
      });

      // Inclusion proof verification: log2(100 000) ≈ 17 node hashes.
      const tree = new MerkleTree(entries.map((e) => leafHash(canonicalJson([e.id]))));
      const index = 54_321;
      const proof = tree.inclusionProof(index);
      const leaf = leafHash(canonicalJson([entries[index].id]));
      const reps = 2000;
      let t = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) if (!verifyInclusion(leaf, index, exportSize, proof, tree.root)) throw new Error("proof failed");
      const verifyMs = Number(process.hrtime.bigint() - t) / 1e6 / reps;
      t = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) createHash("sha256").update(leaf).digest();
      const oneHashMs = Number(process.hrtime.bigint() - t) / 1e6 / reps;
      rows.push({
        name: "inclusion proof verification (tree of 100 000)",
        subject: `verifyInclusion (${proof.length} hashes)`,
        value: `${(verifyMs * 1000).toFixed(1)} µs`,
        baseline: "one SHA-256 of a 32-byte leaf",
        baselineValue: `${(oneHashMs * 1000).toFixed(2)} µs`,
        ratio: ratio(verifyMs, oneHashMs),
        target: "≤ 1 ms",
        met: verifyMs <= 1,
      });
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
