//! The on-disk formats: the snapshot's and the write-ahead log's headers and framing, and
//! the versioned structs their payloads hold. These are not the domain types; conversions
//! are explicit, so that a change to the store cannot change the format by accident.
//! `docs/persistence.md` has the byte tables.

use std::fmt;
use std::time::{Duration, SystemTime};

use bincode::{Decode, Encode};

/// First bytes of a snapshot file.
pub(crate) const SNAPSHOT_MAGIC: &[u8; 8] = b"CAIRNSNP";
/// First bytes of a write-ahead log file.
pub(crate) const LOG_MAGIC: &[u8; 8] = b"CAIRNWAL";
/// The format version this build writes, and the only one it reads so far.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Snapshot header: magic, version, payload length, payload crc32.
pub(crate) const SNAPSHOT_HEADER_BYTES: usize = 8 + 4 + 8 + 4;
/// Log header: magic, version, crc32 of the magic and version.
pub(crate) const LOG_HEADER_BYTES: usize = 8 + 4 + 4;
/// Log record frame: payload length, crc32 (of the length, sequence number and payload),
/// the record's log sequence number.
pub(crate) const FRAME_BYTES: usize = 4 + 4 + 8;
/// The longest record payload a frame's 4-byte length can give.
pub(crate) const RECORD_BYTES_MAX: usize = u32::MAX as usize;

/// A point in time as stored: seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub(crate) struct TimeV1 {
    pub(crate) secs: i64,
    pub(crate) nanos: u32,
}

impl TimeV1 {
    pub(crate) fn from_system(t: SystemTime) -> TimeV1 {
        match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => TimeV1 {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            // Before 1970: only a clock set very wrong gets here; keep it representable.
            Err(e) => {
                let d = e.duration();
                let (secs, nanos) = if d.subsec_nanos() == 0 {
                    (-(d.as_secs() as i64), 0)
                } else {
                    (-(d.as_secs() as i64) - 1, 1_000_000_000 - d.subsec_nanos())
                };
                TimeV1 { secs, nanos }
            }
        }
    }

    pub(crate) fn to_system(self) -> SystemTime {
        let nanos = Duration::from_nanos(u64::from(self.nanos.min(999_999_999)));
        if self.secs >= 0 {
            SystemTime::UNIX_EPOCH + Duration::from_secs(self.secs as u64) + nanos
        } else {
            SystemTime::UNIX_EPOCH - Duration::from_secs(self.secs.unsigned_abs()) + nanos
        }
    }
}

/// One grouping label.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub(crate) struct LabelV1 {
    pub(crate) name: String,
    pub(crate) value: String,
}

/// One stored metric family: when it was pushed and the sanitised family as one
/// length-delimited protobuf `io.prometheus.client.MetricFamily` message, which may leave
/// out the labels that loading puts back on every metric (the grouping labels, and an empty
/// `instance` in a group without one).
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) struct FamilyV1 {
    pub(crate) pushed_at: TimeV1,
    pub(crate) message: Vec<u8>,
}

/// The snapshot payload's first item.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) struct SnapshotMetaV1 {
    /// The log sequence number of the last change the snapshot holds; replay starts after it.
    pub(crate) lsn: u64,
    pub(crate) written_at: TimeV1,
    /// How many [`GroupV1`] items follow.
    pub(crate) groups: u64,
}

/// One group: its grouping labels and all its families, the timestamp gauges included.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) struct GroupV1 {
    pub(crate) labels: Vec<LabelV1>,
    pub(crate) families: Vec<FamilyV1>,
}

/// PUT or POST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub(crate) enum ModeV1 {
    Replace,
    Merge,
}

/// One change, as the log holds it.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) enum ChangeV1 {
    /// A push that was stored: its families (already sanitised) replace or merge.
    Push {
        labels: Vec<LabelV1>,
        mode: ModeV1,
        at: TimeV1,
        families: Vec<FamilyV1>,
    },
    /// A push that was rejected: only the group's failure time changes.
    Failure { labels: Vec<LabelV1>, at: TimeV1 },
    /// A group was deleted.
    Delete { labels: Vec<LabelV1> },
    /// Every group was deleted.
    Wipe,
}

/// Why a payload item could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DecodeFailure(pub(crate) String);

impl fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Appends `item` in the payload encoding.
pub(crate) fn encode_item<T: Encode>(item: &T, out: &mut Vec<u8>) {
    // Encoding into a Vec cannot fail: the writer never runs out of room.
    let _ = bincode::encode_into_std_write(item, out, bincode::config::standard());
}

/// The most bytes an item may claim in memory per byte of its encoding. The decoder
/// claims a container's length times its element's size before reading the elements, and
/// an element can take far less encoded than in memory: a label of two empty strings is 2
/// bytes encoded and 48 in memory ([`LabelV1`]).
const CLAIM_PER_ENCODED_BYTE: usize = 64;

/// Decodes one item from the front of `bytes`; returns it and how many bytes it took.
///
/// The decoder's allocation limit follows the input's size (the next of a few size
/// classes above [`CLAIM_PER_ENCODED_BYTE`] times it), so that a length field claiming
/// far more than the input can hold fails instead of allocating it, while any item that
/// was encoded decodes.
pub(crate) fn decode_item<T: Decode<()>>(bytes: &[u8]) -> Result<(T, usize), DecodeFailure> {
    let claim = bytes.len().saturating_mul(CLAIM_PER_ENCODED_BYTE);
    macro_rules! with_limit {
        ($($limit:expr),*) => {
            $(if claim <= $limit {
                let config = bincode::config::standard().with_limit::<{ $limit }>();
                return bincode::decode_from_slice(bytes, config)
                    .map_err(|e| DecodeFailure(e.to_string()));
            })*
        };
    }
    with_limit!(1 << 16, 1 << 20, 1 << 24, 1 << 28, 1 << 32);
    let config = bincode::config::standard().with_limit::<{ 1 << 38 }>();
    bincode::decode_from_slice(bytes, config).map_err(|e| DecodeFailure(e.to_string()))
}

/// The snapshot header for a payload.
pub(crate) fn snapshot_header(payload_bytes: u64, crc: u32) -> [u8; SNAPSHOT_HEADER_BYTES] {
    let mut h = [0u8; SNAPSHOT_HEADER_BYTES];
    h[..8].copy_from_slice(SNAPSHOT_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&payload_bytes.to_le_bytes());
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The log header.
pub(crate) fn log_header() -> [u8; LOG_HEADER_BYTES] {
    let mut h = [0u8; LOG_HEADER_BYTES];
    h[..8].copy_from_slice(LOG_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc32fast::hash(&h[..12]);
    h[12..16].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A change encoded as a record payload, with the payload's checksum state, ready to be
/// framed once its sequence number is known. Encoding happens outside the store's lock;
/// framing under it costs a few bytes.
#[derive(Debug)]
pub(crate) struct Payload {
    bytes: Vec<u8>,
    crc: crc32fast::Hasher,
}

impl Payload {
    pub(crate) fn new(change: &ChangeV1) -> Payload {
        let mut bytes = Vec::new();
        encode_item(change, &mut bytes);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes);
        Payload { bytes, crc }
    }

    /// The payload's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Appends the framed record: length, crc32, sequence number, payload. The payload
    /// is at most [`RECORD_BYTES_MAX`] bytes: the store refuses a change whose record
    /// would be longer.
    pub(crate) fn frame(self, lsn: u64, out: &mut Vec<u8>) {
        let len = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&len.to_le_bytes());
        crc.update(&lsn.to_le_bytes());
        crc.combine(&self.crc);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&lsn.to_le_bytes());
        out.extend_from_slice(&self.bytes);
    }
}

/// What reading one framed record found.
#[derive(Debug)]
pub(crate) enum Framed<'a> {
    /// A whole record whose checksum matches: its sequence number, its payload, and the
    /// bytes it took in all.
    Record {
        lsn: u64,
        payload: &'a [u8],
        used: usize,
    },
    /// The input ends inside a frame (a write cut short).
    Torn,
    /// The checksum does not match.
    Corrupt,
    /// Nothing left.
    End,
}

/// Reads the framed record at the front of `bytes`.
pub(crate) fn read_frame(bytes: &[u8]) -> Framed<'_> {
    // The end of the records: the end of the file, or the zeros written ahead of it (a
    // frame never starts with 16 zero bytes: sequence numbers start at 1).
    if bytes.iter().take(FRAME_BYTES).all(|&b| b == 0) {
        return Framed::End;
    }
    if bytes.len() < FRAME_BYTES {
        return Framed::Torn;
    }
    let field = |at: usize| -> [u8; 4] { bytes[at..at + 4].try_into().unwrap_or_default() };
    let len_bytes = field(0);
    let lsn_bytes: [u8; 8] = bytes[8..16].try_into().unwrap_or_default();
    let len = u32::from_le_bytes(len_bytes) as usize;
    let Some(payload) = bytes[FRAME_BYTES..].get(..len) else {
        return Framed::Torn;
    };
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len_bytes);
    crc.update(&lsn_bytes);
    crc.update(payload);
    if crc.finalize() != u32::from_le_bytes(field(4)) {
        return Framed::Corrupt;
    }
    Framed::Record {
        lsn: u64::from_le_bytes(lsn_bytes),
        payload,
        used: FRAME_BYTES + len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trips_before_and_after_the_epoch() {
        for t in [
            SystemTime::UNIX_EPOCH,
            SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            SystemTime::UNIX_EPOCH - Duration::new(5, 250_000_000),
        ] {
            assert_eq!(TimeV1::from_system(t).to_system(), t);
        }
    }

    #[test]
    fn a_framed_record_reads_back_and_detects_damage() {
        let change = ChangeV1::Delete {
            labels: vec![LabelV1 {
                name: "job".into(),
                value: "j".into(),
            }],
        };
        let mut out = Vec::new();
        Payload::new(&change).frame(7, &mut out);
        let Framed::Record { lsn, payload, used } = read_frame(&out) else {
            panic!("record not read back");
        };
        assert_eq!((lsn, used), (7, out.len()));
        let (decoded, _) = decode_item::<ChangeV1>(payload).unwrap();
        assert_eq!(decoded, change);
        for cut in 1..out.len() {
            assert!(matches!(read_frame(&out[..cut]), Framed::Torn), "cut {cut}");
        }
        for i in 0..out.len() {
            let mut damaged = out.clone();
            damaged[i] ^= 0x10;
            assert!(
                !matches!(read_frame(&damaged), Framed::Record { .. }),
                "flip at {i} went unnoticed"
            );
        }
    }

    #[test]
    fn a_length_beyond_the_input_fails_without_allocating_it() {
        // A Vec<u8> claiming 2^40 bytes, in the varint encoding: 0xFD then a u64.
        let mut bytes = vec![0xFD];
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(decode_item::<Vec<u8>>(&bytes).is_err());
    }
}
