import type { S3Client } from "@aws-sdk/client-s3";
import type { FastifyInstance } from "fastify";
import { advisoryLocks, type Db } from "../db";
import type { ServiceContext } from "../context";
import { auditChainSource } from "../compliance/probes/audit-chain";
import type { AuditEntry } from "./types";
import type { WormSettings } from "./settings";
import { listEntries } from "./log";
import type { EvidenceProbe } from "../compliance/probes/types";

/** What the sink reports to health checks and to the compliance evidence. */
export interface WormStatus {
  enabled: boolean;
  bucket: string;
  /** Entries committed to the log but not yet in the bucket. */
  pending: number;
  shippedThrough: number;
  oldestPendingAt: string | null;
  lastObjectKey: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
}

/** The chain head as the Object Lock bucket holds it: the last entry of the highest batch. */
export interface WormAnchor {
  /** s3://bucket/key of that batch. */
  object: string;
  lastId: number;
  lastHash: string;
}

export interface WormSink {
  status(): Promise<WormStatus>;
  /**
   * The newest batch in the bucket (keys sort in log order), read from S3, not from the database:
   * what the log must still contain. null while the bucket holds no batch.
   */
  anchor(): Promise<WormAnchor | null>;
  /** Ships everything pending now; resolves when the backlog is empty or a write failed. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const maxBatch = 500;
const maxBackoffMs = 30_000;

/** The object key of a sealed batch: ids zero-padded so keys sort in log order. */
export const batchKey = (prefix: string, first: number, last: number) =>
  `${prefix}${String(first).padStart(12, "0")}-${String(last).padStart(12, "0")}.jsonl`;

/**
 * One JSON Lines record: JSON.stringify escapes every C0 control but leaves NEL (U+0085) and the
 * line and paragraph separators (U+2028, U+2029) raw, and readers that split on every Unicode line
 * break (Python's splitlines, many log tools) would cut the record there. Escaped, the line parses
 * to the same value.
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Retain-until for a batch: the start of the next UTC day plus the retention, so a bucket policy
 * that denies fewer remaining days than the default never sees a fraction of a day short.
 */
export function retainUntil(now: Date, days: number): Date {
  const startOfNextDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return new Date(startOfNextDay + days * 86_400_000);
}

/**
 * Copies the audit log to an S3 Object Lock bucket in sealed batches (JSON lines, one entry per
 * line, COMPLIANCE retention on each object). The log is the queue: the sink keeps only a
 * watermark, advanced in the database after S3 acknowledged the object, so an unreachable
 * bucket or a crash delays events and never drops them. A batch re-sent after a crash between
 * the write and the watermark lands as a new version of the same key, with the same bytes.
 */
export function startWormSink(db: Db, settings: WormSettings, client?: S3Client): WormSink {
  // Loaded here, not at import: the SDK is a tenth of a cold start and only this sink needs it.
  const { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } =
    require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  const s3 =
    client ??
    new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
      maxAttempts: 2,
    });
  let lastError: string | null = null;
  let lastErrorAt: string | null = null;
  let backoffMs = settings.batchDelayMs;
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const watermarkSql = "select shipped_through, last_object_key from audit_worm_state where id = 1";
  const watermark = async () =>
    (await db.query<{ shipped_through: string | number; last_object_key: string | null }>(watermarkSql)).rows[0];

  /**
   * Ships one batch; returns how many entries it shipped. Every replica runs a sink, and one ships
   * at a time: the others find the lock taken and try again at their next tick. Entries commit in
   * id order (the chain lock), so everything above the watermark is a gapless run of the log.
   */
  const shipBatch = (): Promise<number> =>
    db.transaction(
      async (tx) => {
        if (db.kind === "postgres") {
          const lock = await tx.query<{ got: boolean }>(`select pg_try_advisory_xact_lock(${advisoryLocks.wormSink}) as got`);
          if (!lock.rows[0].got) return 0;
        }
        const from = Number((await tx.query<{ shipped_through: string | number }>(watermarkSql)).rows[0].shipped_through) + 1;
        // Through the transaction: PGlite has one connection, and it is this transaction's.
        const batch: AuditEntry[] = await listEntries(tx, { fromId: from, limit: maxBatch });
        if (batch.length === 0) return 0;
        const first = batch[0].id;
        const last = batch[batch.length - 1].id;
        const key = batchKey(settings.prefix, first, last);
        await s3.send(
          new PutObjectCommand({
            Bucket: settings.bucket,
            Key: key,
            Body: batch.map(jsonLine).join("\n") + "\n",
            ContentType: "application/x-ndjson",
            ObjectLockMode: "COMPLIANCE",
            ObjectLockRetainUntilDate: retainUntil(new Date(), settings.retentionDays),
            ChecksumAlgorithm: "SHA256",
            Metadata: { "first-id": String(first), "last-id": String(last), "last-hash": batch[batch.length - 1].hash },
          }),
        );
        await tx.query(
          "update audit_worm_state set shipped_through = $1, last_object_key = $2, updated_at = now() where id = 1 and shipped_through = $3",
          [last, key, from - 1],
        );
        return batch.length;
      },
      // A re-run re-reads the watermark under the lock: at worst a batch is written again, as the
      // same key with the same bytes (a new version), never skipped.
      { idempotent: true },
    );

  const drain = async () => {
    try {
      while (!stopped && (await shipBatch()) > 0);
      lastError = null;
      backoffMs = settings.batchDelayMs;
    } catch (err) {
      lastError = (err as Error).message || (err as Error).name;
      lastErrorAt = new Date().toISOString();
      backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
    }
  };
  const run = () => (running ??= drain().finally(() => (running = undefined)));
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void run().then(schedule);
    }, backoffMs);
  };
  schedule();

  // The highest batch key seen: later listings start after it, so a reading costs what was added.
  let anchor: WormAnchor | null = null;
  let anchorKey: string | undefined;
  const batchKeyPattern = /^\d{12}-\d{12}\.jsonl$/;
  const readAnchor = async (): Promise<WormAnchor | null> => {
    let highest = anchorKey;
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: settings.prefix, StartAfter: anchorKey, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? [])
        if (o.Key && batchKeyPattern.test(o.Key.slice(settings.prefix.length)) && (!highest || o.Key > highest)) highest = o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (highest && highest !== anchorKey) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: highest }));
      const lastId = Number(head.Metadata?.["last-id"]);
      const lastHash = head.Metadata?.["last-hash"] ?? "";
      if (!Number.isSafeInteger(lastId) || !/^[0-9a-f]{64}$/.test(lastHash))
        throw new Error(`s3://${settings.bucket}/${highest} has no valid last-id / last-hash metadata`);
      anchor = { object: `s3://${settings.bucket}/${highest}`, lastId, lastHash };
      anchorKey = highest;
    }
    return anchor;
  };

  return {
    anchor: readAnchor,
    flush: () => run(),
    async status() {
      const w = await watermark();
      const shippedThrough = Number(w.shipped_through);
      const pending = await db.query<{ n: string | number; oldest: string | Date | null }>(
        "select count(*) as n, min(at) as oldest from audit_log where id > $1",
        [shippedThrough],
      );
      const oldest = pending.rows[0].oldest;
      return {
        enabled: true,
        bucket: settings.bucket,
        pending: Number(pending.rows[0].n),
        shippedThrough,
        oldestPendingAt: oldest === null ? null : new Date(oldest).toISOString(),
        lastObjectKey: w.last_object_key,
        lastError,
        lastErrorAt,
      };
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      if (!client) s3.destroy();
    },
  };
}

/** What GET /healthz/audit-worm tells anyone who asks: no bucket name, no key, no error text. */
export interface WormHealth {
  enabled: boolean;
  /** The last write failed (the status code is 503 then). */
  failing: boolean;
  pending: number;
  shippedThrough: number;
  oldestPendingAt: string | null;
  lastErrorAt: string | null;
}

export function wormHealth(status: WormStatus): WormHealth {
  const { enabled, pending, shippedThrough, oldestPendingAt, lastErrorAt } = status;
  return { enabled, failing: status.lastError !== null, pending, shippedThrough, oldestPendingAt, lastErrorAt };
}

/**
 * Starts the WORM sink when AUDIT_WORM_ENABLED=true, reports it at GET /healthz/audit-worm
 * (counts only; 503 while a write is failing) and as the compliance evidence "worm-backlog", and stops it
 * when the server closes.
 */
export function registerWormSink(server: FastifyInstance, context: ServiceContext): WormSink | undefined {
  const settings = context.settings.audit.worm;
  if (!settings.enabled) {
    server.get("/healthz/audit-worm", async () => ({ enabled: false }));
    return undefined;
  }
  const sink = startWormSink(context.db, settings);
  server.addHook("onClose", async () => sink.stop());
  // Unauthenticated: counts and times only. The bucket, object keys and the S3 error text are in
  // the log and in the evidence "worm-backlog" (behind authentication).
  server.get("/healthz/audit-worm", async (request, reply) => {
    const status = await sink.status();
    if (status.lastError) request.log.warn({ bucket: status.bucket, lastError: status.lastError }, "WORM sink: the last write failed");
    return reply.code(status.lastError ? 503 : 200).send(wormHealth(status));
  });
  const chainProbe = context.compliance.probes().get(auditChainSource);
  if (chainProbe) context.compliance.registerEvidenceProbe(anchoredChainProbe(chainProbe, sink));
  context.compliance.registerEvidenceProbe({
    source: "worm-backlog",
    title: "WORM sink backlog (audit events not yet in Object Lock)",
    async collect(ctx) {
      const now = ctx.now();
      const origin = `s3://${settings.bucket}/${settings.prefix}`;
      try {
        const s = await sink.status();
        return {
          source: "worm-backlog",
          origin,
          state: "available",
          observedAt: now.toISOString(),
          collectedAt: now.toISOString(),
          summary: `${s.pending} event(s) waiting${s.lastError ? `, last write failed: ${s.lastError}` : ""}`,
          data: { pending: s.pending, oldestPendingAt: s.oldestPendingAt, shippedThrough: s.shippedThrough, lastError: s.lastError },
        };
      } catch (err) {
        return { source: "worm-backlog", origin, state: "error", collectedAt: now.toISOString(), summary: (err as Error).message };
      }
    },
  });
  return sink;
}

/**
 * The audit-chain probe checked against the Object Lock copy: the database must still hold the
 * anchor's entry with the anchor's hash. A truncated tail (the entry is gone) or a rewritten one
 * (another hash there) fails the chain control, with the reason, even when what is left of the
 * log chains correctly. Entries newer than the last shipped batch are covered once it ships.
 */
export function anchoredChainProbe(inner: EvidenceProbe, sink: Pick<WormSink, "anchor">): EvidenceProbe {
  return {
    source: inner.source,
    title: `${inner.title}, anchored in the Object Lock bucket`,
    async collect(ctx) {
      const reading = await inner.collect(ctx);
      if (reading.state !== "available") return reading;
      const base = (reading.data ?? {}) as Record<string, unknown>;
      let anchor: WormAnchor | null;
      try {
        anchor = await sink.anchor();
      } catch (err) {
        return {
          ...reading,
          summary: `${reading.summary}; anchor unavailable: ${(err as Error).message}`,
          data: { ...base, anchor: null },
        };
      }
      if (!anchor) return { ...reading, data: { ...base, anchor: null } };
      const [entry] = await listEntries(ctx.db, { fromId: anchor.lastId, toId: anchor.lastId, limit: 1 });
      let problem: string | undefined;
      if (!entry) {
        const last = Number((await ctx.db.query<{ n: string | number | null }>("select max(id) as n from audit_log")).rows[0].n ?? 0);
        problem = `audit log truncated: ${anchor.object} (Object Lock) holds entries up to ${anchor.lastId}, the database ends at ${last}`;
      } else if (entry.hash !== anchor.lastHash)
        problem = `audit log rewritten: entry ${anchor.lastId}'s hash differs from the one in ${anchor.object} (Object Lock)`;
      const data = { ...base, anchor };
      if (!problem) return { ...reading, summary: `${reading.summary}; anchored at entry ${anchor.lastId} in ${anchor.object}`, data };
      return { ...reading, summary: problem, data: { ...data, intact: false, brokenAt: anchor.lastId, problem } };
    },
  };
}
