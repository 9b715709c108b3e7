//! Output of `ondeck audit [--since DUR] [--json] [--verify]`; pure formatting, the store is
//! read by the caller.
//!
//! `--json` prints one JSON array of audit rows (the same objects as the `audit` array of
//! `ondeck snapshot --json`), oldest first, so `jq '.[]'` or any JSON parser reads it whole.

use std::borrow::Cow;

use crate::model::{AuditRow, printable};
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
/// are UTC RFC 3339 to the second.
pub fn format_table(rows: &[AuditRow]) -> String {
    let cells: Vec<[Cow<'_, str>; 6]> = rows
        .iter()
        .map(|r| {
            [
                Cow::Owned(r.time.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                printable(&r.operator),
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

/// The rows as one pretty-printed JSON array, oldest first.
pub fn format_json(rows: &[AuditRow]) -> serde_json::Result<String> {
    serde_json::to_string_pretty(rows)
}

/// One line saying the chain is intact, or which record breaks it and how.
pub fn format_verify(report: &VerifyReport) -> String {
    let Some(broken) = &report.broken else {
        return format!(
            "audit log OK: {} records, hash chain intact\n",
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
    use crate::store::ChainBreak;

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
        };
        assert_eq!(
            format_verify(&ok),
            "audit log OK: 42 records, hash chain intact\n"
        );
        let report = |seq, kind| VerifyReport {
            records: 42,
            broken: Some(ChainBreak { seq, kind }),
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
    }
}
