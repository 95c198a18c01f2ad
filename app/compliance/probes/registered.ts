import { missing, type EvidenceProbe } from "./types";

/**
 * The stand-in for a source another part of the service provides (the WORM sink, the policy
 * bundle loader, the SCIM sync): until that part registers its probe under the same source id,
 * the evidence is missing and the controls that need it are unknown, never pass.
 */
export function unregisteredProbe(source: string, title: string, provider: string): EvidenceProbe {
  return {
    source,
    title,
    collect: async (ctx) => missing(source, provider, ctx.now(), `no ${provider} is registered in this service`),
  };
}

/** Events accepted by the audit log but not yet written to the Object Lock bucket. */
export const wormBacklogSource = "worm-backlog";
/** Whether the loaded policy bundle's signature verified. */
export const bundleSignatureSource = "bundle-signature";
/** When the SCIM sync last completed, and what it changed. */
export const scimSyncSource = "scim-sync";

export const defaultRegisteredProbes: EvidenceProbe[] = [
  unregisteredProbe(wormBacklogSource, "WORM sink backlog (audit events not yet in Object Lock)", "WORM sink"),
  unregisteredProbe(bundleSignatureSource, "Signature status of the loaded policy bundle", "policy bundle loader"),
  unregisteredProbe(scimSyncSource, "Last SCIM user/group sync", "SCIM sync"),
];
