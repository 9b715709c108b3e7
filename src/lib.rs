//! ondeck: a terminal operations console.
//!
//! The file tree follows the concerns: `app` (the event loop), `msg` + `update` + `state`
//! (what happens, pure), `ui` (drawing, pure), `sources` (pollers), `store` (audit log and job
//! ledger), `config` (configuration, themes, keymaps).

pub mod config;
pub mod model;
pub mod msg;
pub mod state;
pub mod ui;
