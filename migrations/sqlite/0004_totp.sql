-- The TOTP codes operators confirm actions with: the last time step each operator used, so
-- that a code is taken once (a replay in the same 30 s step fails, from any console on this
-- store), and their wrong codes in a row, so that guessing backs off. Never the code or the
-- secret. migrations/postgres/0004_totp.sql is the same change; keep the two in step.
CREATE TABLE totp_use (
    -- The operator's OS account.
    operator      TEXT PRIMARY KEY,
    -- The RFC 6238 step (unix time / 30) of the last code taken; NULL before the first.
    last_step     INTEGER,
    -- Wrong codes since the last right one.
    failures      INTEGER NOT NULL DEFAULT 0,
    -- No code is checked before this time (unix milliseconds).
    blocked_until INTEGER NOT NULL DEFAULT 0
);
