import { createHash, createPublicKey, createVerify, type KeyObject } from "node:crypto";
import { entryHash, genesisHash } from "../audit/log";
import { canonicalJson, codePointOrder } from "../audit/canonical";
import { MerkleStream, frontierSizes, rootFromFrontier, verifyConsistency, verifyInclusion } from "../audit/merkle";
import type { AuditEntry } from "../audit/types";
import { keyIdOf, pemBlocks } from "./signing";
import { leafOf, packFormat, signatureAlgorithm, type SignedPack } from "./pack";

// Offline verification of a signed pack. Nothing in the pack is trusted before it is checked:
// the signature is verified over the canonical bytes recomputed here, the root is recomputed
// from the entries, every proof is re-run. The entries are gone through once, one at a time, so
// a pack read from a file (pack-file.ts) is verified in memory independent of its size.

export type VerifyFailureCode =
  | "FORMAT_INVALID"
  | "KEY_MISMATCH"
  | "DIGEST_MISMATCH"
  | "SIGNATURE_MISMATCH"
  | "ENTRY_SEQUENCE"
  | "CHAIN_BROKEN"
  | "ROOT_MISMATCH"
  | "INCLUSION_INVALID"
  | "CONSISTENCY_INVALID"
  | "PREVIOUS_INVALID";

export interface VerifyFailure {
  code: VerifyFailureCode;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  failures: VerifyFailure[];
  /** What was checked, for the report. */
  checked: {
    entries: number;
    /** The pack's first entry (1 for a whole-log pack; more for a range export). */
    fromId: number;
    treeSize: number;
    root: string;
    inclusionProofs: number;
    consistencyFrom: number | null;
  };
}

const hexHash = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a public key PEM; throws with the reason when it is not an EC P-256 SPKI key. */
export function parsePublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new Error("the public key must be an ECDSA P-256 key (PEM, SPKI)");
  return key;
}

const hexList = (v: unknown): Buffer[] | undefined =>
  Array.isArray(v) && v.every((h) => typeof h === "string" && hexHash.test(h)) ? v.map((h) => Buffer.from(h as string, "hex")) : undefined;

/** Shape checks first, so later checks can index safely; returns the problems. */
function shapeProblems(doc: unknown): string[] {
  if (!isObject(doc) || !isObject(doc.pack) || !isObject(doc.signature)) return ["the document must have 'pack' and 'signature' objects"];
  const { pack, signature } = doc;
  const problems: string[] = [];
  if (pack.format !== packFormat) problems.push(`pack.format must be '${packFormat}' (got ${JSON.stringify(pack.format)})`);
  if (!isObject(pack.audit) || !Array.isArray(pack.audit.entries)) problems.push("pack.audit.entries must be an array");
  else if (!Number.isInteger(pack.audit.fromId) || !Number.isInteger(pack.audit.toId))
    problems.push("pack.audit.fromId and pack.audit.toId must be integers");
  if (
    !isObject(pack.merkle) ||
    !Number.isInteger(pack.merkle.treeSize) ||
    typeof pack.merkle.root !== "string" ||
    !hexHash.test(pack.merkle.root)
  )
    problems.push("pack.merkle must have an integer treeSize and a hex SHA-256 root");
  else if (pack.merkle.prefix !== undefined && hexList(pack.merkle.prefix) === undefined)
    problems.push("pack.merkle.prefix must be a list of hex SHA-256 hashes");
  if (!isObject(pack.proofs) || !Array.isArray(pack.proofs.inclusion)) problems.push("pack.proofs.inclusion must be an array");
  if (signature.algorithm !== signatureAlgorithm) problems.push(`signature.algorithm must be '${signatureAlgorithm}'`);
  for (const field of ["keyId", "digest", "value"])
    if (typeof signature[field] !== "string") problems.push(`signature.${field} must be a string`);
  return problems;
}

const delEscaped = (text: string) => text.replace(/\u007f/g, "\\u007f");

/**
 * canonicalJson of an object with one member left open: the text before and after the value of
 * `hole` (sorted keys, JSON.stringify's forms, DEL escaped: canonicalJson's bytes, written out
 * so that the entries can go between the two as they come).
 */
function canonicalAround(record: Record<string, unknown>, hole: string, inner: (v: unknown) => [string, string]): [string, string] {
  let before = "{";
  let after = "";
  let seen = false;
  let first = true;
  for (const key of Object.keys(record).sort(codePointOrder)) {
    const value = record[key];
    if (value === undefined) continue;
    const member = `${first ? "" : ","}${delEscaped(JSON.stringify(key))}:`;
    first = false;
    if (key === hole) {
      const [b, a] = inner(value);
      before += member + b;
      after = a;
      seen = true;
    } else if (seen) after += member + canonicalJson(value);
    else before += member + canonicalJson(value);
  }
  return [before, `${after}}`];
}

/** The signed blob around the entries: canonicalJson(pack) = before + the entries' canonicalJson joined by "," + after. */
export function blobAroundEntries(pack: Record<string, unknown>): [string, string] {
  return canonicalAround(pack, "audit", (audit) => canonicalAround(audit as Record<string, unknown>, "entries", () => ["[", "]"]));
}

/** What a verification keeps of one pack's entries for the checks after them. */
interface EntryNotes {
  /** The hash of the first entry with this id (asked for: the entry a later range continues from). */
  keptHash?: string;
}

/**
 * One pack's verification, fed its entries one at a time: the pack without entries first (shape,
 * key, range), then each entry (signature and digest bytes, hash and link, Merkle leaf, the
 * entries a proof names), then the verdicts. The same checks, in the same order, whether the
 * pack is in memory or read from a file.
 */
class PackVerification {
  readonly failures: VerifyFailure[] = [];
  readonly checked: VerifyResult["checked"] = { entries: 0, fromId: 0, treeSize: 0, root: "", inclusionProofs: 0, consistencyFrom: null };
  /** Set when the shape check failed: nothing else is checked. */
  readonly shapeFailed: boolean;
  readonly notes: EntryNotes = {};
  private pack!: SignedPack["pack"];
  private signature!: SignedPack["signature"];
  private key!: KeyObject;
  private keys!: KeyObject[];
  private fromId = 0;
  private n = 0;
  private after = "";
  private pending = "";
  private digest = createHash("sha256");
  private verifier = createVerify("sha256");
  private count = 0;
  private prev: string | undefined;
  private chain: VerifyFailure | undefined;
  private tree: MerkleStream | undefined;
  private prefix: Buffer[] = [];
  private before = 0;
  /** Positions in the pack of the entries the inclusion proofs name, and those entries. */
  private readonly wanted = new Map<number, unknown>();
  private first: unknown;

  constructor(
    doc: unknown,
    publicKeyPem: string,
    private readonly keepId?: number,
  ) {
    const shape = shapeProblems(doc);
    this.shapeFailed = shape.length > 0;
    for (const p of shape) this.failures.push({ code: "FORMAT_INVALID", message: p });
    if (this.shapeFailed) return;
    const { pack, signature } = doc as SignedPack;
    this.pack = pack;
    this.signature = signature;
    // A key bundle (GET /export/key after a rotation): the key the pack names, when the bundle has it.
    const given = pemBlocks(publicKeyPem, "PUBLIC KEY");
    this.keys = given.length > 1 ? given.map(parsePublicKey) : [parsePublicKey(publicKeyPem)];
    this.key = this.keys.find((k) => keyIdOf(k) === signature.keyId) ?? this.keys[0];
    const [before, after] = blobAroundEntries(pack as unknown as Record<string, unknown>);
    this.blob(before);
    this.after = after;
    this.n = pack.merkle.treeSize;
    this.fromId = this.n === 0 ? 0 : pack.audit.fromId;
    this.prev = this.fromId <= 1 ? genesisHash : undefined;
    this.prefix = hexList(pack.merkle.prefix ?? []) ?? [];
    this.before = Math.max(this.fromId - 1, 0);
    if (this.prefix.length === frontierSizes(this.before).length) this.tree = new MerkleStream({ start: this.before, prefix: this.prefix });
    for (const proof of pack.proofs.inclusion as unknown[])
      if (isObject(proof) && Number.isInteger(proof.id)) this.wanted.set((proof.id as number) - this.fromId, undefined);
  }

  /** The pack's first entry (0 before the shape is known to be good). */
  get packFromId(): number {
    return this.fromId;
  }

  /** The next entry of pack.audit.entries. */
  entry(e: unknown): void {
    const i = this.count++;
    this.blob(`${i > 0 ? "," : ""}${canonicalJson(e)}`);
    if (i === 0) this.first = e;
    if (this.wanted.has(i)) this.wanted.set(i, e);
    const object = isObject(e);
    if (this.keepId !== undefined && this.notes.keptHash === undefined && object && e.id === this.keepId)
      this.notes.keptHash = e.hash as string;
    // Entries: ids fromId..treeSize in order (1..treeSize for a whole-log pack), each hash and
    // link recomputed. The first entry's link to entry fromId - 1 is checked against a previous
    // pack that holds that entry; the Merkle root covers it in any case (prevHash is in the leaf).
    if (this.chain === undefined) {
      if (!object || e.id !== this.fromId + i)
        this.chain = {
          code: "ENTRY_SEQUENCE",
          message: `entry at position ${i} has id ${object ? String(e.id) : "?"}, expected ${this.fromId + i}`,
        };
      else {
        const { hash, ...rest } = e as unknown as AuditEntry;
        if (this.prev !== undefined && e.prevHash !== this.prev)
          this.chain = { code: "CHAIN_BROKEN", message: `entry ${e.id}: prevHash does not match entry ${(e.id as number) - 1}'s hash` };
        else if (entryHash(rest) !== hash)
          this.chain = { code: "CHAIN_BROKEN", message: `entry ${e.id}: its hash does not match its content` };
        else this.prev = hash;
      }
    }
    if (object && this.tree) this.tree.push(leafOf(e as unknown as AuditEntry));
  }

  /** The verdicts, after the last entry; `previous` is an earlier pack's verification (and the hash of its entry fromId - 1). */
  finish(previous?: { result: VerifyResult; keptHash?: string }): VerifyResult {
    const { failures, checked } = this;
    if (this.shapeFailed) return { ok: false, failures, checked };
    const fail = (code: VerifyFailureCode, message: string) => failures.push({ code, message });
    const { pack, signature, key, keys, n, fromId, before, prefix } = this;

    // 1. Signature over the canonical bytes of the pack.
    this.blob(this.after);
    this.flush();
    const digest = `sha256:${this.digest.digest("hex")}`;
    if (signature.keyId !== keyIdOf(key))
      fail("KEY_MISMATCH", `signature.keyId ${signature.keyId} is not the given key (${keys.map(keyIdOf).join(", ")})`);
    if (signature.digest !== digest) fail("DIGEST_MISMATCH", `pack digest is ${digest}, the signature names ${signature.digest}`);
    let signatureOk = false;
    try {
      signatureOk = this.verifier.verify({ key, dsaEncoding: "der" }, Buffer.from(signature.value, "base64"));
    } catch {
      signatureOk = false;
    }
    if (!signatureOk) fail("SIGNATURE_MISMATCH", "the signature does not verify over the pack with the given key");

    // 2. Entries (checked as they came).
    checked.entries = this.count;
    checked.fromId = fromId;
    checked.treeSize = n;
    checked.root = pack.merkle.root;
    const rangeOk = n === 0 ? pack.audit.fromId === 0 && pack.audit.toId === 0 : fromId >= 1 && fromId <= n && pack.audit.toId === n;
    if (!rangeOk)
      fail("ENTRY_SEQUENCE", `pack.audit is entries ${pack.audit.fromId}-${pack.audit.toId}, which must end at the tree size ${n}`);
    const expected = n === 0 ? 0 : n - fromId + 1;
    if (this.count !== expected) fail("ENTRY_SEQUENCE", `pack holds ${this.count} entries, entries ${fromId}-${n} are ${expected}`);
    if (this.chain) failures.push(this.chain);

    // 3. The Merkle root, recomputed from the frontier of the entries before fromId and the entries as given.
    const root = Buffer.from(pack.merkle.root, "hex");
    if (!this.tree)
      fail(
        "ROOT_MISMATCH",
        `pack.merkle.prefix has ${prefix.length} hashes; the ${before} entries before the pack need ${frontierSizes(before).length}`,
      );
    else if (!this.tree.root.equals(root)) fail("ROOT_MISMATCH", `the entries' Merkle root is not ${pack.merkle.root}`);

    // 4. Inclusion proofs against the signed root, for entries the pack holds.
    for (const proof of pack.proofs.inclusion) {
      const entry = Number.isInteger(proof.id) ? this.wanted.get(proof.id - fromId) : undefined;
      const path = hexList(proof.path);
      const ok =
        path !== undefined &&
        isObject(entry) &&
        entry.id === proof.id &&
        proof.leafIndex === proof.id - 1 &&
        verifyInclusion(leafOf(entry as unknown as AuditEntry), proof.leafIndex, n, path, root);
      if (!ok) fail("INCLUSION_INVALID", `inclusion proof for entry ${String(proof.id)} does not lead to the root`);
      checked.inclusionProofs++;
    }

    // 5. Consistency with an earlier export.
    const consistency = pack.proofs.consistency;
    if (consistency) {
      checked.consistencyFrom = consistency.fromSize;
      const path = hexList(consistency.path);
      const fromRoot =
        typeof consistency.fromRoot === "string" && hexHash.test(consistency.fromRoot)
          ? Buffer.from(consistency.fromRoot, "hex")
          : undefined;
      if (!path || !fromRoot || !verifyConsistency(consistency.fromSize, n, path, fromRoot, root))
        fail("CONSISTENCY_INVALID", `the consistency proof from tree size ${String(consistency.fromSize)} does not verify`);
    }
    if (previous !== undefined) {
      const earlier = previous.result;
      if (!earlier.ok) fail("PREVIOUS_INVALID", `the previous pack does not verify: ${earlier.failures.map((f) => f.code).join(", ")}`);
      else if (!consistency)
        fail(
          "CONSISTENCY_INVALID",
          "a previous pack was given but this pack has no consistency proof (request it with ?since=<tree size>)",
        );
      else if (consistency.fromSize !== earlier.checked.treeSize || consistency.fromRoot !== earlier.checked.root)
        fail(
          "CONSISTENCY_INVALID",
          `the consistency proof starts from size ${consistency.fromSize} root ${consistency.fromRoot}, the previous pack is size ${earlier.checked.treeSize} root ${earlier.checked.root}`,
        );
      if (earlier.ok && fromId > 1) {
        // A range that continues the previous pack: its prefix is that pack's tree, and its first
        // entry links to that pack's last.
        if (
          before === earlier.checked.treeSize &&
          prefix.length === frontierSizes(before).length &&
          rootFromFrontier(before, prefix, []).toString("hex") !== earlier.checked.root
        )
          fail(
            "CONSISTENCY_INVALID",
            `pack.merkle.prefix is not the tree of the previous pack (size ${before}, root ${earlier.checked.root})`,
          );
        if (previous.keptHash !== undefined && isObject(this.first) && this.first.prevHash !== previous.keptHash)
          fail("CHAIN_BROKEN", `entry ${fromId}: prevHash does not match entry ${fromId - 1}'s hash in the previous pack`);
      }
    }
    return { ok: failures.length === 0, failures, checked };
  }

  /** A piece of the signed blob, into the digest and the signature check (in chunks of ~64 KB, as the writer does). */
  private blob(text: string): void {
    this.pending += text;
    if (this.pending.length >= 65_536) this.flush();
  }

  private flush(): void {
    const bytes = Buffer.from(this.pending, "utf8");
    this.digest.update(bytes);
    this.verifier.update(bytes);
    this.pending = "";
  }
}

/** A pack to verify: the document without its entries (pack.audit.entries as []), and a way to go through the entries. */
export interface PackSource {
  doc: unknown;
  forEachEntry(visit: (entry: unknown) => void): void;
}

/** A pack in memory as a source (its entries array, when there is one, is gone through in place). */
export function packSource(doc: unknown): PackSource {
  const entries =
    isObject(doc) && isObject(doc.pack) && isObject(doc.pack.audit) && Array.isArray(doc.pack.audit.entries)
      ? doc.pack.audit.entries
      : undefined;
  if (!entries) return { doc, forEachEntry: () => undefined };
  const record = doc as Record<string, unknown>;
  const pack = record.pack as Record<string, unknown>;
  const audit = pack.audit as Record<string, unknown>;
  return {
    doc: { ...record, pack: { ...pack, audit: { ...audit, entries: [] } } },
    forEachEntry: (visit) => entries.forEach((e) => visit(e)),
  };
}

function verifyOne(source: PackSource, publicKeyPem: string, keepId?: number): { result: VerifyResult; keptHash?: string; fromId: number } {
  const check = new PackVerification(source.doc, publicKeyPem, keepId);
  if (!check.shapeFailed) source.forEachEntry((e) => check.entry(e));
  return { result: check.finish(), keptHash: check.notes.keptHash, fromId: check.packFromId };
}

/**
 * Verifies a pack given as a source (in memory, or read from a file in bounded memory: see
 * pack-file.ts). With `previous` (an earlier pack of the same log, itself verified here), the
 * pack's consistency proof must start from that pack's root.
 */
export function verifyPackSource(source: PackSource, publicKeyPem: string, options: { previous?: PackSource } = {}): VerifyResult {
  const check = new PackVerification(source.doc, publicKeyPem);
  if (check.shapeFailed) return check.finish();
  // The earlier pack first, keeping the entry this one continues from (its fromId - 1).
  const previous = options.previous && verifyOne(options.previous, publicKeyPem, check.packFromId - 1);
  source.forEachEntry((e) => check.entry(e));
  return check.finish(previous);
}

/**
 * Verifies a signed pack against the public key. With `previous` (an earlier pack of the same
 * log, itself verified here), the pack's consistency proof must start from that pack's root.
 */
export function verifySignedPack(doc: unknown, publicKeyPem: string, options: { previous?: unknown } = {}): VerifyResult {
  return verifyPackSource(packSource(doc), publicKeyPem, {
    previous: options.previous === undefined ? undefined : packSource(options.previous),
  });
}
