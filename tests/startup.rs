//! Start-up against a Genesys that accepts connections and never answers: the probes,
//! the self-metrics and the landing page answer from the first second, within the 5 s a
//! Kubernetes probe waits; only readiness waits for Genesys.

mod common;

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use common::{ExporterRun, Metrics};

/// What a Kubernetes probe waits for an answer (the manifests' `timeoutSeconds`): the
/// contract these requests are held to, not a performance bound.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A Genesys stand-in on loopback that accepts every connection and never answers: its
/// sockets stay open (a closed one would fail the exporter's request at once) until the
/// test binary exits. Returns its base URL and a receiver that gets one message per
/// connection accepted.
fn silent_api() -> (String, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("stand-in listens");
    let base = format!(
        "http://{}",
        listener.local_addr().expect("stand-in address")
    );
    let (accepted, connections) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().map_while(Result::ok) {
            held.push(stream);
            let _ = accepted.send(());
        }
    });
    (base, connections)
}

/// With the built-in config (a query grouped by queue, and `live`, which observes every
/// queue: both need the queue names first), while the exporter's first call to Genesys
/// hangs: `/-/healthy` is 200, `/metrics` has the build info and every query's and
/// observation set's `query_up` 0, `/` shows them, and `/-/ready` is 503.
#[tokio::test]
async fn probes_metrics_and_landing_page_answer_while_genesys_never_does() {
    let (api, connections) = silent_api();
    let exporter = ExporterRun::against_url(api).start_listening();
    // The exporter is waiting on Genesys from here on.
    connections
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the exporter never called Genesys: {}", exporter.logs()));
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .unwrap();
    let get = |path: &'static str| {
        let request = client.get(exporter.url(path)).send();
        async move {
            request.await.unwrap_or_else(|err| {
                panic!("GET {path} got no answer within {PROBE_TIMEOUT:?}: {err:?}")
            })
        }
    };

    let healthy = get("/-/healthy").await;
    assert_eq!(healthy.status(), 200);

    let metrics = get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    let metrics = Metrics::parse(&metrics.text().await.unwrap());
    assert_eq!(metrics.find("genesys_exporter_build_info", &[]).len(), 1);
    for entry in ["queues", "live"] {
        assert_eq!(
            metrics.value("genesys_exporter_query_up", &[("query", entry)]),
            0.0,
            "{}",
            metrics.text
        );
    }

    let landing = get("/").await;
    assert_eq!(landing.status(), 200);
    let landing = landing.text().await.unwrap();
    assert!(
        landing.contains("<td>queues</td>") && landing.contains("<td>live</td>"),
        "{landing}"
    );

    let ready = get("/-/ready").await;
    assert_eq!(ready.status(), 503);
}
