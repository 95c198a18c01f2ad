import { randomUUID } from "node:crypto";
import { advisoryLocks, type Db, type Queryable } from "../db";
import type { AuditEventInput, AuditLog } from "../audit/types";
import type { Role } from "../../contracts/roles";
import { ScimResponseError, type DirectorySnapshot, type DirectoryUser } from "./snapshot";
import type { GroupCache, ScimClient } from "./client";
import { MaestroError } from "../../lib/errors";

/** Which SCIM user attribute equals the OIDC token's `sub`. */
export type SubjectAttribute = "userName" | "externalId" | "id";

export interface SyncOptions {
  /** IdP group name → role (config.gateway.groupRoles / GROUP_ROLES). */
  groupRoles: Readonly<Record<string, Role>>;
  /** @default "userName" */
  subjectAttribute?: SubjectAttribute;
  /** Who the audit events name. @default "scim-sync" */
  actor?: string;
}

export interface SyncResult {
  granted: number;
  revoked: number;
  renamed: number;
  /** Bindings in force after the run. */
  bindings: number;
}

interface Binding {
  subject: string;
  role: Role;
  groupId: string;
  groupName: string;
}
const key = (b: Pick<Binding, "subject" | "role" | "groupId">) => `${b.subject}\u0000${b.role}\u0000${b.groupId}`;

function subjectOf(user: DirectoryUser, attribute: SubjectAttribute, index: number): string {
  const value = attribute === "id" ? user.id : attribute === "userName" ? user.userName : user.externalId;
  if (!value)
    throw new ScimResponseError(
      "snapshot",
      `users[${index}].${attribute}`,
      "is missing, but it is the subject attribute (SCIM_SUBJECT_ATTRIBUTE)",
    );
  return value;
}

function storedSubject(user: DirectoryUser, attribute: SubjectAttribute): string {
  return (attribute === "id" ? user.id : attribute === "userName" ? user.userName : user.externalId) ?? "";
}

/** The bindings a snapshot implies: every active direct member of a mapped group gets that group's role. */
export function desiredBindings(snapshot: DirectorySnapshot, options: SyncOptions): Map<string, Binding> {
  const attribute = options.subjectAttribute ?? "userName";
  const users = new Map(snapshot.users.map((u, i) => [u.id, { user: u, index: i }]));
  const desired = new Map<string, Binding>();
  snapshot.groups.forEach((group, gi) => {
    const role = options.groupRoles[group.displayName];
    if (!role) return;
    group.members.forEach((memberId, mi) => {
      const found = users.get(memberId);
      // A member id the Users listing did not return is a broken directory, not a user to skip.
      if (!found)
        throw new ScimResponseError(
          "snapshot",
          `groups[${gi}].members[${mi}]`,
          `names user '${memberId}', which the Users listing did not return`,
        );
      if (!found.user.active) return;
      const b: Binding = { subject: subjectOf(found.user, attribute, found.index), role, groupId: group.id, groupName: group.displayName };
      desired.set(key(b), b);
    });
  });
  return desired;
}

/**
 * Appends queued audit events in order, then deletes them. Each event's delivery key is its
 * outbox row, so two replicas draining at once (or a drain re-run after a crash) append it once.
 */
export async function drainAuditOutbox(db: Db, audit: AuditLog): Promise<number> {
  const { rows } = await db.query<{ id: string | number; event: AuditEventInput | string }>(
    "select id, event from identity_audit_outbox order by id limit 1000",
  );
  if (rows.length === 0) return 0;
  await Promise.all(
    rows.map((row) => {
      const event = typeof row.event === "string" ? (JSON.parse(row.event) as AuditEventInput) : row.event;
      return audit.append({ ...event, eventId: `identity-audit-outbox:${row.id}` });
    }),
  );
  await db.query("delete from identity_audit_outbox where id = any($1)", [rows.map((r) => String(r.id))]);
  return rows.length;
}

/** Drains the outbox now and every intervalMs, one drain at a time; failures are reported and retried later. */
export function startOutboxDrainer(
  db: Db,
  audit: AuditLog,
  intervalMs: number,
  onError: (err: Error) => void,
): { drain(): Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let stopped = false;
  const drain = () =>
    (running ??= (async () => {
      try {
        while (!stopped && (await drainAuditOutbox(db, audit)) > 0);
      } catch (err) {
        onError(err as Error);
      }
    })().finally(() => (running = undefined)));
  const timer = setInterval(() => void drain(), intervalMs);
  timer.unref();
  void drain();
  return {
    drain,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** The previous run's group ETags and members, for If-None-Match. */
export async function loadGroupCache(db: Queryable): Promise<GroupCache> {
  const { rows } = await db.query<{ id: string; etag: string | null; members: string[] | string }>(
    "select id, etag, members from scim_groups",
  );
  const cache = new Map<string, { etag: string; members: string[] }>();
  for (const r of rows)
    if (r.etag) cache.set(r.id, { etag: r.etag, members: typeof r.members === "string" ? JSON.parse(r.members) : r.members });
  return cache;
}

/** Thrown by applySnapshot when nothing was committed: the run failed and may be recorded as failed. */
export class SyncNotAppliedError extends MaestroError<"SYNC_NOT_APPLIED"> {
  constructor(readonly cause: Error) {
    super("SYNC_NOT_APPLIED", cause.message, { cause });
  }
}

/**
 * Applies a snapshot: replaces the stored directory and role bindings in ONE transaction, with
 * one queued audit event per grant, revocation and rename, and the run's one status row; then
 * calls onCommitted (the caller drops what it cached about roles) and drains the events into the
 * audit log. A snapshot that does not validate, or a failing statement, leaves every table as it
 * was. Once the transaction committed the run is a success: a drain that fails leaves the events
 * in the outbox for the next drain (startOutboxDrainer), it does not fail the run.
 */
export async function applySnapshot(
  db: Db,
  audit: AuditLog,
  snapshot: DirectorySnapshot,
  options: SyncOptions,
  hooks: { onCommitted?: () => void; onDrainError?: (err: Error) => void } = {},
): Promise<SyncResult> {
  const actor = options.actor ?? "scim-sync";
  const desired = desiredBindings(snapshot, options); // validates before anything is written
  const startedAt = new Date().toISOString();
  const runId = randomUUID();
  const result = await db
    .transaction(
      async (tx) => {
        // One run at a time, across replicas: a second one waits, then works from the first one's result.
        await tx.query(`select pg_advisory_xact_lock(${advisoryLocks.scimSync})`);
        // A re-run of this transaction after a lost commit answer: the run is already recorded.
        const earlier = (
          await tx.query<{ granted: number; revoked: number }>("select granted, revoked from scim_sync_runs where run_id = $1", [runId])
        ).rows[0];
        if (earlier) {
          const bindings = Number((await tx.query<{ n: string | number }>("select count(*) as n from role_bindings")).rows[0].n);
          return { granted: earlier.granted, revoked: earlier.revoked, renamed: 0, bindings };
        }
        const current = new Map<string, Binding>();
        for (const r of (
          await tx.query<{ subject: string; role: Role; group_id: string; group_name: string }>("select * from role_bindings")
        ).rows)
          current.set(key({ subject: r.subject, role: r.role, groupId: r.group_id }), {
            subject: r.subject,
            role: r.role,
            groupId: r.group_id,
            groupName: r.group_name,
          });
        const previousNames = new Map(
          (await tx.query<{ id: string; display_name: string }>("select id, display_name from scim_groups")).rows.map((r) => [
            r.id,
            r.display_name,
          ]),
        );
        const events: AuditEventInput[] = [];
        for (const g of snapshot.groups) {
          const before = previousNames.get(g.id);
          if (before !== undefined && before !== g.displayName)
            events.push({
              type: "scim.group.renamed",
              actor,
              resource: `scim:group:${g.id}`,
              details: { from: before, to: g.displayName },
            });
        }
        let granted = 0;
        let revoked = 0;
        for (const [k, b] of current) {
          if (desired.has(k)) continue;
          await tx.query("delete from role_bindings where subject = $1 and role = $2 and group_id = $3", [b.subject, b.role, b.groupId]);
          events.push({
            type: "scim.role.revoked",
            actor,
            resource: `role:${b.role}`,
            details: { subject: b.subject, group: b.groupName, groupId: b.groupId },
          });
          revoked++;
        }
        for (const [k, b] of desired) {
          const existing = current.get(k);
          if (existing) {
            if (existing.groupName !== b.groupName)
              await tx.query("update role_bindings set group_name = $4 where subject = $1 and role = $2 and group_id = $3", [
                b.subject,
                b.role,
                b.groupId,
                b.groupName,
              ]);
            continue;
          }
          await tx.query("insert into role_bindings (subject, role, group_id, group_name) values ($1, $2, $3, $4)", [
            b.subject,
            b.role,
            b.groupId,
            b.groupName,
          ]);
          events.push({
            type: "scim.role.granted",
            actor,
            resource: `role:${b.role}`,
            details: { subject: b.subject, group: b.groupName, groupId: b.groupId },
          });
          granted++;
        }
        await tx.query("delete from scim_users");
        for (const u of snapshot.users)
          await tx.query("insert into scim_users (id, user_name, external_id, active, subject) values ($1, $2, $3, $4, $5)", [
            u.id,
            u.userName,
            u.externalId ?? null,
            u.active,
            storedSubject(u, options.subjectAttribute ?? "userName"),
          ]);
        await tx.query("delete from scim_groups");
        for (const g of snapshot.groups)
          await tx.query("insert into scim_groups (id, display_name, etag, members) values ($1, $2, $3, $4)", [
            g.id,
            g.displayName,
            g.etag ?? null,
            JSON.stringify(g.members),
          ]);
        for (const e of events) await tx.query("insert into identity_audit_outbox (event) values ($1)", [JSON.stringify(e)]);
        await tx.query(
          "insert into scim_sync_runs (started_at, finished_at, status, granted, revoked, run_id) values ($1, $2, 'ok', $3, $4, $5)",
          [startedAt, new Date().toISOString(), granted, revoked, runId],
        );
        return { granted, revoked, renamed: events.filter((e) => e.type === "scim.group.renamed").length, bindings: desired.size };
      },
      { idempotent: true },
    )
    .catch((err: unknown) => {
      throw new SyncNotAppliedError(err as Error);
    });
  hooks.onCommitted?.();
  await drainAuditOutbox(db, audit).catch((err: unknown) => hooks.onDrainError?.(err as Error));
  return result;
}

/** Records a failed run (nothing else changed) and audits it. */
export async function recordFailedRun(db: Db, audit: AuditLog, error: Error, actor = "scim-sync"): Promise<void> {
  const now = new Date().toISOString();
  await db.query("insert into scim_sync_runs (started_at, finished_at, status, error) values ($1, $1, 'failed', $2)", [now, error.message]);
  await audit.append({
    type: "scim.sync.failed",
    actor,
    details: { error: error.message, code: (error as { code?: string }).code ?? "UNKNOWN" },
  });
}

/** One run in-process: read the IdP through the client, then apply. Throws (having changed nothing) on any failure. */
export async function runScimSync(db: Db, audit: AuditLog, client: ScimClient, options: SyncOptions): Promise<SyncResult> {
  try {
    const snapshot = await client.fetchSnapshot(Object.keys(options.groupRoles), await loadGroupCache(db));
    return await applySnapshot(db, audit, snapshot, options);
  } catch (err) {
    const cause = err instanceof SyncNotAppliedError ? err.cause : (err as Error);
    await recordFailedRun(db, audit, cause, options.actor);
    throw cause;
  }
}
