-- Whether a console was started read-only (--read-only, --wall or [console] read_only), so the
-- other operators' Sessions pane can tell a NOC wall or a watcher from a console that can act.
-- migrations/postgres/0005_session_mode.sql is the same change; keep the two in step. Sessions
-- opened before this migration say nothing (NULL).
ALTER TABLE operator_sessions ADD COLUMN read_only BOOLEAN;
