import { entryHash, genesisHash } from "../../audit/log";
import { failed, type EvidenceProbe } from "./types";

const pageSize = 2000;

/** Re-computes every audit log entry's hash and its link to the predecessor. */
export const auditChainProbe: EvidenceProbe = {
  source: "audit-chain",
  title: "Hash chain of the service audit log",
  async collect(ctx) {
    const now = ctx.now();
    const origin = "audit_log (service database)";
    try {
      let prev = genesisHash;
      let count = 0;
      let brokenAt: number | undefined;
      let lastHash: string | undefined;
      for (let fromId = 1; brokenAt === undefined;) {
        const page = await ctx.audit.list({ fromId, limit: pageSize });
        for (const entry of page) {
          const { hash, ...rest } = entry;
          if (entry.prevHash !== prev || entryHash(rest) !== hash) {
            brokenAt = entry.id;
            break;
          }
          prev = hash;
          lastHash = hash;
          count++;
        }
        if (page.length < pageSize) break;
        fromId = page[page.length - 1].id + 1;
      }
      return {
        source: this.source,
        origin,
        state: "available",
        observedAt: now.toISOString(),
        collectedAt: now.toISOString(),
        summary:
          brokenAt === undefined
            ? `${count} entries verified${lastHash ? `, head ${lastHash.slice(0, 12)}…` : ""}`
            : `chain broken at entry ${brokenAt} (${count} entries verified before it)`,
        data: { verified: count, intact: brokenAt === undefined, brokenAt: brokenAt ?? null, head: lastHash ?? null },
      };
    } catch (err) {
      return failed(this.source, origin, now, err);
    }
  },
};
