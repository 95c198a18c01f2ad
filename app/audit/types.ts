/** One security-relevant event, as callers hand it to the audit log. */
export interface AuditEventInput {
  /** Dotted type, e.g. "auth.login", "scim.role.granted", "policy.bundle.refused", "export.signed". */
  type: string;
  /** Who did it: a subject, a service account, or "system". */
  actor: string;
  /** What it was done to, e.g. "GET /api/compliance/audit". */
  resource?: string;
  /** The x-rfa reason, for restricted resources. */
  reason?: string;
  /** Anything else worth keeping; must be JSON. */
  details?: Record<string, unknown>;
  /**
   * Delivery key (not hashed, not exported): appending an event whose key is already in the log
   * returns that entry instead of adding another. Set it where one event may be delivered twice
   * (an outbox drained by two replicas); every other append gets a fresh key.
   */
  eventId?: string;
}

/** An event as stored: numbered, timed and chained to its predecessor by hash. */
export interface AuditEntry extends Omit<AuditEventInput, "eventId"> {
  id: number;
  at: string;
  prevHash: string;
  hash: string;
}

/** The append-only, hash-chained audit log. append resolves only once the event is durable. */
export interface AuditLog {
  append(event: AuditEventInput): Promise<AuditEntry>;
  /** Entries with id in [fromId, toId], in order. */
  list(range?: { fromId?: number; toId?: number; limit?: number }): Promise<AuditEntry[]>;
}
