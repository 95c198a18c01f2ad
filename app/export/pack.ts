import { createHash } from "node:crypto";
import { MaestroError } from "../../lib/errors";
import { leafOf, merkleBlockSize, packEntryJson, readLeafPages, readPackPages, type PackPage } from "../audit/log";
import type { Queryable } from "../db";
import { canonicalJson } from "../audit/canonical";
import { MerkleStream, consistencyPath, inclusionPath, planSubtrees } from "../audit/merkle";
import type { AuditEntry } from "../audit/types";
import type { BlobSigning, PackSigner } from "./signing";

export const packFormat = "maestro.compliance.signed-pack/v1";
export const signatureAlgorithm = "ecdsa-p256-sha256";

/** What the pack says about its audit entries' Merkle tree. */
export interface PackMerkle {
  algorithm: "rfc6962-sha256";
  /** How a leaf is made from an entry. */
  leaf: "sha256(0x00 || utf8(canonicalEntry(entry)))";
  /**
   * The frontier of the entries before the pack's first (a range export): hex roots of the
   * complete subtrees covering leaves [0, fromId - 1), largest first (one per bit set in
   * fromId - 1; [] when the pack starts at entry 1). With the pack's entries they give the root.
   */
  prefix: string[];
  /** Entries 1..treeSize of the log (the pack holds fromId..treeSize). */
  treeSize: number;
  /** hex MTH of the tree. */
  root: string;
}

export interface InclusionProof {
  id: number;
  /** 0-based: id - 1. */
  leafIndex: number;
  /** hex hashes, leaf to root. */
  path: string[];
}

export interface ConsistencyProof {
  /** Tree size of the earlier export. */
  fromSize: number;
  /** Root this service computes for that size; the verifier compares it to the earlier pack. */
  fromRoot: string;
  path: string[];
}

/** The signed content: compliance state and the audit log with its Merkle root. */
export interface SignedPackBody {
  format: typeof packFormat;
  generatedAt: string;
  environment: string;
  /** Controls with their status and evidence (from the compliance report), or [] when none is wired. */
  controls: unknown[];
  /** Evidence summary per framework, from the same report. */
  summary: unknown[];
  audit: { fromId: number; toId: number; entries: AuditEntry[] };
  merkle: PackMerkle;
  proofs: { inclusion: InclusionProof[]; consistency: ConsistencyProof | null };
}

export interface PackSignature {
  algorithm: typeof signatureAlgorithm;
  keyId: string;
  /** "sha256:" + hex SHA-256 of the signed blob, canonicalJson(pack). */
  digest: string;
  /** base64 DER ECDSA signature over the blob (cosign's key-based blob signature). */
  value: string;
}

export interface SignedPack {
  pack: SignedPackBody;
  signature: PackSignature;
}

export { leafOf };

export class PackRequestError extends MaestroError<"PACK_REQUEST_INVALID"> {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super("PACK_REQUEST_INVALID", `${parameter}: ${message}`);
  }
}

export interface PackRequest {
  /** The last entry of the pack, which is also the tree size: the log's tail when the export starts. */
  toId: number;
  /** The first entry the pack holds. @default 1 */
  fromId?: number;
  environment: string;
  controls?: unknown[];
  summary?: unknown[];
  /** Entry ids (within fromId..toId) to prove inclusion for. @default the last entry */
  proveIds?: number[];
  /** An earlier export's tree size (1..toId) to prove consistency from. */
  sinceSize?: number;
  now?: Date;
}

// The log is read 5,120 entries at a time (one query, asked for before the pages of the one
// before are written, so the database reads while the service hashes and sends), in pages of one
// Merkle block (256 entries, ~80 KB of text) joined by the database; a whole block goes into the
// tree as its stored root. Entries before a range's first need only the tree: the stored roots of
// their blocks, 51,200 entries a read. So an export's memory is two reads, the Merkle frontier and
// the planned proof nodes, whatever the size of the log.
const readSize = 20 * merkleBlockSize;
const leafReadSize = 200 * merkleBlockSize;

// The signed blob is canonicalJson(pack), whose first key is "audit" and whose "audit" starts
// with "entries": so the entries can be written first, one by one, and everything computed from
// them (root, proofs) after. finish() checks that the pack still serialises that way.
const entriesOpen = '{"audit":{"entries":[';

/**
 * Writes a signed pack as text while the entries go by, in memory independent of the log's size:
 * the Merkle tree is a MerkleStream keeping only the frontier and the subtrees the requested
 * proofs need, the blob goes through the signature and the digest as it is written. Feed every
 * entry 1..toId in order (those before fromId only hash into the tree); the text is
 * `{"pack":<canonicalJson(pack)>,"signature":{...}}`, exactly JSON.stringify of the SignedPack.
 */
export class PackWriter {
  readonly fromId: number;
  readonly toId: number;
  private readonly proveIds: number[];
  private readonly tree: MerkleStream;
  private readonly signing: BlobSigning;
  private readonly digest = createHash("sha256");
  private next = 1;
  private written = 0;
  private unsigned = "";
  private scratch = Buffer.alloc(0);

  constructor(
    private readonly request: PackRequest,
    private readonly signer: PackSigner,
  ) {
    const n = request.toId;
    if (!Number.isInteger(n) || n < 0) throw new PackRequestError("toId", `must be an entry id of the log (got ${n})`);
    this.toId = n;
    this.fromId = n === 0 ? 0 : (request.fromId ?? 1);
    if (n > 0 && (!Number.isInteger(this.fromId) || this.fromId < 1 || this.fromId > n))
      throw new PackRequestError("fromId", `must be 1-${n}, at most toId (got ${request.fromId})`);
    this.proveIds = request.proveIds ?? (n > 0 ? [n] : []);
    for (const id of this.proveIds)
      if (!Number.isInteger(id) || id < this.fromId || id > n || id < 1)
        throw new PackRequestError("proveIds", `each id must be one of the pack's entries ${this.fromId}-${n} (got ${id})`);
    const since = request.sinceSize;
    if (since !== undefined && (!Number.isInteger(since) || since < 1 || since > n))
      throw new PackRequestError("since", `must be an earlier tree size 1-${n} (got ${since})`);
    this.tree = new MerkleStream({
      keep: planSubtrees(n, { inclusion: this.proveIds.map((id) => id - 1), consistencyFrom: since }),
      rootsAt: since !== undefined ? [since] : [],
      frontiersAt: [Math.max(this.fromId - 1, 0)],
    });
    this.signing = signer.begin();
  }

  /** The text before the first entry. */
  start(): string {
    return `{"pack":${this.blob(entriesOpen)}`;
  }

  /** Entry `id` of the log (ids 1..toId, in order); returns the text to write for it ("" before fromId). */
  push(entry: AuditEntry): string {
    this.take(entry.id, leafOf(entry));
    if (entry.id < this.fromId) return "";
    return this.blob(`${this.written++ > 0 ? "," : ""}${packEntryJson(entry)}`);
  }

  /**
   * The next entries of the log as one page (readPackPage: pack bytes joined, leaves end to end);
   * returns the bytes to write for them, already fed to the signature and the digest. The page
   * starts at the next id, holds 32 bytes of leaf per entry, and lies wholly before fromId (its
   * leaves are enough) or wholly in the pack.
   */
  pushPage(page: PackPage): string {
    const count = page.toId - page.fromId + 1;
    if (page.fromId !== this.next)
      throw new Error(`audit entries must come as ids 1..${this.toId} in order (got ${page.fromId}, expected ${this.next})`);
    if (page.toId > this.toId || count < 1) throw new Error(`the pack ends at entry ${this.toId} (got ${page.fromId}-${page.toId})`);
    if (page.fromId < this.fromId && page.toId >= this.fromId)
      throw new Error(`a page must not straddle the pack's first entry ${this.fromId} (got ${page.fromId}-${page.toId})`);
    if (page.block !== undefined && this.blockUsable(page)) this.tree.pushSubtree(page.block, merkleBlockSize);
    else {
      const { leaves } = page;
      if (leaves === undefined || leaves.length !== 32 * count)
        throw new Error(`a page of entries ${page.fromId}-${page.toId} needs ${count} leaves or a usable block root`);
      for (let i = 0; i < count; i++) this.tree.push(leaves.subarray(32 * i, 32 * i + 32));
    }
    this.next = page.toId + 1;
    if (page.toId < this.fromId) return "";
    if (page.json === undefined) throw new Error(`entries ${page.fromId}-${page.toId} are in the pack: their page needs their bytes`);
    const text = this.written > 0 ? `,${page.json}` : page.json;
    this.written += count;
    this.flush();
    this.sign(text);
    return text;
  }

  /** Whether a page is a whole Merkle block whose root can stand for its leaves (no proof node or snapshot inside it). */
  private blockUsable(page: PackPage): boolean {
    return (
      page.toId - page.fromId + 1 === merkleBlockSize &&
      (page.fromId - 1) % merkleBlockSize === 0 &&
      this.tree.canPushSubtree(page.fromId - 1, merkleBlockSize)
    );
  }

  private take(id: number, leaf: Buffer): void {
    if (id !== this.next) throw new Error(`audit entries must come as ids 1..${this.toId} in order (got ${id}, expected ${this.next})`);
    if (id > this.toId) throw new Error(`the pack ends at entry ${this.toId} (got ${id})`);
    this.next++;
    this.tree.push(leaf);
  }

  /**
   * The text of entries 1..toId read from the log (after start(), before finish()). Ids are
   * 1..tail with no gaps (appends take them under the chain lock), so each read is an id range,
   * and readPackPages checks that it holds every id of it.
   */
  async *readLog(db: Queryable): AsyncGenerator<string> {
    // Before the range: the tree only, from the stored block roots where a proof does not look inside.
    for (let fromId = 1; fromId < this.fromId;) {
      const toId = Math.min(fromId + leafReadSize - 1, this.fromId - 1);
      const usable = (start: number) => this.tree.canPushSubtree(start - 1, merkleBlockSize);
      for (const page of await readLeafPages(db, { fromId, toId }, usable)) this.pushPage(page);
      fromId = toId + 1;
    }
    const read = (fromId: number) => {
      if (fromId > this.toId) return undefined;
      // reads end on a block boundary, so that every whole block is one page
      const toId = Math.min(Math.ceil((fromId - 1 + readSize) / merkleBlockSize) * merkleBlockSize, this.toId);
      const pages = readPackPages(db, { fromId, toId });
      pages.catch(() => undefined); // read ahead: it may fail while the pages before are written, and is handled when awaited
      return { toId, pages };
    };
    for (let next = read(Math.max(this.fromId, 1)); next !== undefined;) {
      const pages = await next.pages;
      next = read(next.toId + 1);
      for (const page of pages) {
        const text = this.pushPage(page);
        if (text) yield text;
      }
    }
  }

  /** The text after the last entry: the rest of the pack (root, proofs) and the signature. */
  finish(): { text: string; pack: Omit<SignedPackBody, "audit">; signature: PackSignature } {
    const n = this.toId;
    if (this.next !== n + 1) throw new Error(`the pack needs entries 1..${n}; it got 1..${this.next - 1}`);
    const hex = (bs: Buffer[]) => bs.map((b) => b.toString("hex"));
    const subtree = (lo: number, hi: number) => this.tree.subtree(lo, hi);
    const { request } = this;
    const pack: SignedPackBody = {
      format: packFormat,
      generatedAt: (request.now ?? new Date()).toISOString(),
      environment: request.environment,
      controls: request.controls ?? [],
      summary: request.summary ?? [],
      audit: { fromId: this.fromId, toId: n, entries: [] },
      merkle: {
        algorithm: "rfc6962-sha256",
        leaf: "sha256(0x00 || utf8(canonicalEntry(entry)))",
        prefix: hex(this.tree.frontierAt(Math.max(this.fromId - 1, 0))),
        treeSize: n,
        root: this.tree.root.toString("hex"),
      },
      proofs: {
        inclusion: this.proveIds.map((id) => ({ id, leafIndex: id - 1, path: hex(inclusionPath(id - 1, n, subtree)) })),
        consistency:
          request.sinceSize === undefined
            ? null
            : {
                fromSize: request.sinceSize,
                fromRoot: this.tree.rootAt(request.sinceSize).toString("hex"),
                path: hex(consistencyPath(request.sinceSize, n, subtree)),
              },
      },
    };
    const rest = canonicalJson(pack);
    if (!rest.startsWith(`${entriesOpen}]`)) throw new Error("the pack no longer serialises with audit.entries first");
    const text = this.blob(rest.slice(entriesOpen.length));
    this.flush();
    const signature: PackSignature = {
      algorithm: signatureAlgorithm,
      keyId: this.signer.keyId,
      digest: `sha256:${this.digest.digest("hex")}`,
      value: this.signing.finish(),
    };
    const { audit: _audit, ...body } = pack;
    return { text: `${text},"signature":${JSON.stringify(signature)}}`, pack: body, signature };
  }

  /** A piece of the signed blob: out, and into the signature and the digest (in chunks of ~64 KB: one call per entry costs more than the hashing). */
  private blob(text: string): string {
    this.unsigned += text;
    if (this.unsigned.length >= 65_536) this.flush();
    return text;
  }

  private flush(): void {
    if (this.unsigned === "") return;
    this.sign(this.unsigned);
    this.unsigned = "";
  }

  /**
   * Text into the signature and the digest, encoded once into a buffer the writer keeps: a new
   * Buffer per page would be memory outside the JS heap that the garbage collector lets pile up
   * (tens of MB) before it collects; the text itself goes to the socket.
   */
  private sign(text: string): void {
    const most = 3 * text.length;
    if (most > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(most, 2 * this.scratch.length));
    const bytes = this.scratch.subarray(0, this.scratch.write(text, "utf8"));
    this.signing.update(bytes);
    this.digest.update(bytes);
  }
}

export interface BuildPackInput extends Omit<PackRequest, "toId"> {
  /** Every entry of the log, ids 1..n in order (the pack holds fromId..n). */
  entries: AuditEntry[];
}

/** The signed pack over entries held in memory (tests, small logs): PackWriter's text, parsed. */
export function buildSignedPack(input: BuildPackInput, signer: PackSigner): SignedPack {
  const { entries, ...request } = input;
  const writer = new PackWriter({ ...request, toId: entries.length }, signer);
  const parts = [writer.start()];
  for (const entry of entries) parts.push(writer.push(entry));
  parts.push(writer.finish().text);
  return JSON.parse(parts.join("")) as SignedPack;
}
