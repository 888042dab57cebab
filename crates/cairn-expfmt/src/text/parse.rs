//! Text format 0.0.4 parsing, accepting and rejecting what the reference's Go parser does.
//!
//! The reference is `expfmt.TextParser` of prometheus/common v0.39.0 (Pushgateway 1.5.1).
//! This parser reproduces its observable behaviour, quirks included, because clients see it:
//! which bodies are accepted, the families they give, and the error (line and wording) for
//! the ones rejected. Notable quirks kept:
//!
//! - Every line must end with `\n`, except a last line of blanks and tabs: anything else
//!   running into the end of input is `unexpected end of input stream`.
//! - Only spaces and tabs separate tokens, so a `\r` becomes part of the value (`"1\r"`) or
//!   of the TYPE keyword, and a blank after the value or timestamp is an error.
//! - `x_sum`, `x_count` (and `x_bucket`) lines join family `x` when it was declared a summary
//!   (histogram) before; a `# HELP` or `# TYPE` line for `x_count` then also refers to `x`.
//!   Lines of one summary or histogram with the same labels (bar `quantile`/`le`) are one
//!   series; `quantile="NaN"` and `le="NaN"` samples are dropped.
//! - The TYPE keyword is case-insensitive, and backslashes in it are ignored. `gauge_histogram`
//!   is a valid type whose samples carry no value ([`Value::Unset`]).
//! - Families without samples (only HELP or TYPE lines) are dropped.
//!
//! Where it deliberately differs:
//!
//! - Help text must be valid UTF-8 (the reference takes any bytes there), because the model
//!   holds `String`s. Label values must be valid UTF-8 in both.
//! - With [`NameScheme::Utf8`], metric and label names may also be quoted as in newer
//!   versions of the reference (`{"my.metric","dotted.label"="v"} 1`, `# TYPE "my.metric"
//!   gauge`), and `\"` is a valid escape in help text.
//!
//! [`parse_text_with_limits`] also enforces [`PushLimits`] while reading: a name or label
//! value over its cap fails as soon as it is read, a series stops storing labels past its
//! cap (they are only counted, for the error), and the series past the cap ends the parse,
//! so a hostile body cannot make the parser build what the caps forbid.
//!
//! The input is split into lines with `memchr`, and each line is scanned in place: names,
//! values and label values without escapes are slices of the input, so the only allocations
//! are the owned strings of the model (one per family name, label name and label value of a
//! new series) and the series vectors.

mod number;
mod printable;
mod quote;
mod scan;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use memchr::memchr;

use crate::{
    Bucket, Counter, Histogram, Label, LimitExceeded, Metric, MetricFamily, MetricType, NameScheme,
    PushLimits, Quantile, Summary, Value,
};
use number::{count_from_float, parse_float, parse_timestamp};
use quote::{quote, quote_byte};
use scan::{NameKind, find_either, find_quote_or_backslash, is_blank, name_length, starts_name};

/// Why a text body was rejected: the line and the reason, worded as the reference words it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TextParseError {
    /// 1-based line number.
    pub line: usize,
    /// The reason.
    pub message: String,
    /// The cap the body exceeds, when that is the reason ([`parse_text_with_limits`]).
    pub limit: Option<LimitExceeded>,
}

impl std::fmt::Display for TextParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "text format parsing error in line {}: {}",
            self.line, self.message
        )
    }
}

impl std::error::Error for TextParseError {}

/// Parses a text format 0.0.4 body into families, in order of first appearance, without
/// caps (as the reference does). For bodies from untrusted clients, use
/// [`parse_text_with_limits`].
pub fn parse_text(input: &[u8], scheme: NameScheme) -> Result<Vec<MetricFamily>, TextParseError> {
    parse_text_with_limits(input, scheme, &PushLimits::NONE)
}

/// [`parse_text`] under `limits`: a body over one of them fails with the line where the
/// cap was crossed and [`TextParseError::limit`] set.
pub fn parse_text_with_limits(
    input: &[u8],
    scheme: NameScheme,
    limits: &PushLimits,
) -> Result<Vec<MetricFamily>, TextParseError> {
    let mut parser = Parser::new(scheme, *limits);
    // Mostly the whole body is UTF-8: checking it once here spares checking every name and
    // label value on its own.
    let text = std::str::from_utf8(input).ok();
    let mut start = 0;
    let mut line_number = 0;
    loop {
        line_number += 1;
        let (end, terminated) = match memchr(b'\n', &input[start..]) {
            Some(length) => (start + length, true),
            None => (input.len(), false),
        };
        let mut line = Cursor {
            bytes: &input[start..end],
            text: text.and_then(|text| text.get(start..end)),
            pos: 0,
            terminated,
        };
        if let Err(failure) = parser.line(&mut line) {
            return Err(failure.at_line(line_number));
        }
        if !terminated {
            return Ok(parser.finish());
        }
        start = end + 1;
    }
}

/// Why a line failed, before the line number is known.
#[derive(Debug)]
enum Failure {
    /// The line ran into the end of the input where the reference reads on.
    EndOfInput,
    /// Anything else, with the reference's wording.
    Invalid(String),
    /// A cap of [`PushLimits`].
    Limit(LimitExceeded),
}

impl Failure {
    fn at_line(self, line: usize) -> TextParseError {
        let (message, limit) = match self {
            Failure::EndOfInput => ("unexpected end of input stream".to_owned(), None),
            Failure::Invalid(message) => (message, None),
            Failure::Limit(exceeded) => (exceeded.to_string(), Some(exceeded)),
        };
        TextParseError {
            line,
            message,
            limit,
        }
    }
}

impl From<LimitExceeded> for Failure {
    fn from(exceeded: LimitExceeded) -> Failure {
        Failure::Limit(exceeded)
    }
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::Invalid(message.into())
}

fn invalid_escape(byte: u8) -> Failure {
    invalid(format!("invalid escape sequence '\\{}'", char::from(byte)))
}

/// One line of input, without its `\n`, and a position in it.
///
/// The reference reads byte by byte and fails as soon as a read hits the end of the input.
/// Here, a line's end is `\n` when the line was terminated, and that failure otherwise:
/// [`Cursor::current`] and [`Cursor::check_not_at_end_of_input`] are where it is raised.
#[derive(Debug)]
struct Cursor<'a> {
    bytes: &'a [u8],
    /// The same line as text, when the whole input is UTF-8.
    text: Option<&'a str>,
    pos: usize,
    terminated: bool,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The byte at the position, `\n` at the end of a terminated line.
    fn current(&self) -> Result<u8, Failure> {
        match self.peek() {
            Some(byte) => Ok(byte),
            None if self.terminated => Ok(b'\n'),
            None => Err(Failure::EndOfInput),
        }
    }

    /// Fails when a token ran up to the end of an unterminated last line.
    fn check_not_at_end_of_input(&self) -> Result<(), Failure> {
        if self.pos == self.bytes.len() && !self.terminated {
            return Err(Failure::EndOfInput);
        }
        Ok(())
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
    }

    /// Skips blanks and returns the byte after them.
    fn skip_blanks_to_current(&mut self) -> Result<u8, Failure> {
        self.skip_blanks();
        self.current()
    }

    /// The rest of the line, which the reference reads up to the `\n`.
    fn rest_of_line(&mut self) -> Result<&'a [u8], Failure> {
        let rest = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        self.check_not_at_end_of_input()?;
        Ok(rest)
    }

    /// The bytes up to the next blank, tab or end of line.
    fn token_until_blank(&mut self) -> Result<&'a [u8], Failure> {
        let start = self.pos;
        let rest = &self.bytes[start..];
        self.pos += find_either(rest, b' ', b'\t').unwrap_or(rest.len());
        self.check_not_at_end_of_input()?;
        Ok(&self.bytes[start..self.pos])
    }

    /// An unquoted name; empty when the byte at the position cannot start one.
    #[inline]
    fn name(&mut self, kind: NameKind) -> Result<&'a str, Failure> {
        let start = self.pos;
        if !self.peek().is_some_and(|byte| starts_name(byte, kind)) {
            return Ok("");
        }
        self.pos += 1 + name_length(&self.bytes[self.pos + 1..], kind);
        self.check_not_at_end_of_input()?;
        Ok(self.text_between(start, self.pos).unwrap_or_default())
    }

    /// `bytes[start..end]` as text, if it is UTF-8. Every token ends at ASCII bytes, so when
    /// the line is known to be text, slicing it is enough.
    #[inline]
    fn text_between(&self, start: usize, end: usize) -> Option<&'a str> {
        match self.text {
            Some(text) => text.get(start..end),
            None => std::str::from_utf8(&self.bytes[start..end]).ok(),
        }
    }

    /// A double-quoted string (the cursor is on the opening quote) with the escapes `\"`,
    /// `\\` and `\n`, up to the closing quote; `what` names it in the errors for a line that
    /// ends inside it and for invalid UTF-8. Borrowed unless it had escapes.
    fn quoted(&mut self, what: &str) -> Result<Cow<'a, str>, Failure> {
        let start = self.pos + 1;
        let text = &self.bytes[start..];
        let Some(mut special) = find_quote_or_backslash(text) else {
            return Err(self.unclosed_quote(what, text));
        };
        if text[special] == b'"' {
            self.pos = start + special + 1;
            return match self.text_between(start, start + special) {
                Some(content) => Ok(Cow::Borrowed(content)),
                None => Err(invalid(format!(
                    "invalid {what} {}",
                    quote(&text[..special])
                ))),
            };
        }
        let mut unescaped = Vec::with_capacity(text.len());
        let mut copied = 0;
        loop {
            unescaped.extend_from_slice(&text[copied..special]);
            if text[special] == b'"' {
                self.pos = start + special + 1;
                return String::from_utf8(unescaped)
                    .map(Cow::Owned)
                    .map_err(|e| invalid(format!("invalid {what} {}", quote(e.as_bytes()))));
            }
            match text.get(special + 1) {
                Some(b'"') => unescaped.push(b'"'),
                Some(b'\\') => unescaped.push(b'\\'),
                Some(b'n') => unescaped.push(b'\n'),
                Some(&other) => return Err(invalid_escape(other)),
                None if self.terminated => return Err(invalid_escape(b'\n')),
                None => return Err(Failure::EndOfInput),
            }
            copied = special + 2;
            match find_quote_or_backslash(&text[copied..]) {
                Some(offset) => special = copied + offset,
                None => {
                    unescaped.extend_from_slice(&text[copied..]);
                    return Err(self.unclosed_quote(what, &unescaped));
                }
            }
        }
    }

    fn unclosed_quote(&self, what: &str, read: &[u8]) -> Failure {
        if !self.terminated {
            return Failure::EndOfInput;
        }
        invalid(format!(
            "{what} {} contains unescaped new-line",
            quote(read)
        ))
    }
}

/// Which part of a summary or histogram a sample line sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// A quantile or bucket (or, for other types, the whole value).
    Element,
    /// The `_count` line.
    Count,
    /// The `_sum` line.
    Sum,
}

/// The comment lines that mean something.
#[derive(Clone, Copy, Debug)]
enum Keyword {
    Help,
    Type,
}

/// What a metric name on a line refers to.
#[derive(Clone, Copy, Debug)]
struct Target {
    family: usize,
    part: Part,
}

/// A label read from the current line, not yet owned.
#[derive(Debug)]
struct PendingLabel<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
}

impl PendingLabel<'_> {
    fn matches(&self, label: &Label) -> bool {
        label.name == self.name && label.value == self.value
    }
}

/// The labels of the current line as the model's, leaving `pending` empty.
fn owned_labels(pending: &mut Vec<PendingLabel<'_>>) -> Vec<Label> {
    let mut labels = Vec::with_capacity(pending.len());
    for PendingLabel { name, value } in pending.drain(..) {
        labels.push(Label {
            name: name.into_owned(),
            value: value.into_owned(),
        });
    }
    labels
}

/// A family being read.
#[derive(Debug)]
struct FamilyBuilder {
    family: MetricFamily,
    /// The type, once a TYPE line or the first sample fixed it.
    kind: Option<MetricType>,
    /// Summaries and histograms: the series the last line went to.
    last_series: Option<usize>,
    /// Summaries and histograms: the first series with each label set hash.
    series_by_hash: HashMap<u64, usize>,
}

impl FamilyBuilder {
    fn special_label(&self) -> Option<&'static str> {
        match self.kind {
            Some(MetricType::Summary) => Some("quantile"),
            Some(MetricType::Histogram) => Some("le"),
            _ => None,
        }
    }
}

/// How many resolved names [`Parser::resolve`] remembers.
const RECENT_NAMES: usize = 4;

#[derive(Debug)]
struct Parser<'a> {
    scheme: NameScheme,
    limits: PushLimits,
    /// Series made so far, for [`PushLimits::series_max`].
    series: usize,
    /// Labels of the current line read but not kept in `labels`, which holds no more than
    /// [`PushLimits::labels_per_series_max`] (plus two for a `quantile` or `le` that may
    /// turn out not to be a label): counted only, for the error.
    labels_dropped: usize,
    families: Vec<FamilyBuilder>,
    family_by_name: HashMap<Box<str>, usize>,
    /// The last names looked up and what they resolved to, most recent first. What a name
    /// resolves to never changes during a parse (see [`Parser::find_or_create`]), and
    /// consecutive lines mostly share their name, or rotate through a few (`x_bucket`,
    /// `x_sum`, `x_count`).
    recently_resolved: [(&'a str, Target); RECENT_NAMES],
    /// The labels of the current line, without `quantile` (summaries) and `le` (histograms).
    labels: Vec<PendingLabel<'a>>,
    /// Hashes of the names in `labels`, once there are many: a line with thousands of labels
    /// must not take quadratic time to check for duplicates.
    label_name_hashes: HashSet<u64>,
    /// The family the last sample went to. Its series vector is reserved with a guess (the
    /// number of series of the family before) and trimmed when another family's sample comes,
    /// because growing it by doubling would copy its large metrics over and over.
    open_family: Option<usize>,
    /// How many series the family opened before the current one had.
    series_guess: usize,
    hasher: RandomState,
}

impl<'a> Parser<'a> {
    fn new(scheme: NameScheme, limits: PushLimits) -> Self {
        Parser {
            scheme,
            limits,
            series: 0,
            labels_dropped: 0,
            families: Vec::new(),
            family_by_name: HashMap::new(),
            recently_resolved: [(
                "",
                Target {
                    family: usize::MAX,
                    part: Part::Element,
                },
            ); RECENT_NAMES],
            labels: Vec::new(),
            label_name_hashes: HashSet::new(),
            open_family: None,
            series_guess: 0,
            hasher: RandomState::new(),
        }
    }

    fn finish(mut self) -> Vec<MetricFamily> {
        self.close_open_family();
        self.families
            .into_iter()
            .filter(|builder| !builder.family.metrics.is_empty())
            .map(|builder| {
                let mut family = builder.family;
                family.metric_type = builder.kind.unwrap_or(MetricType::Untyped);
                family
            })
            .collect()
    }

    fn line(&mut self, line: &mut Cursor<'a>) -> Result<(), Failure> {
        line.skip_blanks();
        match line.peek() {
            // An empty line, or blanks at the end of the input.
            None => Ok(()),
            Some(b'#') => self.comment_line(line),
            Some(_) => self.sample_line(line),
        }
    }

    /// The family a metric name refers to, created if new.
    fn resolve(&mut self, name: Cow<'a, str>) -> Target {
        let Cow::Borrowed(name) = name else {
            return self.find_or_create(&name);
        };
        // Names are never empty, so the initial entries never match.
        if let Some(hit) = self
            .recently_resolved
            .iter()
            .position(|(recent, _)| *recent == name)
        {
            let target = self.recently_resolved[hit].1;
            self.recently_resolved[..=hit].rotate_right(1);
            return target;
        }
        let target = self.find_or_create(name);
        self.recently_resolved.rotate_right(1);
        self.recently_resolved[0] = (name, target);
        target
    }

    /// The family named `name`; else, for `x_count` and `x_sum`, summary `x`, and for
    /// `x_count`, `x_sum` and `x_bucket`, histogram `x`; else a new family `name`. Stable: a
    /// new family is only made when neither exists, and once made it is found first; a type,
    /// once set, never changes.
    fn find_or_create(&mut self, name: &str) -> Target {
        if let Some(&family) = self.family_by_name.get(name) {
            return Target {
                family,
                part: Part::Element,
            };
        }
        let count = name.strip_suffix("_count").filter(|base| !base.is_empty());
        let sum = name.strip_suffix("_sum").filter(|base| !base.is_empty());
        let bucket = name.strip_suffix("_bucket").filter(|base| !base.is_empty());
        let summary_part = count
            .map(|base| (base, Part::Count))
            .or(sum.map(|base| (base, Part::Sum)));
        if let Some(target) = self.folded(summary_part, MetricType::Summary) {
            return target;
        }
        let histogram_part = summary_part.or(bucket.map(|base| (base, Part::Element)));
        if let Some(target) = self.folded(histogram_part, MetricType::Histogram) {
            return target;
        }
        let family = self.families.len();
        self.families.push(FamilyBuilder {
            family: MetricFamily {
                name: name.to_owned(),
                help: None,
                metric_type: MetricType::Untyped,
                unit: None,
                metrics: Vec::new(),
            },
            kind: None,
            last_series: None,
            series_by_hash: HashMap::new(),
        });
        self.family_by_name.insert(name.into(), family);
        Target {
            family,
            part: Part::Element,
        }
    }

    fn folded(&self, base_and_part: Option<(&str, Part)>, kind: MetricType) -> Option<Target> {
        let (base, part) = base_and_part?;
        let &family = self.family_by_name.get(base)?;
        (self.families[family].kind == Some(kind)).then_some(Target { family, part })
    }

    /// A metric name at the position: unquoted, or, under the UTF-8 scheme, quoted. Empty
    /// when there is none.
    fn metric_name(&self, line: &mut Cursor<'a>) -> Result<Cow<'a, str>, Failure> {
        let name = if self.scheme == NameScheme::Utf8 && line.peek() == Some(b'"') {
            line.quoted("metric name")?
        } else {
            Cow::Borrowed(line.name(NameKind::Metric)?)
        };
        self.limits.check_metric_name(&name)?;
        Ok(name)
    }

    /// `# HELP name text`, `# TYPE name type`, or any other comment.
    fn comment_line(&mut self, line: &mut Cursor<'a>) -> Result<(), Failure> {
        line.pos += 1;
        if line.skip_blanks_to_current()? == b'\n' {
            return Ok(());
        }
        let keyword = line.token_until_blank()?;
        if line.peek().is_none() {
            return Ok(());
        }
        let keyword = match keyword {
            b"HELP" => Keyword::Help,
            b"TYPE" => Keyword::Type,
            _ => return line.rest_of_line().map(|_| ()),
        };
        line.skip_blanks_to_current()?;
        let name = self.metric_name(line)?;
        let after_name = line.current()?;
        if after_name == b'\n' {
            return Ok(());
        }
        if !is_blank(after_name) || name.is_empty() {
            return Err(invalid("invalid metric name in comment"));
        }
        let target = self.resolve(name);
        if line.skip_blanks_to_current()? == b'\n' {
            return Ok(());
        }
        let scheme = self.scheme;
        let builder = &mut self.families[target.family];
        match keyword {
            Keyword::Help => {
                if builder.family.help.is_some() {
                    return Err(invalid(format!(
                        "second HELP line for metric name {}",
                        quote(builder.family.name.as_bytes())
                    )));
                }
                builder.family.help = Some(help_text(line, scheme)?);
            }
            Keyword::Type => {
                if builder.kind.is_some() {
                    return Err(invalid(format!(
                        "second TYPE line for metric name {}, or TYPE reported after samples",
                        quote(builder.family.name.as_bytes())
                    )));
                }
                // The reference drops backslashes here, reading them as escapes of nothing.
                let type_name = without_backslashes(line.rest_of_line()?);
                let kind = metric_type_from_keyword(&type_name)
                    .ok_or_else(|| invalid(format!("unknown metric type {}", quote(&type_name))))?;
                builder.kind = Some(kind);
            }
        }
        Ok(())
    }

    /// `name{labels} value timestamp`, with the labels and the timestamp optional.
    fn sample_line(&mut self, line: &mut Cursor<'a>) -> Result<(), Failure> {
        self.labels.clear();
        self.labels_dropped = 0;
        self.label_name_hashes.clear();
        let mut target = None;
        if !(self.scheme == NameScheme::Utf8 && line.peek() == Some(b'{')) {
            let name = self.metric_name(line)?;
            if name.is_empty() {
                return Err(invalid("invalid metric name"));
            }
            target = Some(self.begin_sample(name));
            line.skip_blanks_to_current()?;
        }
        let (target, special) = if line.peek() == Some(b'{') {
            self.label_set(line, target)?
        } else {
            match target {
                Some(target) => (target, None),
                None => return Err(invalid("invalid metric name")),
            }
        };

        let token = line.token_until_blank()?;
        let value = parse_float(token)
            .ok_or_else(|| invalid(format!("expected float as value, got {}", quote(token))))?;
        let mut timestamp_ms = None;
        if line.peek().is_some() {
            line.skip_blanks();
            let token = line.token_until_blank()?;
            timestamp_ms = Some(parse_timestamp(token).ok_or_else(|| {
                invalid(format!(
                    "expected integer as timestamp, got {}",
                    quote(token)
                ))
            })?);
            if line.peek().is_some() {
                let rest = without_backslashes(line.rest_of_line()?);
                return Err(invalid(format!(
                    "spurious string after timestamp: {}",
                    quote(&rest)
                )));
            }
        }
        self.add_sample(target, special, value, timestamp_ms)
    }

    /// Resolves the metric name of a sample line; its family's type is now fixed.
    fn begin_sample(&mut self, name: Cow<'a, str>) -> Target {
        let target = self.resolve(name);
        self.families[target.family]
            .kind
            .get_or_insert(MetricType::Untyped);
        target
    }

    fn family_name(&self, target: Option<Target>) -> &str {
        target.map_or("", |target| &self.families[target.family].family.name)
    }

    /// Reads `{...}` into `self.labels` and the blanks after it. Returns the target (which,
    /// under the UTF-8 scheme, may be named inside the braces) and the value of the
    /// `quantile` (summary) or `le` (histogram) label, if any.
    fn label_set(
        &mut self,
        line: &mut Cursor<'a>,
        mut target: Option<Target>,
    ) -> Result<(Target, Option<f64>), Failure> {
        let mut special_name = target.and_then(|t| self.families[t.family].special_label());
        let mut special_value = None;
        line.pos += 1;
        loop {
            let mut byte = line.skip_blanks_to_current()?;
            if byte == b'}' {
                line.pos += 1;
                line.skip_blanks_to_current()?;
                break;
            }
            let name = if byte == b'"' && self.scheme == NameScheme::Utf8 {
                let quoted = line.quoted("label name")?;
                byte = line.skip_blanks_to_current()?;
                if byte == b',' || byte == b'}' {
                    // A bare quoted string in a label set is the metric name.
                    if target.is_some() {
                        return Err(invalid("multiple metric names"));
                    }
                    let name = quoted;
                    if name.is_empty() {
                        return Err(invalid("invalid metric name"));
                    }
                    self.limits.check_metric_name(&name)?;
                    let resolved = self.begin_sample(name);
                    special_name = self.families[resolved.family].special_label();
                    special_value = self.adopt_labels_read_before_name(resolved)?;
                    target = Some(resolved);
                    if byte == b',' {
                        line.pos += 1;
                        continue;
                    }
                    line.pos += 1;
                    line.skip_blanks_to_current()?;
                    break;
                }
                if byte != b'=' && target.is_none() {
                    return Err(invalid("unexpected end of metric name"));
                }
                quoted
            } else {
                Cow::Borrowed(line.name(NameKind::Label)?)
            };
            if name.is_empty() {
                return Err(invalid(format!(
                    "invalid label name for metric {}",
                    quote(self.family_name(target).as_bytes())
                )));
            }
            if name == "__name__" {
                return Err(invalid("label name \"__name__\" is reserved"));
            }
            let is_special = special_name == Some(&*name);
            if !is_special {
                self.limits
                    .check_label_name(self.family_name(target), &name)?;
            }
            let byte = line.skip_blanks_to_current()?;
            if byte != b'=' {
                return Err(invalid(format!(
                    "expected '=' after label name, found {}",
                    quote_byte(byte)
                )));
            }
            // Before the name is known, whether `quantile` and `le` are labels is not known.
            let deferred = target.is_none() && (name == "quantile" || name == "le");
            if !is_special && !deferred && self.has_label_named(&name) {
                return Err(invalid(format!(
                    "duplicate label names for metric {}",
                    quote(self.family_name(target).as_bytes())
                )));
            }
            line.pos += 1;
            let byte = line.skip_blanks_to_current()?;
            if byte != b'"' {
                return Err(invalid(format!(
                    "expected '\"' at start of label value, found {}",
                    quote_byte(byte)
                )));
            }
            let value = line.quoted("label value")?;
            if is_special {
                special_value = Some(special_float(&name, &value)?);
            }
            let closes = match line.skip_blanks_to_current()? {
                b',' => false,
                b'}' => true,
                _ => {
                    return Err(invalid(format!(
                        "unexpected end of label value {}",
                        quote(value.as_bytes())
                    )));
                }
            };
            if !is_special {
                self.limits
                    .check_label_value(self.family_name(target), &name, &value)?;
                if self.labels.len() < self.limits.labels_per_series_max.saturating_add(2) {
                    self.labels.push(PendingLabel { name, value });
                } else {
                    self.labels_dropped += 1;
                }
            }
            line.pos += 1;
            if closes {
                line.skip_blanks_to_current()?;
                break;
            }
        }
        let Some(target) = target else {
            return Err(invalid("invalid metric name"));
        };
        self.limits.check_label_count(
            self.family_name(Some(target)),
            self.labels.len() + self.labels_dropped,
        )?;
        Ok((target, special_value))
    }

    /// Whether the current line has a label named `name` already.
    fn has_label_named(&mut self, name: &str) -> bool {
        const SCAN_UP_TO: usize = 16;
        if self.labels.len() < SCAN_UP_TO {
            return self.labels.iter().any(|label| label.name == name);
        }
        if self.label_name_hashes.is_empty() {
            let hashes = self
                .labels
                .iter()
                .map(|label| self.hasher.hash_one(&*label.name));
            self.label_name_hashes.extend(hashes);
        }
        // A new hash is a new name; a known one is checked, in case two names share it.
        !self.label_name_hashes.insert(self.hasher.hash_one(name))
            && self.labels.iter().any(|label| label.name == name)
    }

    /// Under the UTF-8 scheme, a metric name inside braces may follow some labels: once the
    /// family is known, takes its `quantile` or `le` out of them and checks the others for
    /// duplicates.
    fn adopt_labels_read_before_name(&mut self, target: Target) -> Result<Option<f64>, Failure> {
        let special = self.families[target.family].special_label();
        let mut special_value = None;
        for name in ["quantile", "le"] {
            if special == Some(name) {
                for label in self.labels.iter().filter(|label| label.name == name) {
                    special_value = Some(special_float(name, &label.value)?);
                }
                self.labels.retain(|label| label.name != name);
            } else if self
                .labels
                .iter()
                .filter(|label| label.name == name)
                .count()
                > 1
            {
                return Err(invalid(format!(
                    "duplicate label names for metric {}",
                    quote(self.family_name(Some(target)).as_bytes())
                )));
            }
        }
        Ok(special_value)
    }

    /// Makes `family` the one samples go to, reserving room for its series.
    fn open_family(&mut self, family: usize) {
        if self.open_family == Some(family) {
            return;
        }
        self.close_open_family();
        let metrics = &mut self.families[family].family.metrics;
        metrics.reserve_exact(self.series_guess);
        self.open_family = Some(family);
    }

    fn close_open_family(&mut self) {
        if let Some(family) = self.open_family.take() {
            let metrics = &mut self.families[family].family.metrics;
            self.series_guess = metrics.len();
            // In place: shrinking does not move the metrics.
            metrics.shrink_to_fit();
        }
    }

    /// Adds a parsed line to its family: a new series, or for summaries and histograms, a
    /// quantile, bucket, count or sum of the series with the same labels.
    fn add_sample(
        &mut self,
        target: Target,
        special: Option<f64>,
        value: f64,
        timestamp_ms: Option<i64>,
    ) -> Result<(), Failure> {
        self.open_family(target.family);
        let kind = self.families[target.family]
            .kind
            .unwrap_or(MetricType::Untyped);
        let value = match kind {
            MetricType::Summary | MetricType::Histogram => {
                let series = self.series_with_current_labels(target.family, kind)?;
                let metric = &mut self.families[target.family].family.metrics[series];
                // The reference drops the quantile or bucket of a `NaN` label value.
                let special = special.filter(|special| !special.is_nan());
                match (&mut metric.value, target.part) {
                    (Value::Summary(summary), Part::Count) => {
                        summary.sample_count = count_from_float(value);
                    }
                    (Value::Summary(summary), Part::Sum) => summary.sample_sum = value,
                    (Value::Summary(summary), Part::Element) => {
                        if let Some(quantile) = special {
                            summary.quantiles.push(Quantile { quantile, value });
                        }
                    }
                    (Value::Histogram(histogram), Part::Count) => {
                        histogram.sample_count = count_from_float(value);
                    }
                    (Value::Histogram(histogram), Part::Sum) => histogram.sample_sum = value,
                    (Value::Histogram(histogram), Part::Element) => {
                        if let Some(upper_bound) = special {
                            histogram.buckets.push(Bucket {
                                cumulative_count: count_from_float(value),
                                upper_bound,
                                ..Bucket::default()
                            });
                        }
                    }
                    _ => {}
                }
                if timestamp_ms.is_some() {
                    metric.timestamp_ms = timestamp_ms;
                }
                return Ok(());
            }
            MetricType::Counter => Value::Counter(Counter {
                value,
                ..Counter::default()
            }),
            MetricType::Gauge => Value::Gauge(value),
            MetricType::Untyped => Value::Untyped(value),
            // The reference sets no value for these, and its error for that gets lost.
            MetricType::GaugeHistogram => Value::Unset,
        };
        self.count_new_series()?;
        let labels = owned_labels(&mut self.labels);
        self.families[target.family].family.metrics.push(Metric {
            labels,
            value,
            timestamp_ms,
        });
        Ok(())
    }

    /// Counts a series about to be made, failing instead when it is one too many.
    fn count_new_series(&mut self) -> Result<(), Failure> {
        if self.series >= self.limits.series_max {
            return Err(Failure::Limit(LimitExceeded::SeriesPerPush {
                max: self.limits.series_max,
            }));
        }
        self.series += 1;
        Ok(())
    }

    /// The index of the summary or histogram series of the open family with the current
    /// line's labels, added (with these labels and an empty value) if there is none yet.
    fn series_with_current_labels(
        &mut self,
        family: usize,
        kind: MetricType,
    ) -> Result<usize, Failure> {
        let builder = &self.families[family];
        if let Some(last) = builder.last_series {
            if same_label_set(&builder.family.metrics[last].labels, &self.labels) {
                return Ok(last);
            }
        }
        // Order-independent: the same labels in another order are the same series.
        let hash = self.labels.iter().fold(0u64, |sum, label| {
            sum.wrapping_add(self.hasher.hash_one((&*label.name, &*label.value)))
        });
        let metrics = &builder.family.metrics;
        let found = match builder.series_by_hash.get(&hash) {
            Some(&series) if same_label_set(&metrics[series].labels, &self.labels) => Some(series),
            // Two label sets with one hash: rare enough for a scan.
            Some(_) => metrics
                .iter()
                .position(|metric| same_label_set(&metric.labels, &self.labels)),
            None => None,
        };
        if found.is_none() {
            self.count_new_series()?;
        }
        let builder = &mut self.families[family];
        let metrics = &mut builder.family.metrics;
        let labels = &mut self.labels;
        let series = found.unwrap_or_else(|| {
            // Room for as many quantiles or buckets as the series before has: usually all
            // series of a family have the same.
            let value = match (kind, metrics.last().map(|last| &last.value)) {
                (MetricType::Summary, Some(Value::Summary(before))) => {
                    Value::Summary(Box::new(Summary {
                        quantiles: Vec::with_capacity(before.quantiles.len()),
                        ..Summary::default()
                    }))
                }
                (MetricType::Summary, _) => Value::Summary(Box::default()),
                (_, Some(Value::Histogram(before))) => Value::Histogram(Box::new(Histogram {
                    buckets: Vec::with_capacity(before.buckets.len()),
                    ..Histogram::default()
                })),
                _ => Value::Histogram(Box::default()),
            };
            let labels = owned_labels(labels);
            metrics.push(Metric {
                labels,
                value,
                timestamp_ms: None,
            });
            builder
                .series_by_hash
                .entry(hash)
                .or_insert(metrics.len() - 1);
            metrics.len() - 1
        });
        builder.last_series = Some(series);
        Ok(series)
    }
}

/// Whether two label sets, each without repeated names, are equal as sets.
fn same_label_set(existing: &[Label], pending: &[PendingLabel<'_>]) -> bool {
    existing.len() == pending.len()
        && pending.iter().enumerate().all(|(i, label)| {
            existing
                .get(i)
                .is_some_and(|same_place| label.matches(same_place))
                || existing.iter().any(|other| label.matches(other))
        })
}

/// The value of a `quantile` or `le` label as a float.
fn special_float(name: &str, value: &str) -> Result<f64, Failure> {
    parse_float(value.as_bytes()).ok_or_else(|| {
        invalid(format!(
            "expected float as value for '{name}' label, got {}",
            quote(value.as_bytes())
        ))
    })
}

/// Help text after `# HELP name `: the rest of the line, with the escapes `\\` and `\n`
/// (and `\"` under the UTF-8 scheme).
fn help_text(line: &mut Cursor<'_>, scheme: NameScheme) -> Result<String, Failure> {
    let text = &line.bytes[line.pos..];
    line.pos = line.bytes.len();
    let mut unescaped = Vec::new();
    let mut copied = 0;
    // Escape errors come before the end-of-input error of an unterminated line.
    while let Some(offset) = memchr(b'\\', &text[copied..]) {
        let backslash = copied + offset;
        unescaped.extend_from_slice(&text[copied..backslash]);
        match text.get(backslash + 1) {
            Some(b'\\') => unescaped.push(b'\\'),
            Some(b'n') => unescaped.push(b'\n'),
            Some(b'"') if scheme == NameScheme::Utf8 => unescaped.push(b'"'),
            Some(&other) => return Err(invalid_escape(other)),
            None if line.terminated => return Err(invalid_escape(b'\n')),
            None => return Err(Failure::EndOfInput),
        }
        copied = backslash + 2;
    }
    line.check_not_at_end_of_input()?;
    let bytes = if copied == 0 {
        text.to_vec()
    } else {
        unescaped.extend_from_slice(&text[copied..]);
        unescaped
    };
    String::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "help text {} is not valid UTF-8",
            quote(e.as_bytes())
        ))
    })
}

fn without_backslashes(bytes: &[u8]) -> Cow<'_, [u8]> {
    if memchr(b'\\', bytes).is_none() {
        return Cow::Borrowed(bytes);
    }
    Cow::Owned(
        bytes
            .iter()
            .copied()
            .filter(|&byte| byte != b'\\')
            .collect(),
    )
}

/// The type named by a TYPE line. The reference upper-cases the keyword with Unicode
/// simple case mapping before looking it up; besides ASCII letters, only `ı` and `ſ` map
/// to ASCII (`I` and `S`).
fn metric_type_from_keyword(keyword: &[u8]) -> Option<MetricType> {
    let keyword = std::str::from_utf8(keyword).ok()?;
    let mut upper = String::with_capacity(keyword.len());
    for c in keyword.chars() {
        upper.push(match c {
            'ı' => 'I',
            'ſ' => 'S',
            c if c.is_ascii() => c.to_ascii_uppercase(),
            _ => return None,
        });
    }
    match upper.as_str() {
        "COUNTER" => Some(MetricType::Counter),
        "GAUGE" => Some(MetricType::Gauge),
        "SUMMARY" => Some(MetricType::Summary),
        "UNTYPED" => Some(MetricType::Untyped),
        "HISTOGRAM" => Some(MetricType::Histogram),
        "GAUGE_HISTOGRAM" => Some(MetricType::GaugeHistogram),
        _ => None,
    }
}
