//! Which row is which from one poll to the next.
//!
//! A poll replaces a source's rows wholesale and the views re-sort them, so a row's position
//! means nothing a moment later. What stays is its identity: the source that reported it and
//! the key that source gives it. The selection follows a row by identity, and an action
//! records its target's identity and checks it again before it runs.

use chrono::{DateTime, Utc};

use crate::model::{AlertRow, AuditRow, HostRow, JobRow, SessionRow};

/// A row of one of the five panes, named by its source and its key within that source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowIdentity {
    pub source: String,
    pub key: RowKey,
}

/// What a source calls a row; the variant says which pane it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKey {
    Host {
        name: String,
    },
    /// Sessions carry no id every source shares; who, from where and since when tells two
    /// apart, while their state changes freely.
    Session {
        user: String,
        client: String,
        since: Option<DateTime<Utc>>,
    },
    Job {
        id: String,
    },
    /// By fingerprint where the source gives one (Prometheus, Alertmanager, ondeck's own);
    /// otherwise by what fires where.
    Alert {
        fingerprint: String,
        name: String,
        target: String,
    },
    Audit {
        seq: i64,
    },
}

/// A row that knows its identity.
pub trait Identified {
    fn source(&self) -> &str;

    fn key(&self) -> RowKey;

    /// Whether this row has `key`, without building its own (views compare thousands of rows).
    fn has_key(&self, key: &RowKey) -> bool;

    fn identity(&self) -> RowIdentity {
        RowIdentity {
            source: self.source().to_owned(),
            key: self.key(),
        }
    }

    fn is(&self, identity: &RowIdentity) -> bool {
        self.source() == identity.source && self.has_key(&identity.key)
    }
}

impl Identified for HostRow {
    fn source(&self) -> &str {
        &self.source
    }

    fn key(&self) -> RowKey {
        RowKey::Host {
            name: self.name.clone(),
        }
    }

    fn has_key(&self, key: &RowKey) -> bool {
        matches!(key, RowKey::Host { name } if *name == self.name)
    }
}

impl Identified for SessionRow {
    fn source(&self) -> &str {
        &self.source
    }

    fn key(&self) -> RowKey {
        RowKey::Session {
            user: self.user.clone(),
            client: self.client.clone(),
            since: self.since,
        }
    }

    fn has_key(&self, key: &RowKey) -> bool {
        matches!(key, RowKey::Session { user, client, since }
            if *user == self.user && *client == self.client && *since == self.since)
    }
}

impl Identified for JobRow {
    fn source(&self) -> &str {
        &self.source
    }

    fn key(&self) -> RowKey {
        RowKey::Job {
            id: self.id.clone(),
        }
    }

    fn has_key(&self, key: &RowKey) -> bool {
        matches!(key, RowKey::Job { id } if *id == self.id)
    }
}

impl Identified for AlertRow {
    fn source(&self) -> &str {
        &self.source
    }

    fn key(&self) -> RowKey {
        if self.fingerprint.is_empty() {
            RowKey::Alert {
                fingerprint: String::new(),
                name: self.name.clone(),
                target: self.target.clone(),
            }
        } else {
            RowKey::Alert {
                fingerprint: self.fingerprint.clone(),
                name: String::new(),
                target: String::new(),
            }
        }
    }

    fn has_key(&self, key: &RowKey) -> bool {
        match key {
            RowKey::Alert {
                fingerprint,
                name,
                target,
            } => {
                *fingerprint == self.fingerprint
                    && (!fingerprint.is_empty() || (*name == self.name && *target == self.target))
            }
            _ => false,
        }
    }
}

impl Identified for AuditRow {
    fn source(&self) -> &str {
        &self.source
    }

    fn key(&self) -> RowKey {
        RowKey::Audit { seq: self.seq }
    }

    fn has_key(&self, key: &RowKey) -> bool {
        matches!(key, RowKey::Audit { seq } if *seq == self.seq)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{AlertState, HostStatus, Severity};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    #[test]
    fn a_host_is_its_source_and_name_whatever_it_reports() {
        let up = HostRow::checked("prod", "db-1", "http", HostStatus::Up, t0());
        let down = HostRow {
            latency_ms: Some(900),
            ..HostRow::checked("prod", "db-1", "http", HostStatus::Down, t0())
        };
        assert!(down.is(&up.identity()));
        let other_source = HostRow::checked("dev", "db-1", "http", HostStatus::Up, t0());
        assert!(!other_source.is(&up.identity()));
        let other_name = HostRow::checked("prod", "db-2", "http", HostStatus::Up, t0());
        assert!(!other_name.is(&up.identity()));
    }

    #[test]
    fn an_alert_with_a_fingerprint_is_known_by_it_and_one_without_by_name_and_target() {
        let alert = |name: &str, target: &str, fingerprint: &str| AlertRow {
            fingerprint: fingerprint.to_owned(),
            state: AlertState::Pending,
            ..AlertRow::raised("prom", name, Severity::Warning, target, "", t0())
        };
        let fingerprinted = alert("DiskLow", "db-1", "00000000000000aa");
        assert!(alert("DiskLow", "db-2", "00000000000000aa").is(&fingerprinted.identity()));
        assert!(!alert("DiskLow", "db-1", "00000000000000bb").is(&fingerprinted.identity()));

        let plain = alert("DiskLow", "db-1", "");
        assert!(alert("DiskLow", "db-1", "").is(&plain.identity()));
        assert!(!alert("DiskLow", "db-2", "").is(&plain.identity()));
        assert!(!fingerprinted.is(&plain.identity()));
        assert!(!plain.is(&fingerprinted.identity()));
    }

    #[test]
    fn rows_of_different_panes_never_match() {
        let host = HostRow::checked("store", "1", "http", HostStatus::Up, t0());
        let job = JobRow {
            source: "store".into(),
            id: "1".into(),
            action: "backup".into(),
            target: "db".into(),
            operator: "alice".into(),
            state: "RUNNING".into(),
            progress: None,
            started: None,
            finished: None,
            result: None,
            observed_at: t0(),
        };
        assert!(!job.is(&host.identity()));
        assert!(!host.is(&job.identity()));
    }
}
