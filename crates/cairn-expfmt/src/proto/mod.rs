//! Protobuf delimited `io.prometheus.client.MetricFamily`: decoding with size caps, encoding;
//! also one message without its length prefix ([`decode_message`]).
//!
//! A body is a sequence of messages, each preceded by its length as a varint, read until the
//! input ends cleanly between two messages (an empty body holds no families). What the
//! decoder does where the format leaves a choice, and why:
//!
//! - **Same name twice**: the later family replaces the earlier one (last wins, as the
//!   reference's map of families does), and takes the earlier one's *position*, so the
//!   result lists families in the order their names first appeared.
//! - **Zero-length message**: an empty `MetricFamily`, which is what Go's `protodelim` and
//!   `proto.Unmarshal` make of it: name `""`, no help, type counter, no series. The
//!   reference stores such a family; the store decides what to do with it.
//! - **Type**: absent is `COUNTER`, the enum default that Go's `GetType()` returns. A number
//!   outside the enum is rejected ([`ProtoDecodeError::UnknownMetricType`]): Go's enums are
//!   open, so the reference stores the number and then fails every text scrape of the
//!   group, and the model has no value for it anyway.
//! - **Several value fields in one series**: the one matching the family's type is kept,
//!   else the first present in field order; none at all is [`Value::Unset`](crate::Value::Unset).
//! - **Differences from Go's decoder**, all on input no Prometheus client writes: invalid
//!   UTF-8 in a string is rejected (proto2 Go accepts it, though the reference's consistency
//!   check then rejects an invalid label value); a known field sent with another wire type
//!   is rejected (Go skips it as an unknown field); unknown fields are dropped (Go keeps
//!   them and writes them back out in protobuf expositions).
//!
//! Limits ([`ProtoLimits`]): a length prefix larger than `message_bytes_max` is rejected
//! before anything is allocated for it, and every message is scanned (its name, its series,
//! their labels' names and values, without decoding any of them) before prost decodes it,
//! so the [`PushLimits`] hold before what they forbid exists. Everything else is bounded by
//! the input: each decoded element needs at least one input byte and is at most a few
//! hundred bytes in memory. Malformed input is an error, never a panic.

mod convert;
mod encode;
mod messages;

use std::collections::HashMap;

use prost::Message as _;

use crate::limits::preview;
use crate::{LimitExceeded, Metric, MetricFamily, PushLimits};
pub use encode::SampleKind;

/// Caps on what a protobuf body may make the decoder allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtoLimits {
    /// Largest accepted single message (one metric family), in bytes. Default 64 MiB.
    pub message_bytes_max: usize,
    /// Caps on the body's content. Series are counted over the whole body, including
    /// those of families that a later family of the same name replaces. Default
    /// [`PushLimits::default`].
    pub push: PushLimits,
}

impl ProtoLimits {
    /// No caps at all: for bytes that are trusted, such as the gateway's own output.
    pub const NONE: ProtoLimits = ProtoLimits {
        message_bytes_max: usize::MAX,
        push: PushLimits::NONE,
    };
}

impl Default for ProtoLimits {
    fn default() -> Self {
        ProtoLimits {
            message_bytes_max: 64 << 20,
            push: PushLimits::default(),
        }
    }
}

/// Why a protobuf body was rejected. Every `offset` is the position in the body of the
/// offending message's length prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtoDecodeError {
    /// The body ended inside a length prefix.
    TruncatedLength {
        /// Where the length prefix starts.
        offset: usize,
    },
    /// A length prefix is not a varint of at most 64 bits.
    InvalidLength {
        /// Where the length prefix starts.
        offset: usize,
    },
    /// A length prefix exceeds [`ProtoLimits::message_bytes_max`].
    MessageTooLarge {
        /// Where the length prefix starts.
        offset: usize,
        /// The length it announces, in bytes.
        length: u64,
        /// The limit, in bytes.
        max: usize,
    },
    /// The body ended before the end of a message.
    TruncatedMessage {
        /// Where the length prefix starts.
        offset: usize,
        /// The length it announces, in bytes.
        length: u64,
        /// The bytes left in the body after the prefix.
        available: usize,
    },
    /// A message is not a valid `MetricFamily` (bad wire data, invalid UTF-8, ...).
    InvalidMessage {
        /// Where the length prefix starts.
        offset: usize,
        /// What prost found wrong, with the path of the field.
        reason: String,
    },
    /// A family's `type` is not a `MetricType` number.
    UnknownMetricType {
        /// Where the length prefix starts.
        offset: usize,
        /// The family's name.
        name: String,
        /// The type number it carries.
        number: i32,
    },
    /// A message exceeds one of [`ProtoLimits::push`].
    Limit {
        /// Where the length prefix of the message that crossed the limit starts.
        offset: usize,
        /// Which cap, and by what.
        exceeded: LimitExceeded,
    },
}

impl std::fmt::Display for ProtoDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtoDecodeError::TruncatedLength { offset } => {
                write!(f, "unexpected EOF in the length prefix at byte {offset}")
            }
            ProtoDecodeError::InvalidLength { offset } => write!(
                f,
                "invalid length prefix at byte {offset}: varint overflows a 64-bit integer"
            ),
            ProtoDecodeError::MessageTooLarge {
                offset,
                length,
                max,
            } => write!(
                f,
                "message at byte {offset} is {length} bytes long, over the limit of {max} bytes"
            ),
            ProtoDecodeError::TruncatedMessage {
                offset,
                length,
                available,
            } => write!(
                f,
                "unexpected EOF in the message at byte {offset}: \
                 {length} bytes announced, {available} present"
            ),
            ProtoDecodeError::InvalidMessage { offset, reason } => {
                write!(f, "invalid metric family at byte {offset}: {reason}")
            }
            ProtoDecodeError::UnknownMetricType {
                offset,
                name,
                number,
            } => write!(
                f,
                "metric family {name:?} at byte {offset} has unknown type {number}"
            ),
            ProtoDecodeError::Limit { offset, exceeded } => {
                write!(f, "metric family at byte {offset}: {exceeded}")
            }
        }
    }
}

impl std::error::Error for ProtoDecodeError {}

/// Decodes a sequence of varint-length-delimited `MetricFamily` messages.
///
/// Families come out in the order their names first appear; a later family with the same
/// name replaces the earlier one in place. See the module documentation for the rules.
pub fn decode_delimited(
    input: &[u8],
    limits: &ProtoLimits,
) -> Result<Vec<MetricFamily>, ProtoDecodeError> {
    let mut families: Vec<MetricFamily> = Vec::new();
    let mut positions: HashMap<String, usize> = HashMap::new();
    let mut series = 0usize;
    let mut rest = input;
    while !rest.is_empty() {
        let offset = input.len() - rest.len();
        let (length, prefix_bytes) = read_varint(rest).map_err(|error| match error {
            VarintError::Truncated => ProtoDecodeError::TruncatedLength { offset },
            VarintError::Overflow => ProtoDecodeError::InvalidLength { offset },
        })?;
        // Both checks come before any allocation: the message is borrowed from `input`.
        if length > limits.message_bytes_max as u64 {
            return Err(ProtoDecodeError::MessageTooLarge {
                offset,
                length,
                max: limits.message_bytes_max,
            });
        }
        let available = rest.len() - prefix_bytes;
        let message_bytes = match usize::try_from(length) {
            Ok(length) if length <= available => length,
            _ => {
                return Err(ProtoDecodeError::TruncatedMessage {
                    offset,
                    length,
                    available,
                });
            }
        };
        let (message, after) = rest[prefix_bytes..].split_at(message_bytes);
        rest = after;

        check_limits(message, &limits.push, &mut series)
            .map_err(|exceeded| ProtoDecodeError::Limit { offset, exceeded })?;
        let decoded = messages::MetricFamily::decode(message).map_err(|error| {
            ProtoDecodeError::InvalidMessage {
                offset,
                reason: decode_error_reason(&error),
            }
        })?;
        let family = convert::family_from_message(decoded, offset)?;
        match positions.get(&family.name) {
            Some(&position) => families[position] = family,
            None => {
                positions.insert(family.name.clone(), families.len());
                families.push(family);
            }
        }
    }
    Ok(families)
}

/// Decodes one `MetricFamily` message without a length prefix: the bytes Go's
/// `proto.Marshal` writes for one family, as the reference Pushgateway keeps each stored
/// family in its persistence file.
///
/// The rules and limits are those of [`decode_delimited`] for one message: `input` longer
/// than `message_bytes_max` is rejected before decoding, and so is a message over one of
/// the [`ProtoLimits::push`] caps. Every `offset` in an error is 0, the start of `input`. Empty input
/// is an empty family (name `""`, type counter, no series), as Go's `proto.Unmarshal`
/// makes of it.
pub fn decode_message(
    input: &[u8],
    limits: &ProtoLimits,
) -> Result<MetricFamily, ProtoDecodeError> {
    if input.len() > limits.message_bytes_max {
        return Err(ProtoDecodeError::MessageTooLarge {
            offset: 0,
            length: input.len() as u64,
            max: limits.message_bytes_max,
        });
    }
    check_limits(input, &limits.push, &mut 0).map_err(|exceeded| ProtoDecodeError::Limit {
        offset: 0,
        exceeded,
    })?;
    let decoded = messages::MetricFamily::decode(input).map_err(|error| {
        ProtoDecodeError::InvalidMessage {
            offset: 0,
            reason: decode_error_reason(&error),
        }
    })?;
    convert::family_from_message(decoded, 0)
}

/// Appends `family` as one varint-length-delimited `MetricFamily` message.
///
/// It sets the fields a Go client always sets (name, type, values, counts, sums, bucket
/// bounds, span offsets and lengths, and a native histogram's schema and zero bucket) and
/// every other field only when it is not its default, so that decoding gives `family` back.
/// The bytes are written straight from `family`: `out` grows at most once, and nothing
/// else is allocated.
pub fn encode_delimited(out: &mut Vec<u8>, family: &MetricFamily) {
    encode::family_delimited(out, family);
}

/// Appends one varint-length-delimited `MetricFamily` message in parts, for a family too
/// large to hold as one model: `head` (a family without metrics: name, help, type, unit),
/// and the metric fields, already encoded by [`encode_metric_field`] into `metrics`, handed
/// to `write_metrics` to copy (in pieces, as the caller likes). The bytes are those
/// [`encode_delimited`] writes for `head` with the metrics added.
pub fn encode_delimited_in_parts<E>(
    out: &mut Vec<u8>,
    head: &MetricFamily,
    metrics: &[u8],
    write_metrics: impl FnOnce(&mut Vec<u8>, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    encode::family_head(out, head, metrics.len());
    write_metrics(out, metrics)?;
    encode::family_tail(out, head);
    Ok(())
}

/// Appends `metric` as a `MetricFamily` message's metric field, for
/// [`encode_delimited_in_parts`].
pub fn encode_metric_field(out: &mut Vec<u8>, metric: &Metric) {
    encode::metric_field(out, metric);
}

/// Appends a `MetricFamily` message's metric field for a counter, gauge or untyped sample,
/// for [`encode_delimited_in_parts`]: the bytes [`encode_metric_field`] writes for a metric
/// with these labels (given as `(name, value)` pairs, in this order), this value, and no
/// timestamp, exemplar or created time. For writers that hold labels in another shape than
/// [`Metric`](crate::Metric) and would otherwise build one per series.
pub fn encode_sample_field(
    out: &mut Vec<u8>,
    kind: SampleKind,
    labels: &[(&str, &str)],
    value: f64,
) {
    encode::sample_field(out, kind, labels, value);
}

/// prost's message without its constant "failed to decode Protobuf message: " prefix.
fn decode_error_reason(error: &prost::DecodeError) -> String {
    let text = error.to_string();
    match text.strip_prefix("failed to decode Protobuf message: ") {
        Some(reason) => reason.to_owned(),
        None => text,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum VarintError {
    /// The input ended before the last byte of the varint.
    Truncated,
    /// More than 64 bits, by the rule of Go's `binary.ReadUvarint`.
    Overflow,
}

/// Reads a base-128 varint from the start of `input`: its value and its length in bytes.
/// Non-minimal encodings are accepted, as Go accepts them.
fn read_varint(input: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut value = 0u64;
    for (index, &byte) in input.iter().enumerate().take(10) {
        // The tenth byte holds bit 63 only.
        if index == 9 && byte > 1 {
            return Err(VarintError::Overflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte < 0x80 {
            return Ok((value, index + 1));
        }
    }
    Err(VarintError::Truncated)
}

/// The length-delimited fields at the top level of an encoded message, as (field number,
/// payload), found by skipping over every field without decoding it.
///
/// On malformed input it stops: prost then rejects the message, having decoded no more
/// than was scanned. Fields inside an unknown group are skipped by prost, and are not
/// given.
struct Fields<'a> {
    message: &'a [u8],
    pos: usize,
    group_depth: usize,
}

fn fields(message: &[u8]) -> Fields<'_> {
    Fields {
        message,
        pos: 0,
        group_depth: 0,
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<(u64, &'a [u8])> {
        while self.pos < self.message.len() {
            let (key, key_bytes) = read_varint(&self.message[self.pos..]).ok()?;
            self.pos += key_bytes;
            let mut payload = None;
            let skip = match key & 7 {
                0 => read_varint(&self.message[self.pos..]).ok()?.1 as u64,
                1 => 8,
                2 => {
                    let (length, length_bytes) = read_varint(&self.message[self.pos..]).ok()?;
                    self.pos += length_bytes;
                    let start = self.pos;
                    let end = usize::try_from(length)
                        .ok()
                        .and_then(|length| start.checked_add(length))
                        .filter(|&end| end <= self.message.len())?;
                    if self.group_depth == 0 {
                        payload = Some(&self.message[start..end]);
                    }
                    length
                }
                3 => {
                    self.group_depth += 1;
                    0
                }
                4 => {
                    self.group_depth = self.group_depth.checked_sub(1)?;
                    0
                }
                5 => 4,
                _ => return None,
            };
            self.pos = usize::try_from(skip)
                .ok()
                .and_then(|skip| self.pos.checked_add(skip))?;
            if let Some(payload) = payload {
                return Some((key >> 3, payload));
            }
        }
        None
    }
}

/// Field numbers of the messages the scan looks into.
const FAMILY_NAME: u64 = 1;
const FAMILY_METRIC: u64 = 4;
const METRIC_LABEL: u64 = 1;
const LABEL_NAME: u64 = 1;
const LABEL_VALUE: u64 = 2;

/// Checks an encoded `MetricFamily` against `limits` without decoding it: its name's
/// length, its series (added to `series`, the count so far in the body), their label
/// counts and their label names' and values' lengths. Only what prost would decode is
/// looked at; malformed parts end the scan, and prost rejects them.
fn check_limits(
    message: &[u8],
    limits: &PushLimits,
    series: &mut usize,
) -> Result<(), LimitExceeded> {
    // Of a repeated scalar field, prost keeps the last.
    let name_bytes = fields(message)
        .filter(|&(number, _)| number == FAMILY_NAME)
        .last()
        .map_or(&[][..], |(_, name)| name);
    // Lengths are compared on the bytes; text is made for the errors only.
    let name = String::from_utf8_lossy(name_bytes);
    if name_bytes.len() > limits.metric_name_bytes_max {
        return Err(LimitExceeded::MetricNameBytes {
            name: preview(&name),
            bytes: name_bytes.len(),
            max: limits.metric_name_bytes_max,
        });
    }
    for (_, metric) in fields(message).filter(|&(number, _)| number == FAMILY_METRIC) {
        if *series >= limits.series_max {
            return Err(LimitExceeded::SeriesPerPush {
                max: limits.series_max,
            });
        }
        *series += 1;
        let mut labels = 0usize;
        for (_, label) in fields(metric).filter(|&(number, _)| number == METRIC_LABEL) {
            labels += 1;
            let mut label_name: &[u8] = &[];
            let mut value: &[u8] = &[];
            for (number, payload) in fields(label) {
                match number {
                    LABEL_NAME => label_name = payload,
                    LABEL_VALUE => value = payload,
                    _ => {}
                }
            }
            if label_name.len() > limits.label_name_bytes_max {
                return Err(LimitExceeded::LabelNameBytes {
                    metric: preview(&name),
                    name: preview(&String::from_utf8_lossy(label_name)),
                    bytes: label_name.len(),
                    max: limits.label_name_bytes_max,
                });
            }
            if value.len() > limits.label_value_bytes_max {
                return Err(LimitExceeded::LabelValueBytes {
                    metric: preview(&name),
                    label: preview(&String::from_utf8_lossy(label_name)),
                    bytes: value.len(),
                    max: limits.label_value_bytes_max,
                });
            }
        }
        limits.check_label_count(&name, labels)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Metric, MetricType, Value};

    #[test]
    fn read_varint_follows_go_read_uvarint() {
        assert_eq!(read_varint(&[0x00]), Ok((0, 1)));
        assert_eq!(read_varint(&[0x7f, 0xff]), Ok((127, 1)));
        assert_eq!(read_varint(&[0xac, 0x02]), Ok((300, 2)));
        // Non-minimal, as Go accepts.
        assert_eq!(read_varint(&[0x80, 0x00]), Ok((0, 2)));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_varint(&max), Ok((u64::MAX, 10)));
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read_varint(&too_big), Err(VarintError::Overflow));
        assert_eq!(read_varint(&[0x80; 11]), Err(VarintError::Overflow));
        assert_eq!(read_varint(&[]), Err(VarintError::Truncated));
        assert_eq!(read_varint(&[0x80, 0x80]), Err(VarintError::Truncated));
    }

    fn count_series(message: &[u8]) -> usize {
        fields(message)
            .filter(|&(number, _)| number == FAMILY_METRIC)
            .count()
    }

    #[test]
    fn count_series_counts_only_top_level_metric_fields() {
        // name "a", metric {}, unknown field 9 holding bytes that look like field 4,
        // metric { label {} }, a group 10 holding a field-4 entry, metric {}.
        let message = [
            0x0a, 0x01, b'a', // name
            0x22, 0x00, // metric {}
            0x4a, 0x02, 0x22, 0x00, // field 9, bytes
            0x22, 0x02, 0x0a, 0x00, // metric { label {} }
            0x53, 0x22, 0x00, 0x54, // group 10 { field 4 }
            0x22, 0x00, // metric {}
        ];
        assert_eq!(count_series(&message), 3);
        assert_eq!(
            messages::MetricFamily::decode(&message[..])
                .unwrap()
                .metric
                .len(),
            3
        );
    }

    #[test]
    fn count_series_stops_at_malformed_input() {
        assert_eq!(count_series(&[0x22, 0x00, 0x22]), 1);
        assert_eq!(count_series(&[0x22, 0x00, 0x0f]), 1);
        assert_eq!(count_series(&[0x22, 0x00, 0x0c, 0x22, 0x00]), 1);
    }

    #[test]
    fn series_max_is_checked_before_decoding() {
        let limits = ProtoLimits {
            push: PushLimits {
                series_max: 2,
                ..PushLimits::default()
            },
            ..ProtoLimits::default()
        };
        // Three empty metrics followed by garbage that prost would reject.
        let body = [0x08, 0x22, 0x00, 0x22, 0x00, 0x22, 0x00, 0xff, 0xff];
        assert_eq!(
            decode_delimited(&body, &limits),
            Err(ProtoDecodeError::Limit {
                offset: 0,
                exceeded: LimitExceeded::SeriesPerPush { max: 2 }
            })
        );
        let two = [0x04, 0x22, 0x00, 0x22, 0x00];
        assert_eq!(decode_delimited(&two, &limits).unwrap()[0].metrics.len(), 2);
    }

    #[test]
    fn series_max_counts_across_messages_and_replaced_families() {
        let limits = ProtoLimits {
            push: PushLimits {
                series_max: 2,
                ..PushLimits::default()
            },
            ..ProtoLimits::default()
        };
        let body = [0x02, 0x22, 0x00, 0x02, 0x22, 0x00, 0x02, 0x22, 0x00];
        assert_eq!(
            decode_delimited(&body, &limits),
            Err(ProtoDecodeError::Limit {
                offset: 6,
                exceeded: LimitExceeded::SeriesPerPush { max: 2 }
            })
        );
    }

    #[test]
    fn unknown_type_names_family_and_number() {
        // name "x", type 6
        let body = [0x05, 0x0a, 0x01, b'x', 0x18, 0x06];
        let error = decode_delimited(&body, &ProtoLimits::default()).unwrap_err();
        assert_eq!(
            error,
            ProtoDecodeError::UnknownMetricType {
                offset: 0,
                name: "x".into(),
                number: 6
            }
        );
        assert_eq!(
            error.to_string(),
            "metric family \"x\" at byte 0 has unknown type 6"
        );
    }

    #[test]
    fn invalid_message_reason_drops_prost_prefix() {
        // name = "\xff"
        let body = [0x03, 0x0a, 0x01, 0xff];
        let error = decode_delimited(&body, &ProtoLimits::default()).unwrap_err();
        let ProtoDecodeError::InvalidMessage { offset: 0, reason } = &error else {
            panic!("unexpected {error:?}");
        };
        assert!(reason.starts_with("MetricFamily.name: "), "{reason}");
        assert!(
            error
                .to_string()
                .starts_with("invalid metric family at byte 0: ")
        );
    }

    #[test]
    fn decode_message_reads_one_undelimited_family() {
        let family = MetricFamily {
            name: "jobs".into(),
            help: Some("Jobs.".into()),
            metric_type: MetricType::Gauge,
            unit: None,
            metrics: vec![Metric {
                labels: vec![crate::Label::new("job", "a")],
                value: Value::Gauge(2.5),
                timestamp_ms: None,
            }],
        };
        let mut delimited = Vec::new();
        encode_delimited(&mut delimited, &family);
        let (length, prefix_bytes) = read_varint(&delimited).unwrap();
        let message = &delimited[prefix_bytes..];
        assert_eq!(length, message.len() as u64);
        assert_eq!(decode_message(message, &ProtoLimits::default()), Ok(family));

        let empty = decode_message(&[], &ProtoLimits::default()).unwrap();
        assert_eq!((empty.name.as_str(), empty.metrics.len()), ("", 0));
    }

    #[test]
    fn decode_message_applies_the_limits() {
        // metric {} three times.
        let message = [0x22, 0x00, 0x22, 0x00, 0x22, 0x00];
        let limits = ProtoLimits {
            message_bytes_max: 5,
            push: PushLimits {
                series_max: 2,
                ..PushLimits::default()
            },
        };
        assert_eq!(
            decode_message(&message, &limits),
            Err(ProtoDecodeError::MessageTooLarge {
                offset: 0,
                length: 6,
                max: 5
            })
        );
        let limits = ProtoLimits {
            message_bytes_max: 6,
            ..limits
        };
        assert_eq!(
            decode_message(&message, &limits),
            Err(ProtoDecodeError::Limit {
                offset: 0,
                exceeded: LimitExceeded::SeriesPerPush { max: 2 }
            })
        );
        assert!(matches!(
            decode_message(&[0x0a, 0x05, b'x'], &ProtoLimits::default()),
            Err(ProtoDecodeError::InvalidMessage { offset: 0, .. })
        ));
    }

    /// One delimited family `name` with one series holding `labels`.
    fn body_with_labels(name: &str, labels: &[(&str, &str)]) -> Vec<u8> {
        let family = MetricFamily {
            name: name.into(),
            help: None,
            metric_type: MetricType::Gauge,
            unit: None,
            metrics: vec![Metric {
                labels: labels
                    .iter()
                    .map(|&(name, value)| crate::Label::new(name, value))
                    .collect(),
                value: Value::Gauge(1.0),
                timestamp_ms: None,
            }],
        };
        let mut body = Vec::new();
        encode_delimited(&mut body, &family);
        body
    }

    #[test]
    fn label_and_name_caps_are_checked_before_decoding_and_inclusive() {
        let limits = ProtoLimits {
            push: PushLimits {
                series_max: 1,
                labels_per_series_max: 2,
                metric_name_bytes_max: 3,
                label_name_bytes_max: 2,
                label_value_bytes_max: 4,
                grouping_bytes_max: usize::MAX,
            },
            ..ProtoLimits::default()
        };
        let at_caps = body_with_labels("abc", &[("ab", "wxyz"), ("c", "")]);
        assert_eq!(
            decode_delimited(&at_caps, &limits).unwrap()[0].metrics[0]
                .labels
                .len(),
            2
        );
        let exceeded = |body: Vec<u8>| match decode_delimited(&body, &limits) {
            Err(ProtoDecodeError::Limit {
                offset: 0,
                exceeded,
            }) => exceeded,
            other => panic!("expected a limit error, got {other:?}"),
        };
        assert_eq!(
            exceeded(body_with_labels("abc", &[("a", ""), ("b", ""), ("c", "")])),
            LimitExceeded::LabelsPerSeries {
                metric: "abc".into(),
                labels: 3,
                max: 2
            }
        );
        assert_eq!(
            exceeded(body_with_labels("abcd", &[])),
            LimitExceeded::MetricNameBytes {
                name: "abcd".into(),
                bytes: 4,
                max: 3
            }
        );
        assert_eq!(
            exceeded(body_with_labels("a", &[("abc", "")])),
            LimitExceeded::LabelNameBytes {
                metric: "a".into(),
                name: "abc".into(),
                bytes: 3,
                max: 2
            }
        );
        assert_eq!(
            exceeded(body_with_labels("a", &[("l", "vwxyz")])),
            LimitExceeded::LabelValueBytes {
                metric: "a".into(),
                label: "l".into(),
                bytes: 5,
                max: 4
            }
        );
        assert_eq!(
            decode_delimited(&body_with_labels("a", &[("l", "vwxyz")]), &limits)
                .unwrap_err()
                .to_string(),
            "metric family at byte 0: value of label \"l\" of metric \"a\" is 5 bytes long, \
             more than the limit of 4"
        );
        // Checked before prost: a label value over the cap in an otherwise broken message.
        let mut broken = body_with_labels("a", &[("l", "vwxyz")]);
        broken[0] += 2;
        broken.extend_from_slice(&[0x18, 0x63]);
        assert!(matches!(
            decode_delimited(&broken, &limits),
            Err(ProtoDecodeError::Limit { .. })
        ));
    }

    #[test]
    fn encoder_writes_what_go_always_writes() {
        let family = MetricFamily {
            name: String::new(),
            help: None,
            metric_type: MetricType::Counter,
            unit: None,
            metrics: vec![Metric {
                labels: vec![],
                value: Value::Gauge(0.0),
                timestamp_ms: None,
            }],
        };
        let mut out = Vec::new();
        encode_delimited(&mut out, &family);
        // name "", type COUNTER, metric { gauge { value 0 } }
        let expected = [
            0x11, 0x0a, 0x00, 0x18, 0x00, 0x22, 0x0b, 0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn native_histogram_deltas_are_unpacked_like_go() {
        let histogram = crate::Histogram {
            positive_spans: vec![crate::BucketSpan {
                offset: -1,
                length: 2,
            }],
            positive_deltas: vec![1, -1],
            ..crate::Histogram::default()
        };
        let family = MetricFamily {
            name: "h".into(),
            help: None,
            metric_type: MetricType::Histogram,
            unit: None,
            metrics: vec![Metric {
                labels: vec![],
                value: Value::Histogram(Box::new(histogram)),
                timestamp_ms: None,
            }],
        };
        let mut out = Vec::new();
        encode_delimited(&mut out, &family);
        let histogram_bytes = [
            0x08, 0x00, // sample_count 0
            0x11, 0, 0, 0, 0, 0, 0, 0, 0, // sample_sum 0
            0x28, 0x00, // schema 0 (zigzag)
            0x31, 0, 0, 0, 0, 0, 0, 0, 0, // zero_threshold 0
            0x38, 0x00, // zero_count 0
            0x62, 0x04, 0x08, 0x01, 0x10, 0x02, // positive_span { offset -1, length 2 }
            0x68, 0x02, // positive_delta 1, unpacked
            0x68, 0x01, // positive_delta -1
        ];
        let tail = &out[out.len() - histogram_bytes.len()..];
        assert_eq!(tail, histogram_bytes);
    }

    #[test]
    fn model_sizes_stay_small() {
        // The decoder's worst-case memory per input byte depends on these: an empty
        // `Metric` costs two bytes on the wire.
        assert!(
            size_of::<messages::Metric>() <= 96,
            "{}",
            size_of::<messages::Metric>()
        );
        assert!(
            size_of::<messages::Bucket>() <= 64,
            "{}",
            size_of::<messages::Bucket>()
        );
    }
}
