-- Who acted, as the operating system saw it, on every audit record and operator session; and the
-- job and error an audit record closes. migrations/sqlite/0002_identity.sql is the same change;
-- keep the two in step.
--
-- Audit records from here on are written with hash_version 2, whose hash covers the new columns
-- (src/store/audit.rs documents both encodings). Records written before keep version 1 and NULL
-- in every new column, and still verify. From version 2 on, `operator` holds the OS account's
-- name (the identity) and `operator_label` what `[console] operator` / $USER said.
ALTER TABLE audit ADD COLUMN hash_version   BIGINT  NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN uid            BIGINT;
ALTER TABLE audit ADD COLUMN host           TEXT;
ALTER TABLE audit ADD COLUMN ssh_client     TEXT;
ALTER TABLE audit ADD COLUMN db_user        TEXT;
ALTER TABLE audit ADD COLUMN operator_label TEXT;
ALTER TABLE audit ADD COLUMN job_id         TEXT;
ALTER TABLE audit ADD COLUMN error          TEXT;

-- `operator` is the OS account here too, `host` was already recorded, and `client` keeps the
-- terminal the console runs on.
ALTER TABLE operator_sessions ADD COLUMN uid            BIGINT;
ALTER TABLE operator_sessions ADD COLUMN ssh_client     TEXT;
ALTER TABLE operator_sessions ADD COLUMN db_user        TEXT;
ALTER TABLE operator_sessions ADD COLUMN operator_label TEXT;
