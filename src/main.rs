//! Wiring: parse flags, load the config, start the pollers and the server, wait for a
//! shutdown signal. Each concern lives in its own module of the library.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;

use genesys_cloud_exporter::cli::{self, Cli, Command, ExporterArgs, Failure, SimulateArgs};
use genesys_cloud_exporter::config::Config;
use genesys_cloud_exporter::genesys::auth::{CredentialSource, Credentials, Secret};
use genesys_cloud_exporter::genesys::queues::QueueNames;
use genesys_cloud_exporter::genesys::region::Endpoints;
use genesys_cloud_exporter::genesys::{ClientSettings, GenesysClient};
use genesys_cloud_exporter::plan;
use genesys_cloud_exporter::schedule::{ObservationPoller, Planner, PollContext, Poller};
use genesys_cloud_exporter::server::{self, AppState};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use genesys_cloud_exporter::snapshot::SnapshotStore;
use genesys_cloud_exporter::telemetry::Telemetry;
use genesys_cloud_exporter::web::{Limits, WebConfig};

/// How long start-up waits for the first queue names before polling without them.
const FIRST_QUEUE_NAMES_TIMEOUT: Duration = Duration::from_secs(30);

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
    let config = match &args.config_file {
        Some(path) => Config::load(path).map_err(|err| Failure::BadInput(err.to_string()))?,
        // Without a config file, the built-in query and the `live` observation of every
        // queue.
        None if args.demo => Config::demo(),
        None => Config::builtin_with_live(),
    };
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
    let budget = args.requests_per_minute.get();
    let plan = plan::make(&config, None, args.queue_names_refresh, budget)
        .map_err(|err| Failure::BadInput(err.to_string()))?;
    if args.config_check {
        println!(
            "config OK: {} queries, {} observation sets\nrequest plan:\n{plan}",
            config.queries.len(),
            config.observations.len()
        );
        return Ok(());
    }
    let addresses = cli::listen_addresses(&args.listen_addresses).await?;

    // In demo mode the simulator stands in for Genesys; otherwise credentials are required
    // (a missing secret must never quietly turn into simulated data).
    let (simulator, endpoints, credentials) = if args.demo {
        let simulator = Simulator::start(SimulatorConfig::default(), ([127, 0, 0, 1], 0).into())
            .await
            .map_err(|err| {
                Failure::Runtime(format!("cannot start the built-in simulator: {err}"))
            })?;
        let base = simulator.base_url();
        // Only the region can be wrong here, and that is bad input like anywhere else.
        let endpoints = Endpoints::resolve(&args.region, Some(&base), Some(&base))
            .map_err(|err| Failure::BadInput(err.to_string()))?;
        let defaults = SimulatorConfig::default();
        let credentials = Credentials {
            client_id: CredentialSource::Value(Secret::new(defaults.client_id)),
            client_secret: CredentialSource::Value(Secret::new(defaults.client_secret.clone())),
        };
        tracing::warn!(simulator = %base, "demo mode: polling the built-in simulator; the data is synthetic");
        (Some(simulator), endpoints, credentials)
    } else {
        let credentials = cli::credentials_from(&args, |name| std::env::var(name).ok())?;
        let endpoints = Endpoints::resolve(
            &args.region,
            args.api_url.as_deref(),
            args.login_url.as_deref(),
        )
        .map_err(|err| Failure::BadInput(err.to_string()))?;
        (None, endpoints, credentials)
    };

    let mut listeners = Vec::new();
    for address in addresses {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|err| Failure::Runtime(format!("cannot listen on {address}: {err}")))?;
        tracing::info!(address = %listener.local_addr().unwrap_or(address), "listening for scrapes");
        listeners.push(listener);
    }

    let telemetry = Arc::new(Telemetry::new(args.requests_per_minute.get()));
    let mut settings =
        ClientSettings::new(endpoints.clone(), credentials, args.requests_per_minute);
    settings.request_timeout = args.request_timeout;
    settings.connect_timeout = args.connect_timeout;
    settings.max_response_bytes = args.max_response_size;
    let client = Arc::new(
        GenesysClient::new(settings, Arc::clone(&telemetry))
            .map_err(|err| Failure::Runtime(err.to_string()))?,
    );
    let store = Arc::new(SnapshotStore::new(
        config
            .queries
            .iter()
            .map(|q| (q.name.as_str(), q.granularity.to_string()))
            .chain(config.observations.iter().map(|o| {
                let every = humantime::format_duration(o.refresh);
                (o.name.as_str(), format!("observations every {every}"))
            })),
    ));
    let queue_names = Arc::new(QueueNames::default());
    tracing::info!(
        api = %endpoints.api_base,
        login = %endpoints.login_base,
        queries = config.queries.len(),
        observations = config.observations.len(),
        requests_per_minute = args.requests_per_minute.get(),
        "starting"
    );

    let planner = Arc::new(
        Planner::new(&config, args.queue_names_refresh, budget, &telemetry)
            .map_err(|err| Failure::BadInput(err.to_string()))?,
    );
    let state = Arc::new(AppState {
        planner: Some(Arc::clone(&planner)),
        store: Arc::clone(&store),
        telemetry: Arc::clone(&telemetry),
        telemetry_path: args.telemetry_path.clone(),
        requests_per_minute: args.requests_per_minute.get(),
        demo: args.demo,
    });
    let security = server::Security {
        web_config,
        limits: Limits {
            max_connections: args.max_connections as usize,
            header_timeout: args.read_header_timeout,
        },
    };
    let server = tokio::spawn(server::serve(listeners, state, security, shutdown_signal()));

    // Queue names are only worth their API calls when some query groups by queue, or
    // when queues are observed (their names label the series, and `queues: all` is
    // the list they come with).
    let mut background = Vec::new();
    if !config.observations.is_empty()
        || config
            .queries
            .iter()
            .any(|q| q.group_by.iter().any(|d| d == "queueId"))
    {
        let first =
            tokio::time::timeout(FIRST_QUEUE_NAMES_TIMEOUT, queue_names.refresh(&client)).await;
        if first.is_err() {
            tracing::warn!("queue names are slow to arrive; polling without them for now");
        }
        background.push(tokio::spawn(
            Arc::clone(&queue_names).keep_fresh(Arc::clone(&client), args.queue_names_refresh),
        ));
    }
    let context = PollContext {
        planner: Arc::clone(&planner),
        client,
        queue_names,
        store,
        telemetry,
        retry_delay: args.poll_retry_delay,
    };
    for query in config.queries {
        background.push(tokio::spawn(Poller::new(query, context.clone()).run()));
    }
    for observation in config.observations {
        background.push(tokio::spawn(
            ObservationPoller::new(observation, context.clone()).run(),
        ));
    }

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
