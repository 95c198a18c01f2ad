// Typed bundle errors: callers and tests match on `code`, never on message text.
import { MaestroError } from "../lib/errors";

export const bundleErrorCodes = [
  /** Not a gzip'd tar as OPA writes it (bad gzip header, checksum, padding, entry type, duplicate name). */
  "BUNDLE_UNREADABLE",
  /** The archive, or what it unpacks to, is larger than the configured limit (POLICY_BUNDLE_MAX_BYTES). */
  "BUNDLE_TOO_LARGE",
  /** No .signatures.json in the bundle. */
  "BUNDLE_UNSIGNED",
  /** .signatures.json is not `{"signatures":["<one JWS>"]}` or the JWS is not well-formed. */
  "SIGNATURES_MALFORMED",
  /** The JWS names a key id the verifier has no key for. */
  "KEY_UNKNOWN",
  /** The JWS header's alg is not the algorithm configured for the key. */
  "ALGORITHM_MISMATCH",
  /** The JWS signature does not verify with the key. */
  "SIGNATURE_INVALID",
  /** The signed scope differs from the configured one. */
  "SCOPE_MISMATCH",
  /** A file's digest differs from the one signed. */
  "FILE_HASH_MISMATCH",
  /** A file in the bundle is not listed in the signature. */
  "FILE_NOT_SIGNED",
  /** A file listed in the signature is not in the bundle. */
  "FILE_MISSING",
  /** The signature uses a hash algorithm this verifier does not accept. */
  "HASH_ALGORITHM_UNSUPPORTED",
  /** A key file is not a usable RSA or P-256 EC key. */
  "KEY_INVALID",
  /** The bundle verified but is not a policy bundle (no policy.wasm, bad data.json). */
  "BUNDLE_INVALID",
] as const;
export type BundleErrorCode = (typeof bundleErrorCodes)[number];

/** A bundle that cannot be read, verified or used; the message starts with the code. */
export class BundleError extends MaestroError<BundleErrorCode> {
  constructor(code: BundleErrorCode, message: string) {
    super(code, `${code}: ${message}`);
  }
}
