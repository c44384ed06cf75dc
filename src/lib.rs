//! genesys-cloud-exporter: Genesys Cloud CX conversation aggregates as Prometheus metrics.

pub mod config;
pub mod interval;
pub mod simulator;
