import { entryHash, genesisHash } from "../../audit/log";
import type { AuditEntry } from "../../audit/types";
import { failed, type EvidenceProbe } from "./types";

const pageSize = 2000;

/** The evidence source id of the chain probe (the WORM sink wraps it with its anchor). */
export const auditChainSource = "audit-chain";

/** What the probe carries from one reading to the next. */
interface Checkpoint {
  /** The last entry verified, and the hash it had then. */
  id: number;
  hash: string;
  /** Entries verified from the genesis up to and including `id`. */
  count: number;
  /** When the whole chain was last re-computed from the genesis. */
  fullAt: number;
}

/**
 * Re-computes the audit log's hash chain: each entry's hash and its link to the predecessor.
 *
 * The first reading, and one every `fullEveryMs` after it, re-computes the whole chain from the
 * genesis. Readings in between re-check the last verified entry (unchanged content, unchanged
 * hash) and verify only the entries appended since, so a reading costs what was appended, not
 * the log's length. A rewritten entry behind that checkpoint is found by the next full pass; a
 * broken chain is re-verified in full at every reading until it is repaired.
 */
export function createAuditChainProbe(options: { fullEveryMs: number }): EvidenceProbe {
  let checkpoint: Checkpoint | undefined;
  return {
    source: auditChainSource,
    title: "Hash chain of the service audit log",
    async collect(ctx) {
      const now = ctx.now();
      const origin = "audit_log (service database)";
      const full = !checkpoint || now.getTime() - checkpoint.fullAt >= options.fullEveryMs;
      try {
        let prev = genesisHash;
        let count = 0;
        let fromId = 1;
        let brokenAt: number | undefined;
        const fullAt = full ? now.getTime() : checkpoint!.fullAt;
        if (!full) {
          const [anchor] = await ctx.audit.list({ fromId: checkpoint!.id, toId: checkpoint!.id, limit: 1 });
          prev = checkpoint!.hash;
          count = checkpoint!.count;
          fromId = checkpoint!.id + 1;
          if (!anchor || !intact(anchor, anchor.prevHash) || anchor.hash !== checkpoint!.hash) {
            brokenAt = checkpoint!.id;
            count--; // the anchor itself no longer counts as verified
          }
        }
        let last: AuditEntry | undefined;
        while (brokenAt === undefined) {
          const page = await ctx.audit.list({ fromId, limit: pageSize });
          for (const entry of page) {
            if (!intact(entry, prev)) {
              brokenAt = entry.id;
              break;
            }
            prev = entry.hash;
            last = entry;
            count++;
          }
          if (page.length < pageSize) break;
          fromId = page[page.length - 1].id + 1;
        }
        if (brokenAt === undefined) {
          if (last) checkpoint = { id: last.id, hash: last.hash, count, fullAt };
          else if (checkpoint) checkpoint = { ...checkpoint, fullAt };
          else checkpoint = undefined; // an empty log: nothing to anchor to yet
        } else {
          checkpoint = undefined;
        }
        const head = brokenAt === undefined ? (checkpoint?.hash ?? null) : null;
        const fullAtIso = new Date(fullAt).toISOString();
        return {
          source: this.source,
          origin,
          state: "available",
          observedAt: now.toISOString(),
          collectedAt: now.toISOString(),
          summary:
            brokenAt === undefined
              ? `${count} entries verified${head ? `, head ${head.slice(0, 12)}…` : ""} (${full ? "full pass" : `appended entries since the full pass at ${fullAtIso}`})`
              : `chain broken at entry ${brokenAt} (${count} entries verified before it)`,
          data: {
            verified: count,
            intact: brokenAt === undefined,
            brokenAt: brokenAt ?? null,
            head,
            mode: full ? "full" : "incremental",
            lastFullPassAt: fullAtIso,
          },
        };
      } catch (err) {
        return failed(this.source, origin, now, err);
      }
    },
  };
}

/** The entry's hash covers its content, and it links to `prevHash`. */
function intact(entry: AuditEntry, prevHash: string): boolean {
  const { hash, ...rest } = entry;
  return entry.prevHash === prevHash && entryHash(rest) === hash;
}
