//! Where the Genesys Cloud API lives: region keys, hosts, and base URLs given directly.
//!
//! Genesys Cloud runs one API host per region (`api.{host}`) with a matching login host
//! (`login.{host}`). Users name their region by key (`eu_west_1`), by host
//! (`mypurecloud.ie`), or give both base URLs directly for private deployments, tests and
//! the built-in simulator.

use reqwest::Url;

/// The OAuth token endpoint's path, on the login host ([`Endpoints::token`]); the
/// permissions table lists it too.
pub const TOKEN_PATH: &str = "/oauth/token";

/// Region keys and hosts, as published by Genesys (see `shared/genesys-api.md`).
const REGIONS: &[(&str, &str)] = &[
    ("us_east_1", "mypurecloud.com"),
    ("us_east_2", "use2.us-gov-pure.cloud"),
    ("us_west_2", "usw2.pure.cloud"),
    ("ca_central_1", "cac1.pure.cloud"),
    ("sa_east_1", "sae1.pure.cloud"),
    ("eu_west_1", "mypurecloud.ie"),
    ("eu_west_2", "euw2.pure.cloud"),
    ("eu_central_1", "mypurecloud.de"),
    ("eu_central_2", "euc2.pure.cloud"),
    ("me_central_1", "mec1.pure.cloud"),
    ("ap_south_1", "aps1.pure.cloud"),
    ("ap_southeast_1", "apse1.pure.cloud"),
    ("ap_southeast_2", "mypurecloud.com.au"),
    ("ap_northeast_1", "mypurecloud.jp"),
    ("ap_northeast_2", "apne2.pure.cloud"),
    ("ap_northeast_3", "apne3.pure.cloud"),
    ("mx_central_1", "mxc1.pure.cloud"),
];

/// The two base URLs every request is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Base of the REST API, e.g. `https://api.mypurecloud.ie`.
    pub api_base: Url,
    /// Base of the OAuth server, e.g. `https://login.mypurecloud.ie`.
    pub login_base: Url,
}

/// Why a region or base URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    #[error(
        "unknown Genesys region {0:?}: use a region key ({keys}) or a host such as mypurecloud.ie",
        keys = region_keys()
    )]
    UnknownRegion(String),
    #[error("{flag}: {url:?} is not an http(s) URL: {reason}")]
    BadUrl {
        flag: &'static str,
        url: String,
        reason: String,
    },
}

fn region_keys() -> String {
    REGIONS
        .iter()
        .map(|(key, _)| *key)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Endpoints {
    /// Resolves a region key or host, then lets explicit base URLs override either half.
    pub fn resolve(
        region: &str,
        api_url: Option<&str>,
        login_url: Option<&str>,
    ) -> Result<Endpoints, RegionError> {
        let host = host_for_region(region)?;
        let api_base = match api_url {
            Some(url) => parse_base("--genesys.api-url", url)?,
            None => parse_base("--genesys.region", &format!("https://api.{host}"))?,
        };
        let login_base = match login_url {
            Some(url) => parse_base("--genesys.login-url", url)?,
            None => parse_base("--genesys.region", &format!("https://login.{host}"))?,
        };
        Ok(Endpoints {
            api_base,
            login_base,
        })
    }

    /// The URL of an API path such as `/api/v2/routing/queues`.
    pub fn api(&self, path: &str) -> Url {
        join(&self.api_base, path)
    }

    /// The URL of the OAuth token endpoint.
    pub fn token(&self) -> Url {
        join(&self.login_base, TOKEN_PATH)
    }
}

/// Appends `path` to a base that may itself carry a path prefix (a reverse proxy).
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}{path}"));
    url
}

fn host_for_region(region: &str) -> Result<&str, RegionError> {
    let wanted = region.trim();
    // Genesys' own tools (its CLI, Terraform provider, GENESYSCLOUD_REGION) write the keys
    // with dashes: `us-east-1` is `us_east_1`. Keys have no dots, so no host is mistaken.
    let as_key = wanted.replace('-', "_");
    if let Some((_, host)) = REGIONS
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(&as_key))
    {
        return Ok(host);
    }
    // A host is accepted as given (new regions appear before this table knows them),
    // as long as it looks like a DNS name.
    let looks_like_host = wanted.contains('.')
        && wanted
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if looks_like_host {
        Ok(wanted)
    } else {
        Err(RegionError::UnknownRegion(region.to_string()))
    }
}

fn parse_base(flag: &'static str, text: &str) -> Result<Url, RegionError> {
    let bad = |reason: String| RegionError::BadUrl {
        flag,
        url: text.to_string(),
        reason,
    };
    let url = Url::parse(text).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none() {
        return Err(bad("no host".to_string()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_key_gives_api_and_login_hosts() {
        let endpoints = Endpoints::resolve("eu_west_1", None, None).unwrap();
        assert_eq!(endpoints.api_base.as_str(), "https://api.mypurecloud.ie/");
        assert_eq!(
            endpoints.token().as_str(),
            "https://login.mypurecloud.ie/oauth/token"
        );
    }

    #[test]
    fn host_is_accepted_as_region() {
        let endpoints = Endpoints::resolve("mypurecloud.de", None, None).unwrap();
        assert_eq!(
            endpoints.api("/api/v2/routing/queues").as_str(),
            "https://api.mypurecloud.de/api/v2/routing/queues"
        );
    }

    #[test]
    fn region_key_is_case_insensitive() {
        let endpoints = Endpoints::resolve("AP_SOUTHEAST_2", None, None).unwrap();
        assert_eq!(
            endpoints.api_base.host_str(),
            Some("api.mypurecloud.com.au")
        );
    }

    #[test]
    fn region_keys_may_be_written_with_dashes() {
        for (key, host) in [
            ("us-east-1", "api.mypurecloud.com"),
            ("eu-west-1", "api.mypurecloud.ie"),
            ("AP-NORTHEAST-2", "api.apne2.pure.cloud"),
        ] {
            let endpoints = Endpoints::resolve(key, None, None).unwrap();
            assert_eq!(endpoints.api_base.host_str(), Some(host), "{key}");
        }
        // A host with dashes stays a host.
        let endpoints = Endpoints::resolve("use2.us-gov-pure.cloud", None, None).unwrap();
        assert_eq!(
            endpoints.api_base.host_str(),
            Some("api.use2.us-gov-pure.cloud")
        );
        assert!(Endpoints::resolve("us-east-9", None, None).is_err());
    }

    #[test]
    fn unknown_region_names_the_value_and_the_choices() {
        let err = Endpoints::resolve("mars_north_1", None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("mars_north_1"), "{err}");
        assert!(err.contains("eu_west_1"), "{err}");
    }

    #[test]
    fn explicit_urls_override_the_region_and_keep_a_path_prefix() {
        let endpoints = Endpoints::resolve(
            "us_east_1",
            Some("http://127.0.0.1:9000/proxy/"),
            Some("http://127.0.0.1:9001"),
        )
        .unwrap();
        assert_eq!(
            endpoints.api("/api/v2/x").as_str(),
            "http://127.0.0.1:9000/proxy/api/v2/x"
        );
        assert_eq!(
            endpoints.token().as_str(),
            "http://127.0.0.1:9001/oauth/token"
        );
    }

    #[test]
    fn bad_url_names_the_flag() {
        let err = Endpoints::resolve("us_east_1", Some("ftp://x"), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--genesys.api-url"), "{err}");
    }
}
