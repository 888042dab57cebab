//! The scrape: every stored family (and the front end's own ones) in name order, each
//! family's header once, its series in the reference's order, merged from the index without
//! sorting at scrape time.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use cairn_expfmt::{
    Metric, MetricFamily, MetricType, encode_delimited, encode_delimited_in_parts,
    encode_metric_field, encode_openmetrics, encode_text, write_openmetrics_eof,
    write_openmetrics_header, write_openmetrics_metric, write_text_header,
};

use super::check::{Inconsistency, Kind, claimed_suffixes};
use super::index::{FamilyIndex, SeriesRef, SeriesView};
use super::{Inner, OwnFamilies, Store, StoredFamily};

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
    /// Appends the whole exposition of the stored families in `format` to `out`. On error
    /// `out` is unchanged.
    pub fn render(&self, format: ScrapeFormat, out: &mut Vec<u8>) -> Result<(), ScrapeError> {
        self.render_with_own(format, &[], out)
    }

    /// As [`Store::render`], with `own`, the families the front end exposes itself (with
    /// their samples), merged in: families in name order, one header per name (an own
    /// family's help and type win, and a declared own family's help replaces the pushed
    /// one even when `own` has no samples for it), series in the reference's order.
    pub fn render_with_own(
        &self,
        format: ScrapeFormat,
        own: &[MetricFamily],
        out: &mut Vec<u8>,
    ) -> Result<(), ScrapeError> {
        self.exposition(own)?.write(format, out);
        Ok(())
    }

    /// What a scrape shows now, with `own` merged in as [`Store::render_with_own`] merges
    /// it, to be written out later with no lock held: pushes go on meanwhile and the
    /// exposition stays as it was. The store's read lock is held only while each family
    /// name's list of series pages is copied (a pointer copy per name); the pages are
    /// shared until a push changes them, which then copies the page it changes.
    ///
    /// Fails when the store holds data that is not a valid exposition (unchecked mode).
    pub fn exposition(&self, own: &[MetricFamily]) -> Result<Exposition, ScrapeError> {
        let mut own: Vec<MetricFamily> = own
            .iter()
            .filter(|f| !f.metrics.is_empty())
            .cloned()
            .map(normalised)
            .collect();
        own.sort_by(|a, b| a.name.cmp(&b.name));
        let mut own = own.into_iter().peekable();
        let declared = self.own.read().clone();
        let inner = self.inner.read();
        let mut problems = inner.stored_problems();
        let mut parts = Vec::with_capacity(inner.families.by_name.len() + own.len());
        for (name, index) in &inner.families.by_name {
            while let Some(family) = own.next_if(|f| f.name < *name) {
                parts.push(Part::Model(family));
            }
            let own_same = own.next_if(|f| f.name == *name);
            problems.extend(family_problems(&inner, name, index));
            let own_type = own_same
                .as_ref()
                .map(|f| f.metric_type)
                .or(declared.get(name).map(|d| d.metric_type));
            if let (Some(own_type), Some(kind)) = (own_type, index.kind()) {
                if Kind::of(own_type) != kind {
                    problems.push(Inconsistency::OwnTypeConflict {
                        name: name.clone(),
                        pushed: kind.metric_type(),
                        own: own_type,
                    });
                }
            }
            let shown = inner
                .shown(name, index)
                .filter(|_| index.series_count() > 0);
            match (shown, own_same) {
                (None, Some(family)) => parts.push(Part::Model(family)),
                (None, None) => {}
                (Some(shown), Some(own_family)) => {
                    // Rare (a pushed family named as an own one): merge and sort the models.
                    let mut family = merged(shown, &index.view());
                    family.metrics.extend(own_family.metrics);
                    family.metrics.sort_by(exposition_order);
                    for pair in family.metrics.windows(2) {
                        if exposition_order(&pair[0], &pair[1]).is_eq() {
                            problems.push(Inconsistency::DuplicateSeries {
                                name: name.clone(),
                                labels: pair[1].labels.clone(),
                            });
                        }
                    }
                    parts.push(Part::Model(MetricFamily {
                        help: own_family.help,
                        metric_type: own_family.metric_type,
                        unit: own_family.unit,
                        ..family
                    }));
                }
                (Some(shown), None) => parts.push(Part::Stored {
                    shown: shown.clone(),
                    series: index.view(),
                }),
            }
        }
        drop(inner);
        parts.extend(own.map(Part::Model));
        if problems.is_empty() {
            Ok(Exposition { parts, declared })
        } else {
            Err(ScrapeError { problems })
        }
    }
}

/// The whole exposition as one scrape shows it ([`Store::exposition`]), holding no lock:
/// the stored families' series as they were when it was taken, and the front end's own
/// families. Dropping it releases the pages and families only it still holds.
pub struct Exposition {
    parts: Vec<Part>,
    declared: Arc<OwnFamilies>,
}

impl fmt::Debug for Exposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exposition")
            .field("families", &self.parts.len())
            .finish_non_exhaustive()
    }
}

/// One family name of an [`Exposition`], in name order.
enum Part {
    /// A family written from its model: an own family, or a pushed family merged with
    /// the own family of its name.
    Model(MetricFamily),
    /// A pushed family name: the header of the family shown for it (the first holder's),
    /// then every holder's series.
    Stored {
        shown: Arc<StoredFamily>,
        series: SeriesView,
    },
}

impl Exposition {
    /// Appends the whole exposition in `format` to `out`.
    pub fn write(&self, format: ScrapeFormat, out: &mut Vec<u8>) {
        let never = |_: &mut Vec<u8>| -> Result<(), Infallible> { Ok(()) };
        let Ok(()) = self.write_chunked(format, out, usize::MAX, never);
    }

    /// Writes the exposition in `format` into `buf` a piece at a time: whenever `buf`
    /// holds at least `chunk_len` bytes, `emit` is called to take them (it must leave
    /// `buf` empty, or keep what it leaves in front of what follows). What is left when the
    /// exposition ends stays in `buf` for the caller. The first error from `emit` stops
    /// the writing and is returned.
    ///
    /// Stored families are written series by series (protobuf's metric fields are copied
    /// in pieces), so a piece is about `chunk_len` bytes; the front end's own families and
    /// a pushed family merged with one are written a family at a time.
    pub fn write_chunked<E>(
        &self,
        format: ScrapeFormat,
        buf: &mut Vec<u8>,
        chunk_len: usize,
        mut emit: impl FnMut(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        for part in &self.parts {
            match part {
                Part::Model(family) => encode(format, family, buf),
                Part::Stored { shown, series } => {
                    let help = match self.declared.get(shown.name()) {
                        Some(d) => Some(d.help.as_str()),
                        None => shown.help(),
                    };
                    match format {
                        ScrapeFormat::Text => {
                            write_text_header(buf, shown.name(), help, shown.metric_type());
                            series.try_for_each_series(|s| {
                                s.write_text(buf, shown.name());
                                if buf.len() >= chunk_len {
                                    emit(buf)?;
                                }
                                Ok(())
                            })?;
                        }
                        ScrapeFormat::OpenMetrics if !shown.name().is_empty() => {
                            // Series by series, as they come: no model of the whole family.
                            let (name, ty) = (shown.name(), shown.metric_type());
                            write_openmetrics_header(buf, name, help, ty, shown.unit().as_deref());
                            let mut metrics = Metrics::default();
                            series.try_for_each_series(|s| {
                                if !s.family.write_openmetrics_line(buf, s.index as usize, name) {
                                    if let Some(metric) = metrics.take(s) {
                                        write_openmetrics_metric(buf, name, ty, &metric);
                                    }
                                }
                                if buf.len() >= chunk_len {
                                    emit(buf)?;
                                }
                                Ok(())
                            })?;
                        }
                        ScrapeFormat::Protobuf => {
                            // One message per name, whose length comes first: the metric
                            // fields are encoded series by series into a buffer of their
                            // own (tens of bytes a series, not a model), then copied.
                            let mut metrics = Metrics::default();
                            let mut fields = Vec::new();
                            let Ok(()) = series.try_for_each_series(|s| {
                                if let Some(metric) = metrics.take(s) {
                                    encode_metric_field(&mut fields, &metric);
                                }
                                Ok::<(), Infallible>(())
                            });
                            drop(metrics);
                            let head = MetricFamily {
                                name: shown.name().to_owned(),
                                help: help.map(str::to_owned),
                                metric_type: shown.metric_type(),
                                unit: shown.unit(),
                                metrics: Vec::new(),
                            };
                            encode_delimited_in_parts(buf, &head, &fields, |buf, fields| {
                                for piece in fields.chunks(chunk_len.max(1)) {
                                    buf.extend_from_slice(piece);
                                    if buf.len() >= chunk_len {
                                        emit(buf)?;
                                    }
                                }
                                Ok(())
                            })?;
                        }
                        // OpenMetrics writes nothing for a family without a name.
                        ScrapeFormat::OpenMetrics => {}
                    }
                }
            }
            if buf.len() >= chunk_len {
                emit(buf)?;
            }
        }
        if format == ScrapeFormat::OpenMetrics {
            write_openmetrics_eof(buf);
        }
        Ok(())
    }
}

/// Appends one whole family in `format` (no OpenMetrics `# EOF`).
fn encode(format: ScrapeFormat, family: &MetricFamily, out: &mut Vec<u8>) {
    match format {
        ScrapeFormat::Text => encode_text(out, family),
        ScrapeFormat::OpenMetrics => encode_openmetrics(out, family),
        ScrapeFormat::Protobuf => encode_delimited(out, family),
    }
}

/// An own family with each series' labels in name order and its series in exposition
/// order, as stored families are.
fn normalised(mut family: MetricFamily) -> MetricFamily {
    for metric in &mut family.metrics {
        metric.labels.sort_by(|a, b| a.name.cmp(&b.name));
    }
    family.metrics.sort_by(exposition_order);
    family
}

/// The reference's series order (client_golang `NormalizeMetricFamilies`): fewer labels
/// first, then label values position by position (labels are sorted by name).
fn exposition_order(a: &Metric, b: &Metric) -> Ordering {
    a.labels.len().cmp(&b.labels.len()).then_with(|| {
        a.labels
            .iter()
            .map(|l| &l.value)
            .cmp(b.labels.iter().map(|l| &l.value))
    })
}

impl Inner {
    /// Problems of single stored families (unchecked mode only), gathered only when there
    /// are some.
    fn stored_problems(&self) -> Vec<Inconsistency> {
        if self.families.invalid == 0 {
            return Vec::new();
        }
        let mut groups: Vec<_> = self.groups.values().collect();
        groups.sort_by(|a, b| a.key().cmp(b.key()));
        groups
            .into_iter()
            .flat_map(|g| g.families())
            .filter_map(|f| f.problem().cloned())
            .collect()
    }

    /// The family whose help and type the scrape shows for `name`: the first holder's.
    fn shown(&self, name: &str, index: &FamilyIndex) -> Option<&Arc<StoredFamily>> {
        let first = index.first_holder()?;
        self.groups.get(first)?.families.get(name)
    }
}

/// One family holding every group's series of `name`, in exposition order, with the help,
/// type and unit of `shown`. Every stored family of the name is decoded once.
fn merged(shown: &StoredFamily, series: &SeriesView) -> MetricFamily {
    let head = shown.family();
    let mut source = Metrics::default();
    let metrics = series
        .slots_in_order()
        .flat_map(|slot| slot.all())
        .filter_map(|s| source.take(s))
        .collect();
    MetricFamily { metrics, ..head }
}

/// Stored series as models, one at a time: a compact family's series is rebuilt alone,
/// and a family kept as a message is decoded once, at its first series asked for, and
/// kept until the scrape ends.
#[derive(Default)]
struct Metrics {
    decoded: HashMap<*const StoredFamily, Vec<Option<Metric>>>,
}

impl Metrics {
    fn take(&mut self, s: &SeriesRef) -> Option<Metric> {
        let index = s.index as usize;
        if let Some(metric) = s.family.compact_metric(index) {
            return Some(metric);
        }
        self.decoded
            .entry(Arc::as_ptr(&s.family))
            .or_insert_with(|| s.family.family().metrics.into_iter().map(Some).collect())
            .get_mut(index)
            .and_then(Option::take)
    }
}

/// What makes one family name invalid across groups: several types, a series held
/// twice, or a summary or histogram whose suffixed names are families of their own.
fn family_problems<'a>(
    inner: &'a Inner,
    name: &'a str,
    index: &'a FamilyIndex,
) -> impl Iterator<Item = Inconsistency> + 'a {
    let shown_kind = inner.shown(name, index).map(|f| Kind::of(f.metric_type()));
    let type_conflict = (index.kinds_in_use() > 1).then(|| {
        let first = shown_kind.or(index.kind()).unwrap_or(Kind::Untyped);
        let other = index
            .slots_in_order()
            .flat_map(|slot| slot.all())
            .find(|s| Kind::of(s.family.metric_type()) != first);
        Inconsistency::TypeConflict {
            name: name.to_owned(),
            labels: other
                .map(|s| s.family.series_labels(s.index as usize))
                .unwrap_or_default(),
            existing: first.metric_type(),
        }
    });
    // Only unchecked mode lets a label set be held twice: the slots are read only then.
    let duplicates = index
        .has_shared_slots()
        .then(|| index.slots_in_order())
        .into_iter()
        .flatten()
        .filter(|slot| !slot.more().is_empty())
        .map(move |slot| Inconsistency::DuplicateSeries {
            name: name.to_owned(),
            labels: slot.first.family.series_labels(slot.first.index as usize),
        });
    let collisions =
        shown_kind
            .map(claimed_suffixes)
            .unwrap_or_default()
            .iter()
            .filter_map(move |suffix| {
                let claimed = format!("{name}{suffix}");
                inner.families.by_name.contains_key(&claimed).then(|| {
                    Inconsistency::SuffixCollision {
                        name: claimed,
                        base: name.to_owned(),
                        base_type: shown_kind.map_or(MetricType::Histogram, Kind::metric_type),
                    }
                })
            });
    type_conflict
        .into_iter()
        .chain(duplicates)
        .chain(collisions)
}
