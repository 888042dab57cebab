//! The grouping key: `job` plus further labels, read from a push URL's path tail.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use cairn_expfmt::{Label, NameScheme, escape_values_into, is_legacy_label_name, unescape_values};

/// URL-safe base64 as the reference decodes it: padding optional, trailing bits tolerated.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// The labels that name a group: `job` (never empty) and any others, sorted by name.
///
/// Two keys are the same group exactly when their label sets are equal, so `{job="a"}` and
/// `{instance="",job="a"}` are different groups. Keys order by the reference's internal key
/// string (`name\xFFvalue\xFFname\xFFvalue`, names sorted), which is the order the store
/// uses wherever the reference's order is random.
#[derive(Clone, Debug)]
pub struct GroupingKey {
    labels: Vec<Label>,
    /// The internal key string; equality, order and hashing use it alone.
    encoded: Box<[u8]>,
}

impl PartialEq for GroupingKey {
    fn eq(&self, other: &Self) -> bool {
        self.encoded == other.encoded
    }
}

impl Eq for GroupingKey {}

impl PartialOrd for GroupingKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GroupingKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.encoded.cmp(&other.encoded)
    }
}

impl std::hash::Hash for GroupingKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.encoded.hash(state);
    }
}

/// Why a push or delete URL does not name a group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupingKeyError {
    /// The path does not start with `job/` or `job@base64/`.
    MissingJob,
    /// The `job@base64` segment is not URL-safe base64.
    InvalidJobBase64 {
        /// The segment as given.
        raw: String,
        /// Byte offset of the first bad character.
        offset: usize,
    },
    /// The labels after the job do not come in name/value pairs.
    OddComponents {
        /// The label part of the path, with its leading `/`.
        labels: String,
    },
    /// A label name is invalid or reserved (`__` prefix).
    ImproperLabelName {
        /// The name as given, without `@base64`.
        name: String,
    },
    /// A `name@base64` value is not URL-safe base64.
    InvalidLabelBase64 {
        /// The label name.
        name: String,
        /// The value as given.
        raw: String,
        /// Byte offset of the first bad character.
        offset: usize,
    },
    /// A label value (or the job) is not valid UTF-8.
    InvalidUtf8 {
        /// The label name.
        name: String,
    },
    /// The job decoded to the empty string.
    EmptyJob,
}

impl fmt::Display for GroupingKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupingKeyError::MissingJob => f.write_str("job name is required"),
            GroupingKeyError::InvalidJobBase64 { raw, offset } => write!(
                f,
                "invalid base64 encoding in job name {raw:?}: illegal base64 data at input byte {offset}"
            ),
            GroupingKeyError::OddComponents { labels } => {
                write!(f, "odd number of components in label string {labels:?}")
            }
            GroupingKeyError::ImproperLabelName { name } => {
                write!(f, "improper label name {name:?}")
            }
            GroupingKeyError::InvalidLabelBase64 { name, raw, offset } => write!(
                f,
                "invalid base64 encoding for label {name}={raw:?}: illegal base64 data at input byte {offset}"
            ),
            GroupingKeyError::InvalidUtf8 { name } => {
                write!(f, "value of label {name} is not valid UTF-8")
            }
            GroupingKeyError::EmptyJob => f.write_str("job name is required"),
        }
    }
}

impl std::error::Error for GroupingKeyError {}

impl GroupingKey {
    /// Reads a key from the part of a push URL after `/metrics/`, already percent-decoded:
    /// `job/<job>{/<name>/<value>}` or `job@base64/<job>{/...}`. A name ending in `@base64`
    /// has a URL-safe base64 value (padding optional; `=` alone is the empty value). A later
    /// label of the same name wins; a `job` label in the tail is overridden by the job.
    ///
    /// Checks run in the reference's order: job base64, then the label pairs, then the
    /// empty job; values must be valid UTF-8.
    pub fn from_path(tail: &[u8], scheme: NameScheme) -> Result<GroupingKey, GroupingKeyError> {
        let (job_base64, rest) = if let Some(rest) = tail.strip_prefix(b"job@base64/") {
            (true, rest)
        } else if let Some(rest) = tail.strip_prefix(b"job/") {
            (false, rest)
        } else {
            return Err(GroupingKeyError::MissingJob);
        };
        let (job_raw, labels_raw) = match rest.iter().position(|&b| b == b'/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, &b""[..]),
        };
        let job = if job_base64 {
            decode_base64(job_raw).map_err(|offset| GroupingKeyError::InvalidJobBase64 {
                raw: String::from_utf8_lossy(job_raw).into_owned(),
                offset,
            })?
        } else {
            job_raw.to_vec()
        };
        let mut labels = split_labels(labels_raw, scheme)?;
        let job = String::from_utf8(job).map_err(|_| GroupingKeyError::InvalidUtf8 {
            name: "job".to_owned(),
        })?;
        if job.is_empty() {
            return Err(GroupingKeyError::EmptyJob);
        }
        labels.retain(|l| l.name != "job");
        labels.push(Label::new("job", job));
        Ok(GroupingKey::from_unique(labels))
    }

    /// A key from label pairs. `job` must be present and non-empty, names valid under
    /// `scheme` and not reserved, values valid UTF-8 (guaranteed by `String`); a later
    /// duplicate name wins.
    pub fn new(
        labels: impl IntoIterator<Item = (String, String)>,
        scheme: NameScheme,
    ) -> Result<GroupingKey, GroupingKeyError> {
        Self::checked(labels, scheme, false)
    }

    /// A key read back from a persistence file: [`GroupingKey::new`] under the UTF-8 rules
    /// (a store restarted without `--push.enable-utf8-names` keeps such names), except that
    /// a name with the reserved `__` prefix is kept. A push path accepts one written
    /// `U__`-escaped (`U______n` is `__n`), as the reference checks the name as written,
    /// and a group stored with it must come back.
    pub(crate) fn restored(
        labels: impl IntoIterator<Item = (String, String)>,
    ) -> Result<GroupingKey, GroupingKeyError> {
        Self::checked(labels, NameScheme::Utf8, true)
    }

    fn checked(
        labels: impl IntoIterator<Item = (String, String)>,
        scheme: NameScheme,
        reserved_allowed: bool,
    ) -> Result<GroupingKey, GroupingKeyError> {
        let mut unique: Vec<Label> = Vec::new();
        for (name, value) in labels {
            let reserved = name.starts_with("__") && !reserved_allowed;
            if !scheme.is_valid_label_name(&name) || reserved {
                return Err(GroupingKeyError::ImproperLabelName { name });
            }
            match unique.iter_mut().find(|l| l.name == name) {
                Some(existing) => existing.value = value,
                None => unique.push(Label { name, value }),
            }
        }
        match unique.iter().find(|l| l.name == "job") {
            None => Err(GroupingKeyError::MissingJob),
            Some(job) if job.value.is_empty() => Err(GroupingKeyError::EmptyJob),
            Some(_) => Ok(GroupingKey::from_unique(unique)),
        }
    }

    fn from_unique(mut labels: Vec<Label>) -> GroupingKey {
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let mut encoded = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            if i > 0 {
                encoded.push(0xFF);
            }
            encoded.extend_from_slice(label.name.as_bytes());
            encoded.push(0xFF);
            encoded.extend_from_slice(label.value.as_bytes());
        }
        GroupingKey {
            labels,
            encoded: encoded.into_boxed_slice(),
        }
    }

    /// The reference's internal key string: sorted `name\xFFvalue` pairs joined by `\xFF`.
    /// It names the group in the reference's persistence file.
    pub fn internal_key(&self) -> &[u8] {
        &self.encoded
    }

    /// The job.
    pub fn job(&self) -> &str {
        self.get("job").unwrap_or_default()
    }

    /// The value of label `name`, if the key has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.labels[i].value.as_str())
    }

    /// All labels, sorted by name.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// The path tail that names this group again when read under `scheme` (for a key that
    /// path reading accepts under `scheme`), every value in base64 so that any value
    /// (empty, or containing `/`) survives:
    /// `job@base64/<b64>/<name>@base64/<b64>...`. Under the UTF-8 scheme a name the path
    /// cannot carry as it is (`a.b`, `__x` from `U______x`, or one starting with `U__`) is
    /// written `U__`-escaped.
    pub fn to_base64_path(&self, scheme: NameScheme) -> String {
        let mut out = format!("job@base64/{}", encode_base64(self.job()));
        for label in self.labels.iter().filter(|l| l.name != "job") {
            out.push('/');
            push_path_name(&mut out, &label.name, scheme);
            out.push_str("@base64/");
            out.push_str(&encode_base64(&label.value));
        }
        out
    }
}

impl fmt::Display for GroupingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, label) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={:?}", label.name, label.value)?;
        }
        f.write_str("}")
    }
}

fn encode_base64(value: &str) -> String {
    if value.is_empty() {
        return "=".to_owned();
    }
    base64::engine::general_purpose::URL_SAFE.encode(value)
}

/// Decodes URL-safe base64 after stripping every trailing `=` and skipping CR and LF, as
/// the reference does; the error is the offset of the first offending byte.
fn decode_base64(raw: &[u8]) -> Result<Vec<u8>, usize> {
    let end = raw.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let trimmed = &raw[..end];
    let cleaned: std::borrow::Cow<'_, [u8]> =
        if trimmed.contains(&b'\r') || trimmed.contains(&b'\n') {
            trimmed
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect::<Vec<_>>()
                .into()
        } else {
            trimmed.into()
        };
    URL_SAFE_LENIENT.decode(&cleaned).map_err(|e| match e {
        base64::DecodeError::InvalidByte(offset, _)
        | base64::DecodeError::InvalidLastSymbol(offset, _) => offset,
        base64::DecodeError::InvalidLength(len) => len,
        base64::DecodeError::InvalidPadding => cleaned.len(),
    })
}

fn split_labels(raw: &[u8], scheme: NameScheme) -> Result<Vec<Label>, GroupingKeyError> {
    if raw.len() <= 1 {
        return Ok(Vec::new());
    }
    let parts: Vec<&[u8]> = raw[1..].split(|&b| b == b'/').collect();
    if parts.len() % 2 != 0 {
        return Err(GroupingKeyError::OddComponents {
            labels: String::from_utf8_lossy(raw).into_owned(),
        });
    }
    let mut labels: Vec<Label> = Vec::with_capacity(parts.len() / 2);
    for pair in parts.chunks_exact(2) {
        let (name_raw, value_raw) = (pair[0], pair[1]);
        let (trimmed, base64) = match name_raw.strip_suffix(b"@base64") {
            Some(t) => (t, true),
            None => (name_raw, false),
        };
        let improper = || GroupingKeyError::ImproperLabelName {
            name: String::from_utf8_lossy(trimmed).into_owned(),
        };
        let trimmed_str = std::str::from_utf8(trimmed).map_err(|_| improper())?;
        let name = unescape_name(trimmed_str, scheme);
        if !scheme.is_valid_label_name(&name) || trimmed_str.starts_with("__") {
            return Err(improper());
        }
        let value = if base64 {
            decode_base64(value_raw).map_err(|offset| GroupingKeyError::InvalidLabelBase64 {
                name: trimmed_str.to_owned(),
                raw: String::from_utf8_lossy(value_raw).into_owned(),
                offset,
            })?
        } else {
            value_raw.to_vec()
        };
        let value = String::from_utf8(value)
            .map_err(|_| GroupingKeyError::InvalidUtf8 { name: name.clone() })?;
        match labels.iter_mut().find(|l| l.name == name) {
            Some(existing) => existing.value = value,
            None => labels.push(Label { name, value }),
        }
    }
    Ok(labels)
}

/// Appends `name` as a path segment that `split_labels` reads back as `name` under
/// `scheme`. A legacy key's names are legacy names without the reserved `__` prefix, so
/// they go as they are; under the UTF-8 scheme every other name is `U__`-escaped: letters
/// and digits kept, `_` doubled, any other character as `_<hex code point>_`.
fn push_path_name(out: &mut String, name: &str, scheme: NameScheme) {
    let plain = is_legacy_label_name(name) && !name.starts_with("__") && !name.starts_with("U__");
    if scheme == NameScheme::Legacy || plain {
        out.push_str(name);
        return;
    }
    escape_values_into(out, name, |c, _| c.is_ascii_alphanumeric());
}

/// Undoes the `U__` value escaping of label names (`U__dotted_2e_name` is `dotted.name`)
/// under the UTF-8 scheme; any malformed sequence leaves the name as it was.
fn unescape_name(name: &str, scheme: NameScheme) -> String {
    match scheme {
        NameScheme::Utf8 => unescape_values(name).unwrap_or_else(|| name.to_owned()),
        NameScheme::Legacy => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tail: &str) -> Result<GroupingKey, GroupingKeyError> {
        GroupingKey::from_path(tail.as_bytes(), NameScheme::Legacy)
    }

    fn pairs(k: &GroupingKey) -> Vec<(&str, &str)> {
        k.labels()
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect()
    }

    #[test]
    fn job_alone_is_a_key() {
        assert_eq!(pairs(&key("job/batch").unwrap()), [("job", "batch")]);
    }

    #[test]
    fn labels_are_sorted_by_name() {
        let k = key("job/j/zone/eu/instance/i1").unwrap();
        assert_eq!(
            pairs(&k),
            [("instance", "i1"), ("job", "j"), ("zone", "eu")]
        );
    }

    #[test]
    fn base64_job_may_contain_a_slash() {
        assert_eq!(key("job@base64/dGVzdC9qb2I=").unwrap().job(), "test/job");
    }

    #[test]
    fn base64_padding_is_optional_and_repeatable() {
        for v in ["Zm9v", "Zm9v=", "Zm9v=="] {
            assert_eq!(
                key(&format!("job/j/x@base64/{v}")).unwrap().get("x"),
                Some("foo")
            );
        }
        assert_eq!(key("job/j/x@base64/Zm8").unwrap().get("x"), Some("fo"));
    }

    #[test]
    fn lone_equals_sign_is_the_empty_value() {
        assert_eq!(key("job/j/first@base64/=").unwrap().get("first"), Some(""));
    }

    #[test]
    fn invalid_base64_label_value_is_rejected_with_offset() {
        let err = key("job/j/x@base64/Zm9+").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid base64 encoding for label x="Zm9+": illegal base64 data at input byte 3"#
        );
    }

    #[test]
    fn invalid_base64_job_is_rejected() {
        let err = key("job@base64/Zm9+").unwrap_err();
        assert!(matches!(
            err,
            GroupingKeyError::InvalidJobBase64 { offset: 3, .. }
        ));
        assert!(
            err.to_string()
                .starts_with("invalid base64 encoding in job name")
        );
    }

    #[test]
    fn empty_job_is_rejected_after_label_errors() {
        assert_eq!(key("job@base64/=").unwrap_err(), GroupingKeyError::EmptyJob);
        assert_eq!(
            key("job@base64/=").unwrap_err().to_string(),
            "job name is required"
        );
        assert!(matches!(
            key("job@base64/=/a").unwrap_err(),
            GroupingKeyError::OddComponents { .. }
        ));
    }

    #[test]
    fn odd_label_components_are_rejected() {
        let err = key("job/j/v/a/b").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"odd number of components in label string "/v/a/b""#
        );
        assert!(matches!(
            key("job/j/x/y/").unwrap_err(),
            GroupingKeyError::OddComponents { .. }
        ));
    }

    #[test]
    fn trailing_slash_after_job_means_no_labels() {
        assert_eq!(pairs(&key("job/j/").unwrap()), [("job", "j")]);
    }

    #[test]
    fn improper_label_names_are_rejected() {
        for name in ["a=b", "__x", "9abc", "a b", ""] {
            let err = key(&format!("job/j/{name}/v")).unwrap_err();
            assert_eq!(
                err,
                GroupingKeyError::ImproperLabelName {
                    name: name.to_owned()
                },
                "{name}"
            );
        }
        assert!(matches!(
            key("job/j/@base64/dg").unwrap_err(),
            GroupingKeyError::ImproperLabelName { .. }
        ));
    }

    #[test]
    fn later_duplicate_label_wins() {
        assert_eq!(
            key("job/j/instance/x/instance/y").unwrap().get("instance"),
            Some("y")
        );
    }

    #[test]
    fn job_label_in_tail_is_overridden_by_job_segment() {
        assert_eq!(pairs(&key("job/a/job/b").unwrap()), [("job", "a")]);
    }

    #[test]
    fn invalid_utf8_label_value_is_rejected_up_front() {
        let err = GroupingKey::from_path(b"job/f/v/\xff", NameScheme::Legacy).unwrap_err();
        assert_eq!(
            err,
            GroupingKeyError::InvalidUtf8 {
                name: "v".to_owned()
            }
        );
        assert!(GroupingKey::from_path(b"job/\xff", NameScheme::Legacy).is_err());
    }

    #[test]
    fn missing_job_is_rejected() {
        assert_eq!(key("instance/x").unwrap_err(), GroupingKeyError::MissingJob);
    }

    #[test]
    fn utf8_scheme_unescapes_u_names_and_legacy_keeps_them() {
        let tail = b"job/j/U__dotted_2e_label_2e_name/v";
        let utf8 = GroupingKey::from_path(tail, NameScheme::Utf8).unwrap();
        assert_eq!(utf8.get("dotted.label.name"), Some("v"));
        let legacy = GroupingKey::from_path(tail, NameScheme::Legacy).unwrap();
        assert_eq!(legacy.get("U__dotted_2e_label_2e_name"), Some("v"));
    }

    #[test]
    fn base64_path_names_the_same_group() {
        let k = key("job@base64/dGVzdC9qb2I/first@base64/=/b/x").unwrap();
        let again = key(&k.to_base64_path(NameScheme::Legacy)).unwrap();
        assert_eq!(k, again);
    }

    #[test]
    fn base64_path_escapes_names_the_path_cannot_carry() {
        // `__n` (reserved as written, allowed when escaped), `/`, a literal `U__` name,
        // a malformed escape kept as written, the highest code point, and `@base64`.
        let tail = "job/j/U______n/a/U__a_2f_b/b/U__U____x/c/U___zz/d/U___10ffff_/e/\
                    U__x_40_base64/f/plain/g";
        let utf8 = GroupingKey::from_path(tail.as_bytes(), NameScheme::Utf8).unwrap();
        for name in [
            "__n",
            "a/b",
            "U__x",
            "U___zz",
            "\u{10ffff}",
            "x@base64",
            "plain",
        ] {
            assert!(utf8.get(name).is_some(), "{name:?} missing from {utf8}");
        }
        let path = utf8.to_base64_path(NameScheme::Utf8);
        assert!(path.contains("/plain@base64/"), "{path}");
        let again = GroupingKey::from_path(path.as_bytes(), NameScheme::Utf8).unwrap();
        assert_eq!(again, utf8);

        // Under the legacy scheme `U__` names are plain names and stay as they are.
        let legacy = GroupingKey::from_path(b"job/j/U__U____x/c", NameScheme::Legacy).unwrap();
        let path = legacy.to_base64_path(NameScheme::Legacy);
        assert!(path.contains("/U__U____x@base64/"), "{path}");
        let again = GroupingKey::from_path(path.as_bytes(), NameScheme::Legacy).unwrap();
        assert_eq!(again, legacy);
    }

    #[test]
    fn u_escapes_take_up_to_six_hex_digits() {
        let utf8 = |tail: &str| GroupingKey::from_path(tail.as_bytes(), NameScheme::Utf8);
        let k = utf8("job/j/U__a_1f600_/v").unwrap();
        assert_eq!(k.get("a\u{1f600}"), Some("v"));
        let k = utf8("job/j/U__x_000041_/v").unwrap();
        assert_eq!(k.get("xA"), Some("v"));
        let k = utf8("job/j/U___0000041_/v").unwrap();
        assert_eq!(k.get("U___0000041_"), Some("v"));
        let k = utf8("job/j/U___d800_/v").unwrap();
        assert_eq!(k.get("U___d800_"), Some("v"));
    }

    #[test]
    fn internal_key_joins_sorted_pairs_with_ff() {
        let k = key("job/j/foo/bar/dings/bums").unwrap();
        assert_eq!(k.internal_key(), b"dings\xFFbums\xFFfoo\xFFbar\xFFjob\xFFj");
    }

    #[test]
    fn new_requires_a_non_empty_job() {
        let k = GroupingKey::new([("job".into(), "j".into())], NameScheme::Legacy).unwrap();
        assert_eq!(k.job(), "j");
        assert_eq!(
            GroupingKey::new([("a".into(), "b".into())], NameScheme::Legacy).unwrap_err(),
            GroupingKeyError::MissingJob
        );
    }
}
