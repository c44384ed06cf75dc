//! The command line: flags (exporter-toolkit style), environment variables, credentials,
//! logging, and exit codes.
//!
//! Every flag can also be set from an environment variable (shown in `--help`). The
//! OAuth credentials are deliberately not flags, whose values show up in `ps` and shell
//! histories: they come from `GENESYS_CLIENT_ID` / `GENESYS_CLIENT_SECRET` (or the names
//! Genesys' own tools use, `GENESYSCLOUD_OAUTHCLIENT_ID` / `_SECRET`) or from the files
//! named by `--genesys.client-id-file` / `--genesys.client-secret-file`.
//!
//! Exit status: 0 after a clean shutdown, 2 for bad input (flags, config, credentials),
//! 1 when the exporter cannot run (a port already in use).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::conventions::parse_size;
use crate::genesys::ApiError;
use crate::genesys::auth::{CredentialSource, Credentials, Secret};
use crate::web::ListenAddress;

/// Environment variable holding the OAuth client id.
pub const CLIENT_ID_VAR: &str = "GENESYS_CLIENT_ID";
/// Environment variable holding the OAuth client secret.
pub const CLIENT_SECRET_VAR: &str = "GENESYS_CLIENT_SECRET";
/// The names Genesys' own tools (CLI, Terraform provider, SDK examples) use for the
/// client id, secret and region; read when ours are not set.
pub const GENESYSCLOUD_CLIENT_ID_VAR: &str = "GENESYSCLOUD_OAUTHCLIENT_ID";
pub const GENESYSCLOUD_CLIENT_SECRET_VAR: &str = "GENESYSCLOUD_OAUTHCLIENT_SECRET";
pub const GENESYSCLOUD_REGION_VAR: &str = "GENESYSCLOUD_REGION";
/// Our environment variable for `--genesys.region`.
pub const REGION_VAR: &str = "GENESYS_REGION";
/// The region when neither the flag nor a variable names one.
const DEFAULT_REGION: &str = "us_east_1";

/// Prometheus exporter for Genesys Cloud CX conversation aggregates (queues, media types,
/// handle times, service level).
#[derive(Debug, Parser)]
#[command(name = "genesys-cloud-exporter", version, long_version = crate::build::LONG_VERSION, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub exporter: ExporterArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Subcommands besides the exporter itself.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run only the built-in Genesys Cloud API simulator (for tests and for people building on the exporter).
    Simulate(SimulateArgs),
    /// Exit 0 when a running exporter's /-/healthy answers 200, 1 otherwise: a container HEALTHCHECK without a shell or curl.
    Healthcheck(HealthcheckArgs),
    /// Print the interval report of a date range (table, CSV or JSON Lines), from the same config and API as the exporter.
    Report {
        #[command(flatten)]
        report: crate::history::ReportArgs,
        #[command(flatten)]
        exporter: ExporterArgs,
    },
    /// Write past intervals as OpenMetrics for promtool tsdb create-blocks-from openmetrics: the live series, backdated.
    Backfill {
        #[command(flatten)]
        backfill: crate::history::BackfillArgs,
        #[command(flatten)]
        exporter: ExporterArgs,
    },
}

/// Flags of the healthcheck subcommand.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// URL to check; https:// when the exporter serves TLS.
    #[arg(long = "url", default_value = "http://127.0.0.1:9471/-/healthy")]
    pub url: String,
    /// PEM file of the CA that signed the exporter's certificate (besides the system's).
    #[arg(long = "ca-file")]
    pub ca_file: Option<PathBuf>,
    /// PEM file with a client certificate and its key, when the exporter requires one.
    #[arg(long = "client-cert-file")]
    pub client_cert_file: Option<PathBuf>,
    /// How long to wait for the answer.
    #[arg(long = "timeout", default_value = "5s", value_parser = parse_nonzero_duration)]
    pub timeout: Duration,
}

/// Flags of the exporter.
#[derive(Debug, Args)]
pub struct ExporterArgs {
    /// Address to listen on for the web interface and telemetry; repeat for several. ":9471" listens on every IPv6 and IPv4 interface (IPv4 only where the host has no IPv6).
    #[arg(
        long = "web.listen-address",
        env = "GENESYS_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = ":9471",
        value_delimiter = ','
    )]
    pub listen_addresses: Vec<String>,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        env = "GENESYS_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        value_parser = parse_telemetry_path
    )]
    pub telemetry_path: String,

    /// Web config file (exporter-toolkit format) enabling TLS, basic authentication and response headers; re-read on reload, its certificate files watched.
    #[arg(long = "web.config.file", env = "GENESYS_EXPORTER_WEB_CONFIG_FILE")]
    pub web_config_file: Option<PathBuf>,

    /// Enable POST /-/reload (as Prometheus' flag does); without it /-/reload answers 403. SIGHUP reloads either way.
    #[arg(
        long = "web.enable-lifecycle",
        env = "GENESYS_EXPORTER_WEB_ENABLE_LIFECYCLE"
    )]
    pub enable_lifecycle: bool,

    /// Maximum number of simultaneous connections (1 to 100000); further ones wait until one closes.
    #[arg(
        long = "web.max-connections",
        env = "GENESYS_EXPORTER_WEB_MAX_CONNECTIONS",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..=100_000)
    )]
    pub max_connections: u32,

    /// Time a client has to send a complete request head (and TLS handshake); slower connections are closed.
    #[arg(
        long = "web.read-header-timeout",
        env = "GENESYS_EXPORTER_WEB_READ_HEADER_TIMEOUT",
        default_value = "10s",
        value_parser = parse_header_timeout
    )]
    pub read_header_timeout: Duration,

    /// YAML file of the aggregate queries to poll; without it, one built-in query by queue, media type and direction.
    #[arg(long = "config.file", env = "GENESYS_EXPORTER_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Genesys Cloud region key (eu_west_1 or eu-west-1, ...) or host (mypurecloud.ie, ...); also GENESYSCLOUD_REGION; default us_east_1.
    #[arg(long = "genesys.region", env = "GENESYS_REGION")]
    pub region: Option<String>,

    /// Base URL of the Genesys API, overriding the region (private deployments, proxies, tests).
    #[arg(long = "genesys.api-url", env = "GENESYS_API_URL")]
    pub api_url: Option<String>,

    /// Base URL of the Genesys login (OAuth) server, overriding the region.
    #[arg(long = "genesys.login-url", env = "GENESYS_LOGIN_URL")]
    pub login_url: Option<String>,

    /// File holding the OAuth client id (instead of GENESYS_CLIENT_ID); re-read at each token renewal.
    #[arg(long = "genesys.client-id-file", env = "GENESYS_CLIENT_ID_FILE")]
    pub client_id_file: Option<PathBuf>,

    /// File holding the OAuth client secret (instead of GENESYS_CLIENT_SECRET); re-read at each token renewal.
    #[arg(
        long = "genesys.client-secret-file",
        env = "GENESYS_CLIENT_SECRET_FILE"
    )]
    pub client_secret_file: Option<PathBuf>,

    /// API requests per minute the exporter may spend, retries included (Genesys allows 300 per token, often shared).
    #[arg(
        long = "genesys.requests-per-minute",
        env = "GENESYS_REQUESTS_PER_MINUTE",
        default_value_t = NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN)
    )]
    pub requests_per_minute: NonZeroU32,

    /// How often to re-read the names of queues, users, wrap-up codes and the other ids queries group by (old name: --genesys.queue-names-refresh).
    #[arg(
        long = "genesys.names-refresh",
        alias = "genesys.queue-names-refresh",
        env = "GENESYS_NAMES_REFRESH",
        default_value = "10m",
        value_parser = parse_nonzero_duration
    )]
    pub names_refresh: Duration,

    /// Limit on one API request, from sending it to the last byte of the answer.
    #[arg(
        long = "genesys.request-timeout",
        env = "GENESYS_REQUEST_TIMEOUT",
        default_value = "60s",
        value_parser = parse_nonzero_duration
    )]
    pub request_timeout: Duration,

    /// Limit on connecting to Genesys (TCP and TLS), within the request timeout; an unreachable host fails fast and is retried.
    #[arg(
        long = "genesys.connect-timeout",
        env = "GENESYS_CONNECT_TIMEOUT",
        default_value = "10s",
        value_parser = parse_nonzero_duration
    )]
    pub connect_timeout: Duration,

    /// Largest API response accepted, in bytes (suffixes KiB, MiB, GiB); a larger one is refused while it streams in, never held whole.
    #[arg(
        long = "genesys.max-response-size",
        env = "GENESYS_MAX_RESPONSE_SIZE",
        default_value = "512MiB",
        value_parser = parse_size
    )]
    pub max_response_size: usize,

    /// Wait before re-polling after a failed poll; doubles with each further failure, never past the next regular poll.
    #[arg(
        long = "poll.retry-delay",
        env = "GENESYS_EXPORTER_POLL_RETRY_DELAY",
        default_value = "30s",
        value_parser = parse_nonzero_duration
    )]
    pub poll_retry_delay: Duration,

    /// The heartbeat interval of the Notifications API's sockets (Genesys: 30s); only a test against a simulator with a shorter one changes it.
    #[arg(
        long = "push.heartbeat-interval",
        env = "GENESYS_EXPORTER_PUSH_HEARTBEAT_INTERVAL",
        default_value = "30s",
        value_parser = parse_nonzero_duration
    )]
    pub push_heartbeat_interval: Duration,

    /// Heartbeat intervals without a heartbeat after which a push socket is taken for dead and reopened.
    #[arg(
        long = "push.heartbeat-misses",
        env = "GENESYS_EXPORTER_PUSH_HEARTBEAT_MISSES",
        default_value = "3",
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub push_heartbeat_misses: u32,

    /// Notification channels the exporter may hold, one of them kept for handovers (Genesys allows 20 an OAuth client; lower it when another program pushes with the same client).
    #[arg(
        long = "push.max-channels",
        env = "GENESYS_EXPORTER_PUSH_MAX_CHANNELS",
        default_value = "20",
        value_parser = clap::value_parser!(u32).range(2..=20)
    )]
    pub push_max_channels: u32,

    /// Validate --config.file (and --web.config.file), print the request plan and exit: 0 when it is fine, 2 with the errors start-up would give. No network.
    #[arg(long = "config.check")]
    pub config_check: bool,

    /// Poll the built-in simulator instead of Genesys Cloud: no credentials needed, the data is synthetic.
    #[arg(long = "demo", env = "GENESYS_EXPORTER_DEMO")]
    pub demo: bool,
}

/// Flags of the simulator subcommand.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address for the simulated API and login server.
    #[arg(long = "listen-address", default_value = "127.0.0.1:9472")]
    pub listen_address: SocketAddr,
    /// Number of simulated queues.
    #[arg(long = "queues", default_value_t = 8)]
    pub queues: usize,
    /// Number of simulated agents (`userId` values).
    #[arg(long = "users", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    pub users: u32,
    /// Number of media types served (1 to 5: voice, chat, email, message, callback).
    #[arg(long = "media-types", default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub media_types: u8,
    /// Peak traffic at every hour, so series counts do not depend on the time of day (benchmarks).
    #[arg(long = "busy-all-day")]
    pub busy_all_day: bool,
    /// Lifetime of the access tokens it issues.
    #[arg(long = "token-lifetime", default_value = "24h", value_parser = humantime::parse_duration)]
    pub token_lifetime: Duration,
    /// Per-token rate limit, as Genesys enforces it.
    #[arg(long = "requests-per-minute", default_value_t = 300)]
    pub requests_per_minute: u32,
    /// Seed of the synthetic traffic.
    #[arg(long = "seed", default_value_t = 1)]
    pub seed: u64,
    /// Most predicates an aggregates filter may carry before the query is a 400 (0: no cap).
    #[arg(long = "max-predicates", default_value_t = crate::simulator::DEFAULT_MAX_PREDICATES)]
    pub max_predicates: usize,
    /// Inject a fault, ENDPOINT:KIND[:WHEN], e.g. aggregates:503:rate=0.2, api:429/30:count=5, token:503:for=2m, aggregates:huge=300MiB; repeatable.
    #[arg(long = "fault")]
    pub faults: Vec<crate::simulator::FaultRule>,
    /// Run the simulated API's clock this far ahead of this host's (e.g. 5m, or -5m for behind).
    #[arg(long = "clock-skew", value_parser = parse_skew, allow_hyphen_values = true)]
    pub clock_skew: Option<chrono::TimeDelta>,
}

/// A signed duration: `5m` ahead, `-5m` behind.
fn parse_skew(text: &str) -> Result<chrono::TimeDelta, String> {
    let (sign, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let duration = humantime::parse_duration(magnitude).map_err(|err| err.to_string())?;
    chrono::TimeDelta::from_std(duration)
        .map(|delta| delta * sign)
        .map_err(|err| err.to_string())
}

/// Logging flags, shared by the exporter and the simulator.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", env = "GENESYS_EXPORTER_LOG_LEVEL", value_enum, default_value_t = LogLevel::Info, global = true)]
    pub level: LogLevel,
    /// Output format of log messages.
    #[arg(long = "log.format", env = "GENESYS_EXPORTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Logfmt, global = true)]
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

fn parse_telemetry_path(text: &str) -> Result<String, String> {
    let reserved = ["/", "/-/healthy", "/-/ready", "/-/reload"];
    if !text.starts_with('/') {
        Err(format!("{text:?} must start with '/'"))
    } else if reserved.contains(&text) {
        Err(format!(
            "{text:?} is taken by the landing page, a probe or /-/reload"
        ))
    } else {
        Ok(text.to_string())
    }
}

/// A header timeout: above zero, and at most an hour (longer makes no sense and would
/// overflow deadline arithmetic for absurd values).
fn parse_header_timeout(text: &str) -> Result<Duration, String> {
    const MAX: Duration = Duration::from_secs(3600);
    let duration = parse_nonzero_duration(text)?;
    if duration > MAX {
        return Err(format!("{text:?} is over the maximum of 1h"));
    }
    Ok(duration)
}

/// A humantime duration that is not zero. Many tools read `0` as "off"; here a zero
/// refresh period would spend the whole API budget on queue names and a zero timeout
/// would fail every request, so it is refused at start-up instead.
fn parse_nonzero_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|err| err.to_string())?;
    if duration.is_zero() {
        return Err(format!(
            "{text:?} is zero; give a positive duration such as 30s or 10m"
        ));
    }
    Ok(duration)
}

/// Why the exporter stopped, and so its exit status.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Flags, config or credentials are wrong: exit status 2.
    #[error("{0}")]
    BadInput(String),
    /// The exporter cannot run here: exit status 1.
    #[error("{0}")]
    Runtime(String),
}

impl From<crate::history::HistoryError> for Failure {
    fn from(err: crate::history::HistoryError) -> Failure {
        match err {
            crate::history::HistoryError::BadInput(message) => Failure::BadInput(message),
            crate::history::HistoryError::Runtime(message) => Failure::Runtime(message),
            closed @ crate::history::HistoryError::OutputClosed => {
                Failure::Runtime(closed.to_string())
            }
        }
    }
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::BadInput(_) => ExitCode::from(2),
            Failure::Runtime(_) => ExitCode::from(1),
        }
    }
}

/// The region: `--genesys.region` (or `GENESYS_REGION`), else `GENESYSCLOUD_REGION`,
/// else us_east_1. The log says which was used.
pub fn region_from(args: &ExporterArgs, env: impl Fn(&str) -> Option<String>) -> String {
    let (region, source) = match &args.region {
        Some(region) => (region.clone(), "--genesys.region or GENESYS_REGION"),
        None => match env(GENESYSCLOUD_REGION_VAR).filter(|v| !v.trim().is_empty()) {
            Some(region) => (region, GENESYSCLOUD_REGION_VAR),
            None => (DEFAULT_REGION.to_string(), "default"),
        },
    };
    tracing::info!(region = %region, from = source, "Genesys region");
    region
}

/// Where the credentials come from: a file flag wins over our environment variable,
/// which wins over the one Genesys' own tools use (`GENESYSCLOUD_OAUTHCLIENT_*`); the log
/// names the source of each part (never its value). Both parts are read once here so
/// that a missing or unreadable secret stops start-up with a clear message instead of
/// failing at the first poll.
pub fn credentials_from(
    args: &ExporterArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, Failure> {
    let source = |file: &Option<PathBuf>, vars: [&'static str; 2], what: &str| {
        if let Some(path) = file {
            tracing::info!(from = %path.display(), "OAuth {what} read from a file");
            return Some(CredentialSource::File(path.clone()));
        }
        vars.into_iter().find_map(|var| {
            let value = env(var).filter(|value| !value.is_empty())?;
            tracing::info!(from = var, "OAuth {what} read from the environment");
            Some(CredentialSource::Value(Secret::new(value)))
        })
    };
    let client_id = source(
        &args.client_id_file,
        [CLIENT_ID_VAR, GENESYSCLOUD_CLIENT_ID_VAR],
        "client id",
    );
    let client_secret = source(
        &args.client_secret_file,
        [CLIENT_SECRET_VAR, GENESYSCLOUD_CLIENT_SECRET_VAR],
        "client secret",
    );
    let (client_id, client_secret) = match (client_id, client_secret) {
        (Some(id), Some(secret)) => (id, secret),
        (id, secret) => {
            let missing: Vec<&str> = [
                id.is_none().then_some(
                    "GENESYS_CLIENT_ID (or GENESYSCLOUD_OAUTHCLIENT_ID, or --genesys.client-id-file)",
                ),
                secret.is_none().then_some(
                    "GENESYS_CLIENT_SECRET (or GENESYSCLOUD_OAUTHCLIENT_SECRET, or --genesys.client-secret-file)",
                ),
            ]
            .into_iter()
            .flatten()
            .collect();
            return Err(Failure::BadInput(format!(
                "missing Genesys Cloud OAuth credentials: set {}. To try the exporter without a Genesys org, run it with --demo.",
                missing.join(" and ")
            )));
        }
    };
    // Only a file can fail to read; its message names the file, and the flag that named
    // it is put in front so the user knows which setting to fix.
    for (source, what, flag) in [
        (&client_id, "client id", "--genesys.client-id-file"),
        (
            &client_secret,
            "client secret",
            "--genesys.client-secret-file",
        ),
    ] {
        source.read(what).map_err(|err| {
            let message = match err {
                ApiError::Credentials { message } => message,
                other => other.to_string(),
            };
            Failure::BadInput(format!("{flag}: {message}"))
        })?;
    }
    Ok(Credentials {
        client_id,
        client_secret,
    })
}

/// Resolves `--web.listen-address` values; `:PORT` means every interface, IPv6 and IPv4.
pub async fn listen_addresses(values: &[String]) -> Result<Vec<ListenAddress>, Failure> {
    let mut addresses = Vec::new();
    for value in values {
        let value = value.trim();
        let lookup = if let Some(port) = value.strip_prefix(':') {
            port.parse::<u16>()
                .map(|port| vec![ListenAddress::AllInterfaces(port)])
                .map_err(|err| err.to_string())
        } else {
            tokio::net::lookup_host(value)
                .await
                .map(|found| found.take(1).map(ListenAddress::Exact).collect())
                .map_err(|err| err.to_string())
        };
        match lookup {
            Ok(found) if !found.is_empty() => addresses.extend(found),
            Ok(_) => {
                return Err(Failure::BadInput(format!(
                    "--web.listen-address {value:?}: the host resolves to no address"
                )));
            }
            Err(err) => {
                return Err(Failure::BadInput(format!(
                    "--web.listen-address {value:?} is not HOST:PORT or :PORT ({err})"
                )));
            }
        }
    }
    Ok(addresses)
}

/// Installs the global logger. Logs go to standard error.
pub fn init_logging(log: &LogArgs) {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = match log.level {
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    };
    let registry = tracing_subscriber::registry().with(level);
    let result = match log.format {
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if let Err(err) = result {
        eprintln!("cannot install the logger: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn args(extra: &[&str]) -> ExporterArgs {
        let mut argv = vec!["genesys-cloud-exporter"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().exporter
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn simulator_org_flags_have_defaults_and_bounds() {
        let simulate = |extra: &[&str]| {
            let mut argv = vec!["genesys-cloud-exporter", "simulate"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                Some(Command::Simulate(args)) => (args.users, args.media_types, args.busy_all_day),
                _ => panic!("not the simulate subcommand"),
            })
        };
        assert_eq!(simulate(&[]).unwrap(), (40, 5, false));
        assert_eq!(
            simulate(&["--users", "900", "--media-types", "2", "--busy-all-day"]).unwrap(),
            (900, 2, true)
        );
        for bad in [
            ["--users", "0"],
            ["--media-types", "6"],
            ["--media-types", "0"],
        ] {
            let err = simulate(&bad).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad:?}"
            );
            assert!(err.to_string().contains(bad[0]), "{err}");
        }
    }

    #[test]
    fn missing_credentials_name_the_variables_and_demo() {
        let err = credentials_from(&args(&[]), env(&[])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("GENESYS_CLIENT_ID") && text.contains("GENESYS_CLIENT_SECRET"),
            "{text}"
        );
        assert!(text.contains("--demo"), "{text}");
        assert!(matches!(err, Failure::BadInput(_)));

        let err = credentials_from(&args(&[]), env(&[(CLIENT_ID_VAR, "id")])).unwrap_err();
        assert!(!err.to_string().contains("GENESYS_CLIENT_ID ("), "{err}");
    }

    #[test]
    fn credentials_from_environment_or_files() {
        let creds = credentials_from(
            &args(&[]),
            env(&[(CLIENT_ID_VAR, "id"), (CLIENT_SECRET_VAR, "secret")]),
        )
        .unwrap();
        assert_eq!(creds.client_secret.read("s").unwrap().expose(), "secret");

        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("secret");
        std::fs::write(&secret_file, "from-file\n").unwrap();
        let file_flag = secret_file.to_string_lossy().to_string();
        let creds = credentials_from(
            &args(&["--genesys.client-secret-file", &file_flag]),
            env(&[(CLIENT_ID_VAR, "id"), (CLIENT_SECRET_VAR, "from-env")]),
        )
        .unwrap();
        assert_eq!(creds.client_secret.read("s").unwrap().expose(), "from-file");

        let missing = dir.path().join("missing").to_string_lossy().to_string();
        let err = credentials_from(
            &args(&["--genesys.client-id-file", &missing]),
            env(&[(CLIENT_SECRET_VAR, "s")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(
            err.to_string().starts_with("--genesys.client-id-file: "),
            "{err}"
        );
        assert!(matches!(err, Failure::BadInput(_)));
    }

    #[test]
    fn genesys_tool_names_are_read_and_ours_win() {
        let theirs = env(&[
            (GENESYSCLOUD_CLIENT_ID_VAR, "their-id"),
            (GENESYSCLOUD_CLIENT_SECRET_VAR, "their-secret"),
            (GENESYSCLOUD_REGION_VAR, "eu-west-1"),
        ]);
        let creds = credentials_from(&args(&[]), &theirs).unwrap();
        assert_eq!(creds.client_id.read("i").unwrap().expose(), "their-id");
        assert_eq!(
            creds.client_secret.read("s").unwrap().expose(),
            "their-secret"
        );
        assert_eq!(region_from(&args(&[]), &theirs), "eu-west-1");

        let both = env(&[
            (GENESYSCLOUD_CLIENT_ID_VAR, "their-id"),
            (GENESYSCLOUD_CLIENT_SECRET_VAR, "their-secret"),
            (CLIENT_ID_VAR, "our-id"),
            (CLIENT_SECRET_VAR, "our-secret"),
            (GENESYSCLOUD_REGION_VAR, "eu-west-1"),
        ]);
        let creds = credentials_from(&args(&[]), &both).unwrap();
        assert_eq!(creds.client_id.read("i").unwrap().expose(), "our-id");
        assert_eq!(
            creds.client_secret.read("s").unwrap().expose(),
            "our-secret"
        );
        assert_eq!(
            region_from(&args(&["--genesys.region", "ca_central_1"]), &both),
            "ca_central_1"
        );
    }

    #[test]
    fn there_is_no_flag_for_a_secret_value() {
        let err = Cli::try_parse_from(["genesys-cloud-exporter", "--genesys.client-secret", "x"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(err.to_string().contains("--genesys.client-secret"), "{err}");
    }

    #[test]
    fn defaults_follow_the_exporter_conventions() {
        let parsed = args(&[]);
        assert_eq!(parsed.listen_addresses, vec![":9471"]);
        assert_eq!(parsed.telemetry_path, "/metrics");
        assert_eq!(parsed.requests_per_minute.get(), 60);
        assert_eq!(region_from(&parsed, env(&[])), "us_east_1");
        assert!(!parsed.demo);
        assert_eq!(parsed.web_config_file, None);
        assert_eq!(parsed.max_connections, 64);
        assert_eq!(parsed.read_header_timeout, Duration::from_secs(10));
        assert_eq!(parsed.names_refresh, Duration::from_secs(600));
    }

    #[test]
    fn the_queue_names_flag_still_sets_the_names_refresh() {
        let parsed = args(&["--genesys.queue-names-refresh", "90s"]);
        assert_eq!(parsed.names_refresh, Duration::from_secs(90));
        let parsed = args(&["--genesys.names-refresh", "2m"]);
        assert_eq!(parsed.names_refresh, Duration::from_secs(120));
    }

    #[test]
    fn bad_flag_values_are_refused() {
        for bad in [
            vec!["--web.telemetry-path", "metrics"],
            vec!["--web.telemetry-path", "/-/ready"],
            vec!["--genesys.requests-per-minute", "0"],
            vec!["--genesys.names-refresh", "soon"],
            vec!["--genesys.names-refresh", "0s"],
            vec!["--genesys.queue-names-refresh", "0s"],
            vec!["--genesys.request-timeout", "0"],
            vec!["--log.level", "loud"],
            vec!["--web.max-connections", "0"],
            vec!["--web.max-connections", "18446744073709551615"],
            vec!["--web.read-header-timeout", "0s"],
            vec!["--web.read-header-timeout", "2h"],
        ] {
            let mut argv = vec!["genesys-cloud-exporter"];
            argv.extend_from_slice(&bad);
            let err = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
            // Refused for its value, naming the flag: not for some other reason.
            assert!(
                matches!(
                    err.kind(),
                    clap::error::ErrorKind::ValueValidation | clap::error::ErrorKind::InvalidValue
                ),
                "{bad:?}: {:?} {err}",
                err.kind()
            );
            // The old name of a flag is refused under its current one.
            let named = match bad[0] {
                "--genesys.queue-names-refresh" => "--genesys.names-refresh",
                flag => flag,
            };
            assert!(err.to_string().contains(named), "{err}");
        }
    }

    #[tokio::test]
    async fn listen_addresses_accept_port_only_and_host_port() {
        let found = listen_addresses(&[":9471".into(), "127.0.0.1:1234".into()])
            .await
            .unwrap();
        assert_eq!(found[0], ListenAddress::AllInterfaces(9471));
        assert_eq!(
            found[1],
            ListenAddress::Exact(SocketAddr::from(([127, 0, 0, 1], 1234)))
        );
        let found = listen_addresses(&["[::1]:9471".into()]).await.unwrap();
        assert_eq!(
            found,
            vec![ListenAddress::Exact(SocketAddr::from((
                std::net::Ipv6Addr::LOCALHOST,
                9471
            )))]
        );
        let err = listen_addresses(&["nonsense".into()]).await.unwrap_err();
        assert!(err.to_string().contains("nonsense"));
    }

    fn parse_subcommand(args: &[&str]) -> Result<Command, clap::Error> {
        let mut argv = vec!["genesys-cloud-exporter"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|cli| cli.command.expect("a subcommand"))
    }

    #[test]
    fn the_subcommands_take_their_flags_and_the_exporters() {
        let Command::Report { report, exporter } = parse_subcommand(&[
            "report",
            "--from",
            "-24h",
            "--format",
            "json",
            "--query",
            "a",
            "--query",
            "b",
            "--log.format",
            "json",
            "--genesys.requests-per-minute",
            "30",
        ])
        .unwrap() else {
            panic!("not report")
        };
        assert_eq!(report.format, Some(crate::history::report::Format::Json));
        assert_eq!(report.range.queries, ["a", "b"]);
        assert_eq!(report.range.to, "now");
        assert_eq!(exporter.requests_per_minute.get(), 30);

        let Command::Backfill { backfill, .. } =
            parse_subcommand(&["backfill", "--from", "2026-11-01", "--output", "x.om"]).unwrap()
        else {
            panic!("not backfill")
        };
        assert_eq!(backfill.sample_interval, None);
        assert_eq!(backfill.lookback, Duration::from_secs(300));
    }

    #[test]
    fn bad_flags_exit_with_status_2_naming_the_flag() {
        for (args, flag) in [
            (
                &["report", "--from", "-1d", "--format", "xml"][..],
                "--format",
            ),
            (&["backfill", "--from", "-1d"][..], "--output"),
            (
                &[
                    "backfill",
                    "--from",
                    "-1d",
                    "--output",
                    "x",
                    "--sample-interval",
                    "5s",
                ][..],
                "--sample-interval",
            ),
            (&["report"][..], "--from"),
        ] {
            let err = parse_subcommand(args).expect_err("refused");
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(flag), "{args:?}: {err}");
        }
    }
}
