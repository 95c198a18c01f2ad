// Verifies an OPA bundle signature (.signatures.json: one JWS over the digests of every file) the
// way OPA does, failing closed with a typed error. Nothing in the bundle is trusted before the
// JWS verifies with a configured key, and every file must be signed and match its digest.
import type { KeyObject } from "node:crypto";
import { BundleError } from "./errors";
import { fileDigest } from "./hash";
import type { SigningAlgorithm } from "./keys";
import { readTarGz, type TarFile } from "./tar";

export const signaturesFile = ".signatures.json";

export interface VerificationKey {
  /** Public key (KeyObject). */
  key: KeyObject;
  /** The only JWS alg accepted for this key. */
  algorithm: SigningAlgorithm;
  /** Scope the signature must carry. @default "" (none) */
  scope?: string;
}

export interface VerifyOptions {
  /** Keys by id. OPA's CLI names a single --verification-key "default". */
  keys: Readonly<Record<string, VerificationKey>>;
  /** Use this key id regardless of the JWS `kid` (OPA's keyid config). @default the JWS kid, then the payload keyid */
  keyId?: string;
  /** Files not required to be signed (OPA's --exclude-files-verify). @default none */
  exclude?: readonly string[];
}

export interface VerifiedBundle {
  /** The bundle's files by name (no leading "/"), .signatures.json excluded. */
  files: Map<string, Buffer>;
  keyId: string;
  algorithm: string;
}

interface SignedFile {
  name: string;
  hash: string;
  algorithm: string;
}

const malformed = (message: string) => new BundleError("SIGNATURES_MALFORMED", message);

function decodeSegment(segment: string, what: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw malformed(`JWS ${what} is not base64url`);
  const bytes = Buffer.from(segment, "base64url");
  // Non-canonical trailing bits would let two spellings carry the same bytes.
  if (bytes.toString("base64url") !== segment) throw malformed(`JWS ${what} is not canonical base64url`);
  return bytes;
}

function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodeSegment(segment, what).toString("utf8"));
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw malformed(`JWS ${what} is not JSON`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw malformed(`JWS ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function readToken(file: Buffer): string {
  let config: unknown;
  try {
    config = JSON.parse(file.toString("utf8"));
  } catch {
    throw malformed(`${signaturesFile} is not JSON`);
  }
  const c = config as { signatures?: unknown; plugin?: unknown };
  if (!c || typeof c !== "object") throw malformed(`${signaturesFile} is not an object`);
  if (c.plugin !== undefined && c.plugin !== "" && c.plugin !== "_default")
    throw malformed(`signing plugin '${String(c.plugin)}' is not supported`);
  if (!Array.isArray(c.signatures) || c.signatures.length !== 1 || typeof c.signatures[0] !== "string") {
    throw malformed(`${signaturesFile} must hold exactly one JWS in "signatures"`);
  }
  return c.signatures[0];
}

function signedFiles(payload: Record<string, unknown>): Map<string, SignedFile> {
  if (!Array.isArray(payload.files)) throw malformed("JWS payload has no files array");
  const files = new Map<string, SignedFile>();
  for (const f of payload.files as unknown[]) {
    const entry = f as Partial<SignedFile>;
    if (!entry || typeof entry.name !== "string" || typeof entry.hash !== "string" || typeof entry.algorithm !== "string") {
      throw malformed("every entry of the JWS files array needs name, hash and algorithm strings");
    }
    const name = entry.name.replace(/^\/+/, "");
    if (files.has(name)) throw malformed(`file ${name} is listed twice in the signature`);
    files.set(name, { name, hash: entry.hash.toLowerCase(), algorithm: entry.algorithm });
  }
  return files;
}

/** Verifies a bundle's bytes; resolves with its files, or rejects with a BundleError. */
export async function verifyBundle(archive: Buffer, options: VerifyOptions): Promise<VerifiedBundle> {
  return verifyFiles(readTarGz(archive), options);
}

/** Verifies already-read bundle files (see verifyBundle). */
export async function verifyFiles(entries: readonly TarFile[], options: VerifyOptions): Promise<VerifiedBundle> {
  const files = new Map(entries.map((f) => [f.name.replace(/^\/+/, ""), f.data]));
  const signatures = files.get(signaturesFile);
  if (!signatures) throw new BundleError("BUNDLE_UNSIGNED", `the bundle has no ${signaturesFile}`);
  files.delete(signaturesFile);

  const token = readToken(signatures);
  const parts = token.split(".");
  if (parts.length !== 3) throw malformed("the signature is not a compact JWS (header.payload.signature)");
  const header = decodeJson(parts[0], "header");
  const payload = decodeJson(parts[1], "payload");
  decodeSegment(parts[2], "signature");

  const keyId =
    options.keyId || (typeof header.kid === "string" && header.kid) || (typeof payload.keyid === "string" && payload.keyid) || "";
  if (!keyId) throw new BundleError("KEY_UNKNOWN", "the signature names no key id and none is configured");
  const key = Object.hasOwn(options.keys, keyId) ? options.keys[keyId] : undefined;
  if (!key)
    throw new BundleError(
      "KEY_UNKNOWN",
      `no verification key with id '${keyId}' (known: ${Object.keys(options.keys).join(", ") || "none"})`,
    );
  if (header.alg !== key.algorithm) {
    throw new BundleError("ALGORITHM_MISMATCH", `signature alg ${String(header.alg)} but key '${keyId}' is ${key.algorithm}`);
  }
  const { compactVerify } = await import("jose");
  try {
    await compactVerify(token, key.key, { algorithms: [key.algorithm] });
  } catch (err) {
    throw new BundleError("SIGNATURE_INVALID", `the signature does not verify with key '${keyId}' (${(err as Error).message})`);
  }
  const scope = typeof payload.scope === "string" ? payload.scope : "";
  if (scope !== (key.scope ?? "")) throw new BundleError("SCOPE_MISMATCH", `signed scope '${scope}', expected '${key.scope ?? ""}'`);

  const signed = signedFiles(payload);
  const excluded = new Set(options.exclude ?? []);
  for (const [name, data] of files) {
    if (excluded.has(name)) continue;
    const entry = signed.get(name);
    if (!entry) throw new BundleError("FILE_NOT_SIGNED", `${name} is in the bundle but not in its signature`);
    const digest = fileDigest(name, data, entry.algorithm);
    if (digest !== entry.hash) throw new BundleError("FILE_HASH_MISMATCH", `${name}: digest ${digest}, signed ${entry.hash}`);
    signed.delete(name);
  }
  const missing = [...signed.keys()].filter((n) => !excluded.has(n));
  if (missing.length > 0) throw new BundleError("FILE_MISSING", `signed but not in the bundle: ${missing.join(", ")}`);
  return { files, keyId, algorithm: key.algorithm };
}
