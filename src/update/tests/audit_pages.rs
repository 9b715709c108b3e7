//! The Audit pane scrolled past the store's tail: a page of older records is asked for at the
//! oldest row, joins the pane, stays through the store's refreshes, and is bounded.

use super::*;
use crate::state::{AUDIT_PAGE, AuditPages, MAX_OLDER_AUDIT};

fn record(seq: i64) -> AuditRow {
    AuditRow {
        source: crate::store::STORE_SOURCE.into(),
        seq,
        time: t0() + Duration::seconds(seq),
        operator: "alice".into(),
        action: "backup".into(),
        target: "db".into(),
        outcome: "SUCCEEDED".into(),
        request_id: format!("r{seq}"),
        detail: String::new(),
        identity: None,
        job_id: None,
        error: None,
    }
}

fn records(seqs: std::ops::RangeInclusive<i64>) -> Vec<AuditRow> {
    seqs.map(record).collect()
}

fn loaded(audit: Vec<AuditRow>) -> Msg {
    Msg::StoreLoaded(Box::new(StoreRows {
        audit,
        ..StoreRows::default()
    }))
}

/// The seqs the Audit pane shows, in its order.
fn shown(s: &AppState) -> Vec<i64> {
    let view = s.view(Pane::Audit);
    view.rows.iter().map(|&i| s.data.audit[i].seq).collect()
}

/// A console whose store tail holds records 101 to 110, on the Audit pane.
fn audit_pane() -> AppState {
    let mut s = state();
    update(&mut s, loaded(records(101..=110)));
    update(&mut s, Msg::Command(Command::FocusAudit));
    s
}

#[test]
fn the_oldest_row_asks_once_for_the_page_before_it() {
    let mut s = audit_pane();
    assert!(update(&mut s, Msg::Command(Command::MoveDown)).is_empty());
    assert_eq!(
        update(&mut s, Msg::Command(Command::Bottom)),
        [Effect::LoadAuditPage { before: 101 }]
    );
    assert!(
        update(&mut s, Msg::Command(Command::MoveDown)).is_empty(),
        "asked already"
    );
}

#[test]
fn oldest_first_the_last_row_is_the_newest_and_asks_for_nothing() {
    let mut s = audit_pane();
    update(&mut s, Msg::Command(Command::SortReverse));
    assert_eq!(shown(&s).first(), Some(&101));
    assert!(update(&mut s, Msg::Command(Command::Bottom)).is_empty());
}

#[test]
fn a_page_joins_the_pane_and_stays_through_the_next_refresh() {
    let mut s = audit_pane();
    update(&mut s, Msg::Command(Command::Bottom));
    update(
        &mut s,
        Msg::AuditPageLoaded {
            before: 101,
            page: Ok(records(1..=100)),
        },
    );
    assert_eq!(shown(&s), (1..=110).rev().collect::<Vec<_>>());
    // The selection stays on the row the operator scrolled to.
    let view = s.view(Pane::Audit);
    assert_eq!(s.data.audit[view.rows[view.selected]].seq, 101);

    // The next refresh reads the newest records again, one more of them.
    update(&mut s, loaded(records(102..=111)));
    assert_eq!(shown(&s), (1..=111).rev().collect::<Vec<_>>());
    // A short page is the start of the log: nothing more to ask for.
    assert!(update(&mut s, Msg::Command(Command::Bottom)).is_empty());
}

#[test]
fn a_page_that_cannot_be_read_says_why_and_can_be_asked_again() {
    let mut s = audit_pane();
    update(&mut s, Msg::Command(Command::Bottom));
    update(
        &mut s,
        Msg::AuditPageLoaded {
            before: 101,
            page: Err("the store is not open".into()),
        },
    );
    assert_eq!(
        s.notice.as_deref(),
        Some("older audit records not read: the store is not open")
    );
    assert_eq!(shown(&s).len(), 10);
    assert_eq!(
        update(&mut s, Msg::Command(Command::Bottom)),
        [Effect::LoadAuditPage { before: 101 }]
    );
}

#[test]
fn a_page_not_asked_for_is_dropped() {
    let mut s = audit_pane();
    update(
        &mut s,
        Msg::AuditPageLoaded {
            before: 101,
            page: Ok(records(1..=100)),
        },
    );
    assert_eq!(shown(&s).len(), 10);
}

#[test]
fn older_records_are_bounded_and_the_newest_of_them_kept() {
    let mut pages = AuditPages::default();
    let page = i64::try_from(AUDIT_PAGE).unwrap();
    let mut before = 1_000_000;
    while !pages.complete {
        pages.loading = Some(before);
        assert!(pages.take(before, records(before - page..=before - 1)));
        before -= page;
    }
    assert_eq!(pages.older.len(), MAX_OLDER_AUDIT);
    assert_eq!(pages.older.last().map(|row| row.seq), Some(999_999));
}
