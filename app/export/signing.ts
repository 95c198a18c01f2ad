import { createHash, createPrivateKey, createPublicKey, createSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { MaestroError } from "../../lib/errors";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

// The signed pack's key: ECDSA P-256, signatures over SHA-256 of the blob, ASN.1 DER, base64,
// with the public key as a PEM "PUBLIC KEY" (SPKI). That is exactly cosign's key-based blob
// format (`cosign sign-blob --key` / `cosign verify-blob --key K --signature S blob`).

export interface PackSigner {
  /** "sha256:" + hex SHA-256 of the public key's DER (SPKI) bytes. */
  readonly keyId: string;
  /** PEM, SPKI ("-----BEGIN PUBLIC KEY-----"). */
  readonly publicKeyPem: string;
  /** A signature over a blob fed in pieces (a streamed pack): base64 DER ECDSA over SHA-256(blob) at finish. */
  begin(): BlobSigning;
}

export interface BlobSigning {
  /** A piece of the blob: text (as UTF-8) or its bytes. */
  update(chunk: string | Buffer): void;
  /** base64 DER ECDSA signature over SHA-256 of every chunk given, in order. */
  finish(): string;
}

export class SigningKeyError extends MaestroError<"SIGNING_KEY_INVALID"> {
  constructor(message: string) {
    super("SIGNING_KEY_INVALID", message);
  }
}

export function keyIdOf(publicKey: KeyObject): string {
  return `sha256:${createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")}`;
}

export function signerFromKey(privateKey: KeyObject): PackSigner {
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new SigningKeyError("the export signing key must be an ECDSA P-256 (prime256v1) private key");
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    begin: () => {
      const signing = createSign("sha256");
      return {
        update: (chunk) => void (typeof chunk === "string" ? signing.update(chunk, "utf8") : signing.update(chunk)),
        finish: () => signing.sign({ key: privateKey, dsaEncoding: "der" }, "base64"),
      };
    },
  };
}

/** The PEM blocks of one type in text (a bundle of keys), each with its BEGIN and END lines. */
export function pemBlocks(text: string, type: "PUBLIC KEY" | "PRIVATE KEY"): string[] {
  const pattern = new RegExp(`-----BEGIN ${type}-----[A-Za-z0-9+/=\\s]+?-----END ${type}-----`, "g");
  return (text.match(pattern) ?? []).map((b) => `${b}\n`);
}

/** A public key that verifies packs, by key id. */
export interface PackPublicKey {
  keyId: string;
  publicKeyPem: string;
  /** The key packs are signed with now (the others are retired, still valid for older packs). */
  current: boolean;
}

/** The signer and every key a pack of this service may carry: the current one first, then the retired ones. */
export interface PackKeyring {
  signer: PackSigner;
  keys: PackPublicKey[];
}

/**
 * The fleet's keyring: the signing key from the Secret (AUDIT_SIGNING_KEY_PEM) when there is one,
 * else the process's own key file; plus the retired public keys, de-duplicated by key id.
 */
export function loadPackKeyring(settings: { signingKeyFile: string; signingKeyPem?: string; retiredSigningKeysPem?: string }): PackKeyring {
  let signer: PackSigner;
  if (settings.signingKeyPem) {
    try {
      signer = signerFromKey(createPrivateKey(settings.signingKeyPem));
    } catch (err) {
      if (err instanceof SigningKeyError) throw err;
      throw new SigningKeyError(`AUDIT_SIGNING_KEY_PEM is not a PEM private key: ${(err as Error).message}`);
    }
  } else signer = loadOrCreatePackSigner(settings.signingKeyFile);
  const keys: PackPublicKey[] = [{ keyId: signer.keyId, publicKeyPem: signer.publicKeyPem, current: true }];
  for (const block of pemBlocks(settings.retiredSigningKeysPem ?? "", "PUBLIC KEY")) {
    const publicKey = createPublicKey(block);
    const keyId = keyIdOf(publicKey);
    if (!keys.some((k) => k.keyId === keyId))
      keys.push({ keyId, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), current: false });
  }
  return { signer, keys };
}

/**
 * The signer whose PKCS#8 PEM private key is at path; created (mode 0600, never overwritten) on
 * first use, so a service keeps one key across restarts.
 */
export function loadOrCreatePackSigner(path: string): PackSigner {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new SigningKeyError(`cannot read ${path}: ${(err as Error).message}`);
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }), { flag: "wx", mode: 0o600 });
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== "EEXIST") throw writeErr;
    }
    pem = readFileSync(path, "utf8");
  }
  try {
    return signerFromKey(createPrivateKey(pem));
  } catch (err) {
    if (err instanceof SigningKeyError) throw err;
    throw new SigningKeyError(`${path} is not a PEM private key: ${(err as Error).message}`);
  }
}
