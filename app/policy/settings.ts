import { join } from "node:path";
import { readBoolean, readInteger } from "../env";
import { defaultMaxBundleBytes } from "../../policy-engine/tar";

/** Where the bundle and its key come from (environment variables, see docs/policies.md#runtime). */
export interface PolicyRuntimeSettings {
  /** POLICY_BUNDLE_PATH. @default <MAESTRO_DATA_DIR>/policy/bundle.tar.gz */
  bundlePath: string;
  /** POLICY_BUNDLE_PATH was set: a missing file is then a refusal, not "no bundle configured". */
  bundleConfigured: boolean;
  /** POLICY_VERIFICATION_KEY: PEM public key file. @default none (signed bundles are then refused) */
  keyPath?: string;
  /** POLICY_VERIFICATION_KEY_ID: the key's id, as in the JWS kid. @default "default" (what opa build writes) */
  keyId: string;
  /** ALLOW_UNSIGNED_POLICY: accept a bundle without .signatures.json. @default false */
  allowUnsigned: boolean;
  /** POLICY_BUNDLE_MAX_BYTES: the most the archive, and what it unpacks to, may be. @default 16 MiB */
  maxBytes: number;
}

export function readPolicySettings(env: NodeJS.ProcessEnv, dataDir: string): PolicyRuntimeSettings {
  return {
    bundlePath: env.POLICY_BUNDLE_PATH || join(dataDir, "policy", "bundle.tar.gz"),
    bundleConfigured: Boolean(env.POLICY_BUNDLE_PATH),
    keyPath: env.POLICY_VERIFICATION_KEY || undefined,
    keyId: env.POLICY_VERIFICATION_KEY_ID || "default",
    allowUnsigned: readBoolean(env, "ALLOW_UNSIGNED_POLICY", false),
    maxBytes: readInteger(env, "POLICY_BUNDLE_MAX_BYTES", defaultMaxBundleBytes, 1024 * 1024, 1024 * 1024 * 1024),
  };
}
