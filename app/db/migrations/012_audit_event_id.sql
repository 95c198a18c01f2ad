-- Each append carries a delivery key: an append retried after its commit's answer was lost (a
-- failover mid-commit), or an outbox event drained by two replicas at once, finds the entry it
-- already wrote instead of adding a second one. Not part of the hashed content.
alter table audit_log add column if not exists event_id text;
create unique index if not exists audit_log_event_id on audit_log (event_id);
