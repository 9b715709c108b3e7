//! The tamper-evident audit log (SPEC, "Actions and their safety rules" 3).
//!
//! Every record carries the hash of its predecessor, and `audit_head` holds the hash of the
//! last one. `hash = hex(sha256(canonical))` where `canonical` is the JSON array
//! `["ondeck-audit-v1", seq, time_ms, operator, action, target, outcome, request_id, detail,
//! prev_hash]`: JSON quotes and escapes every string, so no two different records share an
//! encoding (plain concatenation would let `("ab","c")` and `("a","bc")` collide), and the
//! version tag lets a future format coexist with this one.
//!
//! What this detects: an edited field, a deleted record (in the middle or at the end), records
//! moved or relinked, records added behind ondeck's back. What it cannot detect, since no secret
//! key is involved: someone with write access who rewrites every hash from the tampered record
//! to the head. Ship the log elsewhere (or anchor the head's hash) when that matters.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{ActionState, Store, StoreError, is_unique_violation, now_ms, on_pool};
use crate::model::AuditRow;

const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const HASH_FORMAT: &str = "ondeck-audit-v1";
/// Appends tried before a persistent seq collision is reported as a broken chain.
const APPEND_ATTEMPTS: usize = 3;

const SELECT_RECORDS: &str = "SELECT seq, time_ms, operator, action, target, outcome, \
                              request_id, detail, prev_hash, hash FROM audit";

/// One record to append; the store assigns seq, time and the hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit {
    pub operator: String,
    pub action: String,
    pub target: String,
    pub outcome: ActionState,
    /// The `X-Request-ID` sent with the action's requests.
    pub request_id: String,
    /// Free-form context (plan, error, checksum, release refs). Callers must leave secrets out:
    /// the record can never be changed afterwards without breaking the chain.
    /// `Value::Null` is stored as an empty detail.
    pub detail: serde_json::Value,
}

/// The outcome of `Store::verify_audit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many records the log holds.
    pub records: u64,
    /// The first place where the chain does not hold; `None` means the log is intact.
    pub broken: Option<ChainBreak>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.broken.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The record at which the chain breaks (for `Deleted`, the first missing one).
    pub seq: i64,
    pub kind: BreakKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// The record's fields no longer hash to its stored hash.
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
}

/// A row of the `audit` table as stored.
#[derive(Debug, sqlx::FromRow)]
struct AuditRecord {
    seq: i64,
    time_ms: i64,
    operator: String,
    action: String,
    target: String,
    outcome: String,
    request_id: String,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl AuditRecord {
    fn computed_hash(&self) -> String {
        let canonical = (
            HASH_FORMAT,
            self.seq,
            self.time_ms,
            &self.operator,
            &self.action,
            &self.target,
            &self.outcome,
            &self.request_id,
            &self.detail,
            &self.prev_hash,
        );
        // Serialising a tuple of strings and integers to JSON cannot fail.
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        hex::encode(Sha256::digest(bytes))
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
        let build = |head_seq: i64, head_hash: String| {
            let mut record = AuditRecord {
                seq: head_seq + 1,
                time_ms,
                operator: rec.operator.clone(),
                action: rec.action.clone(),
                target: rec.target.clone(),
                outcome: rec.outcome.as_str().to_string(),
                request_id: rec.request_id.clone(),
                detail: detail.clone(),
                prev_hash: head_hash,
                hash: String::new(),
            };
            record.hash = record.computed_hash();
            record
        };
        // The head is read and the record written in one transaction holding the store's write
        // lock (SQLite: BEGIN IMMEDIATE takes it up front, so two appenders never both read the
        // same head; PostgreSQL: FOR UPDATE on the head row). The primary key on seq is the last
        // line of defence: a record that still collides is refused, never forked, and tried
        // again on the new head. A collision that persists means the head was moved back by
        // hand, and appending would only pile onto a tampered chain.
        let dialect = self.dialect();
        let mut taken_seq = 0;
        for _ in 0..APPEND_ATTEMPTS {
            let written: Result<AuditRecord, AppendError> = on_pool!(self, pool => {
                async {
                    let mut tx = pool.begin_with(dialect.begin_write).await?;
                    let (head_seq, head_hash): (i64, String) =
                        sqlx::query_as(dialect.read_audit_head_for_append)
                            .fetch_one(&mut *tx)
                            .await?;
                    let record = build(head_seq, head_hash);
                    sqlx::query(
                        "INSERT INTO audit (seq, time_ms, operator, action, target, outcome, \
                         request_id, detail, prev_hash, hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
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

    /// Walks the whole chain and names the first record where it does not hold.
    pub async fn verify_audit(&self) -> Result<VerifyReport, StoreError> {
        let sql = format!("{SELECT_RECORDS} ORDER BY seq");
        let head_sql = "SELECT seq, hash FROM audit_head WHERE id = 1";
        // Both reads see one snapshot, so an append between them is not mistaken for tampering.
        let begin = self.dialect().begin_snapshot;
        let (records, head): (Vec<AuditRecord>, (i64, String)) = on_pool!(self, pool => {
            async {
                let mut tx = pool.begin_with(begin).await?;
                let records = sqlx::query_as(&sql).fetch_all(&mut *tx).await?;
                let head = sqlx::query_as(head_sql).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok((records, head))
            }
            .await
        })
        .map_err(|e| self.error(e))?;
        Ok(verify_chain(&records, head))
    }

    fn audit_row(&self, r: AuditRecord) -> Result<AuditRow, StoreError> {
        let seq = r.seq;
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
        })
    }
}

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

/// Checks records (in seq order) against each other and against the head.
fn verify_chain(records: &[AuditRecord], (head_seq, head_hash): (i64, String)) -> VerifyReport {
    let broken = |seq, kind| VerifyReport {
        records: records.len() as u64,
        broken: Some(ChainBreak { seq, kind }),
    };
    let mut prev_seq = 0;
    let mut prev_hash = GENESIS_HASH;
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
        if record.computed_hash() != record.hash {
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
    VerifyReport {
        records: records.len() as u64,
        broken: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = AuditRecord {
                    seq,
                    time_ms: 1_700_000_000_000 + seq,
                    operator: "alice".into(),
                    action: "backup-db".into(),
                    target: "db1".into(),
                    outcome: "REQUESTED".into(),
                    request_id: format!("req-{seq}"),
                    detail: String::new(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                r.hash = r.computed_hash();
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn head(records: &[AuditRecord]) -> (i64, String) {
        records
            .last()
            .map_or((0, GENESIS_HASH.to_string()), |r| (r.seq, r.hash.clone()))
    }

    fn rehash(r: &mut AuditRecord) {
        r.hash = r.computed_hash();
    }

    #[test]
    fn an_intact_chain_verifies() {
        let records = chain(5);
        let report = verify_chain(&records, head(&records));
        assert_eq!(
            report,
            VerifyReport {
                records: 5,
                broken: None
            }
        );
        let empty = verify_chain(&[], (0, GENESIS_HASH.into()));
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
        let report = verify_chain(&records, head);
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
        let report = verify_chain(&records, h.clone());
        let deleted_3 = ChainBreak {
            seq: 3,
            kind: BreakKind::Deleted { first: 3, last: 3 },
        };
        assert_eq!(report.broken, Some(deleted_3));

        let mut records = chain(5);
        records.remove(0);
        let report = verify_chain(&records, h.clone());
        assert_eq!(report.broken.map(|b| b.seq), Some(1));

        let mut records = chain(5);
        records.truncate(3);
        let report = verify_chain(&records, h);
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
        let report = verify_chain(&records, h);
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
        let report = verify_chain(&records, h);
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
        let report = verify_chain(&records, h);
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
        let report = verify_chain(&records, (2, records[1].hash.clone()));
        assert_eq!(
            report.broken,
            Some(ChainBreak {
                seq: 3,
                kind: BreakKind::Inserted
            })
        );
    }
}
