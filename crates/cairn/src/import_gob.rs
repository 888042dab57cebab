//! Import of the reference Pushgateway's persistence file (Go `encoding/gob`), so that a user
//! switching to cairn keeps the metrics the reference had stored.
//!
//! The reference writes, at every persist, one gob value of type
//!
//! ```text
//! map[string]MetricGroup                      // key: the grouping key as one string
//! MetricGroup             { Labels  map[string]string
//!                           Metrics map[string]TimestampedMetricFamily }   // key: family name
//! TimestampedMetricFamily { Timestamp            time.Time              // GobEncoder
//!                           GobbableMetricFamily *GobbableMetricFamily } // GobEncoder
//! ```
//!
//! where a `GobbableMetricFamily` is the bytes of `proto.Marshal(dto.MetricFamily)` (one
//! protobuf message, no length prefix) and a `time.Time` those of Go's `MarshalBinary`. The
//! stream also carries type definitions for `dto.MetricFamily`'s fields, which nothing here
//! needs.
//!
//! [`gob`] reads the stream generally (types first, then the value as a tree), and this
//! module matches the tree against that shape **by field name**, as Go's decoder does: a file
//! whose structs have extra or reordered fields still imports, the extra fields having been
//! read by their wire type and dropped. A missing field in a type definition is an error; a
//! field missing from a value is its zero value (gob omits zero values), and a family
//! without a payload (a nil pointer) is skipped, as the reference skips it when gathering.
//!
//! The `push_time_seconds` and `push_failure_time_seconds` families come back like any other:
//! they are stored families in the reference's file, and the caller decides what to do with
//! them. Groups come out sorted by label set, families by name. Label names and values must
//! be UTF-8, and each payload must decode as `cairn_expfmt::decode_message` decodes it (with
//! its default limits), or the whole import fails: the reference likewise loads all or
//! nothing. Memory stays proportional to the input, and malformed input is an error, never a
//! panic.

mod gob;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use cairn_expfmt::{MetricFamily, ProtoDecodeError, ProtoLimits, PushLimits};

/// Caps on one family of the reference's file: the decoder's defaults for its size and
/// series, but no caps on labels or names, which the reference never had (a file it
/// wrote must import, whatever `--push.max-*` says about new pushes).
const IMPORT_LIMITS: ProtoLimits = ProtoLimits {
    message_bytes_max: 64 << 20,
    push: PushLimits {
        series_max: PushLimits::SERIES_MAX_DEFAULT,
        ..PushLimits::NONE
    },
};

use gob::{Stream, Value, WireType};

/// One group of the reference's file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ReferenceGroup {
    /// The grouping labels (`job` and the rest), sorted by name.
    pub(crate) labels: Vec<(String, String)>,
    /// The group's families with a payload, sorted by the name the file stores them under.
    pub(crate) families: Vec<ReferenceFamily>,
}

/// One stored family and the time of the push that stored it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ReferenceFamily {
    /// The family's `Timestamp`: when the reference stored it.
    pub(crate) pushed_at: SystemTime,
    /// The family as the reference stored it: grouping labels already in every series.
    pub(crate) family: MetricFamily,
}

/// Why a file could not be imported. Offsets are byte positions in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum ImportError {
    /// The input ended inside an item that starts at `offset`.
    UnexpectedEnd { offset: usize },
    /// A byte count or element count announces more than its message holds.
    LengthBeyondInput {
        offset: usize,
        length: u64,
        available: usize,
    },
    /// Bytes that are not gob.
    Corrupt { offset: usize, reason: &'static str },
    /// A value of a type id the stream never defined.
    UndefinedType { offset: usize, id: i64 },
    /// A type id defined twice, or a predefined one redefined.
    DuplicateType { offset: usize, id: i64 },
    /// A struct field number beyond its type's fields.
    FieldOutOfRange {
        offset: usize,
        type_name: String,
        fields: usize,
    },
    /// Values nest deeper than the decoder follows.
    TooDeep { offset: usize, max: usize },
    /// A gob feature the decoder does not read.
    Unsupported { offset: usize, what: &'static str },
    /// The stream ended after its type definitions, without a value.
    NoValue { types_defined: usize },
    /// A type does not have the shape of the reference's (`what` is where in the shape).
    UnexpectedType {
        what: &'static str,
        expected: &'static str,
        found: String,
    },
    /// A struct type lacks a field the reference's has.
    MissingField {
        type_name: String,
        field: &'static str,
    },
    /// A label name or value, or a family name, that is not UTF-8.
    InvalidUtf8 { offset: usize, what: &'static str },
    /// A family's `Timestamp` is not a Go `time.Time` in binary form, or not a `SystemTime`.
    InvalidTimestamp {
        offset: usize,
        group: String,
        family: String,
        reason: &'static str,
    },
    /// A family's payload is not a valid protobuf `MetricFamily`.
    InvalidFamily {
        offset: usize,
        group: String,
        family: String,
        /// Boxed: the decoder's errors are large, and this one is rare.
        source: Box<ProtoDecodeError>,
    },
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::UnexpectedEnd { offset } => {
                write!(f, "gob: unexpected end of input at byte {offset}")
            }
            ImportError::LengthBeyondInput {
                offset,
                length,
                available,
            } => write!(
                f,
                "gob: length {length} at byte {offset} exceeds the {available} bytes left"
            ),
            ImportError::Corrupt { offset, reason } => {
                write!(f, "gob: {reason} at byte {offset}")
            }
            ImportError::UndefinedType { offset, id } => {
                write!(f, "gob: value at byte {offset} has undefined type id {id}")
            }
            ImportError::DuplicateType { offset, id } => {
                write!(f, "gob: type id {id} defined again at byte {offset}")
            }
            ImportError::FieldOutOfRange {
                offset,
                type_name,
                fields,
            } => write!(
                f,
                "gob: field number at byte {offset} is out of range for type {type_name} \
                 of {fields} fields"
            ),
            ImportError::TooDeep { offset, max } => {
                write!(
                    f,
                    "gob: value at byte {offset} nests deeper than {max} levels"
                )
            }
            ImportError::Unsupported { offset, what } => {
                write!(f, "gob: unsupported {what} at byte {offset}")
            }
            ImportError::NoValue { types_defined } => {
                write!(f, "gob: no value after {types_defined} type definitions")
            }
            ImportError::UnexpectedType {
                what,
                expected,
                found,
            } => write!(f, "gob: {what} has type {found}, expected {expected}"),
            ImportError::MissingField { type_name, field } => {
                write!(f, "gob: type {type_name} missing field {field}")
            }
            ImportError::InvalidUtf8 { offset, what } => {
                write!(f, "{what} at byte {offset} is not valid UTF-8")
            }
            ImportError::InvalidTimestamp {
                offset,
                group,
                family,
                reason,
            } => write!(
                f,
                "timestamp of family {family:?} in group {group} at byte {offset}: {reason}"
            ),
            ImportError::InvalidFamily {
                offset,
                group,
                family,
                source,
            } => write!(
                f,
                "family {family:?} in group {group} at byte {offset}: {source}"
            ),
        }
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImportError::InvalidFamily { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// Whether `bytes` start like a reference persistence file: a gob stream whose first
/// message defines a map type, with the field name `GobbableMetricFamily` in its first KiB.
/// A cheap check to tell the reference's file from another format (it reads at most 1 KiB);
/// [`decode_reference_file`] is the real test.
pub(crate) fn looks_like_reference_file(bytes: &[u8]) -> bool {
    // A one-byte message length (the definition is short), a negative type id of one or
    // two bytes, then wireType's field 3 (delta 4, MapT) and its CommonType (delta 1).
    let after_id = match bytes {
        [length, id, rest @ ..] if *length < 0x80 && *id < 0x80 && id & 1 == 1 => rest,
        [length, 0xff, id, rest @ ..] if *length < 0x80 && id & 1 == 1 => rest,
        _ => return false,
    };
    const NEEDLE: &[u8] = b"GobbableMetricFamily";
    after_id.starts_with(&[0x04, 0x01])
        && bytes[..bytes.len().min(1024)]
            .windows(NEEDLE.len())
            .any(|window| window == NEEDLE)
}

/// Decodes a whole reference persistence file.
pub(crate) fn decode_reference_file(bytes: &[u8]) -> Result<Vec<ReferenceGroup>, ImportError> {
    let stream = gob::read_stream(bytes)?;
    let shape = Shape::of(&stream)?;
    // Go's maps keep the last of duplicate keys; so do these.
    let mut groups = BTreeMap::new();
    for (key, group) in map_entries(&stream.value) {
        groups.insert(bytes_of(key), group_from_value(bytes, &shape, group)?);
    }
    let mut groups: Vec<ReferenceGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(groups)
}

/// Where the fields the import needs are, in the file's own struct types.
#[derive(Debug)]
struct Shape {
    /// `MetricGroup.Labels` and `.Metrics`.
    labels: usize,
    metrics: usize,
    /// `TimestampedMetricFamily.Timestamp` and `.GobbableMetricFamily`.
    timestamp: usize,
    payload: usize,
}

impl Shape {
    /// Checks the types of the file's value against the reference's, and finds the fields.
    fn of(stream: &Stream<'_>) -> Result<Shape, ImportError> {
        let (key, group) = map_type(stream, stream.type_id, "the file's value")?;
        expect_string(stream, key, "the grouping key")?;
        let group_fields = struct_fields(stream, group, "a group (MetricGroup)")?;
        let labels = field(stream, group, "MetricGroup", group_fields, "Labels")?;
        let metrics = field(stream, group, "MetricGroup", group_fields, "Metrics")?;

        let (name, value) = map_type(stream, group_fields[labels].type_id, "MetricGroup.Labels")?;
        expect_string(stream, name, "a label name")?;
        expect_string(stream, value, "a label value")?;

        let (name, family) =
            map_type(stream, group_fields[metrics].type_id, "MetricGroup.Metrics")?;
        expect_string(stream, name, "a family name")?;
        let family_fields = struct_fields(stream, family, "a family (TimestampedMetricFamily)")?;
        let family_type = "TimestampedMetricFamily";
        let timestamp = field(stream, family, family_type, family_fields, "Timestamp")?;
        let payload = field(
            stream,
            family,
            family_type,
            family_fields,
            "GobbableMetricFamily",
        )?;
        expect_encoded(
            stream,
            family_fields[timestamp].type_id,
            "TimestampedMetricFamily.Timestamp",
        )?;
        expect_encoded(
            stream,
            family_fields[payload].type_id,
            "TimestampedMetricFamily.GobbableMetricFamily",
        )?;
        Ok(Shape {
            labels,
            metrics,
            timestamp,
            payload,
        })
    }
}

fn map_type(stream: &Stream<'_>, id: i64, what: &'static str) -> Result<(i64, i64), ImportError> {
    match stream.types.get(&id) {
        Some(WireType::Map { key, elem, .. }) => Ok((*key, *elem)),
        _ => Err(unexpected_type(stream, id, what, "a map")),
    }
}

fn struct_fields<'s, 'a>(
    stream: &'s Stream<'a>,
    id: i64,
    what: &'static str,
) -> Result<&'s [gob::Field<'a>], ImportError> {
    match stream.types.get(&id) {
        Some(WireType::Struct { fields, .. }) => Ok(fields),
        _ => Err(unexpected_type(stream, id, what, "a struct")),
    }
}

/// The number of the field `name` in struct type `id`, which the reference calls
/// `reference_type` (Go's encoder leaves struct types unnamed on the wire).
fn field(
    stream: &Stream<'_>,
    id: i64,
    reference_type: &'static str,
    fields: &[gob::Field<'_>],
    name: &'static str,
) -> Result<usize, ImportError> {
    fields
        .iter()
        .position(|field| field.name == name.as_bytes())
        .ok_or_else(|| ImportError::MissingField {
            type_name: match stream.type_name_if_named(id) {
                Some(wire_name) => wire_name,
                None => reference_type.to_owned(),
            },
            field: name,
        })
}

fn expect_string(stream: &Stream<'_>, id: i64, what: &'static str) -> Result<(), ImportError> {
    match id {
        gob::STRING => Ok(()),
        _ => Err(unexpected_type(stream, id, what, "string")),
    }
}

fn expect_encoded(stream: &Stream<'_>, id: i64, what: &'static str) -> Result<(), ImportError> {
    match stream.types.get(&id) {
        Some(WireType::Encoded { .. }) => Ok(()),
        _ => Err(unexpected_type(
            stream,
            id,
            what,
            "a GobEncoder or BinaryMarshaler",
        )),
    }
}

fn unexpected_type(
    stream: &Stream<'_>,
    id: i64,
    what: &'static str,
    expected: &'static str,
) -> ImportError {
    ImportError::UnexpectedType {
        what,
        expected,
        found: stream.type_name(id),
    }
}

// ---- values -----------------------------------------------------------------------------
//
// The value was read by the types `Shape::of` checked, so a map type's value is a
// `Value::Map` and so on. The accessors below still accept any value (reading a mismatch as
// empty) rather than assert it.

fn map_entries<'v, 'a>(value: &'v Value<'a>) -> &'v [(Value<'a>, Value<'a>)] {
    match value {
        Value::Map(entries) => entries,
        _ => &[],
    }
}

fn struct_field<'v, 'a>(value: &'v Value<'a>, number: usize) -> Option<&'v Value<'a>> {
    match value {
        Value::Struct(fields) => fields
            .iter()
            .find(|(field, _)| *field == number)
            .map(|(_, value)| value),
        _ => None,
    }
}

fn bytes_of<'a>(value: &Value<'a>) -> &'a [u8] {
    match value {
        Value::Bytes(bytes) | Value::Encoded(bytes) => bytes,
        _ => &[],
    }
}

/// Where `part` starts in `input`, for error messages (0 if it is not a part of it).
fn offset_in(input: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize)
        .checked_sub(input.as_ptr() as usize)
        .filter(|&offset| offset <= input.len())
        .unwrap_or(0)
}

fn utf8(input: &[u8], bytes: &[u8], what: &'static str) -> Result<String, ImportError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Err(ImportError::InvalidUtf8 {
            offset: offset_in(input, bytes),
            what,
        }),
    }
}

fn group_from_value(
    input: &[u8],
    shape: &Shape,
    group: &Value<'_>,
) -> Result<ReferenceGroup, ImportError> {
    let mut labels = BTreeMap::new();
    if let Some(value) = struct_field(group, shape.labels) {
        for (name, value) in map_entries(value) {
            labels.insert(
                utf8(input, bytes_of(name), "a grouping label name")?,
                utf8(input, bytes_of(value), "a grouping label value")?,
            );
        }
    }
    let labels: Vec<(String, String)> = labels.into_iter().collect();

    let mut families = BTreeMap::new();
    if let Some(value) = struct_field(group, shape.metrics) {
        for (name, family) in map_entries(value) {
            let name = bytes_of(name);
            let Some(payload) = struct_field(family, shape.payload) else {
                // A nil *GobbableMetricFamily, which the reference skips too.
                families.remove(name);
                continue;
            };
            let payload = bytes_of(payload);
            let timestamp = struct_field(family, shape.timestamp).map(bytes_of);
            let pushed_at = match timestamp {
                // Gob omits a zero time.Time: January 1 of year 1, UTC.
                None => go_time(0, 0),
                Some(bytes) => time_from_binary(bytes),
            }
            .map_err(|reason| ImportError::InvalidTimestamp {
                offset: timestamp.map_or(0, |bytes| offset_in(input, bytes)),
                group: describe_group(&labels),
                family: String::from_utf8_lossy(name).into_owned(),
                reason,
            })?;
            let family =
                cairn_expfmt::decode_message(payload, &IMPORT_LIMITS).map_err(|source| {
                    ImportError::InvalidFamily {
                        offset: offset_in(input, payload),
                        group: describe_group(&labels),
                        family: String::from_utf8_lossy(name).into_owned(),
                        source: Box::new(source),
                    }
                })?;
            families.insert(name, ReferenceFamily { pushed_at, family });
        }
    }
    Ok(ReferenceGroup {
        labels,
        families: families.into_values().collect(),
    })
}

/// `{job="a",instance=""}`, for error messages.
fn describe_group(labels: &[(String, String)]) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

// ---- time.Time --------------------------------------------------------------------------

/// Seconds from January 1 of year 1 (Go's internal epoch) to 1970-01-01, both UTC.
const GO_SECONDS_BEFORE_UNIX_EPOCH: i64 = 62_135_596_800;

/// Go's `Time.MarshalBinary`: a version byte (1, or 2 when the zone offset has seconds),
/// seconds since January 1 of year 1 UTC (i64, big-endian), nanoseconds (i32), the zone
/// offset in minutes (i16, -1 for UTC) and, in version 2, its seconds (u8). The zone does not
/// change the instant, so it is checked for length only.
fn time_from_binary(bytes: &[u8]) -> Result<SystemTime, &'static str> {
    let length = match bytes.first() {
        None => return Err("no data"),
        Some(1) => 15,
        Some(2) => 16,
        Some(_) => return Err("unsupported version"),
    };
    if bytes.len() != length {
        return Err("invalid length for its version");
    }
    let mut seconds = [0u8; 8];
    seconds.copy_from_slice(&bytes[1..9]);
    let mut nanos = [0u8; 4];
    nanos.copy_from_slice(&bytes[9..13]);
    go_time(i64::from_be_bytes(seconds), i32::from_be_bytes(nanos))
}

/// The instant `seconds` and `nanos` after January 1 of year 1, UTC.
fn go_time(seconds: i64, nanos: i32) -> Result<SystemTime, &'static str> {
    let nanos = u32::try_from(nanos)
        .ok()
        .filter(|&nanos| nanos < 1_000_000_000)
        .ok_or("nanoseconds out of range")?;
    let unix = seconds
        .checked_sub(GO_SECONDS_BEFORE_UNIX_EPOCH)
        .ok_or("out of range")?;
    let time = if unix >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::new(unix.unsigned_abs(), nanos))
    } else {
        SystemTime::UNIX_EPOCH
            .checked_sub(Duration::from_secs(unix.unsigned_abs()))
            .and_then(|time| time.checked_add(Duration::from_nanos(u64::from(nanos))))
    };
    time.ok_or("out of range for this system's time")
}
