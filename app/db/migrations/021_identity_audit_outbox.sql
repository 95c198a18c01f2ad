-- Role-binding changes are written here in the same transaction as the bindings, then appended to
-- the audit log and deleted: a change is never committed without its audit event (outbox pattern).
create table if not exists identity_audit_outbox (
  id bigserial primary key,
  event jsonb not null
);
