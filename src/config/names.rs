//! Metric and dimension names held against the catalogue of what Genesys accepts
//! ([`crate::genesys::catalog`]), so that a typo stops start-up instead of turning every
//! poll into a 400, and the notes on a query's `allow_unlisted` names.

use crate::genesys::catalog::{self, Lookup};

/// What follows every refusal of a name: why it matters, and the way out for a name that
/// is newer than the catalogue.
const CONSEQUENCE: &str = "Genesys would refuse every poll of this query with a 400; if the \
    name is newer than this exporter's catalogue, list it under `allow_unlisted`";

/// Checks a conversation aggregate metric name; `allowed` is the query's `allow_unlisted`.
pub(super) fn check_metric(name: &str, allowed: &[String]) -> Result<(), String> {
    match catalog::lookup(catalog::CONVERSATION_METRICS, name) {
        Lookup::Listed => Ok(()),
        _ if allowed.iter().any(|a| a == name) => Ok(()),
        _ if catalog::is_observation_metric(name) => Err(format!(
            "{name:?} is a queue observation metric (real time, per queue): put it in an \
             `observations` entry (see the configuration guide), not in a conversation \
             aggregates query, where Genesys would refuse every poll of this query with a 400"
        )),
        Lookup::Unlisted { closest } => Err(format!(
            "{name:?} is not a conversation aggregate metric{}; {CONSEQUENCE}",
            did_you_mean(closest)
        )),
    }
}

/// Checks a conversation aggregate dimension name; `allowed` is the query's
/// `allow_unlisted`.
pub(super) fn check_dimension(name: &str, allowed: &[String]) -> Result<(), String> {
    match catalog::lookup(catalog::CONVERSATION_DIMENSIONS, name) {
        Lookup::Listed => Ok(()),
        _ if allowed.iter().any(|a| a == name) => Ok(()),
        Lookup::Unlisted { closest } => Err(format!(
            "{name:?} is not a conversation aggregate dimension{}; {CONSEQUENCE}",
            did_you_mean(closest)
        )),
    }
}

fn did_you_mean(closest: Option<&str>) -> String {
    closest.map_or_else(String::new, |name| format!(" (did you mean {name:?}?)"))
}

/// Whether a name is in the catalogue as a metric or a dimension.
fn catalogued(name: &str) -> bool {
    catalog::is_conversation_metric(name) || catalog::is_conversation_dimension(name)
}

/// What to warn about a query's `allow_unlisted` at start-up, one note per name: that it
/// goes unchecked, or that it is in the catalogue and needs no entry there.
pub(super) fn allow_unlisted_notes(allowed: &[String]) -> Vec<String> {
    allowed
        .iter()
        .map(|name| {
            if catalogued(name) {
                format!(
                    "{name:?} is in the catalogue of names Genesys accepts; it is checked \
                     anyway and needs no `allow_unlisted` entry"
                )
            } else {
                format!(
                    "{name:?} is not in the catalogue of names Genesys accepts and is sent \
                     unchecked; if Genesys refuses it, every poll of this query fails"
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let notes = allow_unlisted_notes(&["tSomethingNew".into(), "nOffered".into()]);
        assert!(notes[0].contains("sent unchecked"), "{}", notes[0]);
        assert!(
            notes[1].contains("needs no `allow_unlisted` entry"),
            "{}",
            notes[1]
        );
    }
}
