//! ondeck: a terminal operations console.
//!
//! The file tree follows the concerns: `app` (the event loop), `msg` + `update` + `state`
//! (what happens, pure), `columns` (each pane's columns: header, width, cell, sort key), `ui`
//! (drawing, pure), `terminal` (the screen it draws on), `sources` (pollers), `store` (audit
//! log and job ledger), `identity` (who the operator is), `row_identity` (which row is which
//! from one poll to the next), `config` (configuration, themes,
//! keymaps), `snapshot`, `audit_cmd`, `run_cmd` and `backups_cmd` (the non-interactive
//! commands), `printable` (text from other systems made safe to print), `allocator` (the memory
//! allocator the binary runs on). `job_log` is a job's log as the console holds it.

pub mod actions;
pub mod allocator;
pub mod app;
pub mod audit_cmd;
pub mod backups_cmd;
pub mod columns;
pub mod config;
#[cfg(test)]
mod fuzzing;
pub mod identity;
pub mod job_log;
pub mod model;
pub mod msg;
pub mod printable;
pub mod process;
pub mod row_identity;
pub mod run_cmd;
pub mod secret_text;
pub mod snapshot;
pub mod source_rows;
pub mod sources;
pub mod state;
pub mod store;
pub mod terminal;
pub mod ui;
pub mod update;
