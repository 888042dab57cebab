//! Name escaping for scrapers that cannot take UTF-8 names: the `escaping=` parameter of
//! the scrape's `Accept` header (prometheus/common `model.EscapingScheme`), applied to a
//! rendered exposition.
//!
//! Only names that are not legacy names are rewritten, as the reference's
//! `EscapeMetricFamily` does: metric names by the metric-name rule
//! (`[a-zA-Z_:][a-zA-Z0-9_:]*`), label names by the label-name rule
//! (`[a-zA-Z_][a-zA-Z0-9_]*`). The reference checks label names by the metric-name rule,
//! so it leaves `a:b` alone and exposes a label name its own parser rejects; cairn escapes
//! it like any other name the legacy label rule rejects. Label values, help texts and
//! exemplar labels are never changed.
//!
//! The store renders once for all scrapers, so escaping rewrites the rendered bytes: text
//! and OpenMetrics line by line (our encoders quote exactly the names that are not legacy
//! names, so a quoted name is what needs rewriting), protobuf by decoding, renaming and
//! encoding again. Families keep the store's order, as the reference escapes after
//! sorting; two names that escape alike stay two families, as in the reference.

use std::borrow::Cow;

use cairn_expfmt::{
    MetricFamily, ProtoLimits, decode_delimited, encode_delimited, escape_values_into,
    is_legacy_label_name, is_legacy_metric_name,
};

/// How names that are not legacy names are exposed (`escaping=` in `Accept` and in the
/// response's Content-Type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Escaping {
    /// `allow-utf-8`: names as they are, quoted in the text formats.
    AllowUtf8,
    /// `underscores`: every character a legacy name cannot hold becomes `_` (the default,
    /// prometheus/common's `NameEscapingScheme`).
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, anything else invalid `__`.
    Dots,
    /// `values`: `U__` then the name with `_` doubled and every invalid character as
    /// `_<hex code point>_`; the one scheme that can be undone.
    Values,
}

impl Escaping {
    /// The scheme when `Accept` names none.
    pub(crate) const DEFAULT: Escaping = Escaping::Underscores;

    /// The scheme an `escaping=` value names; `None` for a value the reference ignores.
    /// Matched exactly, as the reference does.
    pub(crate) fn from_param(value: &str) -> Option<Escaping> {
        match value {
            "allow-utf-8" => Some(Escaping::AllowUtf8),
            "underscores" => Some(Escaping::Underscores),
            "dots" => Some(Escaping::Dots),
            "values" => Some(Escaping::Values),
            _ => None,
        }
    }

    /// The `escaping=` value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }
}

/// Which legacy rule a name is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameKind {
    Metric,
    Label,
}

impl NameKind {
    fn is_legacy(self, name: &str) -> bool {
        match self {
            NameKind::Metric => is_legacy_metric_name(name),
            NameKind::Label => is_legacy_label_name(name),
        }
    }

    /// Whether `c` may stand at byte offset `at` of a legacy name of this kind.
    fn allows(self, c: char, at: usize) -> bool {
        c.is_ascii_alphabetic()
            || c == '_'
            || (c == ':' && self == NameKind::Metric)
            || (c.is_ascii_digit() && at > 0)
    }
}

/// `name` escaped by `scheme`; legacy names (and the empty name) come back unchanged.
pub(crate) fn escape_name(name: &str, kind: NameKind, scheme: Escaping) -> Cow<'_, str> {
    if name.is_empty() || kind.is_legacy(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    match scheme {
        Escaping::AllowUtf8 => return Cow::Borrowed(name),
        Escaping::Underscores => {
            for (at, c) in name.char_indices() {
                out.push(if kind.allows(c, at) { c } else { '_' });
            }
        }
        Escaping::Dots => {
            for (at, c) in name.char_indices() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if kind.allows(c, at) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
        }
        Escaping::Values => escape_values_into(&mut out, name, |c, at| kind.allows(c, at)),
    }
    Cow::Owned(out)
}

/// Rewrites a text 0.0.4 or OpenMetrics exposition rendered by cairn so that every name
/// that is not a legacy name is escaped by `scheme`. `None` when nothing needs rewriting.
pub(crate) fn escape_text(text: &[u8], scheme: Escaping) -> Option<Vec<u8>> {
    if scheme == Escaping::AllowUtf8 || !may_quote_a_name(text) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    // The family of the last `# TYPE` line, as written (unquoted): sample names are it plus
    // a suffix (`_sum`, `_bucket`, `_total`, ...), and only the family part is escaped.
    let mut family = String::new();
    let mut changed = false;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let start = out.len();
        let rewritten = if line.starts_with(b"#") {
            rewrite_comment(line, scheme, &mut family, &mut out)
        } else {
            rewrite_sample(line, scheme, &family, &mut out)
        };
        if rewritten.is_none() {
            // Not a line our encoders write: keep it as it is.
            out.truncate(start);
            out.extend_from_slice(line);
        }
        changed |= out[start..] != *line;
    }
    changed.then_some(out)
}

/// Whether `text` may hold a quoted name: a `"` right after `{` or `,`, or opening the
/// name of a `# HELP`, `# TYPE` or `# UNIT` line. Label values escape their own `"`, so
/// without any of these every name is bare; a value ending in `{` or `,` only costs a
/// rewrite that changes nothing.
fn may_quote_a_name(text: &[u8]) -> bool {
    text.iter().enumerate().any(|(i, &b)| {
        if b != b'"' || i == 0 {
            return false;
        }
        if matches!(text[i - 1], b'{' | b',') {
            return true;
        }
        let Some(line_start) = i.checked_sub(7) else {
            return false;
        };
        let keyword = &text[line_start..i];
        (line_start == 0 || text[line_start - 1] == b'\n')
            && matches!(keyword, b"# HELP " | b"# TYPE " | b"# UNIT ")
    })
}

/// `# HELP`, `# TYPE` and `# UNIT` lines with their name escaped; other comments as they
/// are. A `# TYPE` line sets the current family.
fn rewrite_comment(
    line: &[u8],
    scheme: Escaping,
    family: &mut String,
    out: &mut Vec<u8>,
) -> Option<()> {
    let keyword = line.get(..7);
    if !matches!(keyword, Some(b"# HELP " | b"# TYPE " | b"# UNIT ")) {
        out.extend_from_slice(line);
        return Some(());
    }
    let (name, rest) = read_name(&line[7..])?;
    if line.starts_with(b"# TYPE ") {
        family.clear();
        family.push_str(&name);
    }
    out.extend_from_slice(&line[..7]);
    out.extend_from_slice(escape_name(&name, NameKind::Metric, scheme).as_bytes());
    out.extend_from_slice(rest);
    Some(())
}

/// A sample line: `name{labels} rest` or `{"name",labels} rest`, with the names escaped
/// and written bare; the value, timestamp and exemplar are copied as they are.
fn rewrite_sample(line: &[u8], scheme: Escaping, family: &str, out: &mut Vec<u8>) -> Option<()> {
    let mut rest = line;
    let mut name = Cow::Borrowed("");
    let mut labels: Vec<(Cow<'_, str>, &[u8])> = Vec::new();
    if rest.first() != Some(&b'{') {
        let end = rest.iter().position(|&b| b == b'{' || b == b' ')?;
        name = Cow::Borrowed(std::str::from_utf8(&rest[..end]).ok()?);
        rest = &rest[end..];
    }
    let braces = rest.first() == Some(&b'{');
    if braces {
        rest = &rest[1..];
        let mut first = true;
        loop {
            if rest.first() == Some(&b'}') {
                rest = &rest[1..];
                break;
            }
            let (item, after) = read_name(rest)?;
            rest = after;
            match rest.first() {
                // `{"name",...}` or `{"name"}`: the metric name inside the braces.
                Some(b',' | b'}') if first && name.is_empty() => {
                    name = Cow::Owned(item);
                }
                Some(b'=') => {
                    let value_len = quoted_len(&rest[1..])?;
                    labels.push((Cow::Owned(item), &rest[1..1 + value_len]));
                    rest = &rest[1 + value_len..];
                }
                _ => return None,
            }
            first = false;
            match rest.first() {
                Some(b',') => rest = &rest[1..],
                Some(b'}') => {}
                _ => return None,
            }
        }
    }
    // Only the family part of a sample name is escaped, so `_sum` stays `_sum`.
    match name.strip_prefix(family).filter(|_| !family.is_empty()) {
        Some(suffix) => {
            out.extend_from_slice(escape_name(family, NameKind::Metric, scheme).as_bytes());
            out.extend_from_slice(suffix.as_bytes());
        }
        None => out.extend_from_slice(escape_name(&name, NameKind::Metric, scheme).as_bytes()),
    }
    if braces && (!labels.is_empty() || name.is_empty()) {
        out.push(b'{');
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(escape_name(label, NameKind::Label, scheme).as_bytes());
            out.push(b'=');
            out.extend_from_slice(value);
        }
        out.push(b'}');
    }
    out.extend_from_slice(rest);
    Some(())
}

/// A name at the start of `input`: quoted (`"a.b"`, with `\\`, `\"` and `\n` escapes) or
/// bare (up to `=`, `,`, `}`, `{` or a space). Returns the name and what follows it.
fn read_name(input: &[u8]) -> Option<(String, &[u8])> {
    if input.first() == Some(&b'"') {
        let len = quoted_len(input)?;
        let name = unquote(&input[1..len - 1])?;
        return Some((name, &input[len..]));
    }
    let end = input
        .iter()
        .position(|&b| matches!(b, b'=' | b',' | b'}' | b'{' | b' ' | b'\n'))
        .unwrap_or(input.len());
    let name = std::str::from_utf8(&input[..end]).ok()?.to_owned();
    Some((name, &input[end..]))
}

/// The length of the quoted string at the start of `input`, both quotes included.
fn quoted_len(input: &[u8]) -> Option<usize> {
    if input.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < input.len() {
        match input[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The text of a quoted name, its escapes undone.
fn unquote(escaped: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(escaped.len());
    let mut bytes = escaped.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next()? {
            b'n' => out.push(b'\n'),
            &other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

/// Rewrites a protobuf delimited exposition so that every name that is not a legacy name
/// is escaped by `scheme`. `None` when nothing needs rewriting (or the bytes do not decode,
/// which cairn's own encoder never produces).
pub(crate) fn escape_protobuf(body: &[u8], scheme: Escaping) -> Option<Vec<u8>> {
    if scheme == Escaping::AllowUtf8 {
        return None;
    }
    // The exposition is our own output, so the caps for untrusted bodies do not apply.
    let mut families = decode_delimited(body, &ProtoLimits::NONE).ok()?;
    let mut changed = false;
    for family in &mut families {
        changed |= escape_family(family, scheme);
    }
    if !changed {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    for family in &families {
        encode_delimited(&mut out, family);
    }
    Some(out)
}

/// Escapes the names of one family in place; whether anything changed.
pub(crate) fn escape_family(family: &mut MetricFamily, scheme: Escaping) -> bool {
    let mut changed = false;
    if let Cow::Owned(name) = escape_name(&family.name, NameKind::Metric, scheme) {
        family.name = name;
        changed = true;
    }
    for metric in &mut family.metrics {
        for label in &mut metric.labels {
            if let Cow::Owned(name) = escape_name(&label.name, NameKind::Label, scheme) {
                label.name = name;
                changed = true;
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(name: &str, scheme: Escaping) -> String {
        escape_name(name, NameKind::Metric, scheme).into_owned()
    }

    #[test]
    fn legacy_names_are_never_escaped() {
        for scheme in [Escaping::Underscores, Escaping::Dots, Escaping::Values] {
            assert_eq!(esc("http_requests:rate5m", scheme), "http_requests:rate5m");
            assert_eq!(esc("", scheme), "");
        }
    }

    #[test]
    fn schemes_escape_as_prometheus_common_does() {
        let name = "my.dotted_metric é9";
        assert_eq!(esc(name, Escaping::AllowUtf8), name);
        assert_eq!(esc(name, Escaping::Underscores), "my_dotted_metric__9");
        assert_eq!(esc(name, Escaping::Dots), "my_dot_dotted__metric____9");
        assert_eq!(
            esc(name, Escaping::Values),
            "U__my_2e_dotted__metric_20__e9_9"
        );
        assert_eq!(esc("9lives", Escaping::Underscores), "_lives");
        assert_eq!(esc("9lives.x", Escaping::Values), "U___39_lives_2e_x");
    }

    #[test]
    fn label_names_are_held_to_the_label_rule() {
        assert_eq!(
            escape_name("a:b", NameKind::Label, Escaping::Underscores),
            "a_b"
        );
        assert_eq!(
            escape_name("a:b", NameKind::Metric, Escaping::Underscores),
            "a:b"
        );
        assert_eq!(
            escape_name("dotted.label", NameKind::Label, Escaping::Values),
            "U__dotted_2e_label"
        );
    }

    #[test]
    fn escaping_parameter_values_are_matched_exactly() {
        assert_eq!(Escaping::from_param("values"), Some(Escaping::Values));
        assert_eq!(
            Escaping::from_param("allow-utf-8"),
            Some(Escaping::AllowUtf8)
        );
        assert_eq!(Escaping::from_param("Values"), None);
        assert_eq!(Escaping::from_param("utf8"), None);
        for scheme in [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ] {
            assert_eq!(Escaping::from_param(scheme.as_str()), Some(scheme));
        }
    }

    #[test]
    fn text_without_quoted_names_is_left_alone() {
        let text = b"# HELP a Help with {\"braces\".\n# TYPE a gauge\na{l=\"x,\"} 1\n";
        // The help text and the value ending in `,` look like quoted names to the scan,
        // but nothing changes.
        assert_eq!(escape_text(text, Escaping::Underscores), None);
        assert_eq!(
            escape_text(b"# TYPE a gauge\na 1\n", Escaping::Values),
            None
        );
    }

    #[test]
    fn text_names_are_escaped_and_suffixes_kept() {
        let text = concat!(
            "# HELP \"a.b\" Help \"quoted\".\n",
            "# TYPE \"a.b\" summary\n",
            "{\"a.b\",\"x.y\"=\"v,\\\"}\",job=\"j\",quantile=\"0.5\"} 1\n",
            "{\"a.b_sum\",\"x.y\"=\"v,\\\"}\",job=\"j\"} 2 1000\n",
            "# TYPE plain gauge\n",
            "plain{\"c:d\"=\"\"} 3\n",
            "{\"\u{3c0}\"} 4\n",
        );
        let out = escape_text(text.as_bytes(), Escaping::Values).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                "# HELP U__a_2e_b Help \"quoted\".\n",
                "# TYPE U__a_2e_b summary\n",
                "U__a_2e_b{U__x_2e_y=\"v,\\\"}\",job=\"j\",quantile=\"0.5\"} 1\n",
                "U__a_2e_b_sum{U__x_2e_y=\"v,\\\"}\",job=\"j\"} 2 1000\n",
                "# TYPE plain gauge\n",
                "plain{U__c_3a_d=\"\"} 3\n",
                "U___3c0_ 4\n",
            )
        );
    }

    #[test]
    fn openmetrics_counters_keep_total_and_exemplars() {
        let text = concat!(
            "# TYPE \"a.b\" counter\n",
            "{\"a.b_total\"} 1.0 # {\"t.id\"=\"x\"} 1.0\n",
            "# EOF\n",
        );
        let out = escape_text(text.as_bytes(), Escaping::Underscores).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# TYPE a_b counter\na_b_total 1.0 # {\"t.id\"=\"x\"} 1.0\n# EOF\n"
        );
    }

    #[test]
    fn unexpected_lines_are_copied() {
        let text = b"{\"a.b\" 1\n{\"c.d\"} 2\n";
        let out = escape_text(text, Escaping::Underscores).unwrap();
        assert_eq!(out, b"{\"a.b\" 1\nc_d 2\n");
    }
}
