-- ondeck store schema, PostgreSQL flavour, created in the `ondeck` schema (the connection's
-- search_path). migrations/sqlite/0001_init.sql is the same schema; keep the two in step. Times
-- are integer unix milliseconds so both backends store, compare and hash them identically.

-- The tamper-evident audit log. seq is assigned by the appender while it holds the lock on
-- audit_head (never a sequence), so the chain has no gaps unless a record was deleted.
CREATE TABLE audit (
    seq        BIGINT PRIMARY KEY,
    time_ms    BIGINT NOT NULL,
    operator   TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    outcome    TEXT   NOT NULL,
    request_id TEXT   NOT NULL,
    detail     TEXT   NOT NULL,
    prev_hash  TEXT   NOT NULL,
    hash       TEXT   NOT NULL
);
CREATE INDEX audit_time ON audit (time_ms);

-- The chain's tip, written in the same transaction as every append: a deleted last record shows
-- up as a head that points past the end. Appenders lock this row (SELECT … FOR UPDATE).
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE jobs (
    id          TEXT             PRIMARY KEY,
    action      TEXT             NOT NULL,
    target      TEXT             NOT NULL,
    operator    TEXT             NOT NULL,
    state       TEXT             NOT NULL,
    progress    DOUBLE PRECISION,
    started_at  BIGINT           NOT NULL,
    finished_at BIGINT,
    error       TEXT
);
-- One running action per target (SPEC, safety rule 4), enforced by the database itself so two
-- consoles sharing a store cannot both pass a check-then-insert.
CREATE UNIQUE INDEX jobs_one_active_per_target ON jobs (target)
    WHERE state IN ('REQUESTED', 'APPROVED', 'RUNNING');
CREATE INDEX jobs_started ON jobs (started_at);

-- One row per log line: appending stays O(1) however long a backup's output grows.
CREATE TABLE job_log (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id  TEXT   NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    time_ms BIGINT NOT NULL,
    line    TEXT   NOT NULL
);
CREATE INDEX job_log_job ON job_log (job_id, id);

CREATE TABLE operator_sessions (
    id           TEXT   PRIMARY KEY,
    operator     TEXT   NOT NULL,
    client       TEXT   NOT NULL,
    host         TEXT   NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX operator_sessions_open ON operator_sessions (last_seen_at) WHERE ended_at IS NULL;
