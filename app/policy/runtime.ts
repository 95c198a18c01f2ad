// The compliance service's policy bundle: loaded at start and on reload through the same verifier
// as the CLI. With ALLOW_UNSIGNED_POLICY=false (the default) an unsigned or tampered bundle is
// refused; the refusal is logged and audited, and the last good bundle stays in force.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import type { AuditLog } from "../audit/types";
import type { PolicyRuntimeSettings } from "./settings";
import { loadPolicyBundle, type PolicyBundle } from "../../policy-engine/bundle";
import { BundleError } from "../../policy-engine/errors";
import { readPublicKey } from "../../policy-engine/keys";
import { readTarGz } from "../../policy-engine/tar";
import { verifyFiles, type VerificationKey } from "../../policy-engine/verify";

export interface LoadedBundleInfo {
  revision: string;
  sha256: string;
  signed: boolean;
  keyId?: string;
  loadedAt: string;
}

export type ReloadOutcome = { loaded: LoadedBundleInfo } | { refused: { code: string; message: string } } | { absent: true };

export interface PolicyRuntime {
  /** The bundle in force, if any. */
  current(): PolicyBundle | undefined;
  info(): LoadedBundleInfo | undefined;
  /** Reads the bundle file again; on refusal the bundle in force stays. */
  reload(): Promise<ReloadOutcome>;
}

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export async function startPolicyRuntime(settings: PolicyRuntimeSettings, log: Logger, audit: AuditLog): Promise<PolicyRuntime> {
  let bundle: PolicyBundle | undefined;
  let info: LoadedBundleInfo | undefined;

  const keys = (): Record<string, VerificationKey> => {
    if (!settings.keyPath) return {};
    return { [settings.keyId]: readPublicKey(readFileSync(settings.keyPath), `POLICY_VERIFICATION_KEY ${settings.keyPath}`) };
  };

  const refuse = async (code: string, message: string, sha256?: string): Promise<ReloadOutcome> => {
    const details = { code, message, bundle: settings.bundlePath, sha256: sha256 ?? null, inForce: info?.revision ?? null };
    log.error(details, "policy bundle refused");
    await audit.append({ type: "policy.bundle.refused", actor: "system", resource: settings.bundlePath, details });
    return { refused: { code, message } };
  };

  const reload = async (): Promise<ReloadOutcome> => {
    if (!existsSync(settings.bundlePath)) {
      if (!settings.bundleConfigured) {
        log.info({ bundle: settings.bundlePath }, "no policy bundle configured");
        return { absent: true };
      }
      return refuse("BUNDLE_MISSING", `POLICY_BUNDLE_PATH ${settings.bundlePath} does not exist`);
    }
    const size = statSync(settings.bundlePath).size;
    if (size > settings.maxBytes)
      return refuse("BUNDLE_TOO_LARGE", `${settings.bundlePath} is ${size} bytes (POLICY_BUNDLE_MAX_BYTES ${settings.maxBytes})`);
    const archive = readFileSync(settings.bundlePath);
    const sha256 = createHash("sha256").update(archive).digest("hex");
    try {
      const entries = readTarGz(archive, settings.maxBytes);
      let files: Map<string, Buffer>;
      let keyId: string | undefined;
      const signed = entries.some((f) => f.name.replace(/^\/+/, "") === ".signatures.json");
      if (signed || !settings.allowUnsigned) {
        // A signature, when present, must verify even if unsigned bundles are allowed.
        const verified = await verifyFiles(entries, { keys: keys() });
        files = verified.files;
        keyId = verified.keyId;
      } else {
        files = new Map(entries.map((f) => [f.name.replace(/^\/+/, ""), f.data]));
      }
      const next = await loadPolicyBundle(files);
      bundle = next;
      info = { revision: next.revision, sha256, signed, ...(keyId ? { keyId } : {}), loadedAt: new Date().toISOString() };
      if (!signed) log.warn({ bundle: settings.bundlePath }, "loaded an UNSIGNED policy bundle (ALLOW_UNSIGNED_POLICY=true)");
      log.info({ ...info }, "policy bundle loaded");
      await audit.append({ type: "policy.bundle.loaded", actor: "system", resource: settings.bundlePath, details: { ...info } });
      return { loaded: info };
    } catch (err) {
      if (err instanceof BundleError) return refuse(err.code, err.message, sha256);
      return refuse("BUNDLE_INVALID", (err as Error).message, sha256);
    }
  };

  await reload();
  return { current: () => bundle, info: () => info, reload };
}
