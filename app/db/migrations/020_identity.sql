-- Identity (020-029): the IdP directory as of the last SCIM sync, and the role bindings derived
-- from it. A sync run replaces these in one transaction; role_bindings is what requests read.
create table if not exists scim_users (
  id text primary key,
  user_name text not null,
  external_id text,
  active boolean not null,
  -- The value a token's `sub` must carry to be this user (per SCIM_SUBJECT_ATTRIBUTE).
  subject text not null
);
create table if not exists scim_groups (
  id text primary key,
  display_name text not null,
  -- The group's ETag (meta.version) when the IdP offers one, for If-None-Match on the next run.
  etag text,
  members jsonb not null default '[]'::jsonb
);
create table if not exists role_bindings (
  subject text not null,
  role text not null,
  group_id text not null,
  group_name text not null,
  granted_at timestamptz not null default now(),
  primary key (subject, role, group_id)
);
create index if not exists role_bindings_subject on role_bindings (subject);
create table if not exists scim_sync_runs (
  id bigserial primary key,
  started_at timestamptz not null,
  finished_at timestamptz not null,
  status text not null,
  error text,
  granted integer not null default 0,
  revoked integer not null default 0
);
