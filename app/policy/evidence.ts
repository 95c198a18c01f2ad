import { bundleSignatureSource } from "../compliance/probes/registered";
import { missing, type EvidenceProbe } from "../compliance/probes/types";
import type { PolicyRuntime } from "./runtime";

/**
 * Compliance evidence "bundle-signature": whether the policy bundle in force was loaded through
 * a verified signature. Read live from the runtime, so it is observed now; an unsigned bundle
 * (only possible with ALLOW_UNSIGNED_POLICY=true) is evidence of a failing control.
 */
export function bundleSignatureProbe(policy: PolicyRuntime): EvidenceProbe {
  return {
    source: bundleSignatureSource,
    title: "Signature status of the loaded policy bundle",
    async collect(ctx) {
      const now = ctx.now();
      const info = policy.info();
      if (!info) return missing(bundleSignatureSource, "policy bundle runtime", now, "no policy bundle is loaded");
      return {
        source: bundleSignatureSource,
        origin: `policy bundle ${info.revision} (sha256 ${info.sha256.slice(0, 12)})`,
        state: "available",
        observedAt: now.toISOString(),
        collectedAt: now.toISOString(),
        summary: info.signed
          ? `bundle ${info.revision} loaded ${info.loadedAt}, signature verified with key '${info.keyId ?? "default"}'`
          : `bundle ${info.revision} loaded ${info.loadedAt} WITHOUT a signature (ALLOW_UNSIGNED_POLICY=true)`,
        data: info.signed ? { verified: true } : { verified: false, detail: "unsigned bundle accepted because ALLOW_UNSIGNED_POLICY=true" },
      };
    },
  };
}
