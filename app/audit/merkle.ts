import { createHash, hash } from "node:crypto";

// A Merkle tree as in RFC 6962 §2.1 (RFC 9162 §2.1): leaf = SHA-256(0x00 ‖ data),
// node = SHA-256(0x01 ‖ left ‖ right), the tree of n leaves splits at the largest power of two < n.
// Hashes are 32-byte Buffers here; the pack carries them as lowercase hex.

// crypto.hash is the one-shot form (several times faster than createHash for inputs this
// small), fed from a reused buffer: allocation, not hashing, dominates 100 000 small hashes.
let scratch = Buffer.alloc(4096);

export function leafHash(data: Buffer | string): Buffer {
  const length = typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.length;
  if (length + 1 > scratch.length) scratch = Buffer.alloc(2 * (length + 1));
  scratch[0] = 0x00;
  if (typeof data === "string") scratch.write(data, 1, "utf8");
  else data.copy(scratch, 1);
  return hash("sha256", scratch.subarray(0, length + 1), "buffer");
}

export function nodeHash(left: Buffer, right: Buffer): Buffer {
  scratch[0] = 0x01;
  left.copy(scratch, 1);
  right.copy(scratch, 33);
  return hash("sha256", scratch.subarray(0, 65), "buffer");
}

/** MTH of the empty tree: SHA-256 of the empty string. */
export const emptyRoot = createHash("sha256").digest();

/** Largest power of two strictly less than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * A tree built bottom-up: pairing left to right and carrying an odd last node up unchanged gives
 * exactly RFC 6962's recursive split, and node j of level h is the root of leaves
 * [j·2^h, min((j+1)·2^h, n)), so every subtree a proof needs is a lookup.
 */
export class MerkleTree {
  private readonly levels: Buffer[][];

  constructor(leaves: readonly Buffer[]) {
    this.levels = [leaves.slice()];
    let level = this.levels[0];
    while (level.length > 1) {
      const next: Buffer[] = new Array(Math.ceil(level.length / 2));
      for (let i = 0, j = 0; i < level.length; i += 2, j++) next[j] = i + 1 < level.length ? nodeHash(level[i], level[i + 1]) : level[i];
      this.levels.push(next);
      level = next;
    }
  }

  get size(): number {
    return this.levels[0].length;
  }

  /** MTH(D[n]). */
  get root(): Buffer {
    return this.size === 0 ? emptyRoot : this.levels[this.levels.length - 1][0];
  }

  /**
   * MTH of the first m leaves, from this tree's nodes: [0, m) splits into complete subtrees of
   * the powers of two in m, largest first, folded from the right (RFC 6962's split, unrolled).
   */
  rootOf(m: number): Buffer {
    if (!Number.isInteger(m) || m < 0 || m > this.size) throw new RangeError(`tree size must be 0-${this.size} (got ${m})`);
    if (m === 0) return emptyRoot;
    const parts: Buffer[] = [];
    let lo = 0;
    for (let h = Math.floor(Math.log2(m)); h >= 0; h--) {
      if (m & (2 ** h)) {
        parts.push(this.levels[h][lo >> h]);
        lo += 2 ** h;
      }
    }
    let root = parts[parts.length - 1];
    for (let i = parts.length - 2; i >= 0; i--) root = nodeHash(parts[i], root);
    return root;
  }

  /** MTH of leaves[lo, hi), where [lo, hi) is a subtree of the split (aligned, or ending at n). */
  private subtree(lo: number, hi: number): Buffer {
    let h = 0;
    while (2 ** h < hi - lo) h++;
    return this.levels[h][lo >> h];
  }

  /** PATH(m, D[n]): the audit path of leaf index m (0-based), leaf to root. */
  inclusionProof(index: number): Buffer[] {
    const n = this.size;
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`leaf index must be 0-${n - 1} (got ${index})`);
    const path: Buffer[] = [];
    const walk = (m: number, lo: number, hi: number): void => {
      if (hi - lo === 1) return;
      const k = split(hi - lo);
      if (m < k) {
        walk(m, lo, lo + k);
        path.push(this.subtree(lo + k, hi));
      } else {
        walk(m - k, lo + k, hi);
        path.push(this.subtree(lo, lo + k));
      }
    };
    walk(index, 0, n);
    return path;
  }

  /** PROOF(m, D[n]): that the tree of the first m leaves is a prefix of this one. */
  consistencyProof(m: number): Buffer[] {
    const n = this.size;
    if (!Number.isInteger(m) || m < 1 || m > n) throw new RangeError(`old tree size must be 1-${n} (got ${m})`);
    const path: Buffer[] = [];
    const walk = (m: number, lo: number, hi: number, complete: boolean): void => {
      if (m === hi - lo) {
        if (!complete) path.push(this.subtree(lo, hi));
        return;
      }
      const k = split(hi - lo);
      if (m <= k) {
        walk(m, lo, lo + k, complete);
        path.push(this.subtree(lo + k, hi));
      } else {
        walk(m - k, lo + k, hi, false);
        path.push(this.subtree(lo, lo + k));
      }
    };
    walk(m, 0, n, true);
    return path;
  }
}

/** MTH(D[n]) of the leaf hashes. */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  return new MerkleTree(leaves).root;
}

/** RFC 9162 §2.1.3.2: does the audit path lead from this leaf hash at index to the root of a tree of treeSize? */
export function verifyInclusion(leaf: Buffer, index: number, treeSize: number, proof: readonly Buffer[], root: Buffer): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(treeSize) || index < 0 || index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: does the proof show the tree (oldSize, oldRoot) is a prefix of (newSize, newRoot)? */
export function verifyConsistency(oldSize: number, newSize: number, proof: readonly Buffer[], oldRoot: Buffer, newRoot: Buffer): boolean {
  if (!Number.isInteger(oldSize) || !Number.isInteger(newSize) || oldSize < 1 || oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && oldRoot.equals(newRoot);
  if (proof.length === 0) return false;
  let path = proof.slice();
  // When the old size is a power of two, the old root is the first node of the path.
  if ((oldSize & (oldSize - 1)) === 0) path = [oldRoot, ...path];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(oldRoot) && sr.equals(newRoot) && sn === 0;
}
