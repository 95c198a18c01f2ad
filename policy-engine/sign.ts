// Signs a bundle in OPA's format: .signatures.json holds one JWS whose payload lists every file's
// SHA-256 digest (OPA's structured hashing for JSON files), so `opa --verification-key` accepts it.
import type { KeyObject } from "node:crypto";
import { fileDigest } from "./hash";
import type { SigningAlgorithm } from "./keys";
import { readTarGz, writeTarGz } from "./tar";
import { signaturesFile } from "./verify";

export interface SignOptions {
  privateKey: KeyObject;
  algorithm: SigningAlgorithm;
  /** Written as the JWS `kid` header and the (deprecated) `keyid` claim, as `opa build` does. @default "default" */
  keyId?: string;
  /** Scope claim, checked by verifiers configured with a scope. @default none */
  scope?: string;
}

/** Returns the bundle with a fresh .signatures.json (any old one is replaced). */
export async function signBundle(archive: Buffer, options: SignOptions): Promise<Buffer> {
  const keyId = options.keyId ?? "default";
  const files = readTarGz(archive).filter((f) => f.name.replace(/^\/+/, "") !== signaturesFile);
  const signed = files.map((f) => {
    const name = f.name.replace(/^\/+/, "");
    return { name, hash: fileDigest(name, f.data, "SHA-256"), algorithm: "SHA-256" };
  });
  // Keys in the order Go's json.Marshal writes a map: sorted.
  const payload: Record<string, unknown> = { files: signed, keyid: keyId };
  if (options.scope) payload.scope = options.scope;
  const { CompactSign } = await import("jose");
  const token = await new CompactSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader({ alg: options.algorithm, kid: keyId, typ: "JWT" })
    .sign(options.privateKey);
  return writeTarGz([...files, { name: `/${signaturesFile}`, data: Buffer.from(JSON.stringify({ signatures: [token] })) }]);
}
