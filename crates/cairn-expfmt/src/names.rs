//! Which metric and label names are valid, under the legacy or the UTF-8 rules.

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
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Whether `name` is a label name under the legacy rules.
pub fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
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

#[cfg(test)]
mod tests {
    use super::*;

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
