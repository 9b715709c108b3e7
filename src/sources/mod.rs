//! The pollers and their supervisor.
//!
//! Each configured source runs as its own task: poll, report a [`Msg::SourcePolled`](crate::msg::Msg::SourcePolled), sleep
//! until the next slot (measured from the start of the poll, so slow polls do not make the
//! schedule drift), and back off exponentially while it keeps failing. A poll that outlives its
//! `timeout` is cancelled and reported as an error; one source never holds up another, and a
//! shared semaphore bounds how many polls run at once.
//!
//! Every kind of source lives in its own file (`local.rs`, …) as a struct built from its spec
//! that implements [`Poller`]. [`SourcePoller`] (in `kinds.rs`) dispatches over them, so adding
//! a kind is one new file plus one arm in [`SourcePoller::new`] and [`SourcePoller::poll`]. The
//! supervisor is `supervisor.rs`, the one-shot round of `ondeck snapshot` `poll_once.rs`, the
//! error a poll fails with `error.rs`, and what keeps latency figures steady through jitter
//! `steady_latency.rs`.

pub mod alerting;
pub mod alertmanager;
mod error;
pub mod fetch;
pub mod http;
pub mod kasm;
mod kinds;
pub mod local;
pub mod openbao;
mod poll_once;
pub mod postgres;
pub mod prometheus;
pub mod proxmox;
pub mod release;
mod steady_latency;
mod supervisor;

pub use alertmanager::AlertmanagerPoller;
pub use error::SourceError;
pub use http::HttpPoller;
pub use kasm::KasmPoller;
pub use kinds::{Poller, SharedClients, SourcePoller};
pub use local::LocalPoller;
pub use openbao::OpenBaoPoller;
pub use poll_once::{PollReport, poll_once_all};
pub use postgres::PostgresPoller;
pub use prometheus::PrometheusPoller;
pub use proxmox::ProxmoxPoller;
pub use release::ReleasePoller;
pub use supervisor::{MAX_CONCURRENT_POLLS, Pollers, backoff_delay};
