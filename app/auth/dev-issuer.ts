import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JWK } from "jose" with { "resolution-mode": "import" };
import { defaultAudience, devIssuer } from "./settings";

// The development issuer: an ES256 key under MAESTRO_DATA_DIR that signs local tokens, so
// `npm run app` works without an IdP. Never used in production (readIdentitySettings refuses it).

type Jose = typeof import("jose", { with: { "resolution-mode": "import" } });
let josePromise: Promise<Jose> | undefined;
/** jose is ESM-only; loaded once through a real dynamic import. */
export function loadJose(): Promise<Jose> {
  josePromise ??= import("jose");
  return josePromise;
}

interface StoredKey {
  kid: string;
  privateJwk: JWK;
}

export interface DevIssuerKeys {
  kid: string;
  /** The public JWKS the verifier trusts. */
  jwks: { keys: JWK[] };
  privateJwk: JWK;
}

/** The key file's path under the data directory. */
export function devIssuerKeyPath(dataDir: string): string {
  return join(dataDir, "identity", "dev-issuer.jwk.json");
}

/** Loads the development issuer's key, creating it (mode 0600) on first use. */
export async function loadDevIssuerKeys(dataDir: string): Promise<DevIssuerKeys> {
  const jose = await loadJose();
  const path = devIssuerKeyPath(dataDir);
  let stored: StoredKey;
  try {
    stored = JSON.parse(readFileSync(path, "utf8")) as StoredKey;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      throw new Error(`cannot read development issuer key ${path}: ${(err as Error).message}`);
    const { privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
    const privateJwk = await jose.exportJWK(privateKey);
    const kid = await jose.calculateJwkThumbprint(privateJwk);
    stored = { kid, privateJwk: { ...privateJwk, kid, alg: "ES256", use: "sig" } };
    mkdirSync(join(dataDir, "identity"), { recursive: true, mode: 0o700 });
    try {
      // wx: if another process created it meanwhile, use theirs.
      writeFileSync(path, JSON.stringify(stored), { flag: "wx", mode: 0o600 });
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== "EEXIST") throw writeErr;
      stored = JSON.parse(readFileSync(path, "utf8")) as StoredKey;
    }
  }
  const { d: _private, ...publicJwk } = stored.privateJwk;
  return { kid: stored.kid, jwks: { keys: [publicJwk] }, privateJwk: stored.privateJwk };
}

export interface DevTokenRequest {
  subject: string;
  groups: string[];
  /** @default "maestro-compliance" */
  audience?: string;
  /** @default 3600 */
  ttlSeconds?: number;
}

/** Mints a development token (ES256, iss urn:maestro:dev-issuer). */
export async function mintDevToken(dataDir: string, request: DevTokenRequest): Promise<string> {
  const jose = await loadJose();
  const keys = await loadDevIssuerKeys(dataDir);
  const key = await jose.importJWK(keys.privateJwk, "ES256");
  return new jose.SignJWT({ groups: request.groups })
    .setProtectedHeader({ alg: "ES256", kid: keys.kid, typ: "JWT" })
    .setIssuer(devIssuer)
    .setAudience(request.audience ?? defaultAudience)
    .setSubject(request.subject)
    .setIssuedAt()
    .setExpirationTime(`${request.ttlSeconds ?? 3600}s`)
    .sign(key);
}
