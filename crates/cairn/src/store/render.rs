//! The scrape: every stored family in name order, each family's header once, its series in
//! the reference's order, merged from the index without sorting at scrape time.

use std::fmt;

use cairn_expfmt::{
    MetricFamily, encode_delimited, encode_openmetrics, write_openmetrics_eof, write_text_header,
};

use super::check::{Inconsistency, Kind, claimed_suffixes};
use super::index::FamilyIndex;
use super::{Inner, Store};

/// The exposition formats a scrape can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScrapeFormat {
    /// Text format 0.0.4 (the default).
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// Protobuf delimited `MetricFamily` messages.
    Protobuf,
}

/// The store holds data that is not a valid exposition, which only unchecked mode allows;
/// the scrape fails until the offending group is deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrapeError {
    /// Every problem found.
    pub problems: Vec<Inconsistency>,
}

impl fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} error(s) occurred:", many.len())?;
                for problem in many {
                    write!(f, "\n* {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ScrapeError {}

impl Store {
    /// Appends the whole exposition in `format` to `out`. On error `out` holds a partial
    /// exposition that must not be served.
    pub fn render(&self, format: ScrapeFormat, out: &mut Vec<u8>) -> Result<(), ScrapeError> {
        let inner = self.inner.read();
        let mut problems = inner.stored_problems();
        for (name, index) in &inner.families.by_name {
            problems.extend(family_problems(&inner, name, index));
            if index.series_count() == 0 {
                continue;
            }
            match format {
                ScrapeFormat::Text => render_text(out, name, index),
                ScrapeFormat::OpenMetrics => encode_openmetrics(out, &merged(name, index)),
                ScrapeFormat::Protobuf => encode_delimited(out, &merged(name, index)),
            }
        }
        if format == ScrapeFormat::OpenMetrics {
            write_openmetrics_eof(out);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ScrapeError { problems })
        }
    }
}

impl Inner {
    /// Problems of single stored families (unchecked mode only), gathered only when there
    /// are some.
    fn stored_problems(&self) -> Vec<Inconsistency> {
        if self.families.invalid == 0 {
            return Vec::new();
        }
        self.groups
            .values()
            .flat_map(|g| g.families())
            .filter_map(|f| f.problem().cloned())
            .collect()
    }
}

fn render_text(out: &mut Vec<u8>, name: &str, index: &FamilyIndex) {
    let Some(shown) = index.shown() else { return };
    write_text_header(
        out,
        name,
        shown.family.family().help.as_deref(),
        shown.metric_type,
    );
    for slot in index.slots_in_order() {
        for series in slot.all() {
            out.extend_from_slice(series.text());
        }
    }
}

/// One family holding every group's series of `name`, in exposition order.
fn merged(name: &str, index: &FamilyIndex) -> MetricFamily {
    let shown = index.shown().map(|m| m.family.family());
    let mut metrics = Vec::with_capacity(index.series_count());
    for slot in index.slots_in_order() {
        for s in slot.all() {
            metrics.push(s.family.family().metrics[s.index as usize].clone());
        }
    }
    MetricFamily {
        name: name.to_owned(),
        help: shown.and_then(|f| f.help.clone()),
        metric_type: index
            .shown()
            .map_or(cairn_expfmt::MetricType::Untyped, |m| m.metric_type),
        unit: shown.and_then(|f| f.unit.clone()),
        metrics,
    }
}

/// What makes one family name invalid across groups: several types, a series held
/// twice, or a summary or histogram whose suffixed names are families of their own.
fn family_problems<'a>(
    inner: &'a Inner,
    name: &'a str,
    index: &'a FamilyIndex,
) -> impl Iterator<Item = Inconsistency> + 'a {
    let type_conflict = (index.kinds_in_use() > 1).then(|| {
        let first = index
            .shown()
            .map(|m| m.metric_type)
            .unwrap_or(cairn_expfmt::MetricType::Untyped);
        let other = index
            .metas
            .values()
            .find(|m| Kind::of(m.metric_type) != Kind::of(first))
            .map(|m| m.family.family());
        Inconsistency::TypeConflict {
            name: name.to_owned(),
            labels: other
                .and_then(|f| f.metrics.first())
                .map(|m| m.labels.clone())
                .unwrap_or_default(),
            existing: first,
        }
    });
    let duplicates = index
        .slots_in_order()
        .filter(|slot| !slot.more.is_empty())
        .map(move |slot| Inconsistency::DuplicateSeries {
            name: name.to_owned(),
            labels: slot.first.family.family().metrics[slot.first.index as usize]
                .labels
                .clone(),
        });
    let kind = index.shown().map(|m| Kind::of(m.metric_type));
    let collisions =
        kind.map(claimed_suffixes)
            .unwrap_or_default()
            .iter()
            .filter_map(move |suffix| {
                let claimed = format!("{name}{suffix}");
                inner.families.by_name.contains_key(&claimed).then(|| {
                    Inconsistency::SuffixCollision {
                        name: claimed,
                        base: name.to_owned(),
                        base_type: if kind == Some(Kind::Summary) {
                            cairn_expfmt::MetricType::Summary
                        } else {
                            cairn_expfmt::MetricType::Histogram
                        },
                    }
                })
            });
    type_conflict
        .into_iter()
        .chain(duplicates)
        .chain(collisions)
}
