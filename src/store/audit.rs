//! The tamper-evident audit log (SPEC, "Actions and their safety rules" 3).
//!
//! Every record carries the hash of its predecessor, and `audit_head` holds the hash of the
//! last one. `hash = hex(sha256(canonical))`, where `canonical` is a JSON array whose first
//! element names the encoding, chosen by the record's `hash_version`:
//!
//! - v1 (records written before the identity columns existed): `["ondeck-audit-v1", seq,
//!   time_ms, operator, action, target, outcome, request_id, detail, prev_hash]`.
//! - v2 (every record written now): `["ondeck-audit-v2", seq, time_ms, operator, uid, host,
//!   ssh_client, db_user, operator_label, action, target, outcome, request_id, job_id, error,
//!   detail, prev_hash]`, absent values as `null`.
//!
//! JSON quotes and escapes every string, so no two different records share an encoding (plain
//! concatenation would let `("ab","c")` and `("a","bc")` collide). An encoding, once written, is
//! never changed: the fixed vectors in the tests below fail if it is. A new one gets a new version
//! and tag, and the old records keep verifying under theirs.
//!
//! What this detects: an edited field, a deleted record (in the middle or at the end), records
//! moved or relinked, records added behind ondeck's back, a v2 record passed off as v1 to escape
//! the identity's coverage. What it cannot detect, since no secret key is involved: someone with
//! write access who rewrites every hash from the tampered record to the head. For that, keep the
//! head (`ondeck audit --head`) elsewhere and check against it (`--verify --head SEQ:HASH`): a
//! tail cut off or rewritten since no longer contains that head.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{ActionState, Store, StoreError, is_unique_violation, now_ms, on_pool};
use crate::identity::OperatorIdentity;
use crate::model::AuditRow;

const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const HASH_TAG_V1: &str = "ondeck-audit-v1";
const HASH_TAG_V2: &str = "ondeck-audit-v2";
/// The `hash_version` every new record is written with.
const CURRENT_HASH_VERSION: i64 = 2;
/// Appends tried before a persistent seq collision is reported as a broken chain.
const APPEND_ATTEMPTS: usize = 3;

const SELECT_RECORDS: &str = "SELECT seq, time_ms, operator, action, target, outcome, \
                              request_id, detail, prev_hash, hash, hash_version, uid, host, \
                              ssh_client, db_user, operator_label, job_id, error FROM audit";

const INSERT_RECORD: &str = "INSERT INTO audit (seq, time_ms, operator, action, target, outcome, \
                             request_id, detail, prev_hash, hash, hash_version, uid, host, \
                             ssh_client, db_user, operator_label, job_id, error) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                             $14, $15, $16, $17, $18)";

/// One record to append; the store assigns seq, time, the database role and the hashes. This
/// is the only way to append, and it cannot be built without the operator's identity.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit {
    /// Who acts: [`OperatorIdentity::current`]. Its `db_user` is replaced by the store's own.
    pub identity: OperatorIdentity,
    pub action: String,
    pub target: String,
    pub outcome: ActionState,
    /// The `X-Request-ID` sent with the action's requests.
    pub request_id: String,
    /// The job this record opens, moves or closes.
    pub job_id: Option<String>,
    /// Why the action failed or was refused. Callers must leave secrets out, as in `detail`.
    pub error: Option<String>,
    /// Free-form context (plan, checksum, release refs). Callers must leave secrets out:
    /// the record can never be changed afterwards without breaking the chain.
    /// `Value::Null` is stored as an empty detail.
    pub detail: serde_json::Value,
}

/// The chain's newest record, `SEQ:HASH`: printed by `ondeck audit --head` to be kept
/// elsewhere, and checked by `--verify --head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl FromStr for ChainHead {
    type Err = String;

    fn from_str(s: &str) -> Result<ChainHead, String> {
        let (seq, hash) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not SEQ:HASH, as `ondeck audit --head` prints it"))?;
        let seq = seq
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| format!("{seq:?} is not a record number"))?;
        let hash = hash.to_ascii_lowercase();
        if hash.len() != GENESIS_HASH.len() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{hash:?} is not a SHA-256 hash in hex (64 digits)"));
        }
        Ok(ChainHead { seq, hash })
    }
}

/// The outcome of `Store::verify_audit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many records the log holds.
    pub records: u64,
    /// The first place where the chain does not hold; `None` means the log is intact.
    pub broken: Option<ChainBreak>,
    /// The head checked against, when one was given: intact means the chain still holds it.
    pub kept: Option<ChainHead>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.broken.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The record at which the chain breaks (for `Deleted` and `Truncated`, the first missing
    /// one).
    pub seq: i64,
    pub kind: BreakKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// The record's fields no longer hash to its stored hash (or its hash version was changed).
    Edited,
    /// Records `first..=last` are gone.
    Deleted { first: i64, last: i64 },
    /// The record links to record `links_to` instead of its predecessor.
    Reordered { links_to: i64 },
    /// Each record hashes correctly but the link to the previous record (or, for the last one,
    /// the head) does not hold: one of them was rewritten with a recomputed hash.
    Rewritten,
    /// The record was never appended by ondeck: its seq lies outside the chain.
    Inserted,
    /// The chain holds together but ends before the kept head's record `kept`: the tail from
    /// `seq` on was cut off and the head moved back to hide it.
    Truncated { kept: i64 },
    /// The chain holds together but its record `seq` is not the one the kept head names: the
    /// chain was rewritten, up to there at least, with recomputed hashes.
    NotTheKeptHead,
}

/// A row of the `audit` table as stored. The columns from `hash_version` on came with the
/// 0002 migration; records written before it have version 1 and NULL in all of them.
#[derive(Debug, Clone, sqlx::FromRow)]
struct AuditRecord {
    seq: i64,
    time_ms: i64,
    /// v1: the name the console was configured with; v2: the OS account's name.
    operator: String,
    action: String,
    target: String,
    outcome: String,
    request_id: String,
    detail: String,
    prev_hash: String,
    hash: String,
    hash_version: i64,
    uid: Option<i64>,
    host: Option<String>,
    ssh_client: Option<String>,
    db_user: Option<String>,
    operator_label: Option<String>,
    job_id: Option<String>,
    error: Option<String>,
}

impl AuditRecord {
    /// The hash the record's fields give under its `hash_version`; `None` when no encoding
    /// covers the record: an unknown version, or a v1 record carrying fields v1 never had
    /// (added behind ondeck's back, since no v1 hash would notice them).
    fn computed_hash(&self) -> Option<String> {
        let canonical = match self.hash_version {
            1 if self.has_v2_fields() => return None,
            1 => serde_json::json!([
                HASH_TAG_V1,
                self.seq,
                self.time_ms,
                self.operator,
                self.action,
                self.target,
                self.outcome,
                self.request_id,
                self.detail,
                self.prev_hash,
            ]),
            2 => serde_json::json!([
                HASH_TAG_V2,
                self.seq,
                self.time_ms,
                self.operator,
                self.uid,
                self.host,
                self.ssh_client,
                self.db_user,
                self.operator_label,
                self.action,
                self.target,
                self.outcome,
                self.request_id,
                self.job_id,
                self.error,
                self.detail,
                self.prev_hash,
            ]),
            _ => return None,
        };
        Some(hex::encode(Sha256::digest(canonical.to_string())))
    }

    fn has_v2_fields(&self) -> bool {
        self.uid.is_some()
            || [
                &self.host,
                &self.ssh_client,
                &self.db_user,
                &self.operator_label,
                &self.job_id,
                &self.error,
            ]
            .iter()
            .any(|field| field.is_some())
    }

    /// The next record after `head`, hashed.
    fn next(
        rec: &NewAudit,
        detail: &str,
        time_ms: i64,
        head: (i64, String),
        db_user: Option<String>,
    ) -> AuditRecord {
        let (head_seq, head_hash) = head;
        let identity = &rec.identity;
        let mut record = AuditRecord {
            seq: head_seq + 1,
            time_ms,
            operator: identity.os_user.clone(),
            action: rec.action.clone(),
            target: rec.target.clone(),
            outcome: rec.outcome.as_str().to_owned(),
            request_id: rec.request_id.clone(),
            detail: detail.to_owned(),
            prev_hash: head_hash,
            hash: String::new(),
            hash_version: CURRENT_HASH_VERSION,
            uid: Some(i64::from(identity.uid)),
            host: Some(identity.host.clone()),
            ssh_client: identity.ssh_client.clone(),
            db_user,
            operator_label: Some(identity.label.clone()),
            job_id: rec.job_id.clone(),
            error: rec.error.clone(),
        };
        record.hash = record.computed_hash().unwrap_or_default();
        record
    }

    /// The identity a v2 record holds; v1 records only had a name, kept as `operator`.
    fn identity(&self) -> Option<OperatorIdentity> {
        if self.hash_version < 2 {
            return None;
        }
        Some(OperatorIdentity {
            os_user: self.operator.clone(),
            uid: self.uid.and_then(|uid| u32::try_from(uid).ok())?,
            host: self.host.clone().unwrap_or_default(),
            ssh_client: self.ssh_client.clone(),
            db_user: self.db_user.clone(),
            label: self.operator_label.clone().unwrap_or_default(),
        })
    }
}

impl Store {
    /// Appends one record to the chain. Returns once it is committed, so a caller can rely on
    /// it as the write-ahead record; an error means nothing was written.
    pub async fn append_audit(&self, rec: NewAudit) -> Result<AuditRow, StoreError> {
        let detail = match &rec.detail {
            serde_json::Value::Null => String::new(),
            value => value.to_string(),
        };
        let time_ms = now_ms();
        // The head is read and the record written in one transaction holding the store's write
        // lock (SQLite: BEGIN IMMEDIATE takes it up front, so two appenders never both read the
        // same head; PostgreSQL: FOR UPDATE on the head row, which a second appender waits on
        // and then re-reads as the first one committed it). The same read asks the server for
        // the connection's role, so the record names it without a round trip of its own. The
        // primary key on seq is the last line of defence: a record that still collides is
        // refused, never forked, and tried again on the new head. A collision that persists
        // means the head was moved back by hand, and appending would only pile onto a tampered
        // chain.
        //
        // An action's intent record and its job row must commit together: that statement goes
        // in this same transaction, before the commit.
        let dialect = self.dialect();
        let mut taken_seq = 0;
        for _ in 0..APPEND_ATTEMPTS {
            let written: Result<AuditRecord, AppendError> = on_pool!(self, pool => {
                async {
                    let mut tx = pool.begin_with(dialect.begin_write).await?;
                    let (head_seq, head_hash, db_user): (i64, String, Option<String>) =
                        sqlx::query_as(dialect.read_audit_head_for_append)
                            .fetch_one(&mut *tx)
                            .await?;
                    let record =
                        AuditRecord::next(&rec, &detail, time_ms, (head_seq, head_hash), db_user);
                    sqlx::query(INSERT_RECORD)
                        .bind(record.seq)
                        .bind(record.time_ms)
                        .bind(&record.operator)
                        .bind(&record.action)
                        .bind(&record.target)
                        .bind(&record.outcome)
                        .bind(&record.request_id)
                        .bind(&record.detail)
                        .bind(&record.prev_hash)
                        .bind(&record.hash)
                        .bind(record.hash_version)
                        .bind(record.uid)
                        .bind(&record.host)
                        .bind(&record.ssh_client)
                        .bind(&record.db_user)
                        .bind(&record.operator_label)
                        .bind(&record.job_id)
                        .bind(&record.error)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            if is_unique_violation(&e) {
                                AppendError::SeqTaken(record.seq)
                            } else {
                                AppendError::Sql(e)
                            }
                        })?;
                    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                        .bind(record.seq)
                        .bind(&record.hash)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(record)
                }
                .await
            });
            match written {
                Ok(record) => return self.audit_row(record),
                Err(AppendError::SeqTaken(seq)) => taken_seq = seq,
                Err(AppendError::Sql(e)) => return Err(self.error(e)),
            }
        }
        Err(StoreError::ChainBroken { seq: taken_seq })
    }

    /// The newest `limit` records, oldest first (the order of the chain).
    pub async fn audit_tail(&self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!("{SELECT_RECORDS} ORDER BY seq DESC LIMIT $1");
        let mut records: Vec<AuditRecord> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(limit).fetch_all(pool).await
        })
        .map_err(|e| self.error(e))?;
        records.reverse();
        records.into_iter().map(|r| self.audit_row(r)).collect()
    }

    /// Every record at or after `since` (all of them for `None`), oldest first, in one query.
    pub async fn audit_since(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditRow>, StoreError> {
        // Without a bound, a plain scan in seq order; a `time_ms >= MIN` bound would send
        // SQLite through the time index and a sort of every row.
        let records: Vec<AuditRecord> = match since {
            None => {
                let sql = format!("{SELECT_RECORDS} ORDER BY seq");
                on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)
            }
            Some(since) => {
                let sql = format!("{SELECT_RECORDS} WHERE time_ms >= $1 ORDER BY seq");
                on_pool!(self, pool => {
                    sqlx::query_as(&sql)
                        .bind(since.timestamp_millis())
                        .fetch_all(pool)
                        .await
                })
            }
        }
        .map_err(|e| self.error(e))?;
        records.into_iter().map(|r| self.audit_row(r)).collect()
    }

    /// The chain's head as the store holds it, to be kept elsewhere.
    pub async fn audit_head(&self) -> Result<ChainHead, StoreError> {
        let (seq, hash): (i64, String) = on_pool!(self, pool => {
            sqlx::query_as(SELECT_HEAD).fetch_one(pool).await
        })
        .map_err(|e| self.error(e))?;
        Ok(ChainHead { seq, hash })
    }

    /// Walks the whole chain and names the first record where it does not hold; with `kept`,
    /// a head taken earlier, also whether the chain still holds that head.
    pub async fn verify_audit(&self, kept: Option<ChainHead>) -> Result<VerifyReport, StoreError> {
        let sql = format!("{SELECT_RECORDS} ORDER BY seq");
        // Both reads see one snapshot, so an append between them is not mistaken for tampering.
        let begin = self.dialect().begin_snapshot;
        let (records, head): (Vec<AuditRecord>, (i64, String)) = on_pool!(self, pool => {
            async {
                let mut tx = pool.begin_with(begin).await?;
                let records = sqlx::query_as(&sql).fetch_all(&mut *tx).await?;
                let head = sqlx::query_as(SELECT_HEAD).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok((records, head))
            }
            .await
        })
        .map_err(|e| self.error(e))?;
        Ok(verify_chain(&records, head, kept))
    }

    fn audit_row(&self, r: AuditRecord) -> Result<AuditRow, StoreError> {
        let seq = r.seq;
        let identity = r.identity();
        Ok(AuditRow {
            source: super::STORE_SOURCE.to_string(),
            seq,
            time: self.time(r.time_ms, || format!("audit record {seq}"))?,
            operator: r.operator,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
            request_id: r.request_id,
            detail: r.detail,
            identity,
            job_id: r.job_id,
            error: r.error,
        })
    }
}

const SELECT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";

enum AppendError {
    /// The seq the head pointed to is already taken: the head was moved back by hand.
    SeqTaken(i64),
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for AppendError {
    fn from(e: sqlx::Error) -> Self {
        AppendError::Sql(e)
    }
}

/// Checks records (in seq order) against each other, against the head, and against a head
/// kept from earlier.
fn verify_chain(
    records: &[AuditRecord],
    (head_seq, head_hash): (i64, String),
    kept: Option<ChainHead>,
) -> VerifyReport {
    let report = |broken| VerifyReport {
        records: records.len() as u64,
        broken,
        kept: kept.clone(),
    };
    let broken = |seq, kind| report(Some(ChainBreak { seq, kind }));
    let mut prev_seq = 0;
    let mut prev_hash = GENESIS_HASH;
    let mut prev_version = 1;
    // Built only when a link fails, to tell a moved record from a rewritten one.
    let mut seq_by_hash: Option<HashMap<&str, i64>> = None;
    for record in records {
        let expected = prev_seq + 1;
        if record.seq > head_seq || record.seq < expected {
            return broken(record.seq, BreakKind::Inserted);
        }
        if record.seq > expected {
            let kind = BreakKind::Deleted {
                first: expected,
                last: record.seq - 1,
            };
            return broken(expected, kind);
        }
        // Versions only move forward: an older one after a newer is a record relabelled to
        // escape what the newer hash covers.
        let hashes = record.hash_version >= prev_version
            && record.computed_hash().as_deref() == Some(record.hash.as_str());
        if !hashes {
            return broken(record.seq, BreakKind::Edited);
        }
        if record.prev_hash != prev_hash {
            let index = seq_by_hash
                .get_or_insert_with(|| records.iter().map(|r| (r.hash.as_str(), r.seq)).collect());
            let kind = match index.get(record.prev_hash.as_str()) {
                Some(&links_to) => BreakKind::Reordered { links_to },
                None => BreakKind::Rewritten,
            };
            return broken(record.seq, kind);
        }
        prev_seq = record.seq;
        prev_hash = &record.hash;
        prev_version = record.hash_version;
    }
    if prev_seq < head_seq {
        let kind = BreakKind::Deleted {
            first: prev_seq + 1,
            last: head_seq,
        };
        return broken(prev_seq + 1, kind);
    }
    if prev_hash != head_hash {
        return broken(prev_seq, BreakKind::Rewritten);
    }
    if let Some(kept) = &kept {
        // The chain is whole from record 1 to its head, so record n sits at index n - 1.
        let held = match kept.seq {
            0 => Some(GENESIS_HASH),
            seq => usize::try_from(seq - 1)
                .ok()
                .and_then(|i| records.get(i))
                .map(|r| r.hash.as_str()),
        };
        match held {
            None => return broken(prev_seq + 1, BreakKind::Truncated { kept: kept.seq }),
            Some(hash) if hash != kept.hash => return broken(kept.seq, BreakKind::NotTheKeptHead),
            Some(_) => {}
        }
    }
    report(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as ondeck wrote it before the identity columns existed.
    fn v1(seq: i64, prev_hash: &str) -> AuditRecord {
        let mut r = AuditRecord {
            seq,
            time_ms: 1_700_000_000_000 + seq,
            operator: "alice".into(),
            action: "backup-db".into(),
            target: "db1".into(),
            outcome: "REQUESTED".into(),
            request_id: format!("req-{seq}"),
            detail: String::new(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
            hash_version: 1,
            uid: None,
            host: None,
            ssh_client: None,
            db_user: None,
            operator_label: None,
            job_id: None,
            error: None,
        };
        rehash(&mut r);
        r
    }

    /// A record as ondeck writes it now.
    fn v2(seq: i64, prev_hash: &str) -> AuditRecord {
        let mut r = AuditRecord {
            hash_version: 2,
            uid: Some(1000),
            host: Some("ops-01.example.com".into()),
            ssh_client: Some("203.0.113.7:52144".into()),
            operator_label: Some("alice".into()),
            job_id: Some(format!("job-{seq}")),
            ..v1(seq, prev_hash)
        };
        rehash(&mut r);
        r
    }

    /// `n` records, the first `old` of them written before the identity columns existed.
    fn mixed_chain(old: i64, n: i64) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        for seq in 1..=n {
            let prev = records.last().map_or(GENESIS_HASH, |r| r.hash.as_str());
            let record = if seq <= old {
                v1(seq, prev)
            } else {
                v2(seq, prev)
            };
            records.push(record);
        }
        records
    }

    fn chain(n: i64) -> Vec<AuditRecord> {
        mixed_chain(0, n)
    }

    fn head(records: &[AuditRecord]) -> (i64, String) {
        records
            .last()
            .map_or((0, GENESIS_HASH.to_string()), |r| (r.seq, r.hash.clone()))
    }

    fn rehash(r: &mut AuditRecord) {
        r.hash = r.computed_hash().unwrap_or_default();
    }

    fn verify(records: &[AuditRecord], head: (i64, String)) -> VerifyReport {
        verify_chain(records, head, None)
    }

    /// The encodings are frozen: a record written by any earlier ondeck must keep its hash.
    /// These were computed independently of this code (sha256 of the JSON arrays spelled out
    /// in the module's documentation); if one fails, the encoding changed and every stored log
    /// of that version would read as tampered. Add a version instead.
    #[test]
    fn the_hash_encodings_match_their_fixed_vectors() {
        let prev = "ab".repeat(32);
        let v1_record = AuditRecord {
            seq: 7,
            time_ms: 1_700_000_000_123,
            outcome: "SUCCEEDED".into(),
            request_id: "req-7".into(),
            detail: r#"{"dir":"/var/backups"}"#.into(),
            ..v1(7, &prev)
        };
        assert_eq!(
            v1_record.computed_hash().as_deref(),
            Some("466dffca80aa0b941362601397bb8a993986a7546c76f881c37174126fb749f0")
        );
        let v2_record = AuditRecord {
            seq: 8,
            time_ms: 1_700_000_000_456,
            action: "restore-db".into(),
            outcome: "FAILED".into(),
            request_id: "req-8".into(),
            detail: r#"{"dir":"/var/backups"}"#.into(),
            db_user: None,
            operator_label: Some("Älice \"ops\"".into()),
            job_id: Some("job-1".into()),
            error: Some("pg_restore exited 1".into()),
            ..v2(8, &prev)
        };
        assert_eq!(
            v2_record.computed_hash().as_deref(),
            Some("c1a402d8502a9d5df634fe4708196a8082a078e7bd4f903da4604036e15aabd9")
        );
    }

    #[test]
    fn every_identity_field_is_covered_by_the_v2_hash() {
        let original = v2(3, GENESIS_HASH);
        let edits: [fn(&mut AuditRecord); 8] = [
            |r| r.operator = "mallory".into(),
            |r| r.uid = Some(0),
            |r| r.host = Some("elsewhere.example.com".into()),
            |r| r.ssh_client = None,
            |r| r.db_user = Some("postgres".into()),
            |r| r.operator_label = Some("mallory".into()),
            |r| r.job_id = Some("job-99".into()),
            |r| r.error = Some("nothing happened".into()),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut edited = original.clone();
            edit(&mut edited);
            assert_ne!(edited.computed_hash(), original.computed_hash(), "edit {i}");
        }
    }

    #[test]
    fn v1_records_still_verify_before_v2_ones() {
        let records = mixed_chain(3, 6);
        assert_eq!(verify(&records, head(&records)).broken, None);
        assert_eq!(records[2].hash_version, 1);
        assert_eq!(records[3].hash_version, 2);
    }

    #[test]
    fn a_record_passed_off_as_another_version_is_edited() {
        // A v1 record given identity fields: the v1 hash would not see them.
        let mut records = mixed_chain(3, 5);
        let h = head(&records);
        records[1].uid = Some(0);
        let report = verify(&records, h.clone());
        assert_eq!(
            report.broken.map(|b| (b.seq, b.kind)),
            Some((2, BreakKind::Edited))
        );

        // A v2 record relabelled v1 with its identity stripped and its hash recomputed.
        let mut records = mixed_chain(3, 5);
        let r = &mut records[4];
        (r.hash_version, r.uid, r.host, r.ssh_client) = (1, None, None, None);
        (r.operator_label, r.job_id) = (None, None);
        rehash(r);
        let report = verify(&records, h.clone());
        assert_eq!(
            report.broken.map(|b| (b.seq, b.kind)),
            Some((5, BreakKind::Edited))
        );

        let mut records = mixed_chain(3, 5);
        records[0].hash_version = 3;
        let report = verify(&records, h);
        assert_eq!(
            report.broken.map(|b| (b.seq, b.kind)),
            Some((1, BreakKind::Edited))
        );
    }

    #[test]
    fn a_kept_head_finds_a_cut_or_rewritten_tail() {
        let records = chain(5);
        let kept = |i: usize| {
            Some(ChainHead {
                seq: records[i].seq,
                hash: records[i].hash.clone(),
            })
        };
        // Still held, by the last record or an earlier one.
        assert!(verify_chain(&records, head(&records), kept(4)).is_ok());
        assert!(verify_chain(&records, head(&records), kept(2)).is_ok());
        let genesis = ChainHead {
            seq: 0,
            hash: GENESIS_HASH.into(),
        };
        assert!(verify_chain(&records, head(&records), Some(genesis)).is_ok());

        // The last two cut off and the head moved back: the chain alone looks intact.
        let cut = &records[..3];
        assert!(verify(cut, head(cut)).is_ok());
        let report = verify_chain(cut, head(cut), kept(4));
        assert_eq!(
            report.broken,
            Some(ChainBreak {
                seq: 4,
                kind: BreakKind::Truncated { kept: 5 }
            })
        );

        // Record 4 rewritten and every hash after it recomputed, the head too.
        let mut forged = records.clone();
        forged[3].outcome = "SUCCEEDED".into();
        rehash(&mut forged[3]);
        forged[4].prev_hash = forged[3].hash.clone();
        rehash(&mut forged[4]);
        assert!(verify(&forged, head(&forged)).is_ok());
        let report = verify_chain(&forged, head(&forged), kept(4));
        assert_eq!(
            report.broken,
            Some(ChainBreak {
                seq: 5,
                kind: BreakKind::NotTheKeptHead
            })
        );
        // A head kept before the rewritten part is still held.
        assert!(verify_chain(&forged, head(&forged), kept(2)).is_ok());
    }

    #[test]
    fn a_kept_head_reads_back_as_printed() {
        let head = ChainHead {
            seq: 42,
            hash: "0f".repeat(32),
        };
        assert_eq!(head.to_string().parse::<ChainHead>(), Ok(head.clone()));
        let upper = format!("42:{}", "0F".repeat(32));
        assert_eq!(upper.parse::<ChainHead>(), Ok(head));
        for bad in [
            "42",
            "x:00",
            "-1:00",
            &format!("1:{}", "zz".repeat(32)),
            "1:abc",
        ] {
            assert!(bad.parse::<ChainHead>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_intact_chain_verifies() {
        let records = chain(5);
        let report = verify(&records, head(&records));
        assert_eq!(
            report,
            VerifyReport {
                records: 5,
                broken: None,
                kept: None,
            }
        );
        let empty = verify(&[], (0, GENESIS_HASH.into()));
        assert!(empty.is_ok());
    }

    #[test]
    fn field_boundaries_are_part_of_the_hash() {
        let mut a = chain(1).remove(0);
        let mut b = chain(1).remove(0);
        a.operator = "ab".into();
        a.action = "c".into();
        b.operator = "a".into();
        b.action = "bc".into();
        assert_ne!(a.computed_hash(), b.computed_hash());
    }

    #[test]
    fn an_edit_is_named_by_seq() {
        let mut records = chain(5);
        let head = head(&records);
        records[2].outcome = "SUCCEEDED".into();
        let report = verify(&records, head);
        assert_eq!(
            report.broken.map(|b| (b.seq, b.kind)),
            Some((3, BreakKind::Edited))
        );
    }

    #[test]
    fn deletions_in_the_middle_at_the_start_and_at_the_end_are_found() {
        let mut records = chain(5);
        let h = head(&records);
        records.remove(2);
        let report = verify(&records, h.clone());
        let deleted_3 = ChainBreak {
            seq: 3,
            kind: BreakKind::Deleted { first: 3, last: 3 },
        };
        assert_eq!(report.broken, Some(deleted_3));

        let mut records = chain(5);
        records.remove(0);
        let report = verify(&records, h.clone());
        assert_eq!(report.broken.map(|b| b.seq), Some(1));

        let mut records = chain(5);
        records.truncate(3);
        let report = verify(&records, h);
        let deleted_tail = ChainBreak {
            seq: 4,
            kind: BreakKind::Deleted { first: 4, last: 5 },
        };
        assert_eq!(report.broken, Some(deleted_tail));
    }

    #[test]
    fn swapped_records_are_reported_as_reordered() {
        // Swap the contents of records 2 and 3, keeping seq numbers, and recompute their
        // hashes as a careful forger would.
        let mut records = chain(4);
        let h = head(&records);
        let (a, b) = (records[1].prev_hash.clone(), records[2].prev_hash.clone());
        records.swap(1, 2);
        records[1].seq = 2;
        records[2].seq = 3;
        records[1].prev_hash = b;
        records[2].prev_hash = a;
        rehash(&mut records[1]);
        rehash(&mut records[2]);
        let report = verify(&records, h);
        assert_eq!(
            report.broken,
            Some(ChainBreak {
                seq: 2,
                kind: BreakKind::Rewritten
            })
        );

        // Moving a record's link to point further back is a reorder.
        let mut records = chain(4);
        let h = head(&records);
        records[3].prev_hash = records[1].hash.clone();
        rehash(&mut records[3]);
        let report = verify(&records, h);
        assert_eq!(
            report.broken,
            Some(ChainBreak {
                seq: 4,
                kind: BreakKind::Reordered { links_to: 2 }
            })
        );
    }

    #[test]
    fn a_rewritten_last_record_disagrees_with_the_head() {
        let mut records = chain(3);
        let h = head(&records);
        records[2].outcome = "CANCELLED".into();
        rehash(&mut records[2]);
        let report = verify(&records, h);
        assert_eq!(
            report.broken,
            Some(ChainBreak {
                seq: 3,
                kind: BreakKind::Rewritten
            })
        );
    }

    #[test]
    fn records_beyond_the_head_were_inserted() {
        let records = chain(3);
        let report = verify(&records, (2, records[1].hash.clone()));
        assert_eq!(
            report.broken,
            Some(ChainBreak {
                seq: 3,
                kind: BreakKind::Inserted
            })
        );
    }
}
