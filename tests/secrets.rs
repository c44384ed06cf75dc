//! Credentials stay secret: the client secret, the Basic credential built from it and the
//! access tokens never appear in the exporter's output, on `/metrics` or on its landing page, even at debug level through
//! token failures; and a rotated secret file is picked up without a restart.

mod common;

use std::time::{Duration, Instant};

use common::{CLIENT_ID, CLIENT_SECRET, ExporterRun};
use genesys_cloud_exporter::simulator::{Fault, Simulator, SimulatorConfig};

const TOKEN_PATH: &str = "/oauth/token";

/// Waits until the simulator has answered a request to `path_prefix` with `status` after
/// `after`, and returns when it did.
async fn answered(sim: &Simulator, after: Instant, path_prefix: &str, status: u16) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = sim
            .requests()
            .into_iter()
            .find(|r| r.at > after && r.path.starts_with(path_prefix) && r.status == status);
        if let Some(request) = found {
            return request.at;
        }
        assert!(
            Instant::now() < deadline,
            "no {status} on {path_prefix}: {:?}",
            sim.requests()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn body(url: String) -> String {
    let response = reqwest::get(url).await.expect("exporter answers");
    response.text().await.expect("body")
}

fn token_fault(status: u16) -> Fault {
    Fault {
        path_prefix: TOKEN_PATH.into(),
        status,
        retry_after: None,
        count: 1,
    }
}

/// At debug level, in both log formats, through token failures: neither the client
/// secret, nor the Basic credential that carries it (`base64(id:secret)`), nor any
/// access token appears in the logs, on `/metrics` or on the landing page.
#[tokio::test]
async fn no_secret_or_token_in_output_metrics_or_page_at_debug_level() {
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    for (format, debug_line) in [("logfmt", "level=debug"), ("json", r#""level":"DEBUG""#)] {
        let sim = common::simulator(SimulatorConfig::default()).await;
        let exporter = ExporterRun::against(&sim)
            .arg("--log.level", "debug")
            .arg("--log.format", format)
            // Names refreshed every second (60 requests a minute in the plan) keep
            // calls going through the token's revocation.
            .arg("--genesys.names-refresh", "1s")
            .arg("--genesys.requests-per-minute", "300")
            .start();
        exporter.wait_ready().await;

        // Every token is revoked, and the login server then fails once and refuses the
        // client once, before it issues a new token that the API accepts.
        let start = Instant::now();
        sim.inject_fault(token_fault(500));
        sim.inject_fault(token_fault(401));
        sim.revoke_tokens();
        answered(&sim, start, "/api/", 401).await;
        let failed = answered(&sim, start, TOKEN_PATH, 500).await;
        let refused = answered(&sim, failed, TOKEN_PATH, 401).await;
        let renewed = answered(&sim, refused, TOKEN_PATH, 200).await;
        answered(&sim, renewed, "/api/", 200).await;

        let metrics = body(exporter.url("/metrics")).await;
        let page = body(exporter.url("/")).await;
        let output = exporter.logs();
        // The run went through what it should have: debug logging in this format, both
        // token failures.
        assert!(output.contains(debug_line), "{format}: {output}");
        assert!(output.contains("cannot obtain an access token"), "{output}");
        assert!(output.contains("HTTP 500"), "{output}");
        assert!(output.contains("HTTP 401"), "{output}");

        let tokens = sim.issued_tokens();
        assert!(tokens.len() >= 2, "{tokens:?}");
        for secret in tokens
            .iter()
            .map(String::as_str)
            .chain([CLIENT_SECRET, basic.as_str()])
        {
            assert!(
                !output.contains(secret),
                "{secret} in the {format} output:\n{output}"
            );
            assert!(!metrics.contains(secret), "{secret} on /metrics");
            assert!(!page.contains(secret), "{secret} on the landing page");
        }
    }
}

#[tokio::test]
async fn a_rotated_secret_file_is_used_without_a_restart() {
    const ROTATED: &str = "rotated-secret-91c2";
    let sim = common::simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("client-secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).unwrap();
    let mut run = ExporterRun::against(&sim)
        .arg(
            "--genesys.client-secret-file",
            secret_file.to_string_lossy(),
        )
        .arg("--genesys.names-refresh", "1s")
        .arg("--genesys.requests-per-minute", "300");
    run.env.retain(|(name, _)| *name != "GENESYS_CLIENT_SECRET");
    let exporter = run.start();
    exporter.wait_ready().await;
    let tokens_before = sim.tokens_issued();

    // The admin rotates the secret in Genesys: the old one is refused from now on.
    let rotated = Instant::now();
    sim.rotate_client_secret(ROTATED);
    sim.revoke_tokens();
    answered(&sim, rotated, TOKEN_PATH, 401).await;
    assert_eq!(sim.tokens_issued(), tokens_before);

    // Then the mounted secret file changes, and the same process logs in with it.
    let written = Instant::now();
    std::fs::write(&secret_file, format!("{ROTATED}\n")).unwrap();
    let renewed = answered(&sim, written, TOKEN_PATH, 200).await;
    answered(&sim, renewed, "/api/", 200).await;
    assert!(sim.tokens_issued() > tokens_before);
    let metrics = exporter.scrape().await;
    assert!(metrics.value("genesys_exporter_token_renewals_total", &[]) >= 2.0);
    let output = exporter.logs();
    assert!(!output.contains(ROTATED) && !output.contains(CLIENT_SECRET));
}
