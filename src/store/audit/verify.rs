//! Checking the chain: each record against its hash, its predecessor, the head and a head kept
//! from earlier.

use std::collections::HashMap;

use super::ChainHead;
use super::record::{AuditRecord, GENESIS_HASH};

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

/// Checks records (in seq order) against each other, against the head, and against a head
/// kept from earlier.
pub(super) fn verify_chain(
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
