//! Metric and dimension names held against the catalogue of what the query's source
//! accepts ([`crate::genesys::sources`]), so that a typo stops start-up instead of turning
//! every poll into a 400; the `source:` itself; and the notes on a query's
//! `allow_unlisted` names.

use crate::genesys::catalog::{self, Lookup};
use crate::genesys::sources::{self, SOURCES, Source};

/// What follows every refusal of a name: why it matters, and the way out for a name that
/// is newer than the catalogue.
const CONSEQUENCE: &str = "Genesys would refuse every poll of this query with a 400; if the \
    name is newer than this exporter's catalogue, list it under `allow_unlisted`";

/// Every source's segment, for "did you mean".
static SEGMENTS: [&str; SOURCES.len()] = {
    let mut segments = [""; SOURCES.len()];
    let mut i = 0;
    while i < SOURCES.len() {
        segments[i] = SOURCES[i].segment;
        i += 1;
    }
    segments
};

/// The source a query's `source:` names.
pub(super) fn check_source(segment: &str) -> Result<&'static Source, String> {
    sources::source(segment).ok_or_else(|| {
        format!(
            "{segment:?} is not an analytics aggregates source{}; expected one of {}",
            did_you_mean(catalog::closest(&SEGMENTS, segment)),
            SEGMENTS.join(", ")
        )
    })
}

/// Checks a metric name of `source`; `allowed` is the query's `allow_unlisted`.
pub(super) fn check_metric(source: &Source, name: &str, allowed: &[String]) -> Result<(), String> {
    match catalog::lookup(source.metrics, name) {
        Lookup::Listed => Ok(()),
        _ if allowed.iter().any(|a| a == name) => Ok(()),
        _ if catalog::is_observation_metric(name) => Err(format!(
            "{name:?} is a queue observation metric (real time, per queue): put it in an \
             `observations` entry (see the configuration guide), not in an aggregates \
             query, where Genesys would refuse every poll of this query with a 400"
        )),
        Lookup::Unlisted { closest } => {
            let elsewhere: Vec<&str> = sources::sources_listing_metric(name, source)
                .iter()
                .map(|s| s.segment)
                .collect();
            match elsewhere.as_slice() {
                [] => Err(format!(
                    "{name:?} is not a {} aggregate metric{}; {CONSEQUENCE}",
                    source.domain.replace('_', " "),
                    did_you_mean(closest)
                )),
                [only] => Err(format!(
                    "{name:?} is a {only} metric, not a {} one: add `source: {only}` to \
                     this query (or move the metric to a query that has it)",
                    source.segment
                )),
                several => Err(format!(
                    "{name:?} is not a {} metric; the sources that have it are {}: set \
                     this query's `source:` to one of them",
                    source.segment,
                    several.join(", ")
                )),
            }
        }
    }
}

/// Checks a dimension name of `source`; `allowed` is the query's `allow_unlisted`.
pub(super) fn check_dimension(
    source: &Source,
    name: &str,
    allowed: &[String],
) -> Result<(), String> {
    match catalog::lookup(source.dimensions, name) {
        Lookup::Listed => Ok(()),
        _ if allowed.iter().any(|a| a == name) => Ok(()),
        Lookup::Unlisted { closest } => Err(format!(
            "{name:?} is not a {} aggregate dimension{}; {CONSEQUENCE}",
            source.domain.replace('_', " "),
            did_you_mean(closest)
        )),
    }
}

fn did_you_mean(closest: Option<&str>) -> String {
    closest.map_or_else(String::new, |name| format!(" (did you mean {name:?}?)"))
}

/// Whether a name is in `source`'s catalogue as a metric or a dimension.
fn catalogued(source: &Source, name: &str) -> bool {
    source.metrics.binary_search(&name).is_ok() || source.dimensions.binary_search(&name).is_ok()
}

/// What to warn about a query's `allow_unlisted` at start-up, one note per name: that it
/// goes unchecked, or that it is in the source's catalogue and needs no entry there.
pub(super) fn allow_unlisted_notes(source: &Source, allowed: &[String]) -> Vec<String> {
    allowed
        .iter()
        .map(|name| {
            if catalogued(source, name) {
                format!(
                    "{name:?} is in the catalogue of names Genesys accepts (for the {} \
                     source); it is checked anyway and needs no `allow_unlisted` entry",
                    source.segment
                )
            } else {
                format!(
                    "{name:?} is not in the catalogue of names Genesys accepts (for the {} \
                     source) and is sent unchecked; if Genesys refuses it, every poll of this \
                     query fails",
                    source.segment
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::sources::CONVERSATIONS;

    fn check_metric(name: &str, allowed: &[String]) -> Result<(), String> {
        super::check_metric(CONVERSATIONS, name, allowed)
    }

    fn check_dimension(name: &str, allowed: &[String]) -> Result<(), String> {
        super::check_dimension(CONVERSATIONS, name, allowed)
    }

    #[test]
    fn names_outside_the_catalogue_are_refused_with_a_suggestion() {
        assert_eq!(check_metric("nOffered", &[]), Ok(()));
        let typo = check_metric("nOfered", &[]).unwrap_err();
        assert!(typo.contains("did you mean \"nOffered\"?"), "{typo}");
        assert!(typo.contains("allow_unlisted"), "{typo}");
        let observation = check_metric("oWaiting", &[]).unwrap_err();
        assert!(
            observation.contains("queue observation metric"),
            "{observation}"
        );
        let case = check_dimension("queueID", &[]).unwrap_err();
        assert!(case.contains("did you mean \"queueId\"?"), "{case}");
        let far = check_dimension("somethingElse", &[]).unwrap_err();
        assert!(!far.contains("did you mean"), "{far}");
        let allowed = vec!["tSomethingNew".to_string()];
        assert_eq!(check_metric("tSomethingNew", &allowed), Ok(()));
        assert!(check_metric("tSomethingNew", &[]).is_err());
    }

    #[test]
    fn allow_unlisted_notes_say_unchecked_or_not_needed() {
        let notes =
            allow_unlisted_notes(CONVERSATIONS, &["tSomethingNew".into(), "nOffered".into()]);
        assert!(notes[0].contains("sent unchecked"), "{}", notes[0]);
        assert!(
            notes[1].contains("needs no `allow_unlisted` entry"),
            "{}",
            notes[1]
        );
    }
}
