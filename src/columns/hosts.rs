use super::format::{age, percent};
use super::{Column, Field, Table, Width, or_dash, unknown_last};
use crate::config::theme::Role;
use crate::model::{HostRow, HostStatus, Sealed};
use crate::state::{AppState, Data};

pub fn status_role(status: HostStatus) -> Role {
    match status {
        HostStatus::Up => Role::StatusUp,
        HostStatus::Degraded => Role::StatusDegraded,
        HostStatus::Down => Role::StatusDown,
        HostStatus::Stale => Role::StatusStale,
        HostStatus::Unknown => Role::StatusUnknown,
    }
}

/// The status as shown. A sealed OpenBao node says so with its unseal progress (`sealed 1/3`):
/// at 3 a.m. that is the one thing the operator needs from that row.
fn status_text(host: &HostRow, status: HostStatus) -> String {
    match host.sealed().filter(|_| status != HostStatus::Stale) {
        None => status.as_str().to_owned(),
        Some(Sealed {
            progress: Some(progress),
            threshold: Some(threshold),
        }) => format!("sealed {progress}/{threshold}"),
        Some(_) => "sealed".to_owned(),
    }
}

/// On the smallest dashboard (120 columns) a host's version outlasts its kind and age: a
/// release environment's row says nothing else.
impl Table for HostRow {
    const COLUMNS: &'static [Column<HostRow>] = &[
        Column::new(
            "NAME",
            Width::grow(14, 1, 9),
            |_, h| Field::plain(h.name.as_str()),
            |_, a, b| a.name.cmp(&b.name),
        ),
        Column::new(
            "KIND",
            Width::fixed(8, 3),
            |_, h| Field::plain(h.kind.as_str()),
            |_, a, b| a.kind.cmp(&b.kind),
        ),
        Column::new(
            "STATUS",
            Width::fixed(10, 8),
            |state, h| {
                let status = state.host_status(h);
                Field::styled(status_text(h, status), status_role(status))
            },
            |state, a, b| state.host_status(a).cmp(&state.host_status(b)),
        )
        .ranked(|state| {
            let mut stale = state.stale_check();
            Box::new(move |h| stale.host_status(h) as i64)
        }),
        Column::measured(
            "LATENCY",
            Width::number(7, 1),
            |_, h| or_dash(h.latency_ms, |ms| format!("{ms}ms")),
            |_, a, b| unknown_last(a.latency_ms, b.latency_ms),
        ),
        Column::measured(
            "CPU",
            Width::number(4, 6),
            |_, h| Field::plain(percent(h.cpu_pct)),
            |_, a, b| unknown_last(a.cpu_pct, b.cpu_pct),
        ),
        Column::measured(
            "MEM",
            Width::number(4, 6),
            |_, h| Field::plain(percent(h.mem_pct)),
            |_, a, b| unknown_last(a.mem_pct, b.mem_pct),
        ),
        Column::measured(
            "DISK",
            Width::number(4, 6),
            |_, h| Field::plain(percent(h.disk_pct)),
            |_, a, b| unknown_last(a.disk_pct, b.disk_pct),
        ),
        Column::new(
            "VERSION",
            Width::grow(10, 1, 4),
            |_, h| Field::plain(h.version.as_deref().unwrap_or("-")),
            |_, a, b| unknown_last(a.version.as_ref(), b.version.as_ref()),
        ),
        Column::measured(
            "AGE",
            Width::number(4, 2),
            |state, h| Field::plain(age(state.now, h.observed_at)),
            |_, a, b| b.observed_at.cmp(&a.observed_at),
        ),
    ];
    // Worst status first.
    const DEFAULT_SORT: (&'static str, bool) = ("STATUS", false);

    fn rows(data: &Data) -> &[HostRow] {
        &data.hosts
    }

    type TieKey<'a> = &'a str;

    fn tie_key(&self) -> &str {
        &self.name
    }

    fn also_matched(&self) -> &str {
        &self.source
    }

    fn is_stale(&self, state: &AppState) -> bool {
        state.host_status(self) == HostStatus::Stale
    }
}
