//! The series a poll produces, as mapping makes them and the exposition writes them:
//! label sets (rendered once, see [`Labels::new`]), samples, families, a query's series.
//!
//! Both [`crate::mapping`] and [`crate::exposition`] import these types; neither imports
//! the other.

use std::fmt;
use std::sync::Arc;

/// The labels of one series, rendered once and shared by every sample of a group.
pub type LabelSet = Arc<Labels>;

/// One sample: a label set and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: LabelSet,
    pub value: f64,
}

/// One metric family (all of it gauges) as one query exports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// Shared: one query's poll maps a family per bucket of each group in the history.
    pub name: Arc<str>,
    pub help: Arc<str>,
    pub samples: Vec<Sample>,
}

/// Everything one query exports after a poll, families sorted by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuerySeries {
    pub families: Vec<Family>,
}

impl QuerySeries {
    /// Number of samples, as shown on the landing page.
    pub fn sample_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }
}

/// The labels of one series, with their rendering (`{name="value",...}`), made once and
/// shared by every sample of a group.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Labels {
    /// Label names, shared by every group of a query.
    names: Arc<[String]>,
    values: Vec<String>,
    rendered: String,
}

impl Labels {
    /// The labels `names` (valid Prometheus label names, made by mapping from validated
    /// `group_by` dimensions) with `values`, position by position.
    pub fn new(names: Arc<[String]>, values: Vec<String>) -> Labels {
        debug_assert_eq!(names.len(), values.len());
        let length: usize = names
            .iter()
            .zip(&values)
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum();
        let mut rendered = String::with_capacity(length + 1);
        for (index, (name, value)) in names.iter().zip(&values).enumerate() {
            rendered.push(if index == 0 { '{' } else { ',' });
            rendered.push_str(name);
            rendered.push_str("=\"");
            push_escaped(&mut rendered, value, &['\\', '"', '\n']);
            rendered.push('"');
        }
        if !rendered.is_empty() {
            rendered.push('}');
        }
        Labels {
            names,
            values,
            rendered,
        }
    }

    /// The (name, value) pairs, in export order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().map(String::as_str))
    }

    /// The rendering, `{name="value",...}` (empty without labels), as the exposition
    /// writes it after a family name.
    pub fn rendered(&self) -> &str {
        &self.rendered
    }

    /// The values, in the order of the names.
    pub fn values(&self) -> &[String] {
        &self.values
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

/// Appends `text` to `out` with each of `special` (ASCII characters) backslash-escaped
/// (a newline as `\n`).
///
/// Searched for byte by byte: no byte of a multi-byte UTF-8 character is ASCII, and
/// `str::find` with a set of characters decodes every character, which made this the
/// costliest line of mapping a label set (BENCHMARKS.md, "Push: freshness and cost").
pub(crate) fn push_escaped(out: &mut String, text: &str, special: &[char]) {
    debug_assert!(special.iter().all(char::is_ascii));
    let is_special = |byte: &u8| special.iter().any(|&c| c as u32 == u32::from(*byte));
    let mut rest = text;
    while let Some(at) = rest.as_bytes().iter().position(is_special) {
        out.push_str(&rest[..at]);
        let found = char::from(rest.as_bytes()[at]);
        out.push('\\');
        out.push(if found == '\n' { 'n' } else { found });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}
