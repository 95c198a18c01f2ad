-- The service's login role in a cluster is maestro_service, not the owner that runs these
-- migrations (docs/audit.md): it gets row access to every table the owner creates from here on
-- (default privileges) and to those that exist already; audit_log is narrowed to SELECT and INSERT
-- by 013. Nothing happens where no such role exists (the embedded database, a developer's server).
do $$ begin if exists (select 1 from pg_roles where rolname = 'maestro_service') then alter default privileges grant select, insert, update, delete on tables to maestro_service; alter default privileges grant usage, select on sequences to maestro_service; grant select, insert, update, delete on all tables in schema public to maestro_service; grant usage, select on all sequences in schema public to maestro_service; if to_regclass('audit_log') is not null then revoke update, delete, truncate on audit_log from maestro_service; end if; end if; end $$;
