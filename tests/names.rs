//! Names for ids against the simulator: every listing read whole at the page size it
//! takes, users looked up by id or paged, names kept through failures, and the exporter
//! putting `user_name` and `wrap_up_code_name` beside the ids with the values unchanged.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    CLIENT_SECRET, ExporterRun, aggregates, client, client_with, settings, simulator, statuses,
};
use genesys_cloud_exporter::genesys::GenesysClient;
use genesys_cloud_exporter::genesys::names::{
    DIMENSIONS, NameDirectory, Paging, USER_IDS_PER_REQUEST,
};
use genesys_cloud_exporter::genesys::region::Endpoints;
use genesys_cloud_exporter::simulator::{
    Fault, FaultKind, FaultRule, PageSizeLimit, Simulator, SimulatorConfig, Trigger,
};
use genesys_cloud_exporter::telemetry::Telemetry;

const QUEUES: &str = "/api/v2/routing/queues";
const USERS: &str = "/api/v2/users";
const WRAP_UP_CODES: &str = "/api/v2/routing/wrapupcodes";

/// A directory for the given dimensions, over a client of `sim`.
fn directory(sim: &Simulator, group_by: &[&str]) -> (GenesysClient, NameDirectory, Arc<Telemetry>) {
    let (client, telemetry) = client(sim, CLIENT_SECRET);
    let names = NameDirectory::new(group_by.iter().copied(), Arc::clone(&telemetry));
    (client, names, telemetry)
}

fn encoded(telemetry: &Telemetry) -> String {
    let mut text = String::new();
    telemetry.encode_prometheus_text(&mut text).unwrap();
    text
}

/// The names of one dimension as the directory holds them now.
fn held(names: &NameDirectory, group_by: &str, ids: &[(String, String)]) -> Vec<String> {
    let current = names.current();
    ids.iter()
        .map(|(id, _)| current.get(group_by, id).to_string())
        .collect()
}

fn listed_names(listing: &[(String, String)]) -> Vec<String> {
    listing.iter().map(|(_, name)| name.clone()).collect()
}

#[tokio::test]
async fn queue_names_survive_a_failed_refresh() {
    let sim = simulator(SimulatorConfig {
        queue_count: 120,
        ..SimulatorConfig::default()
    })
    .await;
    let (client, names, _) = directory(&sim, &["queueId"]);
    assert_eq!(names.refresh(&client).await.unwrap(), 120);
    let first = sim.queues()[0].clone();
    assert_eq!(names.current().get("queueId", &first.id), first.name);

    // Every page request fails, retries included: the refresh fails and the names
    // from before stay.
    sim.inject_fault(Fault {
        path_prefix: QUEUES.into(),
        status: 503,
        retry_after: None,
        count: 100,
    });
    assert!(names.refresh(&client).await.is_err());
    assert_eq!(names.current().get("queueId", &first.id), first.name);
}

/// An org of `queues` queues whose listing treats page sizes by `limit`.
async fn queue_org(
    queues: usize,
    limit: PageSizeLimit,
) -> (Simulator, GenesysClient, NameDirectory) {
    let sim = simulator(SimulatorConfig {
        queue_count: queues,
        queue_page_limit: limit,
        ..SimulatorConfig::default()
    })
    .await;
    let (client, names, _) = directory(&sim, &["queueId"]);
    (sim, client, names)
}

/// Queue names are read at 500 a page: a 1,200-queue org in 3 requests, not 12.
#[tokio::test]
async fn queue_names_are_read_in_pages_of_500() {
    let (sim, client, names) = queue_org(1_200, PageSizeLimit::default()).await;
    assert_eq!(names.refresh(&client).await.unwrap(), 1_200);
    assert_eq!(statuses(&sim, QUEUES), [200, 200, 200]);
    let last = sim.queues()[1_199].clone();
    assert_eq!(names.current().get("queueId", &last.id), last.name);
}

/// An API that refuses pages over 100 with a 400: the refresh starts again at 100, and
/// later refreshes ask for 100 straight away.
#[tokio::test]
async fn a_refused_page_size_falls_back_to_100_for_good() {
    let (sim, client, names) = queue_org(250, PageSizeLimit::Refuse(100)).await;
    assert_eq!(names.refresh(&client).await.unwrap(), 250);
    assert_eq!(statuses(&sim, QUEUES), [400, 200, 200, 200]);
    assert_eq!(names.refresh(&client).await.unwrap(), 250);
    assert_eq!(statuses(&sim, QUEUES), [400, 200, 200, 200, 200, 200, 200]);
}

/// An API that serves at most 100 a page whatever is asked, and says so in `pageSize`:
/// every queue is read, page by page, at the size it serves.
#[tokio::test]
async fn a_silently_capped_page_size_is_followed() {
    let (sim, client, names) = queue_org(250, PageSizeLimit::Cap(100)).await;
    assert_eq!(names.refresh(&client).await.unwrap(), 250);
    assert_eq!(statuses(&sim, QUEUES), [200, 200, 200]);
    let current = names.current();
    for queue in sim.queues() {
        assert_eq!(current.get("queueId", &queue.id), queue.name);
    }
}

/// Every named dimension's listing is read whole, numbered, by cursor or in one answer,
/// at the page size the simulator serves (2 here, so that every listing takes several pages), and
/// only the dimensions in use are fetched.
#[tokio::test]
async fn every_listing_is_read_whole_at_the_page_size_served() {
    let sim = simulator(SimulatorConfig {
        listing_page_limit: PageSizeLimit::Cap(2),
        queue_page_limit: PageSizeLimit::Cap(2),
        ..SimulatorConfig::default()
    })
    .await;
    let all: Vec<&str> = DIMENSIONS.iter().map(|d| d.group_by).collect();
    let (client, names, telemetry) = directory(&sim, &all);
    let names = names.with_user_lookup_limit(0);
    // Users switch to paging once an id is seen past the limit of 0.
    let first_user = sim.listing(USERS)[0].0.clone();
    names.look_up_users(&client, [first_user.as_str()]).await;
    names.refresh(&client).await.unwrap();
    let metrics = encoded(&telemetry);
    for dimension in &DIMENSIONS {
        let listing = if dimension.path == QUEUES {
            sim.queues().into_iter().map(|q| (q.id, q.name)).collect()
        } else {
            sim.listing(dimension.path)
        };
        assert!(!listing.is_empty(), "{}", dimension.path);
        assert_eq!(
            held(&names, dimension.group_by, &listing),
            listed_names(&listing),
            "{}",
            dimension.path
        );
        // Campaigns serve 100 a page whatever the org's rule: one request; the presence
        // definitions are one answer, unpaged.
        let pages = match (dimension.paging, dimension.endpoint) {
            (Paging::Unpaged, _) => 1,
            (_, "campaigns") => listing.len().div_ceil(100),
            _ => listing.len().div_ceil(2),
        };
        let requests = statuses(&sim, dimension.path).len();
        assert_eq!(
            requests,
            pages,
            "{} pages of {}",
            dimension.path,
            listing.len()
        );
        let gauge = format!(
            "genesys_exporter_names{{dimension=\"{}\"}} {}",
            dimension.group_by,
            listing.len()
        );
        assert!(metrics.contains(&gauge), "{gauge} in\n{metrics}");
    }
    assert!(names.current().get("teamId", "no-such-team").is_empty());

    // Only the dimensions a query groups by are fetched.
    let (client, wrap_up_only, _) = directory(&sim, &["wrapUpCode", "mediaType"]);
    let before = sim.requests().len();
    wrap_up_only.refresh(&client).await.unwrap();
    let paths: Vec<String> = sim.requests()[before..]
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| p != "/oauth/token")
        .collect();
    assert!(paths.iter().all(|p| p == WRAP_UP_CODES), "{paths:?}");
    assert_eq!(paths.len(), 4, "8 wrap-up codes at 2 a page");
}

/// Users seen by polls are looked up by id, 100 a request, each once until the next
/// refresh, which asks for all of them again (renames show). Past the threshold, the
/// whole list is paged at 500 a page instead.
#[tokio::test]
async fn users_are_looked_up_by_id_under_the_threshold_and_paged_past_it() {
    let sim = simulator(SimulatorConfig {
        user_count: 1_200,
        ..SimulatorConfig::default()
    })
    .await;
    let users = sim.listing(USERS);
    let (client, names, _) = directory(&sim, &["userId"]);
    let names = names.with_user_lookup_limit(300);
    // No user seen yet: a refresh costs nothing.
    names.refresh(&client).await.unwrap();
    assert!(statuses(&sim, USERS).is_empty());

    let seen: Vec<&str> = users[..250].iter().map(|(id, _)| id.as_str()).collect();
    names.look_up_users(&client, seen.iter().copied()).await;
    assert_eq!(
        statuses(&sim, USERS).len(),
        250_usize.div_ceil(USER_IDS_PER_REQUEST)
    );
    assert_eq!(
        held(&names, "userId", &users[..250]),
        listed_names(&users[..250])
    );
    assert!(names.current().get("userId", &users[250].0).is_empty());
    // Known ids are not asked again; an unknown one is, alone.
    names.look_up_users(&client, seen.iter().copied()).await;
    assert_eq!(statuses(&sim, USERS).len(), 3);
    names.look_up_users(&client, [users[250].0.as_str()]).await;
    assert_eq!(statuses(&sim, USERS).len(), 4);
    names.refresh(&client).await.unwrap();
    assert_eq!(
        statuses(&sim, USERS).len(),
        4 + 3,
        "251 ids at 100 a request"
    );

    // 60 more make 311, past the threshold of 300: the list is paged from now on.
    let more: Vec<&str> = users[251..311].iter().map(|(id, _)| id.as_str()).collect();
    names.look_up_users(&client, more.iter().copied()).await;
    let before = statuses(&sim, USERS).len();
    names.refresh(&client).await.unwrap();
    assert_eq!(
        statuses(&sim, USERS).len() - before,
        3,
        "1,200 users at 500 a page"
    );
    assert_eq!(held(&names, "userId", &users), listed_names(&users));
}

/// A listing page over the response size limit is skipped and counted as a response
/// warning; the names from before stay.
#[tokio::test]
async fn an_oversize_page_is_counted_and_the_last_names_stay() {
    let sim = simulator(SimulatorConfig::default()).await;
    let mut limited = settings(&sim, CLIENT_SECRET, 300);
    limited.max_response_bytes = 64 << 10;
    let (client, telemetry) = client_with(limited);
    let names = NameDirectory::new(["wrapUpCode"], Arc::clone(&telemetry));
    names.refresh(&client).await.unwrap();
    let codes = sim.listing(WRAP_UP_CODES);
    sim.add_fault(FaultRule {
        path_prefix: WRAP_UP_CODES.into(),
        kind: FaultKind::HugeBody { bytes: 1 << 20 },
        trigger: Trigger::Count(1),
    });
    assert!(names.refresh(&client).await.is_err());
    assert_eq!(held(&names, "wrapUpCode", &codes), listed_names(&codes));
    let metrics = encoded(&telemetry);
    assert!(
        metrics.contains(r#"genesys_exporter_response_warnings_total{dimension="wrapUpCode"} 1"#),
        "{metrics}"
    );
}

const AGENTS_QUERY: &str = r#"
queries:
  - name: agents
    granularity: PT30M
    time_zone: UTC
    settle_delay: 5s
    group_by: [userId, wrapUpCode]
    metrics: [tHandle, nConnected]
"#;

/// Waits until `check` holds for a scrape.
async fn eventually(
    exporter: &common::Exporter,
    what: &str,
    check: impl Fn(&common::Metrics) -> bool,
) -> common::Metrics {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = exporter.scrape().await;
        if check(&metrics) {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "{what}; logs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A query grouped by `userId` and `wrapUpCode` exports `user_name` and
/// `wrap_up_code_name` as the listings give them (quotes and accents escaped and read
/// back), with the values the API gave.
#[tokio::test(flavor = "multi_thread")]
async fn agent_series_carry_user_and_wrap_up_names_with_the_values_unchanged() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), AGENTS_QUERY)
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    let users: HashMap<String, String> = sim.listing(USERS).into_iter().collect();
    let codes: HashMap<String, String> = sim.listing(WRAP_UP_CODES).into_iter().collect();

    let start = metrics.value(
        "genesys_conversation_interval_start_timestamp_seconds",
        &[("query", "agents")],
    ) as i64;
    let format = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    let interval = format!("{}/{}", format(start), format(start + 1800));
    let api = aggregates(
        &sim,
        &serde_json::json!({"interval": interval, "granularity": "PT30M", "timeZone": "UTC",
            "groupBy": ["userId", "wrapUpCode"], "metrics": ["tHandle", "nConnected"]}),
    )
    .await;
    let mut compared = 0;
    let mut escaped = 0;
    for result in api["results"]
        .as_array()
        .expect("the simulator has traffic")
    {
        let user = result["group"]["userId"].as_str().unwrap_or("");
        let code = result["group"]["wrapUpCode"].as_str().unwrap_or("");
        let user_name = users.get(user).map_or("", String::as_str);
        let code_name = codes.get(code).map_or("", String::as_str);
        if !user.is_empty() {
            assert!(!user_name.is_empty(), "user {user} is not in the listing");
        }
        if user_name.contains('"') || code_name.contains('"') || !user_name.is_ascii() {
            escaped += 1;
        }
        let labels = [
            ("query", "agents"),
            ("user_id", user),
            ("user_name", user_name),
            ("wrap_up_code", code),
            ("wrap_up_code_name", code_name),
        ];
        for metric in result["data"][0]["metrics"].as_array().unwrap() {
            let stats = &metric["stats"];
            match metric["metric"].as_str().unwrap() {
                "nConnected" => assert_eq!(
                    metrics.value("genesys_conversation_connected", &labels),
                    stats["count"].as_f64().unwrap()
                ),
                "tHandle" => {
                    let sum = metrics.value("genesys_conversation_handle_seconds_sum", &labels);
                    assert!((sum - stats["sum"].as_f64().unwrap() / 1000.0).abs() < 1e-9);
                }
                _ => continue,
            }
            compared += 1;
        }
    }
    assert!(compared > 10, "only {compared} stats compared");
    assert!(escaped > 0, "no name needed escaping");
    // Every series has the name labels, and exactly one series per group.
    for sample in metrics.find("genesys_conversation_connected", &[("query", "agents")]) {
        assert!(sample.labels.contains_key("user_name"), "{sample:?}");
        assert!(
            sample.labels.contains_key("wrap_up_code_name"),
            "{sample:?}"
        );
    }
    let known = |d: &str| metrics.value("genesys_exporter_names", &[("dimension", d)]);
    assert_eq!(known("wrapUpCode"), codes.len() as f64);
    assert!(known("userId") > 0.0);
    assert!(
        metrics
            .find("genesys_exporter_names", &[("dimension", "queueId")])
            .is_empty()
    );
    // Users were looked up by id, not paged.
    let user_requests = statuses(&sim, USERS);
    assert!(!user_requests.is_empty());
    let landing = reqwest::get(exporter.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(landing.contains("<h2>Names</h2>"), "{landing}");
    assert!(
        landing.contains("<td>wrapUpCode</td><td>8</td>"),
        "{landing}"
    );
}

/// Users answered 403: the error is logged once with the permission to grant, the
/// names stay empty, and the query stays up with every value.
#[tokio::test(flavor = "multi_thread")]
async fn a_403_on_users_leaves_names_empty_and_the_query_up() {
    let sim = simulator(SimulatorConfig::default()).await;
    sim.add_fault(FaultRule {
        path_prefix: USERS.into(),
        kind: FaultKind::Status {
            status: 403,
            retry_after: None,
        },
        trigger: Trigger::Count(u32::MAX),
    });
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), AGENTS_QUERY)
        // Two listings refreshed every second: 120 requests a minute in the plan.
        .arg("--genesys.names-refresh", "1s")
        .arg("--genesys.requests-per-minute", "300")
        .start();
    exporter.wait_ready().await;
    // Wait for refreshes after the first lookup: each asks again and is refused again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while statuses(&sim, USERS).len() < 3 {
        assert!(Instant::now() < deadline, "users were not asked again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(statuses(&sim, USERS).iter().all(|&s| s == 403));
    let metrics = eventually(&exporter, "the query is up", |m| {
        m.find("genesys_exporter_query_up", &[("query", "agents")])
            .iter()
            .any(|s| s.value == 1.0)
    })
    .await;
    let connected = metrics.find("genesys_conversation_connected", &[("query", "agents")]);
    assert!(!connected.is_empty());
    assert!(connected.iter().all(|s| s.labels["user_name"].is_empty()));
    let codes: HashMap<String, String> = sim.listing(WRAP_UP_CODES).into_iter().collect();
    assert!(connected.iter().all(|s| {
        let code = &s.labels["wrap_up_code"];
        code.is_empty() || s.labels["wrap_up_code_name"] == codes[code]
    }));
    let logs = exporter.logs();
    assert_eq!(
        logs.matches("grant its role `directory:user:view`").count(),
        1,
        "{logs}"
    );
}

/// The user documentation (README and, where it has moved, `docs/`) lists every named
/// dimension with its label, its listing and the permission to grant.
#[test]
fn the_docs_list_every_listing_and_its_permission() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(root.join("README.md")).unwrap();
    if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "md") {
                text.push_str(&std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    for dimension in &DIMENSIONS {
        for wanted in [
            format!("`{}`", dimension.group_by),
            format!("`{}`", dimension.label),
            format!("`GET {}", dimension.path),
            format!("| `{}` |", dimension.permission),
        ] {
            assert!(text.contains(&wanted), "the docs do not mention {wanted}");
        }
    }
    assert!(text.contains("--genesys.names-refresh"));
    assert!(text.contains("genesys_exporter_names{dimension}"));
}

/// Conversations carry their queue's division: a query grouped by `divisionId` gets
/// every division's name from the division listing.
#[tokio::test(flavor = "multi_thread")]
async fn division_series_carry_the_division_names() {
    // Busy at every hour: at night a half hour may hold no conversation of a division.
    let sim = simulator(SimulatorConfig {
        busy_all_day: true,
        ..SimulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(
            dir.path(),
            "queries:\n  - name: divisions\n    granularity: PT30M\n    settle_delay: 5s\n    group_by: [divisionId]\n    metrics: [nOffered]\n",
        )
        .start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    let divisions: HashMap<String, String> = sim
        .listing("/api/v2/authorization/divisions")
        .into_iter()
        .collect();
    let offered = metrics.find("genesys_conversation_offered", &[("query", "divisions")]);
    assert_eq!(offered.len(), divisions.len(), "{offered:?}");
    for sample in offered {
        let id = &sample.labels["division_id"];
        assert_eq!(&sample.labels["division_name"], &divisions[id]);
    }
}

/// A reload that adds a query grouped by `userId` to a config that named only queues
/// starts reading user names: the new query's series carry `user_name` as the listing
/// gives it, from its first poll. A reload that drops every `queueId` query stops
/// reading queue names, and their `genesys_exporter_names` series is gone.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_grouping_by_a_new_dimension_names_it() {
    const QUEUES_ONLY: &str = "queries:\n  - {name: queues, granularity: PT30M, time_zone: UTC, \
         settle_delay: 5s, group_by: [queueId], metrics: [nOffered]}\n";
    const AGENTS_ONLY: &str = "queries:\n  - {name: agents, granularity: PT30M, time_zone: UTC, \
         settle_delay: 5s, group_by: [userId], metrics: [nConnected]}\n";
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut run = ExporterRun::against(&sim).config(dir.path(), QUEUES_ONLY);
    run.args.push("--web.enable-lifecycle".into());
    let exporter = run.start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    let known =
        |m: &common::Metrics, d: &str| m.find("genesys_exporter_names", &[("dimension", d)]).len();
    assert_eq!(known(&metrics, "queueId"), 1);
    assert_eq!(known(&metrics, "userId"), 0);
    assert!(
        statuses(&sim, USERS).is_empty(),
        "users read before any query needs them"
    );

    std::fs::write(dir.path().join("config.yaml"), AGENTS_ONLY).unwrap();
    let reload = reqwest::Client::new()
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 200, "{}", reload.text().await.unwrap());
    let users: HashMap<String, String> = sim.listing(USERS).into_iter().collect();
    let metrics = eventually(&exporter, "the agents query never polled", |m| {
        !m.find("genesys_conversation_connected", &[("query", "agents")])
            .is_empty()
    })
    .await;
    let mut named = 0;
    for sample in metrics.find("genesys_conversation_connected", &[("query", "agents")]) {
        let id = sample.labels.get("user_id").map_or("", String::as_str);
        let name = sample.labels.get("user_name").map(String::as_str);
        if !id.is_empty() {
            assert_eq!(name, users.get(id).map(String::as_str), "{sample:?}");
            named += 1;
        }
    }
    assert!(named > 0, "no agent series with a user id");
    assert!(metrics.value("genesys_exporter_names", &[("dimension", "userId")]) > 0.0);
    assert_eq!(known(&metrics, "queueId"), 0, "queue names still tracked");
}

/// A Genesys stand-in on loopback that answers the listings as the API documents them
/// (the SDK's `FlowEntityListing`, `FlowOutcomeListing` and
/// `OrganizationPresenceDefinitionEntityListing`), for listings whose shape is worth
/// holding apart from the simulator's. Each GET is answered by `answer(path, query)`
/// and its path and query are noted.
struct ListingStandIn {
    address: std::net::SocketAddr,
    requests: Arc<std::sync::Mutex<Vec<(String, Query)>>>,
}

/// A request's query parameters.
type Query = HashMap<String, String>;

type Answer = fn(&str, &Query) -> (u16, String);

impl ListingStandIn {
    async fn start(answer: Answer) -> ListingStandIn {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let noted = Arc::clone(&requests);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let noted = Arc::clone(&noted);
                tokio::spawn(async move {
                    // A GET has no body: the request ends with its headers.
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        let read = stream.read(&mut chunk).await.unwrap();
                        assert!(read > 0, "the request ended early");
                        request.extend_from_slice(&chunk[..read]);
                    }
                    let text = String::from_utf8_lossy(&request).into_owned();
                    let target = text.split(' ').nth(1).unwrap_or_default();
                    let url = reqwest::Url::parse("http://stand.in")
                        .unwrap()
                        .join(target)
                        .unwrap();
                    let query: Query = url.query_pairs().into_owned().collect();
                    let (status, body) = answer(url.path(), &query);
                    noted.lock().unwrap().push((url.path().to_string(), query));
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    stream.write_all(response.as_bytes()).await.unwrap();
                    stream.shutdown().await.unwrap();
                });
            }
        });
        ListingStandIn { address, requests }
    }

    fn requests(&self, path: &str) -> Vec<HashMap<String, String>> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, query)| query.clone())
            .collect()
    }

    /// A client that logs in at `sim` and sends its API calls here.
    fn client(&self, sim: &Simulator) -> (GenesysClient, Arc<Telemetry>) {
        let mut settings = settings(sim, CLIENT_SECRET, 300);
        settings.endpoints = Endpoints::resolve(
            "us_east_1",
            Some(&format!("http://{}", self.address)),
            Some(&sim.base_url()),
        )
        .unwrap();
        client_with(settings)
    }
}

const FLOWS: &str = "/api/v2/flows";
const FLOW_OUTCOMES: &str = "/api/v2/flows/outcomes";
const PRESENCE_DEFINITIONS: &str = "/api/v2/presence/definitions";
/// Most entities one page of the stand-in's Architect listings holds, whatever is asked.
const ARCHITECT_PAGE_CAP: usize = 100;

/// The stand-in's flows: more than two pages of [`ARCHITECT_PAGE_CAP`].
fn stand_in_flows() -> Vec<(String, String)> {
    (0..230)
        .map(|i| (format!("flow-{i:03}"), format!("Inbound line {i} \"main\"")))
        .collect()
}

fn stand_in_outcomes() -> Vec<(String, String)> {
    ["Payment taken", "Authentication failed", "Callback booked"]
        .iter()
        .enumerate()
        .map(|(i, name)| (format!("outcome-{i}"), name.to_string()))
        .collect()
}

/// A numbered listing page of `entities` as Genesys writes it: the page size it served
/// (at most [`ARCHITECT_PAGE_CAP`]), the page count, and `nextUri` on all but the last.
fn numbered_page(
    path: &str,
    entities: &[(String, String)],
    query: &HashMap<String, String>,
) -> String {
    let size: usize = query["pageSize"]
        .parse::<usize>()
        .unwrap()
        .min(ARCHITECT_PAGE_CAP);
    let number: usize = query["pageNumber"].parse().unwrap();
    let count = entities.len().div_ceil(size);
    let page: Vec<serde_json::Value> = entities
        .iter()
        .skip((number - 1) * size)
        .take(size)
        .map(|(id, name)| {
            serde_json::json!({"id": id, "name": name, "division": {"id": "d1", "name": "Home"},
                               "selfUri": format!("{path}/{id}")})
        })
        .collect();
    let mut body = serde_json::json!({
        "entities": page, "pageSize": size, "pageNumber": number,
        "total": entities.len(), "pageCount": count,
        "firstUri": format!("{path}?pageSize={size}&pageNumber=1"),
        "selfUri": format!("{path}?pageSize={size}&pageNumber={number}"),
        "lastUri": format!("{path}?pageSize={size}&pageNumber={count}"),
    });
    if number < count {
        body["nextUri"] = format!("{path}?pageSize={size}&pageNumber={}", number + 1).into();
    }
    body.to_string()
}

/// The organization's presence definitions, as `GET /api/v2/presence/definitions`
/// answers: one list, no paging; `name` is optional and `languageLabels` required, and
/// `systemPresence` is spelt `OnQueue`, not the aggregates' `ON_QUEUE`. With the name
/// each should get.
fn stand_in_presences() -> (serde_json::Value, Vec<(&'static str, &'static str)>) {
    let listing = serde_json::json!({"total": 4, "selfUri": PRESENCE_DEFINITIONS, "entities": [
        {"id": "p-available", "type": "System", "systemPresence": "Available",
         "languageLabels": {"de": "Verfügbar", "en_US": "Available"}, "deactivated": false},
        {"id": "p-on-queue", "type": "System", "systemPresence": "OnQueue",
         "languageLabels": {"en_US": "On Queue"}, "deactivated": false},
        {"id": "p-lunch", "name": "Lunch (long)", "type": "User", "systemPresence": "Meal",
         "languageLabels": {"en_US": "Lunch"}, "divisionId": "d1", "deactivated": false},
        {"id": "p-schulung", "type": "User", "systemPresence": "Training",
         "languageLabels": {"fr": "Formation", "de": "Schulung"}, "deactivated": false}
    ]});
    let names = vec![
        ("p-available", "Available"),
        ("p-on-queue", "On Queue"),
        ("p-lunch", "Lunch (long)"),
        ("p-schulung", "Schulung"),
    ];
    (listing, names)
}

fn answer_listings(path: &str, query: &HashMap<String, String>) -> (u16, String) {
    match path {
        FLOWS => (200, numbered_page(path, &stand_in_flows(), query)),
        FLOW_OUTCOMES => (200, numbered_page(path, &stand_in_outcomes(), query)),
        PRESENCE_DEFINITIONS => (200, stand_in_presences().0.to_string()),
        _ => (404, r#"{"status": 404, "code": "not.found"}"#.into()),
    }
}

/// Flows, flow outcomes and organization presences are named from their listings as
/// Genesys serves them: the Architect listings by page number at the page size served,
/// the presence definitions in one request with no paging parameters, a presence
/// without `name` by its `languageLabels` (`en_US` first).
#[tokio::test]
async fn flows_outcomes_and_presences_are_named_from_their_listings() {
    let sim = simulator(SimulatorConfig::default()).await;
    let stand_in = ListingStandIn::start(answer_listings).await;
    let (client, telemetry) = stand_in.client(&sim);
    let names = NameDirectory::new(
        ["flowId", "flowOutcomeId", "presenceId"],
        Arc::clone(&telemetry),
    );
    assert_eq!(names.refresh(&client).await.unwrap(), 230 + 3 + 4);

    let current = names.current();
    for (dimension, listing) in [
        ("flowId", stand_in_flows()),
        ("flowOutcomeId", stand_in_outcomes()),
    ] {
        for (id, name) in &listing {
            assert_eq!(current.get(dimension, id), name, "{dimension} {id}");
        }
    }
    for (id, name) in stand_in_presences().1 {
        assert_eq!(current.get("presenceId", id), name);
    }
    assert_eq!(current.get("presenceId", "flow-000"), "");

    // 500 asked, 100 served and followed: 3 pages of flows, 1 of outcomes.
    let pages = |path| -> Vec<(String, String)> {
        stand_in
            .requests(path)
            .iter()
            .map(|q| (q["pageSize"].clone(), q["pageNumber"].clone()))
            .collect()
    };
    let page = |size: &str, number: &str| (size.to_string(), number.to_string());
    assert_eq!(
        pages(FLOWS),
        [page("500", "1"), page("100", "2"), page("100", "3")]
    );
    assert_eq!(pages(FLOW_OUTCOMES), [page("500", "1")]);
    assert_eq!(stand_in.requests(PRESENCE_DEFINITIONS), [HashMap::new()]);
    let metrics = encoded(&telemetry);
    for (dimension, count) in [("flowId", 230), ("flowOutcomeId", 3), ("presenceId", 4)] {
        let gauge = format!("genesys_exporter_names{{dimension=\"{dimension}\"}} {count}");
        assert!(metrics.contains(&gauge), "{gauge} in\n{metrics}");
    }
}

/// End to end against the simulator's flows: a `source: flows` query grouped by `flowId`
/// and `flowOutcomeId` exports `flow_name` and `flow_outcome_name` as the simulator's
/// listings give them. Flow metrics' groups have no outcome (empty `flow_outcome_id`,
/// empty name); outcome metrics' groups have one, named.
#[tokio::test(flavor = "multi_thread")]
async fn flow_series_carry_flow_and_outcome_names() {
    const IVR: &str = "queries:\n  - {name: ivr, source: flows, granularity: PT30M, \
         time_zone: UTC, settle_delay: 5s, group_by: [flowId, flowOutcomeId], \
         metrics: [nFlow, nFlowOutcome]}\n";
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim).config(dir.path(), IVR).start();
    let metrics = eventually(&exporter, "no named flow outcome series", |m| {
        m.find("genesys_flow_outcome", &[("query", "ivr")])
            .iter()
            .any(|s| !s.labels["flow_outcome_name"].is_empty())
    })
    .await;
    let flows: HashMap<String, String> = sim.listing(FLOWS).into_iter().collect();
    let outcomes: HashMap<String, String> = sim.listing(FLOW_OUTCOMES).into_iter().collect();
    assert!(
        !flows.is_empty() && !outcomes.is_empty(),
        "the simulator lists no flows"
    );
    let (mut flow_named, mut outcome_named) = (0, 0);
    for name in ["genesys_flow_count", "genesys_flow_outcome"] {
        for sample in metrics.find(name, &[("query", "ivr")]) {
            let flow = &sample.labels["flow_id"];
            assert_eq!(
                Some(&sample.labels["flow_name"]),
                flows.get(flow),
                "{sample:?}"
            );
            flow_named += 1;
            let outcome = &sample.labels["flow_outcome_id"];
            if outcome.is_empty() {
                assert_eq!(sample.labels["flow_outcome_name"], "", "{sample:?}");
            } else {
                assert_eq!(
                    Some(&sample.labels["flow_outcome_name"]),
                    outcomes.get(outcome),
                    "{sample:?}"
                );
                outcome_named += 1;
            }
        }
    }
    assert!(
        flow_named > 0 && outcome_named > 0,
        "{flow_named} {outcome_named}"
    );
    assert!(statuses(&sim, FLOWS).contains(&200));
    assert!(statuses(&sim, FLOW_OUTCOMES).contains(&200));
}

/// End to end against the simulator's users: `tOrganizationPresence` carries each
/// organization presence as `presence_id` and its name from the presence definitions as
/// `presence_name`, though no query groups by a presence.
#[tokio::test(flavor = "multi_thread")]
async fn organization_presence_time_carries_presence_names() {
    const AGENTS_TIME: &str = "queries:\n  - {name: agents_time, source: users, \
         granularity: PT30M, time_zone: UTC, settle_delay: 5s, group_by: [userId], \
         metrics: [tOrganizationPresence]}\n";
    const SERIES: &str = "genesys_user_organization_presence_seconds_sum";
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), AGENTS_TIME)
        .start();
    let metrics = eventually(&exporter, "no named organization presence series", |m| {
        m.find(SERIES, &[("query", "agents_time")])
            .iter()
            .any(|s| !s.labels["presence_name"].is_empty())
    })
    .await;
    let presences: HashMap<String, String> =
        sim.listing(PRESENCE_DEFINITIONS).into_iter().collect();
    let samples = metrics.find(SERIES, &[("query", "agents_time")]);
    assert!(!samples.is_empty());
    for sample in samples {
        let id = &sample.labels["presence_id"];
        assert_eq!(
            Some(&sample.labels["presence_name"]),
            presences.get(id),
            "{sample:?}"
        );
    }
    assert!(
        statuses(&sim, PRESENCE_DEFINITIONS).contains(&200),
        "the presence definitions were never read"
    );
}
