//! Output of `ondeck audit [--since DUR] [--json] [--verify [--head SEQ:HASH]] [--head]`; pure
//! formatting, the store is read by the caller.
//!
//! `--json` prints one JSON array of audit rows (the same objects as the `audit` array of
//! `ondeck snapshot --json`), oldest first, so `jq '.[]'` or any JSON parser reads it whole.

use std::borrow::Cow;

use crate::model::AuditRow;
use crate::printable::{printable, to_json_pretty};
use crate::store::{BreakKind, VerifyReport};

const HEADERS: [&str; 6] = [
    "TIME",
    "OPERATOR",
    "ACTION",
    "TARGET",
    "OUTCOME",
    "REQUEST ID",
];

/// The rows as aligned columns under a header, one record per line, in the given order. Times
/// are UTC RFC 3339 to the second; OPERATOR is the OS account and host where the record has
/// them (`alice@ops-01`, with `(as LABEL)` when the configured name differs).
pub fn format_table(rows: &[AuditRow]) -> String {
    let cells: Vec<[Cow<'_, str>; 6]> = rows
        .iter()
        .map(|r| {
            [
                Cow::Owned(r.time.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                match &r.identity {
                    Some(identity) => Cow::Owned(printable(&identity.to_string()).into_owned()),
                    None => printable(&r.operator),
                },
                printable(&r.action),
                printable(&r.target),
                printable(&r.outcome),
                printable(&r.request_id),
            ]
        })
        .collect();
    // Widths in chars: close enough for the names and ids an audit log holds, without pulling
    // in a display-width table.
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = HEADERS.map(Cow::Borrowed);
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = width - cell.chars().count();
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The rows as one pretty-printed JSON array, oldest first, with control and format characters
/// escaped.
pub fn format_json(rows: &[AuditRow]) -> serde_json::Result<String> {
    to_json_pretty(rows)
}

/// One line saying the chain is intact, or which record breaks it and how.
pub fn format_verify(report: &VerifyReport) -> String {
    let Some(broken) = &report.broken else {
        let kept = match &report.kept {
            Some(kept) => format!(", still holding the kept head {}", kept.seq),
            None => String::new(),
        };
        return format!(
            "audit log OK: {} records, hash chain intact{kept}\n",
            report.records
        );
    };
    let seq = broken.seq;
    let what = match broken.kind {
        BreakKind::Edited => {
            format!("record {seq} was edited: its fields no longer match its hash")
        }
        BreakKind::Deleted { first, last } if first == last => {
            format!("record {first} was deleted")
        }
        BreakKind::Deleted { first, last } => format!("records {first} to {last} were deleted"),
        BreakKind::Reordered { links_to } => format!(
            "record {seq} was moved: it follows record {links_to}, not record {}",
            seq - 1
        ),
        BreakKind::Rewritten => format!(
            "record {seq} does not link to its neighbour: one of them was rewritten with a \
             recomputed hash"
        ),
        BreakKind::Inserted => {
            format!("record {seq} was inserted outside ondeck: the chain never issued that number")
        }
        BreakKind::Truncated { kept } => format!(
            "records from {seq} on were cut off: the kept head is record {kept}, the log now ends \
             at record {}",
            seq - 1
        ),
        BreakKind::NotTheKeptHead => format!(
            "record {seq} is not the one the kept head names: the chain was rewritten with \
             recomputed hashes"
        ),
    };
    format!(
        "audit log BROKEN at record {seq}: {what} ({} records checked)\n",
        report.records
    )
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::identity::OperatorIdentity;
    use crate::store::{ChainBreak, ChainHead};

    fn row(seq: i64, operator: &str, target: &str, outcome: &str) -> AuditRow {
        AuditRow {
            source: "store".into(),
            seq,
            time: Utc.with_ymd_and_hms(2025, 3, 1, 3, 4, 5).single().unwrap()
                + chrono::Duration::milliseconds(250),
            operator: operator.into(),
            action: "backup-proofpass-db".into(),
            target: target.into(),
            outcome: outcome.into(),
            request_id: format!("req-{seq}"),
            detail: String::new(),
            identity: None,
            job_id: None,
            error: None,
        }
    }

    #[test]
    fn table_columns_line_up_under_the_header() {
        let rows = [
            row(1, "alice", "db1", "REQUESTED"),
            row(2, "bartholomew", "db-primary.example.com", "SUCCEEDED"),
        ];
        let expected = "\
TIME                  OPERATOR     ACTION               TARGET                  OUTCOME    REQUEST ID
2025-03-01T03:04:05Z  alice        backup-proofpass-db  db1                     REQUESTED  req-1
2025-03-01T03:04:05Z  bartholomew  backup-proofpass-db  db-primary.example.com  SUCCEEDED  req-2
";
        assert_eq!(format_table(&rows), expected);
    }

    #[test]
    fn the_operator_column_names_the_account_and_host_where_recorded() {
        let mut record = row(3, "alice", "db1", "SUCCEEDED");
        record.identity = Some(OperatorIdentity {
            os_user: "alice".into(),
            uid: 1000,
            host: "ops-01".into(),
            ssh_client: Some("203.0.113.7:52144".into()),
            db_user: Some("ops_alice".into()),
            label: "oncall\u{1b}[2J".into(),
        });
        let table = format_table(&[record]);
        let line = table.lines().nth(1).unwrap();
        assert!(
            line.contains(r"alice@ops-01 (as oncall\u{1b}[2J)  backup-proofpass-db"),
            "{table}"
        );
    }

    #[test]
    fn an_empty_log_is_just_the_header() {
        assert_eq!(
            format_table(&[]),
            "TIME  OPERATOR  ACTION  TARGET  OUTCOME  REQUEST ID\n"
        );
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let table = format_table(&[row(1, "mallory", "db\u{1b}[2J\nx", "FAILED")]);
        assert!(!table.contains('\u{1b}'));
        assert!(table.contains(r"db\u{1b}[2J\nx"));
        assert_eq!(table.lines().count(), 2);
    }

    #[test]
    fn json_is_one_array_of_rows() {
        let rows = [row(1, "alice", "db1", "REQUESTED")];
        let json = format_json(&rows).unwrap();
        let parsed: Vec<AuditRow> = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, rows);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value[0]["outcome"], "REQUESTED");
        assert_eq!(format_json(&[]).unwrap(), "[]");
    }

    #[test]
    fn verify_names_the_broken_record_and_why() {
        let ok = VerifyReport {
            records: 42,
            broken: None,
            kept: None,
        };
        assert_eq!(
            format_verify(&ok),
            "audit log OK: 42 records, hash chain intact\n"
        );
        let report = |seq, kind| VerifyReport {
            records: 42,
            broken: Some(ChainBreak { seq, kind }),
            kept: None,
        };
        assert_eq!(
            format_verify(&report(7, BreakKind::Edited)),
            "audit log BROKEN at record 7: record 7 was edited: its fields no longer match its \
             hash (42 records checked)\n"
        );
        let deleted = format_verify(&report(5, BreakKind::Deleted { first: 5, last: 5 }));
        assert!(deleted.contains("record 5 was deleted"), "{deleted}");
        let deleted = format_verify(&report(5, BreakKind::Deleted { first: 5, last: 9 }));
        assert!(deleted.contains("records 5 to 9 were deleted"), "{deleted}");
        let moved = format_verify(&report(9, BreakKind::Reordered { links_to: 3 }));
        assert!(
            moved.contains("it follows record 3, not record 8"),
            "{moved}"
        );
        assert!(format_verify(&report(4, BreakKind::Rewritten)).contains("rewritten"));
        assert!(format_verify(&report(43, BreakKind::Inserted)).contains("inserted outside"));
        assert_eq!(
            format_verify(&report(41, BreakKind::Truncated { kept: 45 })),
            "audit log BROKEN at record 41: records from 41 on were cut off: the kept head is \
             record 45, the log now ends at record 40 (42 records checked)\n"
        );
        let rewritten = format_verify(&report(40, BreakKind::NotTheKeptHead));
        assert!(
            rewritten.starts_with(
                "audit log BROKEN at record 40: record 40 is not the one the kept head"
            ),
            "{rewritten}"
        );
        let still = VerifyReport {
            kept: Some(ChainHead {
                seq: 40,
                hash: "ab".repeat(32),
            }),
            ..ok
        };
        assert_eq!(
            format_verify(&still),
            "audit log OK: 42 records, hash chain intact, still holding the kept head 40\n"
        );
    }
}
