//! Wiring: parse flags, load the config, start the pollers and the server, wait for a
//! shutdown signal. Each concern lives in its own module of the library.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use genesys_cloud_exporter::cli::{self, Cli, Command, ExporterArgs, Failure, SimulateArgs};
use genesys_cloud_exporter::config::{self, Config};
use genesys_cloud_exporter::genesys::auth::{CredentialSource, Credentials, Secret};
use genesys_cloud_exporter::genesys::names::NameDirectory;
use genesys_cloud_exporter::genesys::notifications::PushSettings;
use genesys_cloud_exporter::genesys::region::Endpoints;
use genesys_cloud_exporter::genesys::{ClientSettings, GenesysClient};
use genesys_cloud_exporter::healthcheck;
use genesys_cloud_exporter::history;
use genesys_cloud_exporter::plan;
use genesys_cloud_exporter::reload::{Pollers, Reloader};
use genesys_cloud_exporter::schedule::{Planner, PollContext};
use genesys_cloud_exporter::server::{self, AppState};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use genesys_cloud_exporter::snapshot::SnapshotStore;
use genesys_cloud_exporter::telemetry::Telemetry;
use genesys_cloud_exporter::web::{self, Limits, LiveWebConfig, WebConfig};

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_logging(&cli.log);
    genesys_cloud_exporter::platform::return_large_buffers_to_the_system();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the async runtime");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Simulate(args)) => run_simulator(args).await,
            Some(Command::Healthcheck(args)) => healthcheck::run(&args).await,
            Some(Command::Report { report, exporter }) => {
                let (config, connection) = connect(&exporter).await?;
                let rpm = exporter.requests_per_minute.get();
                let done = history::report(&connection.client, &config, &report, rpm).await;
                connection.close().await;
                done.map_err(Failure::from)
            }
            Some(Command::Backfill { backfill, exporter }) => {
                let (config, connection) = connect(&exporter).await?;
                let rpm = exporter.requests_per_minute.get();
                let done = history::backfill(&connection.client, &config, &backfill, rpm).await;
                connection.close().await;
                done.map_err(Failure::from)
            }
            None => run_exporter(cli.exporter).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            tracing::error!(error = %failure, "exiting");
            failure.exit_code()
        }
    }
}

async fn run_exporter(args: ExporterArgs) -> Result<(), Failure> {
    // Installed first: from here on SIGHUP reloads instead of killing the process.
    let hangups = hangup_signals();
    let config = load_config(&args)?;
    let web_config = match &args.web_config_file {
        Some(path) => {
            let web = WebConfig::load(path).map_err(|err| Failure::BadInput(err.to_string()))?;
            tracing::info!(
                file = %path.display(),
                tls = web.tls_summary.as_deref().unwrap_or("off"),
                basic_auth_users = web.basic_auth.as_ref().map_or(0, |a| a.user_count()),
                "web config loaded"
            );
            Some(web)
        }
        None => None,
    };
    // The request plan before any queue is listed: interval queries over the budget stop
    // here, as does `--config.check` (which never touches the network).
    // The pushed sets within the channel budget, less its handover spare.
    config::check_channel_budget(
        &config::channel_needs(&config.observations, &config.agents),
        args.push_max_channels as usize - 1,
    )
    .map_err(Failure::BadInput)?;
    let budget = args.requests_per_minute.get();
    let plan = plan::make(&config, plan::Counts::default(), args.names_refresh, budget)
        .map_err(|err| Failure::BadInput(err.to_string()))?;
    if args.config_check {
        println!(
            "config OK: {} queries, {} observation sets, {} trunk sets, {} voice quality sets\nrequest plan:\n{plan}",
            config.queries.len(),
            config.observations.len() + config.agents.len(),
            config.trunks.len(),
            config.voice_quality.len()
        );
        return Ok(());
    }
    let addresses = cli::listen_addresses(&args.listen_addresses).await?;

    let Connection {
        simulator,
        endpoints,
        client,
        telemetry,
    } = Connection::open(&args).await?;

    let mut listeners = Vec::new();
    for address in addresses {
        let listener = web::bind(address)
            .map_err(|err| Failure::Runtime(format!("cannot listen on {address}: {err}")))?;
        if let Ok(local) = listener.local_addr() {
            tracing::info!(address = %local, "listening for scrapes");
        }
        listeners.push(listener);
    }

    let entries: Vec<_> = config::served_entries(&config).collect();
    // Every query's and observation set's self-metrics (`query_up` 0, ...) exist from the
    // first scrape, which may come long before its poller starts.
    for (name, _) in &entries {
        telemetry.register_query(name);
    }
    let store = Arc::new(SnapshotStore::new(entries));
    // Only the listings of dimensions some query groups by (and the queues, while
    // queues are observed) are worth their API calls.
    let names = Arc::new(NameDirectory::new(
        config::named_dimensions(
            &config.queries,
            &config.observations,
            &config.agents,
            &config.voice_quality,
        ),
        Arc::clone(&telemetry),
    ));
    tracing::info!(
        api = %endpoints.api_base,
        login = %endpoints.login_base,
        queries = config.queries.len(),
        observations = config.observations.len(),
        agents = config.agents.len(),
        trunks = config.trunks.len(),
        requests_per_minute = args.requests_per_minute.get(),
        "starting"
    );

    let planner = Arc::new(
        Planner::new(&config, args.names_refresh, budget, &telemetry)
            .map_err(|err| Failure::BadInput(err.to_string()))?,
    );
    let context = PollContext {
        planner: Arc::clone(&planner),
        client,
        names: Arc::clone(&names),
        store: Arc::clone(&store),
        telemetry: Arc::clone(&telemetry),
        retry_delay: args.poll_retry_delay,
        push: PushSettings {
            heartbeat_interval: args.push_heartbeat_interval,
            heartbeat_misses: args.push_heartbeat_misses,
            ..PushSettings::default()
        },
    };
    let web = Arc::new(LiveWebConfig::new(web_config));
    // The pollers start on the reloader's task, which may wait a while for the first
    // names: the server starts below without waiting for Genesys.
    let (reload, reloader) = Reloader::spawn({
        let config_file = args.config_file.clone();
        let web_config_file = args.web_config_file.clone();
        let web = Arc::clone(&web);
        let builtin = builtin_config(args.demo);
        let names_refresh = args.names_refresh;
        async move {
            Reloader {
                config_file,
                web_config_file,
                web,
                builtin,
                pollers: Pollers::start(context, names_refresh, config).await,
            }
        }
    });
    let mut background = vec![
        reloader,
        tokio::spawn(Arc::clone(&web).rotate_certificates()),
    ];
    #[cfg(unix)]
    if let Some(mut hangups) = hangups {
        let reload = reload.clone();
        background.push(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP received; reloading the config");
                reload.request();
            }
        }));
    }
    #[cfg(not(unix))]
    let () = hangups;

    let state = Arc::new(AppState {
        store,
        telemetry,
        telemetry_path: args.telemetry_path.clone(),
        requests_per_minute: args.requests_per_minute.get(),
        demo: args.demo,
        names,
        reload: args.enable_lifecycle.then_some(reload),
        planner: Some(planner),
    });
    let security = server::Security {
        web_config: web,
        limits: Limits {
            max_connections: args.max_connections as usize,
            header_timeout: args.read_header_timeout,
        },
    };
    let server = tokio::spawn(server::serve(listeners, state, security, shutdown_signal()));

    let served = server.await;
    for task in background {
        task.abort();
    }
    if let Some(simulator) = simulator {
        simulator.shutdown().await;
    }
    tracing::info!("stopped");
    served.map_err(|err| Failure::Runtime(format!("the HTTP server failed: {err}")))
}

/// The config of `--config.file`, or the built-in one.
///
/// Names a query sends unchecked (`allow_unlisted`) are logged once here.
fn load_config(args: &ExporterArgs) -> Result<Config, Failure> {
    let config = match &args.config_file {
        Some(path) => Config::load(path).map_err(|err| Failure::BadInput(err.to_string()))?,
        None => builtin_config(args.demo),
    };
    config.log_allow_unlisted_notes();
    Ok(config)
}

/// The config without `--config.file`: the built-in query and the `live` observation of
/// every queue, or in demo mode the demo's queries as well.
fn builtin_config(demo: bool) -> Config {
    if demo {
        Config::demo()
    } else {
        Config::builtin_with_live()
    }
}

/// The config and a connection, for the subcommands that only call the API.
async fn connect(args: &ExporterArgs) -> Result<(Config, Connection), Failure> {
    let config = load_config(args)?;
    Ok((config, Connection::open(args).await?))
}

/// The Genesys API as the flags name it: a client (budget, token, retries) and, in demo
/// mode, the built-in simulator it talks to.
struct Connection {
    simulator: Option<Simulator>,
    endpoints: Endpoints,
    client: Arc<GenesysClient>,
    telemetry: Arc<Telemetry>,
}

impl Connection {
    async fn open(args: &ExporterArgs) -> Result<Connection, Failure> {
        let region = cli::region_from(args, |name| std::env::var(name).ok());
        // In demo mode the simulator stands in for Genesys; otherwise credentials are
        // required (a missing secret must never quietly turn into simulated data).
        let (simulator, endpoints, credentials) = if args.demo {
            let simulator =
                Simulator::start(SimulatorConfig::default(), ([127, 0, 0, 1], 0).into())
                    .await
                    .map_err(|err| {
                        Failure::Runtime(format!("cannot start the built-in simulator: {err}"))
                    })?;
            let base = simulator.base_url();
            // Only the region can be wrong here, and that is bad input like anywhere else.
            let endpoints = Endpoints::resolve(&region, Some(&base), Some(&base))
                .map_err(|err| Failure::BadInput(err.to_string()))?;
            let defaults = SimulatorConfig::default();
            let credentials = Credentials {
                client_id: CredentialSource::Value(Secret::new(defaults.client_id)),
                client_secret: CredentialSource::Value(Secret::new(defaults.client_secret.clone())),
            };
            tracing::warn!(simulator = %base, "demo mode: polling the built-in simulator; the data is synthetic");
            (Some(simulator), endpoints, credentials)
        } else {
            let credentials = cli::credentials_from(args, |name| std::env::var(name).ok())?;
            let endpoints =
                Endpoints::resolve(&region, args.api_url.as_deref(), args.login_url.as_deref())
                    .map_err(|err| Failure::BadInput(err.to_string()))?;
            (None, endpoints, credentials)
        };
        let telemetry = Arc::new(Telemetry::new(args.requests_per_minute.get()));
        let mut settings =
            ClientSettings::new(endpoints.clone(), credentials, args.requests_per_minute);
        settings.request_timeout = args.request_timeout;
        settings.connect_timeout = args.connect_timeout;
        settings.max_response_bytes = args.max_response_size;
        settings.channel_limit = args.push_max_channels as usize;
        let client = Arc::new(
            GenesysClient::new(settings, Arc::clone(&telemetry))
                .map_err(|err| Failure::Runtime(err.to_string()))?,
        );
        Ok(Connection {
            simulator,
            endpoints,
            client,
            telemetry,
        })
    }

    /// Stops the built-in simulator, if any.
    async fn close(self) {
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
    }
}

async fn run_simulator(args: SimulateArgs) -> Result<(), Failure> {
    let defaults = SimulatorConfig::default();
    let config = SimulatorConfig {
        client_id: std::env::var(cli::CLIENT_ID_VAR).unwrap_or(defaults.client_id),
        client_secret: std::env::var(cli::CLIENT_SECRET_VAR).unwrap_or(defaults.client_secret),
        token_lifetime: args.token_lifetime,
        requests_per_minute: args.requests_per_minute,
        queue_count: args.queues,
        user_count: args.users as usize,
        media_type_count: usize::from(args.media_types),
        busy_all_day: args.busy_all_day,
        seed: args.seed,
        queue_page_limit: defaults.queue_page_limit,
        listing_page_limit: defaults.listing_page_limit,
        max_predicates: Some(args.max_predicates).filter(|&cap| cap > 0),
        trunk_count: defaults.trunk_count,
        heartbeat_interval: defaults.heartbeat_interval,
        push_period: defaults.push_period,
        job_delay: defaults.job_delay,
    };
    let simulator = Simulator::start(config, args.listen_address)
        .await
        .map_err(|err| {
            Failure::Runtime(format!("cannot listen on {}: {err}", args.listen_address))
        })?;
    for rule in args.faults {
        tracing::warn!(?rule, "simulator fault injected");
        simulator.add_fault(rule);
    }
    if let Some(skew) = args.clock_skew {
        simulator.set_clock_skew(skew);
    }
    tracing::info!(url = %simulator.base_url(), "simulator listening; point --genesys.api-url and --genesys.login-url here");
    shutdown_signal().await;
    simulator.shutdown().await;
    Ok(())
}

/// SIGHUP as a stream, where the platform has it; `None` (with a warning) otherwise.
#[cfg(unix)]
fn hangup_signals() -> Option<tokio::signal::unix::Signal> {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGHUP; only POST /-/reload reloads");
            None
        }
    }
}

/// No SIGHUP off Unix: only `POST /-/reload` reloads.
#[cfg(not(unix))]
fn hangup_signals() {}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; only SIGINT stops the exporter");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutdown signal received");
}
