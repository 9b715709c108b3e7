-- How a finished job ended, in one line for the Jobs pane: its error, or the summary its work
-- gave (a drill's result and restore time, a backup's size). The full outcome stays in the
-- audit record's detail. migrations/postgres/0006_job_result.sql is the same change; keep the two in
-- step. Jobs finished before this migration have none (NULL).
ALTER TABLE jobs ADD COLUMN result TEXT;
