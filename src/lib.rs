//! genesys-cloud-exporter: Genesys Cloud CX conversation aggregates as Prometheus metrics.
//!
//! One poll, followed through: a [`schedule::Poller`] wakes when an interval has
//! completed, asks the [`genesys::GenesysClient`] (token, budget, retries) for the
//! aggregates, [`mapping`] turns the answer into metric families, and the
//! [`snapshot::SnapshotStore`] encodes them once and swaps them in. The [`server`] only
//! ever reads that snapshot. See ARCHITECTURE.md for the whole picture.

pub mod cli;
pub mod config;
pub mod conventions;
pub mod exposition;
pub mod genesys;
pub mod gzip;
pub mod interval;
pub mod mapping;
pub mod plan;
pub mod platform;
pub mod schedule;
pub mod series;
pub mod server;
pub mod simulator;
pub mod snapshot;
pub mod telemetry;
pub mod web;

/// The filter moved into the config folder; the old path stays for callers.
pub use config::filter;

/// The git revision the binary was built from (set by build.rs), for `build_info`.
pub const REVISION: &str = match option_env!("GENESYS_EXPORTER_REVISION") {
    Some(revision) => revision,
    None => "unknown",
};
