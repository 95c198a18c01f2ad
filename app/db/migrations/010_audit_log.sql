-- The hash-chained audit log: each row's hash covers its content and its predecessor's hash.
create table if not exists audit_log (
  id bigint primary key,
  at timestamptz not null,
  type text not null,
  actor text not null,
  resource text,
  reason text,
  details jsonb not null default '{}'::jsonb,
  prev_hash text not null,
  hash text not null unique
);
