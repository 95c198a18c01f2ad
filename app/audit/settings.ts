import { join, resolve } from "node:path";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readBoolean, readInteger, SettingsError } from "../env";
import { pemBlocks, signerFromKey } from "../export/signing";
import { keyFolderPattern, keyFolderRule, s3BucketNamePattern } from "../../contracts/names";

/** Settings of the audit trail's copies: the WORM sink (S3 Object Lock) and the export signing key. */
export interface AuditSettings {
  worm: WormSettings;
  /**
   * AUDIT_SIGNING_KEY_FILE: PKCS#8 PEM ECDSA P-256 key that signs exports; created on first use.
   * Only when AUDIT_SIGNING_KEY_PEM is not set (development: one process, its own key).
   */
  signingKeyFile: string;
  /**
   * AUDIT_SIGNING_KEY_PEM: the fleet's signing key (PKCS#8 PEM, P-256), from a Kubernetes Secret;
   * every replica signs with it. Required in production.
   */
  signingKeyPem?: string;
  /**
   * AUDIT_SIGNING_RETIRED_KEYS_PEM: public keys (PEM, SPKI, any number) of signing keys rotated out
   * whose packs must still verify; /export/key serves them after the current one.
   */
  retiredSigningKeysPem?: string;
}

export interface WormSettings {
  /** AUDIT_WORM_ENABLED: copy every event to the Object Lock bucket. */
  enabled: boolean;
  /** AUDIT_WORM_BUCKET */
  bucket: string;
  /** AUDIT_RETENTION_DAYS: COMPLIANCE retention set on each object. */
  retentionDays: number;
  /** AUDIT_WORM_PREFIX: key prefix (the IAM grant covers only this prefix). */
  prefix: string;
  /** AUDIT_S3_ENDPOINT: an S3-compatible endpoint instead of AWS (tests: moto). */
  endpoint?: string;
  /** AWS_REGION */
  region: string;
  /** AUDIT_WORM_BATCH_MS: longest an event waits before its batch is sealed and written. */
  batchDelayMs: number;
}

/** The fleet key and the retired ones, checked at start so a bad Secret stops the pod naming the variable. */
function signingKeys(env: NodeJS.ProcessEnv, environment: string): Pick<AuditSettings, "signingKeyPem" | "retiredSigningKeysPem"> {
  const pem = env.AUDIT_SIGNING_KEY_PEM?.trim() || undefined;
  const retired = env.AUDIT_SIGNING_RETIRED_KEYS_PEM?.trim() || undefined;
  if (!pem && environment === "production")
    throw new SettingsError(
      "AUDIT_SIGNING_KEY_PEM",
      "is required in production (the fleet's export signing key, from a Kubernetes Secret): a key per pod makes packs verify against one pod only",
    );
  if (pem) {
    try {
      signerFromKey(createPrivateKey(pem));
    } catch (err) {
      throw new SettingsError("AUDIT_SIGNING_KEY_PEM", `must be a PKCS#8 PEM ECDSA P-256 private key (${(err as Error).message})`);
    }
  }
  if (retired) {
    const blocks = pemBlocks(retired, "PUBLIC KEY");
    if (blocks.length === 0)
      throw new SettingsError("AUDIT_SIGNING_RETIRED_KEYS_PEM", "must hold PEM public keys (-----BEGIN PUBLIC KEY-----)");
    blocks.forEach((block, i) => {
      const key = createPublicKey(block);
      if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
        throw new SettingsError("AUDIT_SIGNING_RETIRED_KEYS_PEM", `key ${i + 1} must be an ECDSA P-256 public key`);
    });
  }
  return { ...(pem ? { signingKeyPem: pem } : {}), ...(retired ? { retiredSigningKeysPem: retired } : {}) };
}

export function readAuditSettings(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  environment: "development" | "staging" | "production" = "development",
): AuditSettings {
  const enabled = readBoolean(env, "AUDIT_WORM_ENABLED", false);
  const bucket = env.AUDIT_WORM_BUCKET ?? "";
  const prefix = env.AUDIT_WORM_PREFIX || "audit/";
  const endpoint = env.AUDIT_S3_ENDPOINT || undefined;
  if (enabled) {
    if (!bucket) throw new SettingsError("AUDIT_WORM_BUCKET", "is required when AUDIT_WORM_ENABLED=true (the Object Lock bucket's name)");
    if (!s3BucketNamePattern.test(bucket)) throw new SettingsError("AUDIT_WORM_BUCKET", `must be a valid S3 bucket name (got '${bucket}')`);
    if (env.AUDIT_RETENTION_DAYS === undefined || env.AUDIT_RETENTION_DAYS === "")
      throw new SettingsError("AUDIT_RETENTION_DAYS", "is required when AUDIT_WORM_ENABLED=true (1-36500 days)");
  }
  if (!keyFolderPattern.test(prefix)) throw new SettingsError("AUDIT_WORM_PREFIX", `${keyFolderRule} (got '${prefix}')`);
  if (endpoint && !/^https?:\/\/[^\s/]+/.test(endpoint))
    throw new SettingsError("AUDIT_S3_ENDPOINT", `must be an http(s) URL (got '${endpoint}')`);
  return {
    worm: {
      enabled,
      bucket,
      retentionDays: readInteger(env, "AUDIT_RETENTION_DAYS", enabled ? undefined : 1, 1, 36500),
      prefix,
      endpoint,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
      batchDelayMs: readInteger(env, "AUDIT_WORM_BATCH_MS", 1000, 10, 60000),
    },
    signingKeyFile: resolve(env.AUDIT_SIGNING_KEY_FILE || join(dataDir, "keys", "audit-export-signing.pem")),
    ...signingKeys(env, environment),
  };
}
