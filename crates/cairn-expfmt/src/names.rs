//! Which metric and label names are valid, under the legacy or the UTF-8 rules.

use std::fmt::Write as _;

/// The rules names are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum NameScheme {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names, `[a-zA-Z_][a-zA-Z0-9_]*` for label
    /// names: the reference's default.
    #[default]
    Legacy,
    /// Any non-empty valid UTF-8 (`--push.enable-utf8-names`).
    Utf8,
}

/// Whether `name` is a metric name under the legacy rules.
pub fn is_legacy_metric_name(name: &str) -> bool {
    is_legacy(name, METRIC_NAME_BYTE)
}

/// Whether `name` is a label name under the legacy rules.
pub fn is_legacy_label_name(name: &str) -> bool {
    is_legacy(name, LABEL_NAME_BYTE)
}

/// Which bytes a legacy name may hold: bit 0 anywhere, bit 1 first as well.
type ByteClass = [u8; 256];

const ANYWHERE: u8 = 1;
const FIRST: u8 = 2;

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
const METRIC_NAME_BYTE: ByteClass = byte_class(true);
/// `[a-zA-Z_][a-zA-Z0-9_]*`
const LABEL_NAME_BYTE: ByteClass = byte_class(false);

const fn byte_class(colon: bool) -> ByteClass {
    let mut class = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphabetic() || byte == b'_' || (colon && byte == b':') {
            class[b] = ANYWHERE | FIRST;
        } else if byte.is_ascii_digit() {
            class[b] = ANYWHERE;
        }
        b += 1;
    }
    class
}

/// A table lookup a byte: names are checked for every series of every push.
fn is_legacy(name: &str, class: ByteClass) -> bool {
    match name.as_bytes() {
        [first, rest @ ..] => {
            class[usize::from(*first)] & FIRST != 0
                && rest.iter().all(|&b| class[usize::from(b)] & ANYWHERE != 0)
        }
        [] => false,
    }
}

impl NameScheme {
    /// Whether `name` is a valid metric name under this scheme.
    pub fn is_valid_metric_name(self, name: &str) -> bool {
        match self {
            NameScheme::Legacy => is_legacy_metric_name(name),
            NameScheme::Utf8 => !name.is_empty(),
        }
    }

    /// Whether `name` is a valid label name under this scheme (the `__` prefix is a
    /// separate, reserved-name rule).
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameScheme::Legacy => is_legacy_label_name(name),
            NameScheme::Utf8 => !name.is_empty(),
        }
    }
}

/// Appends `name` in the `values` escaping (prometheus/common's `ValueEncodingEscaping`),
/// the one escaping that [`unescape_values`] undoes: `U__`, then the name with `_` doubled,
/// the characters `keep(c, byte_offset)` accepts as they are, and every other character as
/// `_<lowercase hex code point>_`.
pub fn escape_values_into(out: &mut String, name: &str, keep: impl Fn(char, usize) -> bool) {
    out.push_str("U__");
    for (at, c) in name.char_indices() {
        match c {
            '_' => out.push_str("__"),
            c if keep(c, at) => out.push(c),
            c => {
                // Writing to a String cannot fail.
                let _ = write!(out, "_{:x}_", u32::from(c));
            }
        }
    }
}

/// The name a `values`-escaped `name` stands for (`U__dotted_2e_name` is `dotted.name`);
/// `None` when it does not start with `U__` or is malformed: a lone `_`, a code point that
/// is empty, not hex, longer than six digits (enough for U+10FFFF) or not a character.
pub fn unescape_values(name: &str) -> Option<String> {
    let escaped = name.strip_prefix("U__")?;
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let mut hex = String::new();
        loop {
            match chars.next()? {
                '_' => break,
                h if h.is_ascii_hexdigit() && hex.len() < 6 => hex.push(h),
                _ => return None,
            }
        }
        out.push(
            u32::from_str_radix(&hex, 16)
                .ok()
                .and_then(char::from_u32)?,
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_escaping_round_trips() {
        let alnum = |c: char, _| c.is_ascii_alphanumeric();
        for name in [
            "dotted.name",
            "__n",
            "U__x",
            "a/b",
            "9lives",
            "\u{0}",
            "\u{10ffff}",
            "é_",
        ] {
            let mut escaped = String::new();
            escape_values_into(&mut escaped, name, alnum);
            assert!(escaped.starts_with("U__"), "{escaped}");
            assert_eq!(
                unescape_values(&escaped).as_deref(),
                Some(name),
                "{escaped}"
            );
        }
        let mut escaped = String::new();
        escape_values_into(&mut escaped, "a.b_c", alnum);
        assert_eq!(escaped, "U__a_2e_b__c");
        assert_eq!(
            unescape_values("U__a_1F600_").as_deref(),
            Some("a\u{1f600}")
        );
        for malformed in [
            "plain",
            "U__a_",
            "U___zz_",
            "U___d800_",
            "U___0000041_",
            "U___110000_",
        ] {
            assert_eq!(unescape_values(malformed), None, "{malformed}");
        }
    }

    #[test]
    fn byte_tables_follow_the_name_patterns() {
        for b in 0..=255u8 {
            let (first, later) = (format!("{}", b as char), format!("a{}", b as char));
            let letter = b.is_ascii_alphabetic() || b == b'_';
            assert_eq!(is_legacy_label_name(&first), letter, "{b}");
            assert_eq!(is_legacy_metric_name(&first), letter || b == b':', "{b}");
            let inner = letter || b.is_ascii_digit();
            assert_eq!(is_legacy_label_name(&later), inner, "{b}");
            assert_eq!(is_legacy_metric_name(&later), inner || b == b':', "{b}");
        }
        assert!(!is_legacy_label_name("") && !is_legacy_metric_name(""));
    }

    #[test]
    fn legacy_metric_names_allow_colons_but_not_leading_digits() {
        assert!(is_legacy_metric_name("a:b_c9"));
        assert!(is_legacy_metric_name(":x"));
        assert!(!is_legacy_metric_name("9x"));
        assert!(!is_legacy_metric_name("a.b"));
        assert!(!is_legacy_metric_name(""));
    }

    #[test]
    fn legacy_label_names_reject_colons_and_dots() {
        assert!(is_legacy_label_name("_a9"));
        assert!(!is_legacy_label_name("a:b"));
        assert!(!is_legacy_label_name("a=b"));
        assert!(!is_legacy_label_name(""));
    }

    #[test]
    fn utf8_scheme_accepts_any_non_empty_name() {
        assert!(NameScheme::Utf8.is_valid_label_name("dotted.label.name"));
        assert!(NameScheme::Utf8.is_valid_metric_name("a b"));
        assert!(!NameScheme::Utf8.is_valid_label_name(""));
    }
}
