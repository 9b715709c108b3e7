-- Two-person actions: a job of an action confirmed by `two-person` waits REQUESTED until another
-- operator approves or denies it, or it expires. migrations/postgres/0007_two_person.sql is the same
-- change; keep the two in step. Every column is NULL for a job that needs no approval.
--
-- requested_by is the requester's OS account and host (`alice@ops-01`), never the label they
-- chose: the approver's must differ. expires_at is when the request can no longer be approved
-- (unix milliseconds). decided_by, decided_at and decision (APPROVED or DENIED) are written by
-- the approval, in the same transaction as its audit record.
ALTER TABLE jobs ADD COLUMN requested_by TEXT;
ALTER TABLE jobs ADD COLUMN expires_at   INTEGER;
ALTER TABLE jobs ADD COLUMN decided_by   TEXT;
ALTER TABLE jobs ADD COLUMN decided_at   INTEGER;
ALTER TABLE jobs ADD COLUMN decision     TEXT;
