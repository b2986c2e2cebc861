//! End-to-end tests, one binary (see wasmtime's `tests/all`): the host library and the real
//! plugins against the sandbox trackers and hostile fixtures.

mod ado;
mod ado_fidelity;
mod bench;
mod browser;
mod checks;
mod cli;
mod contracts;
mod daemon;
mod demo;
mod faults;
mod hr_csv;
mod jira;
mod jira_client;
mod plugin_kit;
mod postgres;
mod reports;
mod rest_json;
mod sandboxing;
mod scale_out;
mod sync;
