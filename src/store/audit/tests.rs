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
