//! Caps on what one push may hold: series, labels per series, and the lengths of metric
//! names, label names and label values. The parsers check them as they read, before they
//! build what a cap forbids; [`PushLimits::check`] checks families built some other way.

use std::fmt;

use crate::MetricFamily;

/// Caps on one push body. `Default` gives caps that no real push reaches and that still
/// bound what one body can make a parser build; [`PushLimits::NONE`] has no caps.
///
/// Lengths are in bytes of UTF-8. Only the labels a series carries in the body count: the
/// `quantile` of a summary and the `le` of a histogram are part of its value, not labels,
/// and labels a store adds later (grouping labels, `instance`) are not there yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushLimits {
    /// Most series (metrics) in one body, over all its families. A summary or histogram
    /// series is one series however many lines it takes. Default 1,048,576
    /// ([`PushLimits::SERIES_MAX_DEFAULT`]).
    pub series_max: usize,
    /// Most labels on one series. Default 128.
    pub labels_per_series_max: usize,
    /// Longest metric name. Default 1,024 bytes.
    pub metric_name_bytes_max: usize,
    /// Longest label name. Default 1,024 bytes.
    pub label_name_bytes_max: usize,
    /// Longest label value. Default 65,536 bytes.
    pub label_value_bytes_max: usize,
    /// Most bytes of grouping labels a push copies into its series: its series times the
    /// bytes of its grouping key's label names and values. The store checks it, as only
    /// the store knows the key ([`PushLimits::check_grouping_bytes`]); without it, a long
    /// grouping label value in the URL would be stored once per series of a small body.
    /// Default 256 MiB.
    pub grouping_bytes_max: usize,
}

impl PushLimits {
    /// Default of [`PushLimits::series_max`]: 2^20. Pushes are one job's metrics; the
    /// largest reported are tens of thousands of series, and a store of a million series
    /// is usually thousands of groups of tens or hundreds.
    pub const SERIES_MAX_DEFAULT: usize = 1 << 20;
    /// Default of [`PushLimits::labels_per_series_max`]: 128, four times the 30 that
    /// hosted Prometheus back ends allow by default, and far above the dozen or so labels
    /// of real series.
    pub const LABELS_PER_SERIES_MAX_DEFAULT: usize = 128;
    /// Default of [`PushLimits::metric_name_bytes_max`]: 1 KiB; real names are under 200.
    pub const METRIC_NAME_BYTES_MAX_DEFAULT: usize = 1 << 10;
    /// Default of [`PushLimits::label_name_bytes_max`]: 1 KiB, as for metric names.
    pub const LABEL_NAME_BYTES_MAX_DEFAULT: usize = 1 << 10;
    /// Default of [`PushLimits::label_value_bytes_max`]: 64 KiB. Values are sometimes
    /// long (URLs, commands, error messages in `_info` series), so the cap only stops the
    /// absurd; it is also about the longest grouping label value a URL can carry.
    pub const LABEL_VALUE_BYTES_MAX_DEFAULT: usize = 1 << 16;
    /// Default of [`PushLimits::grouping_bytes_max`]: 256 MiB, a million series under a
    /// key of 256 bytes.
    pub const GROUPING_BYTES_MAX_DEFAULT: usize = 1 << 28;

    /// No caps at all: for input that is trusted, such as a store's own files.
    pub const NONE: PushLimits = PushLimits {
        series_max: usize::MAX,
        labels_per_series_max: usize::MAX,
        metric_name_bytes_max: usize::MAX,
        label_name_bytes_max: usize::MAX,
        label_value_bytes_max: usize::MAX,
        grouping_bytes_max: usize::MAX,
    };

    /// Checks that `series` series under a grouping key of `key_bytes` bytes of label names
    /// and values stay within [`PushLimits::grouping_bytes_max`].
    pub fn check_grouping_bytes(
        &self,
        series: usize,
        key_bytes: usize,
    ) -> Result<(), LimitExceeded> {
        let bytes = series.saturating_mul(key_bytes);
        if bytes > self.grouping_bytes_max {
            return Err(LimitExceeded::GroupingBytes {
                series,
                key_bytes,
                max: self.grouping_bytes_max,
            });
        }
        Ok(())
    }

    /// Checks families that did not come from a parser given these limits. The families
    /// are checked in order; the first cap exceeded is reported.
    pub fn check(&self, families: &[MetricFamily]) -> Result<(), LimitExceeded> {
        let mut series = 0usize;
        for family in families {
            self.check_metric_name(&family.name)?;
            series = series.saturating_add(family.metrics.len());
            if series > self.series_max {
                return Err(LimitExceeded::SeriesPerPush {
                    max: self.series_max,
                });
            }
            for metric in &family.metrics {
                self.check_label_count(&family.name, metric.labels.len())?;
                for label in &metric.labels {
                    self.check_label_name(&family.name, &label.name)?;
                    self.check_label_value(&family.name, &label.name, &label.value)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn check_metric_name(&self, name: &str) -> Result<(), LimitExceeded> {
        if name.len() > self.metric_name_bytes_max {
            return Err(LimitExceeded::MetricNameBytes {
                name: preview(name),
                bytes: name.len(),
                max: self.metric_name_bytes_max,
            });
        }
        Ok(())
    }

    pub(crate) fn check_label_count(
        &self,
        metric: &str,
        labels: usize,
    ) -> Result<(), LimitExceeded> {
        if labels > self.labels_per_series_max {
            return Err(LimitExceeded::LabelsPerSeries {
                metric: preview(metric),
                labels,
                max: self.labels_per_series_max,
            });
        }
        Ok(())
    }

    pub(crate) fn check_label_name(&self, metric: &str, name: &str) -> Result<(), LimitExceeded> {
        if name.len() > self.label_name_bytes_max {
            return Err(LimitExceeded::LabelNameBytes {
                metric: preview(metric),
                name: preview(name),
                bytes: name.len(),
                max: self.label_name_bytes_max,
            });
        }
        Ok(())
    }

    pub(crate) fn check_label_value(
        &self,
        metric: &str,
        name: &str,
        value: &str,
    ) -> Result<(), LimitExceeded> {
        if value.len() > self.label_value_bytes_max {
            return Err(LimitExceeded::LabelValueBytes {
                metric: preview(metric),
                label: preview(name),
                bytes: value.len(),
                max: self.label_value_bytes_max,
            });
        }
        Ok(())
    }
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits {
            series_max: Self::SERIES_MAX_DEFAULT,
            labels_per_series_max: Self::LABELS_PER_SERIES_MAX_DEFAULT,
            metric_name_bytes_max: Self::METRIC_NAME_BYTES_MAX_DEFAULT,
            label_name_bytes_max: Self::LABEL_NAME_BYTES_MAX_DEFAULT,
            label_value_bytes_max: Self::LABEL_VALUE_BYTES_MAX_DEFAULT,
            grouping_bytes_max: Self::GROUPING_BYTES_MAX_DEFAULT,
        }
    }
}

/// Which of the [`PushLimits`] a push exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    /// [`PushLimits::series_max`].
    SeriesPerPush,
    /// [`PushLimits::labels_per_series_max`].
    LabelsPerSeries,
    /// [`PushLimits::metric_name_bytes_max`].
    MetricNameBytes,
    /// [`PushLimits::label_name_bytes_max`].
    LabelNameBytes,
    /// [`PushLimits::label_value_bytes_max`].
    LabelValueBytes,
    /// [`PushLimits::grouping_bytes_max`].
    GroupingBytes,
}

impl Limit {
    /// Every limit, in declaration order.
    pub const ALL: [Limit; 6] = [
        Limit::SeriesPerPush,
        Limit::LabelsPerSeries,
        Limit::MetricNameBytes,
        Limit::LabelNameBytes,
        Limit::LabelValueBytes,
        Limit::GroupingBytes,
    ];

    /// A short snake-case name: `series_per_push`, `labels_per_series`,
    /// `metric_name_bytes`, `label_name_bytes`, `label_value_bytes`, `grouping_bytes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::SeriesPerPush => "series_per_push",
            Limit::LabelsPerSeries => "labels_per_series",
            Limit::MetricNameBytes => "metric_name_bytes",
            Limit::LabelNameBytes => "label_name_bytes",
            Limit::LabelValueBytes => "label_value_bytes",
            Limit::GroupingBytes => "grouping_bytes",
        }
    }
}

/// A push over one of its [`PushLimits`]. Names in it are cut to their first 64 bytes
/// (with `...`), so that the error stays short however long the offending name is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The body holds more series than [`PushLimits::series_max`]; reading stopped at the
    /// first series over it.
    SeriesPerPush {
        /// The limit.
        max: usize,
    },
    /// A series has more labels than [`PushLimits::labels_per_series_max`].
    LabelsPerSeries {
        /// The series' metric name.
        metric: String,
        /// How many labels it has.
        labels: usize,
        /// The limit.
        max: usize,
    },
    /// A metric name is longer than [`PushLimits::metric_name_bytes_max`].
    MetricNameBytes {
        /// The start of the name.
        name: String,
        /// Its length in bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A label name is longer than [`PushLimits::label_name_bytes_max`].
    LabelNameBytes {
        /// The metric name of the series with the label.
        metric: String,
        /// The start of the label name.
        name: String,
        /// Its length in bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A label value is longer than [`PushLimits::label_value_bytes_max`].
    LabelValueBytes {
        /// The metric name of the series with the label.
        metric: String,
        /// The label's name.
        label: String,
        /// The value's length in bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The push's series times its grouping key's bytes exceed
    /// [`PushLimits::grouping_bytes_max`].
    GroupingBytes {
        /// Series in the push.
        series: usize,
        /// Bytes of the grouping key's label names and values.
        key_bytes: usize,
        /// The limit.
        max: usize,
    },
}

impl LimitExceeded {
    /// Which limit it is.
    pub fn limit(&self) -> Limit {
        match self {
            LimitExceeded::SeriesPerPush { .. } => Limit::SeriesPerPush,
            LimitExceeded::LabelsPerSeries { .. } => Limit::LabelsPerSeries,
            LimitExceeded::MetricNameBytes { .. } => Limit::MetricNameBytes,
            LimitExceeded::LabelNameBytes { .. } => Limit::LabelNameBytes,
            LimitExceeded::LabelValueBytes { .. } => Limit::LabelValueBytes,
            LimitExceeded::GroupingBytes { .. } => Limit::GroupingBytes,
        }
    }

    /// The limit's value.
    pub fn max(&self) -> usize {
        match *self {
            LimitExceeded::SeriesPerPush { max }
            | LimitExceeded::LabelsPerSeries { max, .. }
            | LimitExceeded::MetricNameBytes { max, .. }
            | LimitExceeded::LabelNameBytes { max, .. }
            | LimitExceeded::LabelValueBytes { max, .. }
            | LimitExceeded::GroupingBytes { max, .. } => max,
        }
    }

    /// What was found, without the limit: `series of metric "x" has 200 labels`. The
    /// `Display` form adds `, more than the limit of N`; a front end can name its setting
    /// instead.
    pub fn found(&self) -> String {
        match self {
            LimitExceeded::SeriesPerPush { max } => {
                format!("push has more than {max} series")
            }
            LimitExceeded::LabelsPerSeries { metric, labels, .. } => {
                format!("series of metric {metric:?} has {labels} labels")
            }
            LimitExceeded::MetricNameBytes { name, bytes, .. } => {
                format!("metric name {name:?} is {bytes} bytes long")
            }
            LimitExceeded::LabelNameBytes {
                metric,
                name,
                bytes,
                ..
            } => format!("label name {name:?} of metric {metric:?} is {bytes} bytes long"),
            LimitExceeded::LabelValueBytes {
                metric,
                label,
                bytes,
                ..
            } => format!("value of label {label:?} of metric {metric:?} is {bytes} bytes long"),
            LimitExceeded::GroupingBytes {
                series, key_bytes, ..
            } => format!(
                "{series} series under grouping labels of {key_bytes} bytes copy {} bytes",
                series.saturating_mul(*key_bytes)
            ),
        }
    }
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, more than the limit of {}", self.found(), self.max())
    }
}

impl std::error::Error for LimitExceeded {}

/// How much of a name an error shows.
const PREVIEW_BYTES: usize = 64;

/// `name`, or its first [`PREVIEW_BYTES`] bytes (to a character boundary) and `...`.
pub(crate) fn preview(name: &str) -> String {
    if name.len() <= PREVIEW_BYTES {
        return name.to_owned();
    }
    let mut end = PREVIEW_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Label, Metric, MetricType, Value};

    fn family(name: &str, labels: &[(&str, &str)], series: usize) -> MetricFamily {
        let labels: Vec<Label> = labels
            .iter()
            .map(|&(name, value)| Label {
                name: name.to_owned(),
                value: value.to_owned(),
            })
            .collect();
        MetricFamily {
            name: name.to_owned(),
            help: None,
            metric_type: MetricType::Gauge,
            unit: None,
            metrics: (0..series)
                .map(|_| Metric {
                    labels: labels.clone(),
                    value: Value::Gauge(1.0),
                    timestamp_ms: None,
                })
                .collect(),
        }
    }

    #[test]
    fn each_limit_is_inclusive() {
        let limits = PushLimits {
            series_max: 3,
            labels_per_series_max: 2,
            metric_name_bytes_max: 4,
            label_name_bytes_max: 2,
            label_value_bytes_max: 3,
            grouping_bytes_max: usize::MAX,
        };
        let at_limits = [
            family("abcd", &[("ab", "xyz"), ("c", "")], 2),
            family("e", &[], 1),
        ];
        assert_eq!(limits.check(&at_limits), Ok(()));
        let over = |families: &[MetricFamily]| limits.check(families).unwrap_err().limit();
        assert_eq!(
            over(&[family("a", &[], 2), family("b", &[], 2)]),
            Limit::SeriesPerPush
        );
        assert_eq!(
            over(&[family("a", &[("a", ""), ("b", ""), ("c", "")], 1)]),
            Limit::LabelsPerSeries
        );
        assert_eq!(over(&[family("abcde", &[], 1)]), Limit::MetricNameBytes);
        assert_eq!(
            over(&[family("a", &[("abc", "")], 1)]),
            Limit::LabelNameBytes
        );
        assert_eq!(
            over(&[family("a", &[("a", "wxyz")], 1)]),
            Limit::LabelValueBytes
        );
        assert_eq!(PushLimits::NONE.check(&[family("abcde", &[], 9)]), Ok(()));
    }

    #[test]
    fn errors_name_the_offender_and_cut_long_names() {
        let limits = PushLimits {
            label_value_bytes_max: 3,
            ..PushLimits::default()
        };
        let long = "m".repeat(100);
        let error = limits
            .check(&[family(&long, &[("path", "/a/b/c")], 1)])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "value of label \"path\" of metric \"{}...\" is 6 bytes long, more than the limit of 3",
                "m".repeat(64)
            )
        );
        assert_eq!(preview("ééé"), "ééé");
        // A cut never splits a character.
        let accents = "é".repeat(40);
        assert_eq!(preview(&accents), format!("{}...", "é".repeat(32)));
        let shifted = format!("a{accents}");
        assert_eq!(preview(&shifted), format!("a{}...", "é".repeat(31)));
    }
}
