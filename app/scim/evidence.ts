import { scimSyncSource } from "../compliance/probes/registered";
import { missing, failed, type EvidenceProbe } from "../compliance/probes/types";

interface RunRow {
  finished_at: string | Date;
  status: string;
  error: string | null;
  granted: number;
  revoked: number;
}

/** Compliance evidence "scim-sync": the last SCIM sync run, observed when it finished. */
export const scimSyncProbe: EvidenceProbe = {
  source: scimSyncSource,
  title: "Last SCIM user/group sync",
  async collect(ctx) {
    const now = ctx.now();
    const origin = "table scim_sync_runs";
    try {
      const { rows } = await ctx.db.query<RunRow>(
        "select finished_at, status, error, granted, revoked from scim_sync_runs order by id desc limit 1",
      );
      const last = rows[0];
      if (!last) return missing(scimSyncSource, origin, now, "no SCIM sync has run yet");
      const finishedAt = new Date(last.finished_at).toISOString();
      const ok = last.status === "ok";
      return {
        source: scimSyncSource,
        origin,
        state: "available",
        observedAt: finishedAt,
        collectedAt: now.toISOString(),
        summary: ok
          ? `sync finished ${finishedAt}: ${last.granted} granted, ${last.revoked} revoked`
          : `sync failed ${finishedAt}: ${last.error}`,
        data: ok ? { ok: true } : { ok: false, detail: last.error ?? "failed" },
      };
    } catch (err) {
      return failed(scimSyncSource, origin, now, err);
    }
  },
};
