// PEM keys for bundle signing and verification, with the JWS algorithm each one implies.
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { BundleError } from "./errors";

/** The JWS algorithms bundles may be signed with (OPA's RS256 default and ES256). */
export const signingAlgorithms = ["RS256", "ES256", "ES384"] as const;
export type SigningAlgorithm = (typeof signingAlgorithms)[number];

/** The algorithm a key is used with: RS256 for RSA, ES256/ES384 for P-256/P-384 EC keys. */
export function algorithmFor(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === "rsa") {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new BundleError("KEY_INVALID", "RSA keys need at least 2048 bits");
    return "RS256";
  }
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1") return "ES256";
    if (curve === "secp384r1") return "ES384";
    throw new BundleError("KEY_INVALID", `EC curve ${curve} is not supported (allowed: P-256, P-384)`);
  }
  throw new BundleError("KEY_INVALID", `key type ${key.asymmetricKeyType} is not supported (allowed: RSA, EC P-256/P-384)`);
}

/** A PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) and its algorithm. */
export function readPrivateKey(pem: string | Buffer, source = "private key"): { key: KeyObject; algorithm: SigningAlgorithm } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new BundleError("KEY_INVALID", `${source} is not a PEM private key (${(err as Error).message})`);
  }
  return { key, algorithm: algorithmFor(key) };
}

/** A PEM public key (SPKI or PKCS#1), certificate or private key, as the public half and its algorithm. */
export function readPublicKey(pem: string | Buffer, source = "public key"): { key: KeyObject; algorithm: SigningAlgorithm } {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new BundleError("KEY_INVALID", `${source} is not a PEM public key (${(err as Error).message})`);
  }
  return { key, algorithm: algorithmFor(key) };
}
