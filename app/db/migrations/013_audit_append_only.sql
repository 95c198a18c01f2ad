-- The audit log is append-only for every role, its owner included: UPDATE, DELETE and TRUNCATE
-- are refused by triggers (disabling them takes the owner's ALTER TABLE, which the service never
-- runs), and nobody but the owner holds those privileges. A role named maestro_service (the
-- service's login role in a cluster; see docs/audit.md) gets exactly SELECT and INSERT.
create or replace function audit_log_refuse_change() returns trigger language plpgsql as $$ begin raise exception 'audit_log is append-only: % refused', tg_op using errcode = '42501'; end $$;
drop trigger if exists audit_log_append_only on audit_log;
create trigger audit_log_append_only before update or delete on audit_log for each row execute function audit_log_refuse_change();
drop trigger if exists audit_log_no_truncate on audit_log;
create trigger audit_log_no_truncate before truncate on audit_log for each statement execute function audit_log_refuse_change();
revoke update, delete, truncate on audit_log from public;
do $$ begin if exists (select 1 from pg_roles where rolname = 'maestro_service') then revoke all on audit_log from maestro_service; grant select, insert on audit_log to maestro_service; end if; end $$;
