//! Protobuf delimited `io.prometheus.client.MetricFamily`: decoding with size caps, encoding.

use crate::MetricFamily;

/// Caps on what a protobuf body may make the decoder allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtoLimits {
    /// Largest accepted single message, in bytes.
    pub message_bytes_max: usize,
}

impl Default for ProtoLimits {
    fn default() -> Self {
        ProtoLimits { message_bytes_max: 64 << 20 }
    }
}

/// Why a protobuf body was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtoDecodeError {
    /// STUB
    Unimplemented,
}

impl std::fmt::Display for ProtoDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unimplemented")
    }
}

impl std::error::Error for ProtoDecodeError {}

/// Decodes a sequence of varint-length-delimited `MetricFamily` messages.
pub fn decode_delimited(
    input: &[u8],
    limits: &ProtoLimits,
) -> Result<Vec<MetricFamily>, ProtoDecodeError> {
    let _ = (input, limits);
    Err(ProtoDecodeError::Unimplemented)
}

/// Appends `family` as one varint-length-delimited `MetricFamily` message.
pub fn encode_delimited(out: &mut Vec<u8>, family: &MetricFamily) {
    let _ = (out, family);
}
