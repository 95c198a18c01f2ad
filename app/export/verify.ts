import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { entryHash, genesisHash } from "../audit/log";
import { canonicalJson } from "../audit/canonical";
import { frontierSizes, rootFromFrontier, verifyConsistency, verifyInclusion } from "../audit/merkle";
import type { AuditEntry } from "../audit/types";
import { keyIdOf, pemBlocks } from "./signing";
import { leafOf, packFormat, signatureAlgorithm, type SignedPack } from "./pack";

// Offline verification of a signed pack. Nothing in the pack is trusted before it is checked:
// the signature is verified over the canonical bytes recomputed here, the root is recomputed
// from the entries, every proof is re-run.

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

/**
 * Verifies a signed pack against the public key. With `previous` (an earlier pack of the same
 * log, itself verified here), the pack's consistency proof must start from that pack's root.
 */
export function verifySignedPack(doc: unknown, publicKeyPem: string, options: { previous?: unknown } = {}): VerifyResult {
  const failures: VerifyFailure[] = [];
  const fail = (code: VerifyFailureCode, message: string) => failures.push({ code, message });
  const checked: VerifyResult["checked"] = { entries: 0, fromId: 0, treeSize: 0, root: "", inclusionProofs: 0, consistencyFrom: null };
  const shape = shapeProblems(doc);
  if (shape.length > 0) {
    for (const p of shape) fail("FORMAT_INVALID", p);
    return { ok: false, failures, checked };
  }
  const { pack, signature } = doc as SignedPack;
  // A key bundle (GET /export/key after a rotation): the key the pack names, when the bundle has it.
  const given = pemBlocks(publicKeyPem, "PUBLIC KEY");
  const keys = given.length > 1 ? given.map(parsePublicKey) : [parsePublicKey(publicKeyPem)];
  const key = keys.find((k) => keyIdOf(k) === signature.keyId) ?? keys[0];

  // 1. Signature over the canonical bytes of the pack.
  const blob = Buffer.from(canonicalJson(pack), "utf8");
  const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
  if (signature.keyId !== keyIdOf(key))
    fail("KEY_MISMATCH", `signature.keyId ${signature.keyId} is not the given key (${keys.map(keyIdOf).join(", ")})`);
  if (signature.digest !== digest) fail("DIGEST_MISMATCH", `pack digest is ${digest}, the signature names ${signature.digest}`);
  let signatureOk = false;
  try {
    signatureOk = verify("sha256", blob, { key, dsaEncoding: "der" }, Buffer.from(signature.value, "base64"));
  } catch {
    signatureOk = false;
  }
  if (!signatureOk) fail("SIGNATURE_MISMATCH", "the signature does not verify over the pack with the given key");

  // 2. Entries: ids fromId..treeSize in order (1..treeSize for a whole-log pack), each hash and
  // link recomputed. The first entry's link to entry fromId - 1 is checked against a previous
  // pack that holds that entry; the Merkle root covers it in any case (prevHash is in the leaf).
  const entries = pack.audit.entries as AuditEntry[];
  const n = pack.merkle.treeSize;
  const fromId = n === 0 ? 0 : pack.audit.fromId;
  checked.entries = entries.length;
  checked.fromId = fromId;
  checked.treeSize = n;
  checked.root = pack.merkle.root;
  const rangeOk = n === 0 ? pack.audit.fromId === 0 && pack.audit.toId === 0 : fromId >= 1 && fromId <= n && pack.audit.toId === n;
  if (!rangeOk)
    fail("ENTRY_SEQUENCE", `pack.audit is entries ${pack.audit.fromId}-${pack.audit.toId}, which must end at the tree size ${n}`);
  const expected = n === 0 ? 0 : n - fromId + 1;
  if (entries.length !== expected) fail("ENTRY_SEQUENCE", `pack holds ${entries.length} entries, entries ${fromId}-${n} are ${expected}`);
  let prev: string | undefined = fromId <= 1 ? genesisHash : undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!isObject(e) || e.id !== fromId + i) {
      fail("ENTRY_SEQUENCE", `entry at position ${i} has id ${isObject(e) ? String(e.id) : "?"}, expected ${fromId + i}`);
      break;
    }
    const { hash, ...rest } = e;
    if (prev !== undefined && e.prevHash !== prev) {
      fail("CHAIN_BROKEN", `entry ${e.id}: prevHash does not match entry ${e.id - 1}'s hash`);
      break;
    }
    if (entryHash(rest) !== hash) {
      fail("CHAIN_BROKEN", `entry ${e.id}: its hash does not match its content`);
      break;
    }
    prev = hash;
  }

  // 3. The Merkle root, recomputed from the frontier of the entries before fromId and the entries as given.
  const prefix = hexList(pack.merkle.prefix ?? []) ?? [];
  const before = Math.max(fromId - 1, 0);
  const root = Buffer.from(pack.merkle.root, "hex");
  if (prefix.length !== frontierSizes(before).length)
    fail(
      "ROOT_MISMATCH",
      `pack.merkle.prefix has ${prefix.length} hashes; the ${before} entries before the pack need ${frontierSizes(before).length}`,
    );
  else if (
    !rootFromFrontier(
      before,
      prefix,
      entries.filter(isObject).map((e) => leafOf(e)),
    ).equals(root)
  )
    fail("ROOT_MISMATCH", `the entries' Merkle root is not ${pack.merkle.root}`);

  // 4. Inclusion proofs against the signed root, for entries the pack holds.
  for (const proof of pack.proofs.inclusion) {
    const entry = Number.isInteger(proof.id) ? entries[proof.id - fromId] : undefined;
    const path = hexList(proof.path);
    const ok =
      path !== undefined &&
      isObject(entry) &&
      entry.id === proof.id &&
      proof.leafIndex === proof.id - 1 &&
      verifyInclusion(leafOf(entry), proof.leafIndex, n, path, root);
    if (!ok) fail("INCLUSION_INVALID", `inclusion proof for entry ${String(proof.id)} does not lead to the root`);
    checked.inclusionProofs++;
  }

  // 5. Consistency with an earlier export.
  const consistency = pack.proofs.consistency;
  if (consistency) {
    checked.consistencyFrom = consistency.fromSize;
    const path = hexList(consistency.path);
    const fromRoot =
      typeof consistency.fromRoot === "string" && hexHash.test(consistency.fromRoot) ? Buffer.from(consistency.fromRoot, "hex") : undefined;
    if (!path || !fromRoot || !verifyConsistency(consistency.fromSize, n, path, fromRoot, root))
      fail("CONSISTENCY_INVALID", `the consistency proof from tree size ${String(consistency.fromSize)} does not verify`);
  }
  if (options.previous !== undefined) {
    const earlier = verifySignedPack(options.previous, publicKeyPem);
    if (!earlier.ok) fail("PREVIOUS_INVALID", `the previous pack does not verify: ${earlier.failures.map((f) => f.code).join(", ")}`);
    else if (!consistency)
      fail("CONSISTENCY_INVALID", "a previous pack was given but this pack has no consistency proof (request it with ?since=<tree size>)");
    else if (consistency.fromSize !== earlier.checked.treeSize || consistency.fromRoot !== earlier.checked.root)
      fail(
        "CONSISTENCY_INVALID",
        `the consistency proof starts from size ${consistency.fromSize} root ${consistency.fromRoot}, the previous pack is size ${earlier.checked.treeSize} root ${earlier.checked.root}`,
      );
    if (earlier.ok && fromId > 1) {
      // A range that continues the previous pack: its prefix is that pack's tree, and its first
      // entry links to that pack's last.
      const previous = (options.previous as SignedPack).pack.audit.entries as AuditEntry[];
      if (
        before === earlier.checked.treeSize &&
        prefix.length === frontierSizes(before).length &&
        rootFromFrontier(before, prefix, []).toString("hex") !== earlier.checked.root
      )
        fail(
          "CONSISTENCY_INVALID",
          `pack.merkle.prefix is not the tree of the previous pack (size ${before}, root ${earlier.checked.root})`,
        );
      const last = previous.find((e) => e.id === fromId - 1);
      if (last && isObject(entries[0]) && entries[0].prevHash !== last.hash)
        fail("CHAIN_BROKEN", `entry ${fromId}: prevHash does not match entry ${fromId - 1}'s hash in the previous pack`);
    }
  }
  return { ok: failures.length === 0, failures, checked };
}
