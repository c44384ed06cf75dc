//! Operating the exporter, against the real binary: the names Genesys' own tools use for
//! credentials and region, `--version`, the `healthcheck` subcommand, dual-stack
//! listening, and reloading the config without a restart.

mod common;

use common::{CLIENT_ID, CLIENT_SECRET, ExporterRun, simulator};
use genesys_cloud_exporter::simulator::SimulatorConfig;

/// `GENESYSCLOUD_OAUTHCLIENT_ID`/`_SECRET` and `GENESYSCLOUD_REGION` (dashed) are enough
/// to start it; the log names where each came from, never the values.
#[tokio::test(flavor = "multi_thread")]
async fn genesys_cloud_variable_names_start_it_against_the_simulator() {
    let sim = simulator(SimulatorConfig::default()).await;
    let mut run = ExporterRun::against(&sim);
    run.env = vec![
        ("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID.into()),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", CLIENT_SECRET.into()),
        ("GENESYSCLOUD_REGION", "eu-west-1".into()),
    ];
    let exporter = run.start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    assert_eq!(metrics.value("genesys_exporter_query_up", &[]), 1.0);
    let logs = exporter.logs();
    assert!(
        logs.contains("from=GENESYSCLOUD_OAUTHCLIENT_ID")
            && logs.contains("from=GENESYSCLOUD_OAUTHCLIENT_SECRET")
            && logs.contains("region=eu-west-1")
            && logs.contains("from=GENESYSCLOUD_REGION"),
        "{logs}"
    );
    assert!(!logs.contains(CLIENT_SECRET), "{logs}");
}

/// `--version` prints what Prometheus tools print, and `build_info` carries the same.
#[tokio::test(flavor = "multi_thread")]
async fn version_and_build_info_name_revision_date_and_toolchain() {
    let output = std::process::Command::new(common::binary())
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "genesys-cloud-exporter {} (branch: ",
            env!("CARGO_PKG_VERSION")
        )) && first.contains(", revision: "),
        "{text}"
    );
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|rest| rest.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let date = field("build date:");
    assert!(
        date.len() == 17 && date.as_bytes()[8] == b'-' && date.starts_with("20"),
        "{date}"
    );
    let rustc = field("rustc version:");
    assert!(rustc.starts_with("rustc 1."), "{rustc}");
    assert!(!field("platform:").is_empty());

    let exporter = ExporterRun::demo().start();
    let metrics = exporter.scrape().await;
    let info = metrics.find("genesys_exporter_build_info", &[]);
    assert_eq!(info.len(), 1, "{info:?}");
    let labels = &info[0].labels;
    assert_eq!(labels["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        labels["rustversion"],
        rustc.split_whitespace().nth(1).unwrap()
    );
    assert!(
        first.contains(&format!("revision: {})", labels["revision"])),
        "{first}"
    );
    assert!(
        first.contains(&format!("branch: {},", labels["branch"])),
        "{first}"
    );
}

/// A port free on every interface at the time of asking.
fn free_port() -> u16 {
    std::net::TcpListener::bind("[::]:0")
        .or_else(|_| std::net::TcpListener::bind("0.0.0.0:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `:PORT` listens on IPv6 and IPv4 at once: curl reaches it over `[::1]` and over
/// `127.0.0.1`. (This host has an IPv6 loopback; the test says so if it has none.)
#[tokio::test(flavor = "multi_thread")]
async fn port_only_listens_on_ipv6_and_ipv4() {
    let has_ipv6_loopback = std::fs::read_to_string("/proc/net/if_inet6").is_ok_and(|t| {
        t.lines()
            .any(|l| l.starts_with("00000000000000000000000000000001"))
    });
    assert!(
        has_ipv6_loopback,
        "this host has no IPv6 loopback; dual stack cannot be checked here"
    );
    let port = free_port();
    let exporter = ExporterRun::demo()
        .arg("--web.listen-address", format!(":{port}"))
        .start();
    let logs = exporter.logs();
    assert!(logs.contains(&format!("address=[::]:{port}")), "{logs}");
    for url in [
        format!("http://[::1]:{port}/metrics"),
        format!("http://127.0.0.1:{port}/metrics"),
    ] {
        let output = std::process::Command::new("curl")
            .args(["-g", "-sS", "-o", "/dev/null", "-w", "%{http_code}", &url])
            .output()
            .expect("curl runs");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "200",
            "{url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs `healthcheck` with `args`: its exit code and standard error.
pub fn healthcheck(args: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new(common::binary())
        .arg("healthcheck")
        .args(args)
        .output()
        .expect("healthcheck runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_exits_0_when_healthy_and_1_otherwise() {
    let exporter = ExporterRun::demo().start();
    let (code, stderr) = healthcheck(&["--url", &exporter.url("/-/healthy")]);
    assert_eq!(code, Some(0), "{stderr}");
    // A path that is not 200, and a port nobody listens on.
    let (code, stderr) = healthcheck(&["--url", &exporter.url("/nothing")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    let closed = format!("http://127.0.0.1:{}/-/healthy", free_port());
    let (code, stderr) = healthcheck(&["--url", &closed, "--timeout", "2s"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&closed), "{stderr}");
}
