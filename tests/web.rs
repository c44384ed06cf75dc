//! The HTTP side's protection, against the real binary in demo mode: `--web.config.file`
//! (TLS, client certificates, basic auth) with a real rustls client trusting a CA made
//! here, refused configs, and the connection limits under slow clients.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Exporter, ExporterRun};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USER: &str = "prometheus";
const PASSWORD: &str = "correct horse battery staple";

/// A CA, a server certificate for `localhost` signed by it, a client certificate signed
/// by it, and a client certificate from another CA, as PEM files in a temporary folder.
struct Pki {
    dir: tempfile::TempDir,
    /// Signs further certificates (a renewed server certificate).
    issuer: CertifiedIssuer<'static, KeyPair>,
    ca_pem: String,
    client_pem: String,
    rogue_client_pem: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A leaf certificate and its key, PEM.
fn leaf(
    issuer: &CertifiedIssuer<'_, KeyPair>,
    purpose: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.extended_key_usages = vec![purpose];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = ca("test CA");
        let (server_cert, server_key) = leaf(&ca, ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) = leaf(&ca, ExtendedKeyUsagePurpose::ClientAuth);
        let (rogue_cert, rogue_key) = leaf(&ca_rogue(), ExtendedKeyUsagePurpose::ClientAuth);
        std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("server.crt"), server_cert).unwrap();
        std::fs::write(dir.path().join("server.key"), server_key).unwrap();
        Pki {
            ca_pem: ca.pem(),
            issuer: ca,
            client_pem: format!("{client_cert}{client_key}"),
            rogue_client_pem: format!("{rogue_cert}{rogue_key}"),
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a web config whose `tls_server_config` holds the server's certificate and
    /// `extra_tls` lines, plus `rest` at the top level.
    fn web_config(&self, extra_tls: &str, rest: &str) -> PathBuf {
        let path = self.path("web.yml");
        let yaml = format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra_tls}{rest}"
        );
        std::fs::write(&path, yaml).unwrap();
        path
    }

    /// A rustls client trusting only the test CA, optionally presenting `identity`
    /// (certificate and key, PEM), with `localhost` pointed at the exporter.
    fn client(&self, exporter: &Exporter, identity: Option<&str>) -> reqwest::Client {
        self.client_builder(exporter, identity).build().unwrap()
    }

    fn client_builder(
        &self,
        exporter: &Exporter,
        identity: Option<&str>,
    ) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .resolve("localhost", address(exporter))
            .timeout(Duration::from_secs(10));
        if let Some(pem) = identity {
            builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        builder
    }
}

fn ca_rogue() -> CertifiedIssuer<'static, KeyPair> {
    ca("some other CA")
}

fn address(exporter: &Exporter) -> SocketAddr {
    exporter
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("exporter address")
}

fn https(exporter: &Exporter, path: &str) -> String {
    format!("https://localhost:{}{path}", address(exporter).port())
}

fn start_with(web_config: &Path, extra: &[(&str, &str)]) -> Exporter {
    let mut run = ExporterRun::demo().arg("--web.config.file", web_config.to_string_lossy());
    for (flag, value) in extra {
        run = run.arg(flag, *value);
    }
    run.start()
}

fn users_yaml() -> String {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    format!("basic_auth_users:\n  {USER}: {hash}\n")
}

/// `GET /metrics` over TLS as the configured user.
async fn scrape_as_user(client: &reqwest::Client, exporter: &Exporter) -> reqwest::Response {
    client
        .get(https(exporter, "/metrics"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap()
}

/// The status of `GET path`, with `user` credentials if given; `Err` when no HTTP
/// exchange happened (refused handshake, closed connection).
async fn status(
    client: &reqwest::Client,
    url: &str,
    user: Option<(&str, &str)>,
) -> Result<u16, reqwest::Error> {
    let mut request = client.get(url);
    if let Some((name, password)) = user {
        request = request.basic_auth(name, Some(password));
    }
    request.send().await.map(|r| r.status().as_u16())
}

/// Asserts that `result` is a refusal during the TLS handshake with `alert`, not an HTTP
/// answer or some other failure.
fn assert_tls_refusal(result: Result<u16, reqwest::Error>, alert: &str) {
    let err = match result {
        Ok(status) => panic!("answered HTTP {status}, expected the TLS alert {alert}"),
        Err(err) => err,
    };
    let chain = error_chain(&err);
    let wanted = format!("(Connect): received fatal alert: {alert}");
    assert!(chain.contains(&wanted), "expected {wanted:?}, got: {chain}");
}

/// Asserts that the exporter refuses the client certificate `identity` (or its absence)
/// with `alert`, on `url`. A TLS 1.2 client gets the alert during the handshake, as the
/// server's verdict on a client certificate is part of it there; under TLS 1.3 the
/// client finishes its side first and, when it sends the request, sees the alert or
/// only the connection closing: closed before it reads, or (a race CI lost once) closed
/// while it still writes, a broken pipe or a reset. Any of them is a refusal; an HTTP answer is not.
async fn assert_certificate_refused(
    pki: &Pki,
    exporter: &Exporter,
    identity: Option<&str>,
    url: &str,
    alert: &str,
) {
    let tls12 = pki
        .client_builder(exporter, identity)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert_tls_refusal(status(&tls12, url, None).await, alert);
    let tls13 = pki
        .client_builder(exporter, identity)
        .min_tls_version(reqwest::tls::Version::TLS_1_3)
        .build()
        .unwrap();
    match status(&tls13, url, None).await {
        Ok(status) => panic!("answered HTTP {status} over TLS 1.3, expected {alert}"),
        Err(err) => {
            let chain = error_chain(&err);
            assert!(
                chain.contains(&format!("received fatal alert: {alert}"))
                    || chain.ends_with("connection closed")
                    || chain.ends_with("stream closed because of a broken pipe")
                    || chain.contains("Connection reset by peer"),
                "over TLS 1.3: {chain}"
            );
        }
    }
}

/// An error and its causes, outermost first.
fn error_chain(err: &reqwest::Error) -> String {
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    chain.join(": ")
}

#[tokio::test]
async fn basic_auth_over_tls_guards_every_path_but_the_probes() {
    let pki = Pki::new();
    let exporter = start_with(&pki.web_config("", &users_yaml()), &[]);
    let client = pki.client(&exporter, None);

    assert_eq!(
        status(&client, &https(&exporter, "/-/healthy"), None)
            .await
            .unwrap(),
        200
    );
    // Readiness answers without a user too (503 until the first polls, then 200), so a
    // Kubernetes readiness probe passes with basic auth on.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = status(&client, &https(&exporter, "/-/ready"), None)
            .await
            .unwrap();
        assert_ne!(ready, 401, "/-/ready must not need a user");
        if ready == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never ready: {}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in ["/metrics", "/", "/nothing-here"] {
        let url = https(&exporter, path);
        assert_eq!(
            status(&client, &url, None).await.unwrap(),
            401,
            "{path} without a user"
        );
        assert_eq!(
            status(&client, &url, Some((USER, "wrong password")))
                .await
                .unwrap(),
            401,
            "{path} with a wrong password"
        );
        assert_eq!(
            status(&client, &url, Some(("intruder", PASSWORD)))
                .await
                .unwrap(),
            401,
            "{path} with an unknown user"
        );
    }
    let response = scrape_as_user(&client, &exporter).await;
    assert_eq!(response.status(), 200);
    // ALPN picks HTTP/2 for this client; HTTP/1.1 over TLS is checked below.
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let text = response.text().await.unwrap();
    assert!(text.contains("genesys_exporter_build_info"), "{text}");
    let http1 = pki
        .client_builder(&exporter, None)
        .http1_only()
        .build()
        .unwrap();
    let url = https(&exporter, "/metrics");
    assert_eq!(status(&http1, &url, None).await.unwrap(), 401);
    let response = http1
        .get(&url)
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (response.version(), response.status().as_u16()),
        (reqwest::Version::HTTP_11, 200)
    );
    let unauthorized = client
        .get(https(&exporter, "/metrics"))
        .send()
        .await
        .unwrap();
    assert!(
        unauthorized.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic "),
    );
    // The cached check gives the same answers.
    assert_eq!(
        status(&client, &https(&exporter, "/"), Some((USER, PASSWORD)))
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        status(&client, &https(&exporter, "/"), Some((USER, "x")))
            .await
            .unwrap(),
        401
    );

    // Plain HTTP on the TLS port gets no HTTP answer at all, and the server carries on.
    let plain = reqwest::Client::new();
    let refused = plain.get(exporter.url("/-/healthy")).send().await;
    // What comes back is a TLS alert record, which is no HTTP.
    let chain = error_chain(&refused.expect_err("plain HTTP answered"));
    assert!(chain.ends_with("invalid HTTP version parsed"), "{chain}");
    assert_eq!(
        status(&client, &https(&exporter, "/-/healthy"), None)
            .await
            .unwrap(),
        200
    );
    assert!(
        exporter.logs().contains("web config loaded"),
        "{}",
        exporter.logs()
    );
}

/// The `healthcheck` subcommand speaks TLS, trusting the CA given with `--ca-file`, and
/// presents a client certificate when asked to.
#[tokio::test]
async fn healthcheck_over_tls_trusts_the_given_ca() {
    let pki = Pki::new();
    let exporter = start_with(
        &pki.web_config("  client_ca_file: ca.crt\n", &users_yaml()),
        &[],
    );
    let url = https(&exporter, "/-/healthy");
    let identity = pki.path("client.pem");
    std::fs::write(&identity, &pki.client_pem).unwrap();
    let ca = pki.path("ca.crt");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(common::binary())
            .arg("healthcheck")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let ca_arg = ca.to_string_lossy();
    let identity_arg = identity.to_string_lossy();
    let (code, stderr) = run(&[
        "--url",
        &url,
        "--ca-file",
        &ca_arg,
        "--client-cert-file",
        &identity_arg,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    // Without the CA the server is not trusted; without the client certificate the
    // server refuses the handshake.
    let (code, stderr) = run(&["--url", &url, "--client-cert-file", &identity_arg]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    let (code, stderr) = run(&["--url", &url, "--ca-file", &ca_arg]);
    assert_eq!(code, Some(1), "{stderr}");
}

#[tokio::test]
async fn required_client_certificates_must_come_from_the_ca() {
    let pki = Pki::new();
    let exporter = start_with(
        &pki.web_config(
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
            "",
        ),
        &[],
    );
    let url = https(&exporter, "/metrics");
    let with_cert = pki.client(&exporter, Some(&pki.client_pem));
    assert_eq!(status(&with_cert, &url, None).await.unwrap(), 200);
    assert_certificate_refused(&pki, &exporter, None, &url, "CertificateRequired").await;
    let rogue = Some(pki.rogue_client_pem.as_str());
    assert_certificate_refused(&pki, &exporter, rogue, &url, "UnknownCA").await;
    // Even the health endpoint needs a certificate: TLS comes before any path.
    let healthy = https(&exporter, "/-/healthy");
    assert_certificate_refused(&pki, &exporter, None, &healthy, "CertificateRequired").await;
}

#[tokio::test]
async fn optional_client_certificates_are_still_verified() {
    let pki = Pki::new();
    let exporter = start_with(
        &pki.web_config(
            "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n",
            "",
        ),
        &[],
    );
    let url = https(&exporter, "/metrics");
    assert_eq!(
        status(&pki.client(&exporter, None), &url, None)
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        status(&pki.client(&exporter, Some(&pki.client_pem)), &url, None)
            .await
            .unwrap(),
        200
    );
    let rogue = Some(pki.rogue_client_pem.as_str());
    assert_certificate_refused(&pki, &exporter, rogue, &url, "UnknownCA").await;
}

#[tokio::test]
async fn minimum_tls_version_is_honoured() {
    let pki = Pki::new();
    let exporter = start_with(&pki.web_config("  min_version: TLS13\n", ""), &[]);
    let url = https(&exporter, "/-/healthy");
    let tls12_only = pki
        .client_builder(&exporter, None)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert_tls_refusal(status(&tls12_only, &url, None).await, "ProtocolVersion");
    let tls13 = pki
        .client_builder(&exporter, None)
        .min_tls_version(reqwest::tls::Version::TLS_1_3)
        .build()
        .unwrap();
    assert_eq!(status(&tls13, &url, None).await.unwrap(), 200);

    // The default minimum, TLS 1.2, lets a TLS 1.2 client in.
    let exporter = start_with(&pki.web_config("", ""), &[]);
    let tls12_only = pki
        .client_builder(&exporter, None)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert_eq!(
        status(&tls12_only, &https(&exporter, "/-/healthy"), None)
            .await
            .unwrap(),
        200
    );
}

#[test]
fn bad_web_configs_stop_start_up_naming_file_and_field() {
    let pki = Pki::new();
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let cases: Vec<(String, &str)> = vec![
        ("tls_server_config:\n  cert_fil: server.crt\n".into(), "`tls_server_config.cert_fil`"),
        ("basic_auth_users:\n  alice: not-a-hash\n".into(), "`basic_auth_users.alice`"),
        (format!("basic-auth-users:\n  alice: {hash}\n"), "`basic-auth-users`"),
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n".into(), "`tls_server_config.cert_file`"),
        ("tls_server_config:\n  cert_file: server.crt\n".into(), "`tls_server_config.key_file`"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: ca.crt\n".into(), "`tls_server_config.key_file`"),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS11\n".into(),
            "`tls_server_config.min_version`",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireSomeCert\n".into(),
            "`tls_server_config.client_auth_type`",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n".into(),
            "`tls_server_config.client_ca_file`",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n".into(),
            "`tls_server_config.cipher_suites`: TLS_RSA_WITH_AES_128_CBC_SHA is not offered",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [CurveP521]\n".into(),
            "`tls_server_config.curve_preferences`: CurveP521",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_allowed_sans: [a]\n".into(),
            "`tls_server_config.client_allowed_sans`",
        ),
        ("http_server_config:\n  headers:\n    Content-Type: foo\n".into(), "`http_server_config.headers.Content-Type`"),
        ("rate_limit:\n  interval: 1s\n  burst: 5\n".into(), "`rate_limit`"),
        ("".into(), "sets nothing"),
    ];
    for (yaml, expected) in cases {
        let path = pki.path("bad-web.yml");
        std::fs::write(&path, &yaml).unwrap();
        let (status, stderr) = ExporterRun::demo()
            .arg("--web.config.file", path.to_string_lossy())
            .run_to_exit();
        assert_eq!(status.code(), Some(2), "{yaml}\n{stderr}");
        assert!(
            stderr.contains("bad-web.yml"),
            "file not named for {yaml:?}: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{expected} not said for {yaml:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (status, stderr) = ExporterRun::demo()
        .arg(
            "--web.config.file",
            pki.path("absent.yml").to_string_lossy(),
        )
        .run_to_exit();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("absent.yml"), "{stderr}");
}

/// A slowloris client: opens a connection, sends a request line, then one header byte
/// every 100 ms, reconnecting when the server hangs up, until `stop`. Notes in `cuts`
/// how long each connection lived before the server closed it.
async fn slowloris(address: SocketAddr, stop: Arc<AtomicBool>, cuts: Arc<Mutex<Vec<Duration>>>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(address).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let opened = Instant::now();
        if stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .is_err()
        {
            continue;
        }
        let mut buffer = [0u8; 256];
        loop {
            tokio::select! {
                read = stream.read(&mut buffer) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        cuts.lock().unwrap().push(opened.elapsed());
                        break;
                    }
                }
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if stream.write_all(b"a").await.is_err() {
                        cuts.lock().unwrap().push(opened.elapsed());
                        break;
                    }
                }
            }
        }
    }
}

/// Eight clients that keep sending a header byte every 100 ms on four connection slots,
/// and one that says nothing: each is cut by the 1 s header timeout although it keeps
/// sending, and scrapes get through meanwhile. The attackers go on until all of that
/// has happened, so no slot is ever free for another reason; the deadlines only stop a
/// broken run, and are generous.
#[tokio::test]
async fn slow_clients_do_not_block_scrapes() {
    let exporter = ExporterRun::demo()
        .arg("--web.max-connections", "4")
        .arg("--web.read-header-timeout", "1s")
        .start();
    let address = address(&exporter);
    let stop = Arc::new(AtomicBool::new(false));
    let cuts: Vec<Arc<Mutex<Vec<Duration>>>> = (0..8).map(|_| Arc::default()).collect();
    let attackers: Vec<_> = cuts
        .iter()
        .map(|cut| tokio::spawn(slowloris(address, Arc::clone(&stop), Arc::clone(cut))))
        .collect();
    let silent = tokio::spawn(async move {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let mut buffer = [0u8; 16];
        tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buffer)).await
    });
    // The attack is on once the slots are all taken.
    exporter.wait_for_log("connection limit reached").await;

    for _ in 0..4 {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let response = client.get(exporter.url("/metrics")).send().await;
        let response = response.unwrap_or_else(|err| panic!("scrape failed under attack: {err}"));
        assert_eq!(response.status(), 200);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("genesys_exporter_build_info")
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while cuts.iter().any(|cut| cut.lock().unwrap().is_empty()) {
        assert!(
            Instant::now() < deadline,
            "a slow client was never cut: {cuts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        attacker.await.unwrap();
    }
    let silent_read = silent.await.unwrap();
    assert!(
        matches!(silent_read, Ok(Ok(0))),
        "silent connection not closed: {silent_read:?}"
    );
    // Cut by the header timeout, not before: each lived at least its 1 s once served.
    for cut in &cuts {
        let lifetimes = cut.lock().unwrap();
        assert!(
            lifetimes.iter().all(|l| *l >= Duration::from_millis(1000)),
            "{lifetimes:?}"
        );
    }
}

#[tokio::test]
async fn oversized_request_heads_are_refused() {
    let exporter = ExporterRun::demo().start();
    let address = address(&exporter);
    let request = |header_bytes: usize| async move {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let head = format!(
            "GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(header_bytes)
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        String::from_utf8_lossy(&answer).into_owned()
    };
    let small = request(4 * 1024).await;
    assert!(small.starts_with("HTTP/1.1 200"), "{small}");
    let big = request(64 * 1024).await;
    assert!(big.starts_with("HTTP/1.1 431"), "{big}");
    let after = request(10).await;
    assert!(after.starts_with("HTTP/1.1 200"), "{after}");
}

#[tokio::test]
async fn connections_over_the_limit_wait_for_a_free_slot() {
    let exporter = ExporterRun::demo()
        .arg("--web.max-connections", "2")
        .arg("--web.read-header-timeout", "2s")
        .start();
    let address = address(&exporter);
    // Two connections that say nothing take both slots until the header timeout. They
    // stay open on this side to the end, so only that timeout can free a slot; the
    // clock starts before they connect, so the server's timer starts later.
    let opened = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(TcpStream::connect(address).await.unwrap());
    }
    exporter.wait_for_log("connection limit reached").await;
    // Generous: without the header timeout no slot would ever free.
    let response = reqwest::Client::new()
        .get(exporter.url("/-/healthy"))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let waited = opened.elapsed();
    assert_eq!(response.status(), 200);
    assert!(
        waited >= Duration::from_secs(2),
        "the third connection was served after {waited:?}, before a slot freed at 2 s"
    );
    // The slot was freed by the server closing a silent connection.
    let mut closed = 0;
    for mut stream in idle {
        let mut buffer = [0u8; 16];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buffer)).await
        {
            closed += 1;
        }
    }
    assert_eq!(
        closed, 2,
        "both silent connections are closed by the server"
    );
}

#[tokio::test]
async fn idle_http2_connections_are_closed() {
    // hyper closes idle HTTP/1 connections itself, but not HTTP/2 ones: an idle HTTP/2
    // connection would hold its slot for ever.
    let exporter = ExporterRun::demo()
        .arg("--web.read-header-timeout", "1s")
        .arg("--log.level", "debug")
        .start();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(exporter.url("/-/healthy")).send().await.unwrap();
    assert_eq!(
        (response.version(), response.status().as_u16()),
        (reqwest::Version::HTTP_2, 200)
    );
    exporter
        .wait_for_log("nothing sent or received for a while")
        .await;
    // The client notices and connects again.
    assert_eq!(
        status(&client, &exporter.url("/-/healthy"), None)
            .await
            .unwrap(),
        200
    );
}

/// The DER of the certificate the server presented on `response`'s connection.
fn served_certificate(response: &reqwest::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info")
        .to_vec()
}

/// A new server certificate and key for `localhost` from the test CA, written over the
/// files in force (the key first, as a careless renewal might); returns its DER.
fn renew_server_certificate(pki: &Pki) -> Vec<u8> {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    std::fs::write(pki.path("server.key"), key.serialize_pem()).unwrap();
    std::fs::write(pki.path("server.crt"), cert.pem()).unwrap();
    cert.der().to_vec()
}

/// The certificate is replaced on disk while a client connects every second: every
/// connection succeeds, and the new certificate is served within the check period. A
/// broken replacement is logged and the last good certificate stays in force.
#[tokio::test]
async fn a_certificate_replaced_on_disk_is_served_without_a_restart() {
    let pki = Pki::new();
    let exporter = start_with(&pki.web_config("", ""), &[]);
    // A new connection per request: the certificate is chosen at the handshake.
    let client = pki
        .client_builder(&exporter, None)
        .pool_max_idle_per_host(0)
        .tls_info(true)
        .build()
        .unwrap();
    let url = https(&exporter, "/metrics");
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let old = served_certificate(&first);

    let renewed = renew_server_certificate(&pki);
    // The check runs every 3 s; the deadline only fails a watcher that never sees it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = client
            .get(&url)
            .send()
            .await
            .expect("every connection succeeds");
        assert_eq!(response.status(), 200);
        let served = served_certificate(&response);
        if served == renewed {
            break;
        }
        assert_eq!(served, old);
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was never served: {}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        exporter
            .logs()
            .contains("TLS certificate files changed; new connections get the new certificate"),
        "{}",
        exporter.logs()
    );

    // A half-written certificate: refused, logged, and the renewed one stays. (The
    // renewal itself may have logged one such refusal, between the two writes.)
    let refusals = |logs: String| {
        logs.matches("the last good certificate stays in force")
            .count()
    };
    let before = refusals(exporter.logs());
    std::fs::write(pki.path("server.crt"), "-----BEGIN CERTIFICATE-----\nMIIB").unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while refusals(exporter.logs()) == before {
        let response = client
            .get(&url)
            .send()
            .await
            .expect("connections still succeed");
        assert_eq!(served_certificate(&response), renewed);
        assert!(Instant::now() < deadline, "{}", exporter.logs());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(served_certificate(&response), renewed);
    assert_eq!(
        refusals(exporter.logs()),
        before + 1,
        "a broken file is reported once, not at every check"
    );
}

/// The PEM text indented as a YAML block scalar under a key at `indent` spaces.
fn block(pem: &str, indent: usize) -> String {
    let pad = " ".repeat(indent + 2);
    let lines: String = pem.lines().map(|l| format!("{pad}{l}\n")).collect();
    format!("|\n{lines}")
}

/// A web config as node_exporter's docs write one: TLS with cipher suites and curves,
/// `http_server_config` with HTTP/2 and the security headers, basic auth. The headers
/// are on every response (also 401 and the probes); HTTP/2 is negotiated; with
/// `http2: false` the same client gets HTTP/1.1; a cipher-suite list the certificate
/// cannot use is in force (the handshake fails).
#[tokio::test]
async fn node_exporter_style_web_config_with_headers_and_http2() {
    let pki = Pki::new();
    let http = |http2: bool| {
        format!(
            "http_server_config:\n  http2: {http2}\n  headers:\n    X-Frame-Options: deny\n    \
             X-Content-Type-Options: nosniff\n    X-XSS-Protection: \"1; mode=block\"\n    \
             Content-Security-Policy: \"default-src 'self'\"\n    \
             Strict-Transport-Security: max-age=31536000; includeSubDomains\n"
        )
    };
    let tls = "  min_version: TLS12\n  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    \
               - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305\n    - TLS_AES_128_GCM_SHA256\n  \
               curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: true\n";
    let exporter = start_with(
        &pki.web_config(tls, &format!("{}{}", http(true), users_yaml())),
        &[],
    );
    let client = pki.client(&exporter, None);
    let expect_headers = |response: &reqwest::Response| {
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "deny");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-xss-protection"], "1; mode=block");
        assert_eq!(headers["content-security-policy"], "default-src 'self'");
        assert_eq!(
            headers["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
    };
    let ok = scrape_as_user(&client, &exporter).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.version(), reqwest::Version::HTTP_2);
    expect_headers(&ok);
    // Also on a refusal and on a probe.
    for (path, expected) in [("/metrics", 401), ("/-/healthy", 200)] {
        let response = client.get(https(&exporter, path)).send().await.unwrap();
        assert_eq!(response.status(), expected, "{path}");
        expect_headers(&response);
    }
    drop(exporter);

    let exporter = start_with(&pki.web_config(tls, &http(false)), &[]);
    let response = pki
        .client(&exporter, None)
        .get(https(&exporter, "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (response.version(), response.status().as_u16()),
        (reqwest::Version::HTTP_11, 200)
    );
    expect_headers(&response);
    drop(exporter);

    // Only RSA suites in TLS 1.2, and the certificate is ECDSA: no handshake succeeds.
    let exporter = start_with(
        &pki.web_config(
            "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n",
            "",
        ),
        &[],
    );
    let result = pki
        .client(&exporter, None)
        .get(https(&exporter, "/-/healthy"))
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
}

/// `RequireAnyClientCert` takes any client certificate but requires one;
/// `client_allowed_sans` narrows verified ones to those naming an allowed SAN; the
/// server certificate, key and client CA may be inline PEM.
#[tokio::test]
async fn any_client_certificate_and_allowed_sans() {
    let pki = Pki::new();
    let any = pki.path("any.yml");
    std::fs::write(
        &any,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAnyClientCert\n",
    )
    .unwrap();
    let exporter = start_with(&any, &[]);
    let url = https(&exporter, "/-/healthy");
    let rogue = pki.client(&exporter, Some(&pki.rogue_client_pem));
    assert_eq!(status(&rogue, &url, None).await.unwrap(), 200);
    let anonymous = pki.client(&exporter, None);
    assert!(status(&anonymous, &url, None).await.is_err());
    drop(exporter);

    let inline = |allowed: &str| {
        let path = pki.path("inline.yml");
        let read = |name: &str| std::fs::read_to_string(pki.path(name)).unwrap();
        std::fs::write(
            &path,
            format!(
                "tls_server_config:\n  cert: {}  key: {}  client_ca: {}  \
                 client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [{allowed}]\n",
                block(&read("server.crt"), 2),
                block(&read("server.key"), 2),
                block(&pki.ca_pem, 2),
            ),
        )
        .unwrap();
        path
    };
    // The client certificate's SAN is `localhost`.
    let exporter = start_with(&inline("prometheus.example, 10.0.0.1"), &[]);
    let url = https(&exporter, "/-/healthy");
    let client = pki.client(&exporter, Some(&pki.client_pem));
    assert!(
        status(&client, &url, None).await.is_err(),
        "SAN not allowed"
    );
    drop(exporter);
    let exporter = start_with(&inline("prometheus.example, localhost"), &[]);
    let url = https(&exporter, "/-/healthy");
    let client = pki.client(&exporter, Some(&pki.client_pem));
    assert_eq!(status(&client, &url, None).await.unwrap(), 200);
    let rogue = pki.client(&exporter, Some(&pki.rogue_client_pem));
    assert!(status(&rogue, &url, None).await.is_err(), "unverified CA");
    assert!(
        !exporter.logs().contains("PRIVATE KEY"),
        "the inline key must never be logged"
    );
}
