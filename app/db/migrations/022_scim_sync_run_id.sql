-- A sync run's id, chosen before its transaction: a transaction re-run after its commit's answer
-- was lost finds the run it already recorded instead of recording a second status for it.
alter table scim_sync_runs add column if not exists run_id text;
create unique index if not exists scim_sync_runs_run_id on scim_sync_runs (run_id);
