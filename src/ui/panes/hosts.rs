use super::{Column, Field};
use crate::config::theme::Role;
use crate::model::{HostRow, HostStatus, Sealed};
use crate::state::AppState;
use crate::ui::text;

/// NAME KIND STATUS LATENCY CPU MEM DISK VERSION AGE
pub(super) const COLUMNS: [Column; 9] = [
    Column::grow(14, 1, 9),
    Column::fixed(8, 5),
    Column::fixed(10, 8),
    Column::number(7, 3),
    Column::number(4, 6),
    Column::number(4, 6),
    Column::number(4, 6),
    Column::grow(10, 1, 2),
    Column::number(4, 7),
];

pub(in crate::ui) fn status_role(status: HostStatus) -> Role {
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

pub(super) fn fields(state: &AppState, row: usize) -> (Vec<Field<'_>>, bool) {
    let Some(host) = state.data.hosts.get(row) else {
        return (Vec::new(), false);
    };
    let status = state.host_status(host);
    let fields = vec![
        Field::plain(host.name.as_str()),
        Field::plain(host.kind.as_str()),
        Field::styled(status_text(host, status), status_role(status)),
        Field::plain(
            host.latency_ms
                .map_or_else(|| "-".to_owned(), |ms| format!("{ms}ms")),
        ),
        Field::plain(text::percent(host.cpu_pct)),
        Field::plain(text::percent(host.mem_pct)),
        Field::plain(text::percent(host.disk_pct)),
        Field::plain(host.version.as_deref().unwrap_or("-")),
        Field::plain(text::age(state.now, host.observed_at)),
    ];
    (fields, status == HostStatus::Stale)
}
