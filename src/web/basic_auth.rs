//! HTTP basic authentication against the bcrypt hashes of `basic_auth_users`.
//!
//! bcrypt is slow on purpose (tens of milliseconds at cost 10), and Prometheus sends the
//! same credentials with every scrape. As exporter-toolkit does, successful checks are
//! remembered, so bcrypt runs once per user and password rather than once per scrape.
//! The cache holds no password: its entries are HMAC-SHA256 tags of user, hash and
//! password under a key drawn at start-up, so they can be neither reversed nor guessed
//! from outside the process. Failed checks are not cached and always pay for bcrypt, on a
//! small number of threads, so guessing cannot take over the CPU.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hyper::header::HeaderValue;
use ring::hmac;
use tokio::sync::Semaphore;

use super::WebConfigError;

/// Successful checks remembered; past this the cache starts over (it only saves time).
const MAX_CACHED: usize = 1024;

/// The users and their bcrypt hashes, with the cache of successful checks.
pub struct BasicAuth {
    users: HashMap<String, String>,
    /// Checked for unknown users, so that they take as long as known ones.
    dummy_hash: String,
    cache_key: hmac::Key,
    verified: Mutex<HashSet<Vec<u8>>>,
    /// bcrypt runs on the blocking pool, at most this many at a time.
    bcrypt_slots: Arc<Semaphore>,
}

impl fmt::Debug for BasicAuth {
    /// User names only: the hashes are password-equivalent for an offline attack.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&String> = self.users.keys().collect();
        users.sort();
        f.debug_struct("BasicAuth")
            .field("users", &users)
            .finish_non_exhaustive()
    }
}

impl BasicAuth {
    /// Checks every entry of `basic_auth_users` (user name, bcrypt hash).
    pub(super) fn new(
        users: BTreeMap<String, String>,
        origin: &str,
    ) -> Result<BasicAuth, WebConfigError> {
        if users.is_empty() {
            return Err(WebConfigError::field(
                origin,
                "basic_auth_users",
                "lists no users; add `name: bcrypt-hash` entries or remove the key",
            ));
        }
        let mut cost = None;
        for (user, hash) in &users {
            let field = format!("basic_auth_users.{user}");
            if user.is_empty() || user.contains(':') {
                return Err(WebConfigError::field(
                    origin,
                    &field,
                    "a user name must be non-empty and free of ':' (basic auth separates user and password with it)",
                ));
            }
            let parts = bcrypt::HashParts::from_str(hash).map_err(|e| {
                WebConfigError::field(
                    origin,
                    &field,
                    format!("not a bcrypt hash ({e}); make one with `htpasswd -nBC 10 {user}`"),
                )
            })?;
            cost.get_or_insert(parts.get_cost());
        }
        let cost = cost.unwrap_or(bcrypt::DEFAULT_COST);
        let dummy_hash = bcrypt::hash(b"not a password", cost).map_err(|e| {
            WebConfigError::field(origin, "basic_auth_users", format!("bcrypt failed: {e}"))
        })?;
        let rng = ring::rand::SystemRandom::new();
        let cache_key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).map_err(|_| {
            WebConfigError::field(
                origin,
                "basic_auth_users",
                "no system randomness for the cache key",
            )
        })?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(BasicAuth {
            users: users.into_iter().collect(),
            dummy_hash,
            cache_key,
            verified: Mutex::new(HashSet::new()),
            bcrypt_slots: Arc::new(Semaphore::new(threads)),
        })
    }

    /// Number of users, for the start-up log.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Whether an `Authorization` header names a user with the right password.
    pub async fn allows(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let (hash, known) = match self.users.get(&user) {
            Some(hash) => (hash.clone(), true),
            None => (self.dummy_hash.clone(), false),
        };
        let tag = self.tag(&user, &hash, &password);
        if known && self.lock().contains(&tag) {
            return true;
        }
        let Ok(_slot) = Arc::clone(&self.bcrypt_slots).acquire_owned().await else {
            return false;
        };
        let verified = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if verified && known {
            let mut cache = self.lock();
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(tag);
        }
        if !verified {
            tracing::debug!(user = %user, known, "basic authentication failed");
        }
        verified && known
    }

    fn tag(&self, user: &str, hash: &str, password: &str) -> Vec<u8> {
        let mut context = hmac::Context::with_key(&self.cache_key);
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        for part in [user, hash, password] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part.as_bytes());
        }
        context.sign().as_ref().to_vec()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Vec<u8>>> {
        // Only inserts and lookups happen under the lock; a poisoned set is still sound.
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `Basic base64(user:password)` to its parts.
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let (scheme, encoded) = value.to_str().ok()?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn auth() -> BasicAuth {
        let users = BTreeMap::from([("alice".to_string(), bcrypt::hash("wonderland", 4).unwrap())]);
        BasicAuth::new(users, "web.yml").unwrap()
    }

    #[tokio::test]
    async fn right_password_passes_and_is_cached_without_the_password() {
        let auth = auth();
        assert!(auth.allows(Some(&header("alice", "wonderland"))).await);
        let cache = auth.lock().clone();
        assert_eq!(cache.len(), 1);
        assert!(
            cache
                .iter()
                .all(|tag| !String::from_utf8_lossy(tag).contains("wonderland"))
        );
        // With bcrypt made unavailable, the cached pair still passes: no bcrypt per scrape.
        auth.bcrypt_slots.close();
        assert!(auth.allows(Some(&header("alice", "wonderland"))).await);
        assert!(!auth.allows(Some(&header("alice", "wonderlan"))).await);
        assert_eq!(auth.lock().len(), 1);
    }

    #[tokio::test]
    async fn wrong_or_missing_credentials_fail_and_are_not_cached() {
        let auth = auth();
        for value in [
            Some(header("alice", "wonderlan")),
            Some(header("bob", "wonderland")),
            Some(header("", "")),
            Some(HeaderValue::from_static("Bearer abc")),
            Some(HeaderValue::from_static("Basic !!!")),
            None,
        ] {
            assert!(!auth.allows(value.as_ref()).await, "{value:?}");
        }
        assert!(auth.lock().is_empty());
    }

    #[test]
    fn bad_entries_name_the_user() {
        let err = BasicAuth::new(
            BTreeMap::from([("bob".into(), "plaintext".into())]),
            "w.yml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("basic_auth_users.bob") && err.contains("not a bcrypt hash"),
            "{err}"
        );
        assert!(!err.contains("plaintext"), "{err}");
        let err = BasicAuth::new(BTreeMap::new(), "w.yml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("lists no users"), "{err}");
    }

    #[test]
    fn debug_shows_users_but_no_hashes() {
        let text = format!("{:?}", auth());
        assert!(text.contains("alice") && !text.contains("$2"), "{text}");
    }
}
