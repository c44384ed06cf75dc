//! Names for the ids queries group by: `queue_name` beside `queue_id`, `user_name`
//! beside `user_id`, and so on for every dimension in [`DIMENSIONS`].
//!
//! Supervisors read names, not UUIDs. Each dimension has a Genesys listing; the
//! [`NameDirectory`] reads the listings of the dimensions some query groups by (and no
//! other), at the largest page size the API takes, and refreshes them periodically. A
//! failed refresh keeps the last good names: a name a few minutes old beats a label that
//! flips to empty. An id without a name gets an empty name label, never a lost series.
//!
//! Users are special: an org can have tens of thousands, and a query sees a few hundred.
//! Up to [`USER_LOOKUP_LIMIT`] distinct user ids are looked up by id (100 a request) as
//! polls meet them; past that, the whole user list is paged (500 a request).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::Notify;

use super::bodies::ListingPage;
use super::pages::{MAX_PAGES, read_numbered_pages};
use super::{ApiError, GenesysClient, LISTING_PAGE_SIZE, LISTING_PAGE_SIZE_SAFE};

use crate::telemetry::Telemetry;

/// Most ids in one `GET /api/v2/users?id=...` (the API's bulk lookup takes 100).
pub const USER_IDS_PER_REQUEST: usize = 100;
/// Distinct user ids looked up by id before the whole user list is paged instead. By id,
/// 1,000 users cost 10 requests a refresh; paged, 2 requests per 1,000 users in the org.
/// Under this many seen, a lookup by id costs at most 20 requests and is cheaper than
/// paging any org of over 10,000 users.
pub const USER_LOOKUP_LIMIT: usize = 2_000;

/// How a listing pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// `pageSize` and `pageNumber`, with `pageCount` and `nextUri` in the answer.
    Numbered,
    /// `pageSize` and an `after` cursor, taken from the answer's `nextUri`.
    Cursor,
    /// One answer holds the whole list and the listing takes no paging parameters
    /// (`GET /api/v2/presence/definitions`: `entities` and `total`).
    Unpaged,
}

/// A dimension whose ids have names, and where Genesys lists them.
#[derive(Debug, PartialEq, Eq)]
pub struct Dimension {
    /// The `group_by` name, e.g. `userId`; also the `dimension` label of the
    /// exporter's own metrics about names.
    pub group_by: &'static str,
    /// The label added beside the id label, e.g. `user_name`.
    pub label: &'static str,
    /// The listing's path.
    pub path: &'static str,
    /// The `endpoint` label of its API requests.
    pub endpoint: &'static str,
    /// The permission the OAuth client's role needs to read the listing.
    pub permission: &'static str,
    pub paging: Paging,
}

/// Every dimension the exporter names, in the order the README lists them.
///
/// `presenceId` is no dimension Genesys groups by: it names the organization presence ids
/// that come as the qualifier of `tOrganizationPresence` (label `presence_id`; the
/// source table's `Qualifier::name` points here) and in the agents' presence counts.
pub const DIMENSIONS: [Dimension; 11] = [
    Dimension {
        group_by: "queueId",
        label: "queue_name",
        path: "/api/v2/routing/queues",
        endpoint: "queues",
        permission: "routing:queue:view",
        paging: Paging::Numbered,
    },
    Dimension {
        group_by: "userId",
        label: "user_name",
        path: "/api/v2/users",
        endpoint: "users",
        permission: "directory:user:view",
        paging: Paging::Numbered,
    },
    Dimension {
        group_by: "wrapUpCode",
        label: "wrap_up_code_name",
        path: "/api/v2/routing/wrapupcodes",
        endpoint: "wrapupcodes",
        permission: "routing:wrapupCode:view",
        paging: Paging::Numbered,
    },
    Dimension {
        group_by: "divisionId",
        label: "division_name",
        path: "/api/v2/authorization/divisions",
        endpoint: "divisions",
        permission: "authorization:division:view",
        paging: Paging::Numbered,
    },
    Dimension {
        group_by: "requestedRoutingSkillId",
        label: "requested_routing_skill_name",
        path: "/api/v2/routing/skills",
        endpoint: "skills",
        permission: "routing:skill:view",
        paging: Paging::Numbered,
    },
    Dimension {
        group_by: "requestedLanguageId",
        label: "requested_language_name",
        path: "/api/v2/routing/languages",
        endpoint: "languages",
        permission: "routing:language:view",
        paging: Paging::Numbered,
    },
    Dimension {
        group_by: "teamId",
        label: "team_name",
        path: "/api/v2/teams",
        endpoint: "teams",
        permission: "groups:team:view",
        paging: Paging::Cursor,
    },
    Dimension {
        group_by: "outboundCampaignId",
        label: "outbound_campaign_name",
        path: "/api/v2/outbound/campaigns",
        endpoint: "campaigns",
        permission: "outbound:campaign:view",
        paging: Paging::Numbered,
    },
    // Issue 23's sources: flows and their outcomes, organization presences.
    Dimension {
        group_by: "flowId",
        label: "flow_name",
        path: "/api/v2/flows",
        endpoint: "flows",
        permission: "architect:flow:view",
        paging: Paging::Numbered,
    },
    Dimension {
        group_by: "flowOutcomeId",
        label: "flow_outcome_name",
        path: "/api/v2/flows/outcomes",
        endpoint: "flowoutcomes",
        permission: "architect:flowOutcome:view",
        paging: Paging::Numbered,
    },
    Dimension {
        group_by: super::sources::PRESENCE_NAMES,
        label: "presence_name",
        path: "/api/v2/presence/definitions",
        endpoint: "presencedefinitions",
        permission: "presence:presenceDefinition:view",
        paging: Paging::Unpaged,
    },
];

/// The named dimension a `group_by` entry is, if it is one.
pub fn dimension(group_by: &str) -> Option<&'static Dimension> {
    DIMENSIONS.iter().find(|d| d.group_by == group_by)
}

/// The names of one moment, for one poll's mapping: cheap to take (an `Arc` per
/// dimension) and never changing under the mapping.
#[derive(Clone, Debug, Default)]
pub struct Names {
    by_dimension: HashMap<&'static str, Arc<HashMap<String, String>>>,
}

impl Names {
    /// Names from literal tables, for tests and benchmarks: `(group_by, [(id, name)])`.
    pub fn from_tables(
        tables: impl IntoIterator<Item = (&'static str, HashMap<String, String>)>,
    ) -> Names {
        Names {
            by_dimension: tables
                .into_iter()
                .map(|(dimension, names)| (dimension, Arc::new(names)))
                .collect(),
        }
    }

    /// The name of `id` in `group_by`'s dimension; empty when unknown.
    pub fn get(&self, group_by: &str, id: &str) -> &str {
        self.by_dimension
            .get(group_by)
            .and_then(|names| names.get(id))
            .map_or("", String::as_str)
    }

    /// Every name of `group_by`'s dimension (none when it is not fetched), for a
    /// mapping that looks up many ids of one dimension.
    pub fn table(&self, group_by: &str) -> Arc<HashMap<String, String>> {
        self.by_dimension.get(group_by).cloned().unwrap_or_default()
    }
}

/// Which user ids have been seen and asked for, while users are looked up by id.
#[derive(Debug, Default)]
struct UserLookups {
    /// Every user id polls have met (up to [`USER_LOOKUP_LIMIT`]).
    seen: HashSet<String>,
    /// Those asked for since the last refresh, found or not: a user the API does not
    /// return is not asked for again at every poll.
    asked: HashSet<String>,
    /// True once more than [`USER_LOOKUP_LIMIT`] ids were seen: the list is paged.
    paged: bool,
}

/// The names of one dimension, and how its listing is read.
#[derive(Debug)]
struct Table {
    dimension: &'static Dimension,
    names: RwLock<Arc<HashMap<String, String>>>,
    /// [`LISTING_PAGE_SIZE`], or [`LISTING_PAGE_SIZE_SAFE`] for good once the API has
    /// refused the larger one with a 400.
    page_size: AtomicU32,
    /// A 403 is logged once (with the permission to grant), not at every refresh.
    forbidden_logged: AtomicBool,
    /// Only for `userId`.
    users: Option<Mutex<UserLookups>>,
    /// Whether a refresh has succeeded, so that "none" is told from "not read yet".
    listed: AtomicBool,
}

/// What one read of a listing gave.
#[derive(Default)]
struct Read {
    names: HashMap<String, String>,
    requests: u32,
    /// Entities without an id or a name, and pages over the size limit.
    warnings: u64,
    /// Some page was skipped: the names read are not the whole list.
    partial: bool,
}

/// Id to name for every named dimension in use, shared by the refresher and every poll.
///
/// A config reload may change the dimensions in use: [`NameDirectory::set_dimensions`]
/// adds the listings of new ones (the refresher reads them from then on) and drops those
/// no query groups by any more.
#[derive(Debug)]
pub struct NameDirectory {
    tables: RwLock<Vec<Arc<Table>>>,
    telemetry: Arc<Telemetry>,
    user_lookup_limit: usize,
    /// Wakes the refresher early: users switched from lookups by id to paging.
    wake: Notify,
}

impl NameDirectory {
    /// A directory for the named dimensions among `group_by` (every query's, together);
    /// the others are never fetched.
    pub fn new<'a>(
        group_by: impl IntoIterator<Item = &'a str>,
        telemetry: Arc<Telemetry>,
    ) -> NameDirectory {
        let directory = NameDirectory {
            tables: RwLock::default(),
            telemetry,
            user_lookup_limit: USER_LOOKUP_LIMIT,
            wake: Notify::new(),
        };
        directory.set_dimensions(group_by);
        directory
    }

    /// Makes the dimensions fetched the named ones among `group_by` (every query's,
    /// after a reload): those no query groups by any more are dropped, with their
    /// `genesys_exporter_names` series, so their listings cost nothing; new ones are
    /// added and returned, with empty names until [`NameDirectory::refresh_dimensions`]
    /// or the next periodic refresh reads them.
    pub fn set_dimensions<'a>(
        &self,
        group_by: impl IntoIterator<Item = &'a str>,
    ) -> Vec<&'static str> {
        let in_use: HashSet<&str> = group_by.into_iter().collect();
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        tables.retain(|table| {
            let kept = in_use.contains(table.dimension.group_by);
            if !kept {
                self.telemetry.forget_names(table.dimension.group_by);
            }
            kept
        });
        let mut added = Vec::new();
        for dimension in DIMENSIONS.iter().filter(|d| in_use.contains(d.group_by)) {
            if tables.iter().any(|t| t.dimension == dimension) {
                continue;
            }
            // Both series exist from the start, so alerts and dashboards see zeros.
            self.telemetry.set_names_known(dimension.group_by, 0);
            self.telemetry.count_name_warnings(dimension.group_by, 0);
            tables.push(Arc::new(Table {
                dimension,
                names: RwLock::default(),
                page_size: AtomicU32::new(LISTING_PAGE_SIZE),
                forbidden_logged: AtomicBool::new(false),
                users: (dimension.group_by == "userId").then(|| Mutex::new(UserLookups::default())),
                listed: AtomicBool::new(false),
            }));
            added.push(dimension.group_by);
        }
        added
    }

    /// The same with another threshold for paging users instead of looking them up by
    /// id (0: always page), for tests and for orgs that want the other trade.
    pub fn with_user_lookup_limit(mut self, limit: usize) -> NameDirectory {
        self.user_lookup_limit = limit;
        self
    }

    /// Reads the whole user list at every refresh from now on, instead of looking
    /// users up by id as answers bring them: for `report` and `backfill`, which map
    /// each group as it streams in and so need every user's name before the first.
    pub fn page_users(&self) {
        if let Some(table) = self.table("userId")
            && let Some(lookups) = &table.users
        {
            lookups.lock().unwrap_or_else(|p| p.into_inner()).paged = true;
        }
    }

    /// True when no query groups by a named dimension: nothing to fetch.
    pub fn is_empty(&self) -> bool {
        self.tables().is_empty()
    }

    /// The group_by names of the dimensions fetched.
    pub fn dimensions(&self) -> Vec<&'static str> {
        self.tables().iter().map(|t| t.dimension.group_by).collect()
    }

    /// How many queues the last good refresh listed, `None` before the first (or while
    /// no query groups by queue): the queues in the OAuth client's divisions.
    /// Conversations in divisions it cannot see are left out of every aggregate total,
    /// so an operator should know how many it sees.
    pub fn visible_queues(&self) -> Option<usize> {
        let queues = self.table("queueId")?;
        queues
            .listed
            .load(Ordering::Relaxed)
            .then(|| queues.current().len())
    }

    /// The current names of every dimension in use.
    pub fn current(&self) -> Names {
        Names {
            by_dimension: self
                .tables()
                .iter()
                .map(|t| (t.dimension.group_by, t.current()))
                .collect(),
        }
    }

    /// Re-reads every listing in use; a listing that fails keeps its last good names.
    /// Returns the number of names read, all dimensions together, or the first error.
    pub async fn refresh(&self, client: &GenesysClient) -> Result<usize, ApiError> {
        self.refresh_dimensions(client, &self.dimensions()).await
    }

    /// Re-reads the listings of these dimensions (those in use among them), as
    /// [`NameDirectory::refresh`] does for all.
    pub async fn refresh_dimensions(
        &self,
        client: &GenesysClient,
        dimensions: &[&str],
    ) -> Result<usize, ApiError> {
        let mut known = 0;
        let mut first_error = None;
        for table in self
            .tables()
            .iter()
            .filter(|t| dimensions.contains(&t.dimension.group_by))
        {
            match self.refresh_table(table, client).await {
                Ok(count) => known += count,
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(known),
        }
    }

    /// Refreshes every `period` until the task is dropped, and the users early when they
    /// switch to paging. The first refresh is the caller's, so that the first polls
    /// already have names.
    pub async fn keep_fresh(self: Arc<Self>, client: Arc<GenesysClient>, period: Duration) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {
                    // Errors are logged per listing and the old names stay.
                    let _ = self.refresh(&client).await;
                }
                _ = self.wake.notified() => {
                    if let Some(users) = self.table("userId") {
                        let _ = self.refresh_table(&users, &client).await;
                    }
                }
            }
        }
    }

    /// Looks up the user ids among `ids` that have no name yet, while users are looked
    /// up by id; past the threshold, switches to paging and wakes the refresher. Errors
    /// are logged and the names stay as they were: values flow with or without names.
    pub async fn look_up_users<'a>(
        &self,
        client: &GenesysClient,
        ids: impl IntoIterator<Item = &'a str>,
    ) {
        let Some(table) = self.table("userId") else {
            return;
        };
        let Some(lookups) = &table.users else {
            return;
        };
        let wanted: Vec<String> = {
            let mut lookups = lookups.lock().unwrap_or_else(|p| p.into_inner());
            if lookups.paged {
                return;
            }
            let mut fresh = Vec::new();
            for id in ids {
                if id.is_empty() || lookups.asked.contains(id) {
                    continue;
                }
                if lookups.seen.len() >= self.user_lookup_limit {
                    lookups.paged = true;
                    tracing::info!(
                        limit = self.user_lookup_limit,
                        "more user ids seen than are worth looking up one by one; paging the whole user list from now on"
                    );
                    self.wake.notify_one();
                    return;
                }
                lookups.seen.insert(id.to_string());
                lookups.asked.insert(id.to_string());
                fresh.push(id.to_string());
            }
            fresh
        };
        if wanted.is_empty() {
            return;
        }
        match self.read_users_by_id(&table, client, &wanted).await {
            Ok(read) => {
                self.count_warnings(&table, read.warnings);
                let mut names = (*table.current()).clone();
                names.extend(read.names);
                let count = names.len();
                table.replace(names);
                self.telemetry
                    .set_names_known(table.dimension.group_by, count);
                tracing::debug!(
                    asked = wanted.len(),
                    requests = read.requests,
                    "user names looked up"
                );
            }
            Err(err) => self.log_failure(&table, &err),
        }
    }

    /// The tables of this moment; a reload may add more meanwhile.
    fn tables(&self) -> Vec<Arc<Table>> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn table(&self, group_by: &str) -> Option<Arc<Table>> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|t| t.dimension.group_by == group_by)
            .cloned()
    }

    async fn refresh_table(
        &self,
        table: &Table,
        client: &GenesysClient,
    ) -> Result<usize, ApiError> {
        let dimension = table.dimension;
        let outcome = match &table.users {
            Some(lookups) => {
                let by_id = {
                    let mut lookups = lookups.lock().unwrap_or_else(|p| p.into_inner());
                    if lookups.paged {
                        None
                    } else {
                        lookups.asked = lookups.seen.clone();
                        Some(lookups.seen.iter().cloned().collect::<Vec<_>>())
                    }
                };
                match by_id {
                    Some(ids) => self.read_users_by_id(table, client, &ids).await,
                    None => self.read_all(table, client).await,
                }
            }
            None => self.read_all(table, client).await,
        };
        match outcome {
            Ok(read) => {
                self.count_warnings(table, read.warnings);
                let mut names = read.names;
                if read.partial {
                    // Some page was skipped: its names are kept from before.
                    for (id, name) in table.current().iter() {
                        names.entry(id.clone()).or_insert_with(|| name.clone());
                    }
                }
                let count = names.len();
                table.replace(names);
                table.forbidden_logged.store(false, Ordering::Relaxed);
                self.telemetry.set_names_known(dimension.group_by, count);
                tracing::info!(
                    dimension = dimension.group_by,
                    names = count,
                    requests = read.requests,
                    "names refreshed"
                );
                Ok(count)
            }
            Err(err) => {
                self.log_failure(table, &err);
                Err(err)
            }
        }
    }

    fn log_failure(&self, table: &Table, err: &ApiError) {
        let dimension = table.dimension;
        match err {
            ApiError::Rejected { status: 403, .. } => {
                if !table.forbidden_logged.swap(true, Ordering::Relaxed) {
                    tracing::error!(
                        dimension = dimension.group_by,
                        listing = dimension.path,
                        permission = dimension.permission,
                        error = %err,
                        "the OAuth client may not read this listing: grant its role `{}`; until then `{}` stays empty and the values are exported without it",
                        dimension.permission,
                        dimension.label,
                    );
                }
            }
            ApiError::TooLarge { .. } => {
                self.count_warnings(table, 1);
                tracing::warn!(dimension = dimension.group_by, error = %err, "cannot read the names; keeping the last good ones");
            }
            _ => {
                tracing::warn!(dimension = dimension.group_by, error = %err, "cannot refresh the names; keeping the last good ones");
            }
        }
    }

    fn count_warnings(&self, table: &Table, warnings: u64) {
        if warnings > 0 {
            tracing::warn!(
                dimension = table.dimension.group_by,
                skipped = warnings,
                "parts of a name listing were not usable (an entity without id or name, a page over the size limit) and were skipped"
            );
            self.telemetry
                .count_name_warnings(table.dimension.group_by, warnings);
        }
    }

    /// The whole listing, at the largest page size the API takes: after a 400 to
    /// [`LISTING_PAGE_SIZE`], the listing starts again at [`LISTING_PAGE_SIZE_SAFE`],
    /// which this and every later refresh then use.
    async fn read_all(&self, table: &Table, client: &GenesysClient) -> Result<Read, ApiError> {
        loop {
            let asked = table.page_size.load(Ordering::Relaxed);
            let outcome = match table.dimension.paging {
                Paging::Numbered => read_numbered(client, table.dimension, asked).await,
                Paging::Cursor => read_cursor(client, table.dimension, asked).await,
                Paging::Unpaged => read_unpaged(client, table.dimension).await,
            };
            match outcome {
                Err(ApiError::Rejected {
                    status: 400,
                    message,
                    ..
                }) if asked > LISTING_PAGE_SIZE_SAFE
                    && table.dimension.paging != Paging::Unpaged =>
                {
                    table
                        .page_size
                        .store(LISTING_PAGE_SIZE_SAFE, Ordering::Relaxed);
                    tracing::warn!(dimension = table.dimension.group_by, refused = asked, page_size = LISTING_PAGE_SIZE_SAFE, error = %message, "the API refused the larger page size; asking for the documented safe size from now on");
                }
                other => return other,
            }
        }
    }

    /// The users with these ids, [`USER_IDS_PER_REQUEST`] a request.
    async fn read_users_by_id(
        &self,
        table: &Table,
        client: &GenesysClient,
        ids: &[String],
    ) -> Result<Read, ApiError> {
        let mut read = Read::default();
        let page_size = USER_IDS_PER_REQUEST.to_string();
        for chunk in ids.chunks(USER_IDS_PER_REQUEST) {
            let joined = chunk.join(",");
            let pairs = [("pageSize", page_size.as_str()), ("id", joined.as_str())];
            read.requests += 1;
            match client
                .listing_page(table.dimension.endpoint, table.dimension.path, &pairs)
                .await
            {
                Ok(page) => read.warnings += collect(page.entities, &mut read.names),
                Err(ApiError::TooLarge { .. }) => {
                    read.warnings += 1;
                    read.partial = true;
                }
                Err(err) => return Err(err),
            }
        }
        Ok(read)
    }
}

impl Table {
    fn current(&self) -> Arc<HashMap<String, String>> {
        Arc::clone(&self.names.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn replace(&self, names: HashMap<String, String>) {
        *self.names.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(names);
        self.listed.store(true, Ordering::Relaxed);
    }
}

/// The part of a listed entity the exporter reads; every other field is skipped.
#[derive(Deserialize)]
struct NamedEntity {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    /// Label per locale, where the listing has them: an organization presence's `name`
    /// is optional and its `languageLabels` required (the SDK's
    /// `OrganizationPresenceDefinition`), so the labels name it when `name` is absent.
    #[serde(default, rename = "languageLabels")]
    language_labels: Option<BTreeMap<String, String>>,
}

impl NamedEntity {
    /// Its id and name: `name`, else the `en_US` label, else the first label by locale.
    fn named(self) -> Option<(String, String)> {
        let id = self.id.filter(|id| !id.is_empty())?;
        let name = self.name.filter(|name| !name.is_empty()).or_else(|| {
            let mut labels = self.language_labels?;
            labels
                .remove("en_US")
                .or_else(|| labels.into_values().find(|l| !l.is_empty()))
        })?;
        (!name.is_empty()).then_some((id, name))
    }
}

/// Adds each entity's id and name; returns how many had no usable id or name.
fn collect(entities: Vec<Box<RawValue>>, names: &mut HashMap<String, String>) -> u64 {
    let mut skipped = 0;
    for entity in entities {
        match serde_json::from_str::<NamedEntity>(entity.get()).map(NamedEntity::named) {
            Ok(Some((id, name))) => {
                names.insert(id, name);
            }
            _ => skipped += 1,
        }
    }
    skipped
}

/// Every name of a numbered listing ([`read_numbered_pages`]).
async fn read_numbered(
    client: &GenesysClient,
    dimension: &Dimension,
    asked: u32,
) -> Result<Read, ApiError> {
    let mut names = HashMap::new();
    let pages = read_numbered_pages(
        client,
        (dimension.endpoint, dimension.path),
        &[],
        asked,
        |entities| collect(entities, &mut names),
    )
    .await?;
    Ok(Read {
        names,
        requests: pages.requests,
        warnings: pages.warnings,
        partial: pages.partial,
    })
}

/// Every entity of a listing that answers in one page and takes no paging parameters.
async fn read_unpaged(client: &GenesysClient, dimension: &Dimension) -> Result<Read, ApiError> {
    let page = client
        .listing_page(dimension.endpoint, dimension.path, &[])
        .await?;
    let mut read = Read {
        requests: 1,
        ..Read::default()
    };
    read.warnings = collect(page.entities, &mut read.names);
    Ok(read)
}

/// Every entity of a cursor listing: each page's `nextUri` carries the `after` cursor
/// of the next; no `nextUri` (or no cursor in it) ends the list.
async fn read_cursor(
    client: &GenesysClient,
    dimension: &Dimension,
    asked: u32,
) -> Result<Read, ApiError> {
    let mut read = Read::default();
    let size = asked.to_string();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut pairs = vec![("pageSize", size.as_str())];
        if let Some(cursor) = &after {
            pairs.push(("after", cursor.as_str()));
        }
        read.requests += 1;
        let page: ListingPage = client
            .listing_page(dimension.endpoint, dimension.path, &pairs)
            .await?;
        let empty = page.entities.is_empty();
        read.warnings += collect(page.entities, &mut read.names);
        let next = page.next_uri.as_deref().and_then(after_cursor);
        match next {
            Some(cursor) if !empty && after.as_deref() != Some(cursor.as_str()) => {
                after = Some(cursor);
            }
            _ => return Ok(read),
        }
    }
    tracing::warn!(
        dimension = dimension.group_by,
        pages = MAX_PAGES,
        "the listing did not end; using what was read"
    );
    Ok(read)
}

/// The `after` cursor in a `nextUri` such as `/api/v2/teams?pageSize=100&after=abc`.
fn after_cursor(next_uri: &str) -> Option<String> {
    // `nextUri` is a path; any base makes it a URL whose query can be read.
    let url = reqwest::Url::parse("http://next.invalid")
        .ok()?
        .join(next_uri)
        .ok()?;
    url.query_pairs()
        .find(|(key, _)| key == "after")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_dimension_is_named_once_and_its_label_follows_the_id_label() {
        for (i, d) in DIMENSIONS.iter().enumerate() {
            assert_eq!(dimension(d.group_by), Some(d));
            assert!(DIMENSIONS[..i].iter().all(|o| o.label != d.label));
            let id_label = crate::conventions::snake_case(d.group_by);
            let stem = id_label.trim_end_matches("_id");
            assert_eq!(format!("{stem}_name"), d.label, "{}", d.group_by);
        }
        assert_eq!(dimension("mediaType"), None);
        for d in &DIMENSIONS {
            assert!(
                crate::conventions::RESERVED_LABELS.contains(&d.label),
                "{} is not reserved",
                d.label
            );
        }
    }

    #[test]
    fn entities_without_id_or_name_are_skipped_and_counted() {
        let mut names = HashMap::new();
        let entities = [
            json!({"id": "a", "name": "Zoë \"Z\" Ångström", "division": {"id": "d"}}),
            json!({"id": "b"}),
            json!({"name": "no id"}),
            json!({"id": "c", "name": ""}),
            json!({"id": 7, "name": "number id"}),
            json!({"id": "e", "name": null}),
            json!("not an object"),
        ]
        .iter()
        .map(|entity| serde_json::value::to_raw_value(entity).unwrap())
        .collect();
        assert_eq!(collect(entities, &mut names), 6);
        assert_eq!(names.len(), 1);
        assert_eq!(names["a"], "Zoë \"Z\" Ångström");
    }

    #[test]
    fn an_entity_without_a_name_is_named_by_its_language_labels() {
        let mut names = HashMap::new();
        let entities = [
            json!({"id": "a", "languageLabels": {"de": "Verfügbar", "en_US": "Available"}}),
            json!({"id": "b", "name": "Lunch", "languageLabels": {"en_US": "Meal"}}),
            json!({"id": "c", "name": "", "languageLabels": {"fr": "Formation", "de": "Schulung"}}),
            json!({"id": "d", "languageLabels": {}}),
            json!({"id": "e", "languageLabels": {"en_US": ""}}),
            json!({"id": "f", "languageLabels": "not a map"}),
        ]
        .iter()
        .map(|entity| serde_json::value::to_raw_value(entity).unwrap())
        .collect();
        assert_eq!(collect(entities, &mut names), 3);
        assert_eq!(names["a"], "Available");
        assert_eq!(names["b"], "Lunch");
        assert_eq!(names["c"], "Schulung");
        assert_eq!(names.len(), 3);
    }

    #[test]
    fn every_named_qualifier_of_the_source_table_has_its_listing_here() {
        let named: Vec<(&str, &str, &str)> = super::super::sources::SOURCES
            .iter()
            .flat_map(|s| s.qualifiers)
            .filter_map(|q| q.name.map(|(key, label)| (q.metric, key, label)))
            .collect();
        assert_eq!(
            named,
            [("tOrganizationPresence", "presenceId", "presence_name")]
        );
        for (_, key, label) in named {
            assert_eq!(dimension(key).map(|d| d.label), Some(label), "{key}");
        }
    }

    #[test]
    fn the_after_cursor_comes_from_next_uri() {
        assert_eq!(
            after_cursor("/api/v2/teams?pageSize=100&after=a%2Bb"),
            Some("a+b".to_string())
        );
        assert_eq!(after_cursor("/api/v2/teams?pageSize=100"), None);
        assert_eq!(after_cursor("/api/v2/teams?after="), None);
        assert_eq!(after_cursor("/api/v2/teams"), None);
    }

    #[test]
    fn names_give_empty_for_the_unknown() {
        let names = Names::from_tables([(
            "userId",
            HashMap::from([("u1".to_string(), "Ana".to_string())]),
        )]);
        assert_eq!(names.get("userId", "u1"), "Ana");
        assert_eq!(names.get("userId", "u2"), "");
        assert_eq!(names.get("teamId", "u1"), "");
    }
}
