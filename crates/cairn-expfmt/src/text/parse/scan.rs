//! Byte classes and searches for the text parser: names, blanks, quotes. Tokens are short,
//! so the searches look at eight bytes at a time with word arithmetic, which beats both a
//! byte loop (whose exit the processor mispredicts) and memchr's set-up.

/// The index of the first `"` or `\\` in `bytes`.
pub(super) fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    find_either(bytes, b'"', b'\\')
}

/// The index of the first `a` or `b` in `bytes`.
pub(super) fn find_either(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    // The high bit of each byte of `word` equal to `byte`, plus possibly some above the
    // first: the lowest one set is always the first match.
    fn matches(word: u64, byte: u8) -> u64 {
        let zero_where_equal = word ^ (ONES * u64::from(byte));
        zero_where_equal.wrapping_sub(ONES) & !zero_where_equal & HIGH_BITS
    }
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = word_at(chunk);
        let found = matches(word, a) | matches(word, b);
        if found != 0 {
            return Some(offset + found.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    let rest = chunks.remainder();
    rest.iter()
        .position(|&byte| byte == a || byte == b)
        .map(|i| offset + i)
}

pub(super) fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Which name: metric names may also have colons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NameKind {
    Metric,
    Label,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

fn word_at(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

/// Whether `byte` may start a name: `[A-Za-z_]`, and `:` for metric names.
pub(super) fn starts_name(byte: u8, kind: NameKind) -> bool {
    match kind {
        NameKind::Metric => is_metric_name_start(byte),
        NameKind::Label => is_label_name_start(byte),
    }
}

/// How many bytes at the start of `bytes` may continue a name: `[A-Za-z0-9_]`, and `:` in
/// metric names. Eight bytes at a time while the line has them.
#[inline]
pub(super) fn name_length(bytes: &[u8], kind: NameKind) -> usize {
    let mut length = 0;
    while bytes.len() - length >= 8 {
        let others = !name_byte_mask(word_at(&bytes[length..]), kind) & HIGH_BITS;
        if others != 0 {
            return length + others.trailing_zeros() as usize / 8;
        }
        length += 8;
    }
    let is_name_byte = |byte| match kind {
        NameKind::Metric => is_metric_name_byte(byte),
        NameKind::Label => is_label_name_byte(byte),
    };
    length
        + bytes[length..]
            .iter()
            .take_while(|&&byte| is_name_byte(byte))
            .count()
}

/// The high bit of each byte of `word` that may continue a name.
fn name_byte_mask(word: u64, kind: NameKind) -> u64 {
    // With the high bits cleared, each byte is below 0x80 and the sums below cannot carry
    // into the next byte; bytes that had it set are not name bytes anyway.
    let ascii = !word & HIGH_BITS;
    let low = word & !HIGH_BITS;
    let in_range = |x: u64, first: u8, last: u8| {
        x.wrapping_add(ONES * u64::from(0x80 - first))
            & !x.wrapping_add(ONES * u64::from(0x7F - last))
            & HIGH_BITS
    };
    let letters = in_range(low | (ONES * 0x20), b'a', b'z');
    let digits = match kind {
        NameKind::Metric => in_range(low, b'0', b':'),
        NameKind::Label => in_range(low, b'0', b'9'),
    };
    let underscores = in_range(low, b'_', b'_');
    (letters | digits | underscores) & ascii
}

/// What each byte may be in an unquoted name, as bit flags.
const NAME_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        let letter = b.is_ascii_alphabetic() || b == b'_';
        let digit = b.is_ascii_digit();
        let colon = b == b':';
        table[byte] = (letter as u8 * LABEL_START)
            | ((letter || digit) as u8 * LABEL_BYTE)
            | ((letter || colon) as u8 * METRIC_START)
            | ((letter || digit || colon) as u8 * METRIC_BYTE);
        byte += 1;
    }
    table
};
const LABEL_START: u8 = 1;
const LABEL_BYTE: u8 = 2;
const METRIC_START: u8 = 4;
const METRIC_BYTE: u8 = 8;

fn is_label_name_start(byte: u8) -> bool {
    NAME_BYTES[usize::from(byte)] & LABEL_START != 0
}

fn is_label_name_byte(byte: u8) -> bool {
    NAME_BYTES[usize::from(byte)] & LABEL_BYTE != 0
}

fn is_metric_name_start(byte: u8) -> bool {
    NAME_BYTES[usize::from(byte)] & METRIC_START != 0
}

fn is_metric_name_byte(byte: u8) -> bool {
    NAME_BYTES[usize::from(byte)] & METRIC_BYTE != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_byte_mask_agrees_with_the_byte_table() {
        for kind in [NameKind::Metric, NameKind::Label] {
            let is_name_byte = match kind {
                NameKind::Metric => is_metric_name_byte,
                NameKind::Label => is_label_name_byte,
            };
            for byte in 0..=255u8 {
                for position in 0..8 {
                    // The byte among neighbours that are and are not name bytes.
                    for filler in [b'a', b'{', 0xff] {
                        let mut bytes = [filler; 8];
                        bytes[position] = byte;
                        let mask = name_byte_mask(word_at(&bytes), kind);
                        let got = mask >> (position * 8 + 7) & 1 == 1;
                        assert_eq!(got, is_name_byte(byte), "{kind:?} {byte:#x} at {position}");
                    }
                }
            }
        }
    }

    #[test]
    fn name_length_stops_at_the_first_other_byte() {
        assert_eq!(
            name_length(b"app_http_requests_0_total{route", NameKind::Metric),
            25
        );
        assert_eq!(name_length(b"a:b:c:d:e:f:g:h:i", NameKind::Metric), 17);
        assert_eq!(name_length(b"a:b", NameKind::Label), 1);
        assert_eq!(name_length(b"route=\"x\"", NameKind::Label), 5);
        assert_eq!(name_length(b"abcdefgh\xc3\xa9", NameKind::Label), 8);
        assert_eq!(name_length(b"", NameKind::Label), 0);
    }

    #[test]
    fn find_quote_or_backslash_finds_the_first() {
        assert_eq!(find_quote_or_backslash(b"abc\"def"), Some(3));
        assert_eq!(find_quote_or_backslash(b"abcdefghij\\k\"l"), Some(10));
        assert_eq!(find_quote_or_backslash(b"abcdefgh\"\\"), Some(8));
        assert_eq!(
            find_quote_or_backslash("\u{e9}\u{e9}\u{e9}\u{e9}x\"".as_bytes()),
            Some(9)
        );
        assert_eq!(find_quote_or_backslash(b"abcdefghijklmnop"), None);
    }
}
