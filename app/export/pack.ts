import { createHash } from "node:crypto";
import { canonicalEntry } from "../audit/log";
import { canonicalJson } from "../audit/canonical";
import { MerkleTree, leafHash } from "../audit/merkle";
import type { AuditEntry } from "../audit/types";
import type { PackSigner } from "./signing";

export const packFormat = "maestro.compliance.signed-pack/v1";
export const signatureAlgorithm = "ecdsa-p256-sha256";

/** What the pack says about its audit entries' Merkle tree. */
export interface PackMerkle {
  algorithm: "rfc6962-sha256";
  /** How a leaf is made from an entry. */
  leaf: "sha256(0x00 || utf8(canonicalEntry(entry)))";
  /** Entries 1..treeSize of the log. */
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

export const leafOf = (entry: AuditEntry): Buffer => {
  const { hash: _hash, ...rest } = entry;
  return leafHash(canonicalEntry(rest));
};

function sortedEntry(e: AuditEntry): AuditEntry {
  return {
    actor: e.actor,
    at: e.at,
    details: e.details,
    hash: e.hash,
    id: e.id,
    prevHash: e.prevHash,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.resource !== undefined ? { resource: e.resource } : {}),
    type: e.type,
  };
}

export interface BuildPackInput {
  /** Every entry of the log, ids 1..n in order. */
  entries: AuditEntry[];
  environment: string;
  controls?: unknown[];
  summary?: unknown[];
  /** Entry ids to prove inclusion for. @default the last entry */
  proveIds?: number[];
  /** An earlier export's tree size to prove consistency from. */
  sinceSize?: number;
  now?: Date;
}

export class PackRequestError extends Error {
  readonly code = "PACK_REQUEST_INVALID";
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
    this.name = "PackRequestError";
  }
}

/** Builds the pack over the whole log, its Merkle root and proofs, and signs canonicalJson(pack). */
export function buildSignedPack(input: BuildPackInput, signer: PackSigner): SignedPack {
  const { entries } = input;
  entries.forEach((e, i) => {
    if (e.id !== i + 1) throw new Error(`audit entries must be ids 1..n in order (entry ${i} has id ${e.id})`);
  });
  const tree = new MerkleTree(entries.map(leafOf));
  // Entries with their keys already in canonical order, so signing does not copy 100 000 objects.
  const ordered = entries.map(sortedEntry);
  const n = tree.size;
  const proveIds = input.proveIds ?? (n > 0 ? [n] : []);
  for (const id of proveIds)
    if (!Number.isInteger(id) || id < 1 || id > n) throw new PackRequestError("proveIds", `each id must be 1-${n} (got ${id})`);
  if (input.sinceSize !== undefined && (!Number.isInteger(input.sinceSize) || input.sinceSize < 1 || input.sinceSize > n))
    throw new PackRequestError("since", `must be an earlier tree size 1-${n} (got ${input.sinceSize})`);
  const hex = (bs: Buffer[]) => bs.map((b) => b.toString("hex"));
  const pack: SignedPackBody = {
    format: packFormat,
    generatedAt: (input.now ?? new Date()).toISOString(),
    environment: input.environment,
    controls: input.controls ?? [],
    summary: input.summary ?? [],
    audit: { fromId: n > 0 ? 1 : 0, toId: n, entries: ordered },
    merkle: {
      algorithm: "rfc6962-sha256",
      leaf: "sha256(0x00 || utf8(canonicalEntry(entry)))",
      treeSize: n,
      root: tree.root.toString("hex"),
    },
    proofs: {
      inclusion: proveIds.map((id) => ({ id, leafIndex: id - 1, path: hex(tree.inclusionProof(id - 1)) })),
      consistency:
        input.sinceSize === undefined
          ? null
          : {
              fromSize: input.sinceSize,
              fromRoot: tree.rootOf(input.sinceSize).toString("hex"),
              path: hex(tree.consistencyProof(input.sinceSize)),
            },
    },
  };
  const blob = Buffer.from(canonicalJson(pack), "utf8");
  return {
    pack,
    signature: {
      algorithm: signatureAlgorithm,
      keyId: signer.keyId,
      digest: `sha256:${createHash("sha256").update(blob).digest("hex")}`,
      value: signer.sign(blob),
    },
  };
}
