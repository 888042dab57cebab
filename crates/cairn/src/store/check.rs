//! The consistency rules a push must keep, and how a broken one is reported.

use std::fmt;

use cairn_expfmt::{Label, MetricType};

/// A rule of the consistency check that a push (or, in unchecked mode, the stored data)
/// breaks. The wording follows the reference's, so that clients see familiar reasons.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inconsistency {
    /// A pushed sample carries a timestamp.
    Timestamps,
    /// Another group holds a family of this name with a different type.
    TypeConflict {
        /// The family name.
        name: String,
        /// A series of the pushed family.
        labels: Vec<Label>,
        /// The type already stored.
        existing: MetricType,
    },
    /// A family has the name of one the gateway exposes itself, with another type.
    OwnTypeConflict {
        /// The family name.
        name: String,
        /// The pushed (or stored) type.
        pushed: MetricType,
        /// The type of the gateway's own family.
        own: MetricType,
    },
    /// A series with this name and label set is stored or pushed twice.
    DuplicateSeries {
        /// The family name.
        name: String,
        /// The series' labels.
        labels: Vec<Label>,
    },
    /// A label name is invalid or reserved.
    InvalidLabelName {
        /// The family name.
        name: String,
        /// The offending label name.
        label: String,
        /// The series' labels.
        labels: Vec<Label>,
    },
    /// A label name appears twice in one series.
    DuplicateLabelName {
        /// The family name.
        name: String,
        /// The repeated label name.
        label: String,
        /// The series' labels.
        labels: Vec<Label>,
    },
    /// A summary series has its own `quantile` label.
    QuantileLabel {
        /// The family name.
        name: String,
        /// The series' labels.
        labels: Vec<Label>,
    },
    /// A series' value is not of the family's type.
    ValueNotOfType {
        /// The family name.
        name: String,
        /// The series' labels.
        labels: Vec<Label>,
        /// The family's type.
        expected: MetricType,
    },
    /// `name` would be a `_count`, `_sum` or `_bucket` series of summary or histogram `base`.
    SuffixCollision {
        /// The family whose name has the suffix.
        name: String,
        /// The summary or histogram it collides with.
        base: String,
        /// The type of `base`.
        base_type: MetricType,
    },
}

struct LabelsDisplay<'a>(&'a [Label]);

impl fmt::Display for LabelsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, label) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={:?}", label.name, label.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inconsistency::Timestamps => f.write_str("pushed metrics must not have timestamps"),
            Inconsistency::TypeConflict {
                name,
                labels,
                existing,
            } => write!(
                f,
                "collected metric {name:?} {} is not a {}",
                LabelsDisplay(labels),
                existing.proto_name()
            ),
            Inconsistency::OwnTypeConflict { name, pushed, own } => write!(
                f,
                "gathered metric family {name} has type {} but should have {}",
                pushed.proto_name(),
                own.proto_name()
            ),
            Inconsistency::DuplicateSeries { name, labels } => write!(
                f,
                "collected metric {name:?} {} was collected before with the same name and label values",
                LabelsDisplay(labels)
            ),
            Inconsistency::InvalidLabelName {
                name,
                label,
                labels,
            } => write!(
                f,
                "collected metric {name:?} {} has a label with an invalid name: {label}",
                LabelsDisplay(labels)
            ),
            Inconsistency::DuplicateLabelName {
                name,
                label,
                labels,
            } => write!(
                f,
                "collected metric {name:?} {} has two or more labels with the same name: {label}",
                LabelsDisplay(labels)
            ),
            Inconsistency::QuantileLabel { name, labels } => write!(
                f,
                "collected metric {name:?} {} must not have an explicit \"quantile\" label",
                LabelsDisplay(labels)
            ),
            Inconsistency::ValueNotOfType {
                name,
                labels,
                expected,
            } => write!(
                f,
                "collected metric {name:?} {} is not a {}",
                LabelsDisplay(labels),
                expected.proto_name()
            ),
            Inconsistency::SuffixCollision {
                name,
                base,
                base_type,
            } => {
                let kind = match base_type {
                    MetricType::Summary => "summary",
                    _ => "histogram",
                };
                write!(
                    f,
                    "collected metric named {name:?} collides with previously collected {kind} named {base:?}"
                )
            }
        }
    }
}

/// Types compared for consistency across groups: a gauge histogram counts as a histogram,
/// as it shares the histogram value field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Summary,
    Untyped,
    Histogram,
}

impl Kind {
    pub(crate) const COUNT: usize = 5;
    pub(crate) const ALL: [Kind; Kind::COUNT] = [
        Kind::Counter,
        Kind::Gauge,
        Kind::Summary,
        Kind::Untyped,
        Kind::Histogram,
    ];

    pub(crate) fn of(t: MetricType) -> Kind {
        match t {
            MetricType::Counter => Kind::Counter,
            MetricType::Gauge => Kind::Gauge,
            MetricType::Summary => Kind::Summary,
            MetricType::Untyped => Kind::Untyped,
            MetricType::Histogram | MetricType::GaugeHistogram => Kind::Histogram,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The type a kind is reported as.
    pub(crate) fn metric_type(self) -> MetricType {
        match self {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge => MetricType::Gauge,
            Kind::Summary => MetricType::Summary,
            Kind::Untyped => MetricType::Untyped,
            Kind::Histogram => MetricType::Histogram,
        }
    }
}

/// If `name` ends in a suffix that a summary or histogram `base` would expose, that base.
pub(crate) fn suffix_base(name: &str) -> Option<(&str, &'static str)> {
    ["_count", "_sum", "_bucket"]
        .into_iter()
        .find_map(|suffix| name.strip_suffix(suffix).map(|base| (base, suffix)))
        .filter(|(base, _)| !base.is_empty())
}

/// Whether a family named `base` of kind `base_kind` claims `base` + `suffix`.
pub(crate) fn claims_suffix(base_kind: Kind, suffix: &str) -> bool {
    match base_kind {
        Kind::Summary => suffix != "_bucket",
        Kind::Histogram => true,
        _ => false,
    }
}

/// The suffixes a family of `kind` claims.
pub(crate) fn claimed_suffixes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Summary => &["_count", "_sum"],
        Kind::Histogram => &["_count", "_sum", "_bucket"],
        _ => &[],
    }
}
