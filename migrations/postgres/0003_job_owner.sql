-- Which process runs a job, so that a job left REQUESTED or RUNNING by a process that is gone
-- (a crash, kill -9, a power loss) is found and marked INTERRUPTED rather than shown as running
-- for ever. migrations/sqlite/0003_job_owner.sql is the same change; keep the two in step.
--
-- owner_host and owner_pid name the process; a console on the same host can ask the kernel
-- whether it still lives. heartbeat_at is renewed while the job runs, so a console on another
-- host (or after the pid was reused) knows it is gone once the heartbeat is old. Jobs written
-- before this migration have no owner and are left as they are.
ALTER TABLE jobs ADD COLUMN owner_host   TEXT;
ALTER TABLE jobs ADD COLUMN owner_pid    BIGINT;
ALTER TABLE jobs ADD COLUMN heartbeat_at BIGINT;
