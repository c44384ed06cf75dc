//! The text exposition of the conversation series, written by hand.
//!
//! The exposition is many times the JSON it comes from, and nearly all of it is label
//! sets: every family repeats the labels of every group. A general encoder
//! (prometheus-client's) renders each sample's labels, escaping and all, once per sample
//! and per format; that was a large part of a poll's CPU time (the sizes and figures:
//! BENCHMARKS.md, "Workloads" and "Poll cost"). Here a label set is rendered once, when mapping makes it
//! ([`Labels::new`]), and writing a sample is copying the family name, the rendered
//! labels and the value.
//!
//! The bytes are the Prometheus text format 0.0.4 and, without the closing `# EOF` (the
//! server appends the exporter's own metrics and then ends the exposition), OpenMetrics
//! 1.0 as well: the series are untimestamped gauges without units, their help texts carry
//! no character either format escapes differently, and a non-finite value is written
//! `NaN`, `+Inf` or `-Inf`, which both formats read. So one body, and one gzip of it,
//! serves both. The tests check the bytes against prometheus-client's encoders.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use crate::series::{QuerySeries, Sample, push_escaped};

/// Where one family of an entry lies in the text [`write_entry`] wrote: its header
/// (`# HELP`, `# TYPE`) and, right after it, its samples.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilySpans {
    pub name: Arc<str>,
    pub header: Range<usize>,
    pub samples: Range<usize>,
}

/// Writes one entry's series (a query's, an observation set's...) family by family, each
/// as its header followed by its samples, appended to `out` (which the caller sizes), and
/// says where each part lies. A family several entries export is then joined from these
/// parts ([`crate::snapshot`]): the header of the first entry that has it, then every
/// entry's samples, which is exactly what [`write`] writes for all entries at once.
pub fn write_entry(series: &QuerySeries, out: &mut Vec<u8>) -> Vec<FamilySpans> {
    let mut number = dtoa::Buffer::new();
    let mut help_text = String::new();
    series
        .families
        .iter()
        .map(|family| {
            let start = out.len();
            write_header(&family.name, &family.help, &mut help_text, out);
            let header_end = out.len();
            write_samples(&family.name, &family.samples, &mut number, out);
            FamilySpans {
                name: family.name.clone(),
                header: start..header_end,
                samples: header_end..out.len(),
            }
        })
        .collect()
}

/// Writes every entry's series as one exposition: a family that several entries export
/// is written once, with the samples of each entry in entry order, and families sorted
/// by name, appended to `out`. This is the order the snapshot's joined pieces follow
/// (its tests hold them to this function), and the whole exposition the benchmarks
/// compare a publish with.
pub fn write(entries: &[Arc<QuerySeries>], out: &mut Vec<u8>) {
    let mut families: BTreeMap<&str, (&str, Vec<&[Sample]>)> = BTreeMap::new();
    for entry in entries {
        for family in &entry.families {
            families
                .entry(&family.name)
                .or_insert_with(|| (&family.help, Vec::new()))
                .1
                .push(&family.samples);
        }
    }
    let mut help_text = String::new();
    let mut number = dtoa::Buffer::new();
    for (name, (help, sample_lists)) in families {
        write_header(name, help, &mut help_text, out);
        for samples in sample_lists {
            write_samples(name, samples, &mut number, out);
        }
    }
}

/// `# HELP` and `# TYPE` of a gauge family (`help_text` is scratch space).
fn write_header(name: &str, help: &str, help_text: &mut String, out: &mut Vec<u8>) {
    help_text.clear();
    push_escaped(help_text, help, &['\\', '\n']);
    for part in [
        "# HELP ",
        name,
        " ",
        help_text,
        "\n# TYPE ",
        name,
        " gauge\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
}

/// One line per sample: the family name, the rendered labels, the value.
fn write_samples(name: &str, samples: &[Sample], number: &mut dtoa::Buffer, out: &mut Vec<u8>) {
    for sample in samples {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(sample.labels.rendered().as_bytes());
        out.push(b' ');
        out.extend_from_slice(format_value(number, sample.value).as_bytes());
        out.push(b'\n');
    }
}

/// A sample value as both formats read it: shortest round-trip digits, always with a
/// fraction or exponent (`42.0`), as prometheus-client writes it.
pub(crate) fn format_value(buffer: &mut dtoa::Buffer, value: f64) -> &str {
    if value.is_finite() {
        buffer.format_finite(value)
    } else if value.is_nan() {
        "NaN"
    } else if value > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{Family, Labels};
    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::{DescriptorEncoder, prometheus_text, text};
    use prometheus_client::metrics::MetricType;
    use prometheus_client::registry::Registry;
    use std::fmt;

    /// prometheus-client's encoding of the same series: the reference the hand-written
    /// writer must match byte for byte.
    #[derive(Debug)]
    struct Reference(Vec<Arc<QuerySeries>>);

    impl Collector for Reference {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
            let mut families: BTreeMap<&str, (&str, Vec<&Sample>)> = BTreeMap::new();
            for query in &self.0 {
                for family in &query.families {
                    families
                        .entry(&family.name)
                        .or_insert_with(|| (&family.help, Vec::new()))
                        .1
                        .extend(family.samples.iter());
                }
            }
            for (name, (help, samples)) in families {
                let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
                for sample in samples {
                    let pairs: Vec<(&str, &str)> = sample.labels.pairs().collect();
                    metric.encode_family(&pairs)?.encode_gauge(&sample.value)?;
                }
            }
            Ok(())
        }
    }

    fn reference(queries: &[Arc<QuerySeries>]) -> (String, String) {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Reference(queries.to_vec())));
        let (mut openmetrics, mut prometheus) = (String::new(), String::new());
        text::encode_registry(&mut openmetrics, &registry).unwrap();
        prometheus_text::encode(&mut prometheus, &registry).unwrap();
        (openmetrics, prometheus)
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(
            pairs.iter().map(|(name, _)| name.to_string()).collect(),
            pairs.iter().map(|(_, value)| value.to_string()).collect(),
        )
    }

    fn sample(pairs: &[(&str, &str)], value: f64) -> Sample {
        Sample {
            labels: Arc::new(labels(pairs)),
            value,
        }
    }

    fn family(name: &str, help: &str, samples: Vec<Sample>) -> Family {
        Family {
            name: name.into(),
            help: help.into(),
            samples,
        }
    }

    fn text_of(queries: &[Arc<QuerySeries>]) -> String {
        let mut out = Vec::new();
        write(queries, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_bytes_are_what_prometheus_client_writes_in_both_formats() {
        let odd_labels = [
            ("query", "a"),
            ("queue_name", "Sales \"EU\"\n\\ré"),
            ("media_type", ""),
        ];
        let a = QuerySeries {
            families: vec![
                family(
                    "genesys_conversation_handle_seconds_sum",
                    "Genesys Cloud tHandle: total seconds",
                    vec![
                        sample(&odd_labels, 11874.102),
                        sample(&[("query", "a"), ("queue_id", "q2")], 0.0),
                    ],
                ),
                family(
                    "genesys_conversation_offered",
                    "Offered",
                    vec![sample(&[("query", "a")], 42.0)],
                ),
            ],
        };
        let b = QuerySeries {
            families: vec![family(
                "genesys_conversation_offered",
                "Offered",
                vec![
                    sample(&[("query", "b")], 1e21),
                    sample(&[("query", "b"), ("x", "1")], 1.5e-7),
                    sample(&[], -3.0),
                ],
            )],
        };
        let queries = [Arc::new(a), Arc::new(b)];
        let written = text_of(&queries);
        let (openmetrics, prometheus) = reference(&queries);
        assert_eq!(written, prometheus);
        assert_eq!(written, openmetrics);
        // The family both queries export is written once, query a's samples first.
        assert_eq!(
            written
                .matches("# TYPE genesys_conversation_offered")
                .count(),
            1
        );
        let a_at = written.find(r#"offered{query="a"}"#).unwrap();
        let b_at = written.find(r#"offered{query="b"}"#).unwrap();
        assert!(a_at < b_at, "{written}");
    }

    #[test]
    fn an_entry_is_written_as_each_familys_header_then_its_samples() {
        let entry = QuerySeries {
            families: vec![
                family("genesys_a", "A", vec![sample(&[("query", "q")], 1.0)]),
                family("genesys_b", "B", vec![]),
            ],
        };
        let mut out = Vec::new();
        let spans = write_entry(&entry, &mut out);
        let text = |range: &Range<usize>| std::str::from_utf8(&out[range.clone()]).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(&*spans[0].name, "genesys_a");
        assert_eq!(
            text(&spans[0].header),
            "# HELP genesys_a A\n# TYPE genesys_a gauge\n"
        );
        assert_eq!(text(&spans[0].samples), "genesys_a{query=\"q\"} 1.0\n");
        assert_eq!(spans[0].samples.end, spans[1].header.start);
        assert!(spans[1].samples.is_empty());
        // One entry alone reads as the whole exposition of it.
        assert_eq!(String::from_utf8(out).unwrap(), text_of(&[Arc::new(entry)]));
    }

    #[test]
    fn non_finite_values_are_written_as_both_formats_read_them() {
        let queries = [Arc::new(QuerySeries {
            families: vec![family(
                "genesys_conversation_x",
                "X",
                vec![
                    sample(&[("v", "nan")], f64::NAN),
                    sample(&[("v", "inf")], f64::INFINITY),
                    sample(&[("v", "-inf")], f64::NEG_INFINITY),
                ],
            )],
        })];
        let written = text_of(&queries);
        assert!(written.contains("x{v=\"nan\"} NaN\n"), "{written}");
        assert!(written.contains("x{v=\"inf\"} +Inf\n"), "{written}");
        assert!(written.contains("x{v=\"-inf\"} -Inf\n"), "{written}");
        // The text format's own encoder agrees.
        assert_eq!(written, reference(&queries).1);
    }

    #[test]
    fn help_is_escaped_as_the_text_format_requires() {
        let queries = [Arc::new(QuerySeries {
            families: vec![family(
                "genesys_conversation_x",
                "back\\slash\nnewline",
                vec![sample(&[("query", "q")], 1.0)],
            )],
        })];
        let written = text_of(&queries);
        assert!(
            written.starts_with("# HELP genesys_conversation_x back\\\\slash\\nnewline\n"),
            "{written}"
        );
        assert_eq!(written, reference(&queries).1);
    }

    #[test]
    fn labels_render_once_and_answer_by_name() {
        let labels = labels(&[("queue_id", "q1"), ("queue_name", "Bill\"ing")]);
        assert_eq!(
            format!("{labels:?}"),
            r#"{queue_id="q1",queue_name="Bill\"ing"}"#
        );
        let get = |name: &str| labels.pairs().find(|(n, _)| *n == name).map(|(_, v)| v);
        assert_eq!(get("queue_name"), Some("Bill\"ing"));
        assert_eq!(get("media_type"), None);
        assert_eq!(labels.pairs().count(), 2);
        assert_eq!(labels.values(), ["q1", "Bill\"ing"]);
        assert_eq!(text_of(&[]), "");
    }
}
