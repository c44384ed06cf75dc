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
pub mod healthcheck;
pub mod history;
pub mod interval;
pub mod mapping;
pub mod plan;
pub mod platform;
pub mod reload;
pub mod schedule;
pub mod series;
pub mod server;
pub mod simulator;
pub mod snapshot;
pub mod telemetry;
pub mod web;
mod world;

/// What the binary was built from (set by build.rs), for `--version` and `build_info`.
pub mod build {
    /// The crate version.
    pub const VERSION: &str = env!("CARGO_PKG_VERSION");
    /// The git revision, or "unknown" outside a git checkout.
    pub const REVISION: &str = env!("GENESYS_EXPORTER_REVISION");
    /// The git branch, or "unknown".
    pub const BRANCH: &str = env!("GENESYS_EXPORTER_BRANCH");
    /// `rustc --version` of the compiler that built it.
    pub const RUSTC_VERSION: &str = env!("GENESYS_EXPORTER_RUSTC_VERSION");
    /// UTC, `YYYYMMDD-HH:MM:SS` (`SOURCE_DATE_EPOCH` when set).
    pub const DATE: &str = env!("GENESYS_EXPORTER_BUILD_DATE");
    /// The target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub const TARGET: &str = env!("GENESYS_EXPORTER_TARGET");
    /// `--version`, in the layout of the Prometheus tools.
    pub const LONG_VERSION: &str = concat!(
        env!("CARGO_PKG_VERSION"),
        " (branch: ",
        env!("GENESYS_EXPORTER_BRANCH"),
        ", revision: ",
        env!("GENESYS_EXPORTER_REVISION"),
        ")\n  build date:       ",
        env!("GENESYS_EXPORTER_BUILD_DATE"),
        "\n  rustc version:    ",
        env!("GENESYS_EXPORTER_RUSTC_VERSION"),
        "\n  platform:         ",
        env!("GENESYS_EXPORTER_TARGET"),
    );
}
