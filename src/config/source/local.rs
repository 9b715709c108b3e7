//! `kind = "local"`: this machine against the capacity table.

use crate::config::diagnostics::{Problems, Table};

/// Thresholds for the local host, from the capacity table: CPU < 70 %, > 6 GiB RAM free,
/// > 20 % disk free. Keys: `cpu_max_pct`, `mem_free_min_gib`, `disk_free_min_pct`.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSource {
    pub cpu_max_pct: f64,
    pub mem_free_min_bytes: u64,
    pub disk_free_min_pct: f64,
}

impl Default for LocalSource {
    fn default() -> Self {
        LocalSource {
            cpu_max_pct: 70.0,
            mem_free_min_bytes: 6 * 1024 * 1024 * 1024,
            disk_free_min_pct: 20.0,
        }
    }
}

pub(super) fn read_local(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> LocalSource {
    let defaults = LocalSource::default();
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    LocalSource {
        cpu_max_pct: table
            .number(
                problems,
                "cpu_max_pct",
                0.0..=100.0,
                "a percentage such as 70",
            )
            .unwrap_or(defaults.cpu_max_pct),
        mem_free_min_bytes: table
            .number(
                problems,
                "mem_free_min_gib",
                0.0..=1_048_576.0,
                "GiB of free memory such as 6",
            )
            .map_or(defaults.mem_free_min_bytes, |gib| (gib * GIB) as u64),
        disk_free_min_pct: table
            .number(
                problems,
                "disk_free_min_pct",
                0.0..=100.0,
                "a percentage such as 20",
            )
            .unwrap_or(defaults.disk_free_min_pct),
    }
}
