-- The WORM sink's progress: every audit_log entry with id > shipped_through is still to be
-- written to the Object Lock bucket. The log itself is the durable queue; nothing else is kept.
create table if not exists audit_worm_state (
  id smallint primary key default 1 check (id = 1),
  shipped_through bigint not null default 0,
  last_object_key text,
  updated_at timestamptz not null default now()
);
insert into audit_worm_state (id, shipped_through) values (1, 0) on conflict (id) do nothing;
