//! OAuth client-credentials tokens: issuing, checking, expiring and revoking them.
//!
//! Tokens are random and opaque, like the real ones, so a client cannot derive
//! anything from them and must go through `POST /oauth/token`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::codec;

/// What a bearer token turned out to be. Everything but `Valid` is a 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Missing,
    Unknown,
    Expired,
    Revoked,
}

#[derive(Debug)]
struct TokenState {
    expires_at: Instant,
    revoked: bool,
}

/// Remembers every token issued, so expiry and revocation can be told apart in logs.
#[derive(Debug)]
pub(crate) struct TokenStore {
    lifetime: Duration,
    tokens: Mutex<HashMap<String, TokenState>>,
    issued: AtomicUsize,
}

/// Once this many tokens are remembered, long-expired ones are forgotten (they then
/// answer "unknown" instead of "expired": still a 401).
const PRUNE_ABOVE: usize = 4096;
const FORGET_AFTER: Duration = Duration::from_secs(3600);

impl TokenStore {
    pub(crate) fn new(lifetime: Duration) -> Self {
        TokenStore {
            lifetime,
            tokens: Mutex::new(HashMap::new()),
            issued: AtomicUsize::new(0),
        }
    }

    /// Issues a new random token valid for the configured lifetime.
    pub(crate) fn issue(&self, now: Instant) -> String {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&rand::random::<u128>().to_be_bytes());
        bytes[16..].copy_from_slice(&rand::random::<u128>().to_be_bytes());
        let token = codec::hex(&bytes);
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= PRUNE_ABOVE {
            tokens.retain(|_, t| t.expires_at + FORGET_AFTER > now);
        }
        tokens.insert(
            token.clone(),
            TokenState {
                expires_at: now + self.lifetime,
                revoked: false,
            },
        );
        self.issued.fetch_add(1, Ordering::Relaxed);
        token
    }

    /// Checks a bearer token (`None` when the request had none).
    pub(crate) fn check(&self, token: Option<&str>, now: Instant) -> TokenCheck {
        let Some(token) = token else {
            return TokenCheck::Missing;
        };
        match lock(&self.tokens).get(token) {
            None => TokenCheck::Unknown,
            Some(t) if t.revoked => TokenCheck::Revoked,
            Some(t) if now >= t.expires_at => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }

    /// Revokes every token issued so far; later tokens are unaffected.
    pub(crate) fn revoke_all(&self) {
        for t in lock(&self.tokens).values_mut() {
            t.revoked = true;
        }
    }

    /// The tokens remembered (see [`PRUNE_ABOVE`]).
    pub(crate) fn all(&self) -> Vec<String> {
        lock(&self.tokens).keys().cloned().collect()
    }

    pub(crate) fn issued(&self) -> usize {
        self.issued.load(Ordering::Relaxed)
    }

    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

/// Locks a mutex, recovering from poisoning: the guarded data stays consistent
/// because no code path panics while holding these locks.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Extracts `(client_id, client_secret)` from an `Authorization: Basic ...` header value.
pub(crate) fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(codec::base64_decode(rest.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Extracts the token from an `Authorization: Bearer ...` header value.
pub(crate) fn parse_bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

/// Compares secrets without an early exit, so timing does not leak how much matched.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_revoke() {
        let store = TokenStore::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let a = store.issue(t0);
        assert_eq!(a.len(), 64);
        assert_eq!(store.check(Some(&a), t0), TokenCheck::Valid);
        assert_eq!(
            store.check(Some(&a), t0 + Duration::from_secs(10)),
            TokenCheck::Expired
        );
        assert_eq!(store.check(Some("nope"), t0), TokenCheck::Unknown);
        assert_eq!(store.check(None, t0), TokenCheck::Missing);
        store.revoke_all();
        assert_eq!(store.check(Some(&a), t0), TokenCheck::Revoked);
        let b = store.issue(t0);
        assert_ne!(a, b);
        assert_eq!(store.check(Some(&b), t0), TokenCheck::Valid);
        assert_eq!(store.issued(), 2);
    }

    #[test]
    fn header_parsing() {
        assert_eq!(
            parse_basic("Basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ="),
            Some(("demo-client".to_string(), "demo-secret".to_string()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic"), None);
        assert_eq!(parse_bearer("bearer tok"), Some("tok"));
        assert_eq!(parse_bearer("Bearer "), None);
        assert_eq!(parse_bearer("Basic tok"), None);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
