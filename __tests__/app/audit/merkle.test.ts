import { createHash } from "node:crypto";
import {
  MerkleStream,
  MerkleTree,
  consistencyPath,
  emptyRoot,
  frontierSizes,
  inclusionPath,
  leafHash,
  merkleRoot,
  nodeHash,
  planSubtrees,
  rootFromFrontier,
  verifyConsistency,
  verifyInclusion,
} from "../../../app/audit/merkle";

// The reference: RFC 6962 §2.1's recursive definitions, written out literally.
const sha = (...parts: Buffer[]) => createHash("sha256").update(Buffer.concat(parts)).digest();
const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Buffer.from([0]), d[0]);
  return sha(Buffer.from([1]), mth(d.slice(0, k(d.length))), mth(d.slice(k(d.length))));
}
function refPath(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s ? [...refPath(m, d.slice(0, s)), mth(d.slice(s))] : [...refPath(m - s, d.slice(s)), mth(d.slice(0, s))];
}
function refSubproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const s = k(d.length);
  return m <= s ? [...refSubproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...refSubproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
}

// The leaves of the Certificate Transparency reference test vectors and their published roots.
const ctLeaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((h) =>
  Buffer.from(h, "hex"),
);
const ctRoots = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const data = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`entry-${i}`));

test("leaf and node hashes carry the RFC 6962 domain-separation prefixes", () => {
  expect(leafHash(Buffer.from("a"))).toEqual(sha(Buffer.from([0]), Buffer.from("a")));
  expect(nodeHash(Buffer.alloc(32, 1), Buffer.alloc(32, 2))).toEqual(sha(Buffer.from([1]), Buffer.alloc(32, 1), Buffer.alloc(32, 2)));
  expect(merkleRoot([])).toEqual(emptyRoot);
  expect(emptyRoot.toString("hex")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

test("roots match the Certificate Transparency test vectors for 1-8 leaves", () => {
  for (let n = 1; n <= 8; n++) expect(merkleRoot(ctLeaves.slice(0, n).map(leafHash)).toString("hex")).toBe(ctRoots[n - 1]);
});

test("root, every inclusion proof and every consistency proof equal the RFC's recursive definitions (n ≤ 20)", () => {
  for (let n = 1; n <= 20; n++) {
    const d = data(n);
    const tree = new MerkleTree(d.map(leafHash));
    expect(tree.root).toEqual(mth(d));
    for (let m = 0; m < n; m++) {
      const proof = tree.inclusionProof(m);
      expect(proof).toEqual(refPath(m, d));
      expect(verifyInclusion(leafHash(d[m]), m, n, proof, tree.root)).toBe(true);
    }
    for (let m = 1; m <= n; m++) {
      const proof = tree.consistencyProof(m);
      expect(proof).toEqual(m === n ? [] : refSubproof(m, d, true));
      expect(verifyConsistency(m, n, proof, mth(d.slice(0, m)), tree.root)).toBe(true);
    }
  }
});

test("a changed leaf, index, size, root or path element fails inclusion", () => {
  const d = data(13);
  const tree = new MerkleTree(d.map(leafHash));
  const proof = tree.inclusionProof(6);
  const leaf = leafHash(d[6]);
  expect(verifyInclusion(leafHash(Buffer.from("other")), 6, 13, proof, tree.root)).toBe(false);
  expect(verifyInclusion(leaf, 5, 13, proof, tree.root)).toBe(false);
  // A size that changes the path's shape fails (the signed pack binds the size to the root).
  expect(verifyInclusion(leaf, 6, 7, proof, tree.root)).toBe(false);
  expect(verifyInclusion(leaf, 6, 13, proof, leafHash(Buffer.from("x")))).toBe(false);
  expect(verifyInclusion(leaf, 6, 13, proof.slice(1), tree.root)).toBe(false);
  expect(verifyInclusion(leaf, 6, 13, [...proof, proof[0]], tree.root)).toBe(false);
  const flipped = proof.map((p, i) => (i === 1 ? Buffer.from(p.map((b, j) => (j === 0 ? b ^ 1 : b))) : p));
  expect(verifyInclusion(leaf, 6, 13, flipped, tree.root)).toBe(false);
  expect(verifyInclusion(leaf, 13, 13, proof, tree.root)).toBe(false);
});

test("consistency fails for a rewritten history, a wrong old root, or a tampered proof", () => {
  const d = data(21);
  const tree = new MerkleTree(d.map(leafHash));
  const oldRoot = mth(d.slice(0, 8));
  const proof = tree.consistencyProof(8);
  expect(verifyConsistency(8, 21, proof, oldRoot, tree.root)).toBe(true);
  const rewritten = [...d.slice(0, 3), Buffer.from("rewritten"), ...d.slice(4)];
  expect(verifyConsistency(8, 21, proof, mth(rewritten.slice(0, 8)), tree.root)).toBe(false);
  expect(verifyConsistency(8, 21, proof, oldRoot, mth(rewritten))).toBe(false);
  expect(verifyConsistency(8, 21, [], oldRoot, tree.root)).toBe(false);
  expect(verifyConsistency(7, 21, proof, oldRoot, tree.root)).toBe(false);
  expect(verifyConsistency(8, 21, proof.slice(0, -1), oldRoot, tree.root)).toBe(false);
  expect(verifyConsistency(22, 21, proof, oldRoot, tree.root)).toBe(false);
});

test("proof requests outside the tree are refused with the allowed range", () => {
  const tree = new MerkleTree(data(4).map(leafHash));
  expect(() => tree.inclusionProof(4)).toThrow("leaf index must be 0-3 (got 4)");
  expect(() => tree.consistencyProof(0)).toThrow("old tree size must be 1-4 (got 0)");
});

test("the streamed tree (O(log n) memory) gives the RFC's root, proofs, roots of earlier sizes and frontiers (n ≤ 24, every m)", () => {
  for (let n = 1; n <= 24; n++) {
    const d = data(n);
    const leaves = d.map((x) => leafHash(x));
    for (let m = 1; m <= n; m++) {
      const stream = new MerkleStream({
        keep: planSubtrees(n, { inclusion: [m - 1], consistencyFrom: m }),
        rootsAt: [m],
        frontiersAt: [m - 1],
      });
      for (const leaf of leaves) stream.push(leaf);
      const subtree = (lo: number, hi: number) => stream.subtree(lo, hi);
      expect(stream.root.equals(mth(d))).toBe(true);
      expect(stream.rootAt(m).equals(mth(d.slice(0, m)))).toBe(true);
      expect(inclusionPath(m - 1, n, subtree)).toEqual(refPath(m - 1, d));
      expect(consistencyPath(m, n, subtree)).toEqual(refSubproof(m, d, true));
      // The frontier of the first m - 1 leaves and the rest give the root: a range export's check.
      const frontier = stream.frontierAt(m - 1);
      expect(frontier).toHaveLength(frontierSizes(m - 1).length);
      expect(rootFromFrontier(m - 1, frontier, leaves.slice(m - 1)).equals(mth(d))).toBe(true);
    }
  }
});

test("a frontier with a changed hash or of the wrong length gives another root, or is refused naming the count", () => {
  const d = data(13);
  const leaves = d.map((x) => leafHash(x));
  const stream = new MerkleStream({ frontiersAt: [9] });
  for (const leaf of leaves) stream.push(leaf);
  const frontier = stream.frontierAt(9);
  expect(frontierSizes(9)).toEqual([8, 1]);
  const changed = [frontier[0], Buffer.alloc(32, 7)];
  expect(rootFromFrontier(9, changed, leaves.slice(9)).equals(mth(d))).toBe(false);
  expect(() => rootFromFrontier(9, [frontier[0]], leaves.slice(9))).toThrow("a prefix of 9 leaves has 2 frontier hashes (got 1)");
  expect(() => stream.subtree(0, 4)).toThrow("subtree [0, 4) was not kept");
  expect(new MerkleStream().root.equals(emptyRoot)).toBe(true);
});
