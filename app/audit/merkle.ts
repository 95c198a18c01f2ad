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
    return inclusionPath(index, this.size, (lo, hi) => this.subtree(lo, hi));
  }

  /** PROOF(m, D[n]): that the tree of the first m leaves is a prefix of this one. */
  consistencyProof(m: number): Buffer[] {
    return consistencyPath(m, this.size, (lo, hi) => this.subtree(lo, hi));
  }
}

/**
 * MTH of leaves[lo, hi) for a range of RFC 6962's split of a tree of n leaves: either a complete
 * aligned subtree (hi - lo a power of two, lo a multiple of it) or a right edge (hi = n).
 */
export type SubtreeHash = (lo: number, hi: number) => Buffer;

/** PATH(index, D[n]) (RFC 6962 §2.1.1), with the subtree hashes from subtree. */
export function inclusionPath(index: number, n: number, subtree: SubtreeHash): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`leaf index must be 0-${n - 1} (got ${index})`);
  const path: Buffer[] = [];
  const walk = (m: number, lo: number, hi: number): void => {
    if (hi - lo === 1) return;
    const k = split(hi - lo);
    if (m < k) {
      walk(m, lo, lo + k);
      path.push(subtree(lo + k, hi));
    } else {
      walk(m - k, lo + k, hi);
      path.push(subtree(lo, lo + k));
    }
  };
  walk(index, 0, n);
  return path;
}

/** PROOF(m, D[n]) (RFC 6962 §2.1.2), with the subtree hashes from subtree. */
export function consistencyPath(m: number, n: number, subtree: SubtreeHash): Buffer[] {
  if (!Number.isInteger(m) || m < 1 || m > n) throw new RangeError(`old tree size must be 1-${n} (got ${m})`);
  const path: Buffer[] = [];
  const walk = (m: number, lo: number, hi: number, complete: boolean): void => {
    if (m === hi - lo) {
      if (!complete) path.push(subtree(lo, hi));
      return;
    }
    const k = split(hi - lo);
    if (m <= k) {
      walk(m, lo, lo + k, complete);
      path.push(subtree(lo + k, hi));
    } else {
      walk(m - k, lo + k, hi, false);
      path.push(subtree(lo, lo + k));
    }
  };
  walk(m, 0, n, true);
  return path;
}

/** The sizes of the complete subtrees that cover leaves [0, m), largest first (the powers of two in m). */
export function frontierSizes(m: number): number[] {
  const sizes: number[] = [];
  for (let h = Math.floor(Math.log2(Math.max(m, 1))); h >= 0; h--) if (m & (2 ** h)) sizes.push(2 ** h);
  return sizes;
}

/**
 * A Merkle tree computed from a stream of leaves in O(log n) memory (a compact range: the roots
 * of the complete subtrees so far). It can start from the frontier of an earlier prefix (a range
 * export carries it for the entries it leaves out), snapshot the frontier and root at given
 * sizes, and keep the subtree hashes a proof will ask for (planned with `planSubtrees`).
 */
export class MerkleStream {
  /** Complete subtrees, left to right, sizes strictly decreasing. */
  private readonly stack: { lo: number; size: number; hash: Buffer }[] = [];
  private count = 0;
  /** Planned subtrees by size, then by first leaf (numbers: a string key per node would cost more than its hash). */
  private readonly kept = new Map<number, Map<number, Buffer | undefined>>();
  private readonly roots = new Map<number, Buffer | undefined>();
  private readonly frontiers = new Map<number, Buffer[] | undefined>();

  /**
   * @param options.prefix the frontier (`frontierSizes(start)` hashes, largest first) of the leaves before the first pushed
   * @param options.start how many leaves the prefix stands for
   * @param options.keep subtrees [lo, hi) whose hashes to keep (complete ones; right edges come from `subtree` at the end)
   * @param options.rootsAt sizes whose root to snapshot; options.frontiersAt sizes whose frontier to snapshot
   */
  constructor(
    options: {
      start?: number;
      prefix?: readonly Buffer[];
      keep?: Iterable<string>;
      rootsAt?: Iterable<number>;
      frontiersAt?: Iterable<number>;
    } = {},
  ) {
    const start = options.start ?? 0;
    const prefix = options.prefix ?? [];
    const sizes = frontierSizes(start);
    if (prefix.length !== sizes.length)
      throw new RangeError(`a prefix of ${start} leaves has ${sizes.length} frontier hashes (got ${prefix.length})`);
    let lo = 0;
    sizes.forEach((size, i) => {
      this.stack.push({ lo, size, hash: prefix[i] });
      lo += size;
    });
    this.count = start;
    for (const key of options.keep ?? []) {
      const [lo, hi] = key.split(":").map(Number);
      let bySize = this.kept.get(hi - lo);
      if (!bySize) this.kept.set(hi - lo, (bySize = new Map()));
      bySize.set(lo, undefined);
    }
    for (const m of options.rootsAt ?? []) this.roots.set(m, undefined);
    for (const m of options.frontiersAt ?? []) this.frontiers.set(m, undefined);
    this.snapshot();
  }

  get size(): number {
    return this.count;
  }

  push(leaf: Buffer): void {
    this.add(leaf, 1);
  }

  /** Appends a complete subtree of `size` leaves by its root, merging equal-sized subtrees on the stack. */
  private add(hash: Buffer, size: number): void {
    let top = { lo: this.count, size, hash };
    this.keep(top);
    this.count += size;
    while (this.stack.length > 0 && this.stack[this.stack.length - 1].size === top.size) {
      const left = this.stack.pop()!;
      top = { lo: left.lo, size: left.size * 2, hash: nodeHash(left.hash, top.hash) };
      this.keep(top);
    }
    this.stack.push(top);
    this.snapshot();
  }

  /**
   * Whether the complete subtree of `size` leaves from leaf `lo` can go in as its root alone
   * (pushSubtree): no planned subtree smaller than it and no snapshot falls inside it.
   */
  canPushSubtree(lo: number, size: number): boolean {
    for (const [s, bySize] of this.kept) if (s < size) for (const l of bySize.keys()) if (l >= lo && l < lo + size) return false;
    for (const m of this.roots.keys()) if (m > lo && m < lo + size) return false;
    for (const m of this.frontiers.keys()) if (m > lo && m < lo + size) return false;
    return true;
  }

  /** The root of the next `size` leaves (a power of two, the size so far a multiple of it), instead of the leaves. */
  pushSubtree(hash: Buffer, size: number): void {
    if (!Number.isInteger(size) || size < 1 || (size & (size - 1)) !== 0 || this.count % size !== 0)
      throw new RangeError(`a subtree of ${size} leaves cannot follow ${this.count} leaves (a power of two, aligned)`);
    if (!this.canPushSubtree(this.count, size))
      throw new RangeError(`subtree [${this.count}, ${this.count + size}) holds a planned node or snapshot`);
    this.add(hash, size);
  }

  /** MTH of the leaves so far. */
  get root(): Buffer {
    return this.fold(0);
  }

  /** The frontier now: hashes of frontierSizes(size), largest first. */
  frontier(): Buffer[] {
    return this.stack.map((s) => s.hash);
  }

  /** Root snapshotted at size m (asked for with rootsAt). */
  rootAt(m: number): Buffer {
    const root = this.roots.get(m);
    if (m > this.count || root === undefined) throw new RangeError(`no root kept for tree size ${m}`);
    return root;
  }

  /** Frontier snapshotted at size m (asked for with frontiersAt). */
  frontierAt(m: number): Buffer[] {
    const frontier = this.frontiers.get(m);
    if (m > this.count || frontier === undefined) throw new RangeError(`no frontier kept for tree size ${m}`);
    return frontier;
  }

  /** MTH of leaves [lo, hi): a kept complete subtree, or a right edge of the tree so far (hi = size). */
  subtree(lo: number, hi: number): Buffer {
    const kept = this.kept.get(hi - lo)?.get(lo);
    if (kept !== undefined) return kept;
    if (hi === this.count) {
      const i = this.stack.findIndex((s) => s.lo === lo);
      if (i >= 0) return this.fold(i);
    }
    throw new RangeError(`subtree [${lo}, ${hi}) was not kept (plan it with planSubtrees)`);
  }

  /** Folds the stack from entry i to the end, right to left: MTH of leaves [stack[i].lo, size). */
  private fold(i: number): Buffer {
    if (this.stack.length === 0) return emptyRoot;
    let root = this.stack[this.stack.length - 1].hash;
    for (let j = this.stack.length - 2; j >= i; j--) root = nodeHash(this.stack[j].hash, root);
    return root;
  }

  private keep(node: { lo: number; size: number; hash: Buffer }): void {
    const bySize = this.kept.get(node.size);
    if (bySize?.has(node.lo)) bySize.set(node.lo, node.hash);
  }

  private snapshot(): void {
    if (this.roots.has(this.count)) this.roots.set(this.count, this.fold(0));
    if (this.frontiers.has(this.count)) this.frontiers.set(this.count, this.frontier());
  }
}

/**
 * The subtrees [lo, hi) (as "lo:hi") that proofs over a tree of n leaves will ask for: run the
 * proof with a recording oracle, so a MerkleStream keeps exactly those while the leaves go by.
 */
export function planSubtrees(n: number, proofs: { inclusion?: number[]; consistencyFrom?: number }): Set<string> {
  const wanted = new Set<string>();
  const record: SubtreeHash = (lo, hi) => {
    wanted.add(`${lo}:${hi}`);
    return emptyRoot;
  };
  for (const index of proofs.inclusion ?? []) inclusionPath(index, n, record);
  if (proofs.consistencyFrom !== undefined) consistencyPath(proofs.consistencyFrom, n, record);
  return wanted;
}

/** MTH of a range of leaves that starts after a prefix of `start` leaves given by its frontier. */
export function rootFromFrontier(start: number, prefix: readonly Buffer[], leaves: Iterable<Buffer>): Buffer {
  const stream = new MerkleStream({ start, prefix });
  for (const leaf of leaves) stream.push(leaf);
  return stream.root;
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
