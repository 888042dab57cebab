//! Go's `%q`, so that error messages quote the offending input exactly as the
//! reference's messages do (clients see them as the body of a 400 answer).

use std::fmt::Write as _;

use super::printable::PRINTABLE_RANGES;

/// `%q` of a Go string holding `bytes`: double quotes, backslash escapes for quotes,
/// backslashes and unprintable characters, and `\xNN` for each byte that is not UTF-8.
pub(super) fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c, '"');
        }
        // Go decodes a bad sequence one byte at a time, so each byte gets its own escape.
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}

/// `%q` of a Go `byte`: the byte read as a code point (Latin-1), single-quoted.
pub(super) fn quote_byte(byte: u8) -> String {
    let mut out = String::with_capacity(4);
    out.push('\'');
    push_escaped(&mut out, char::from(byte), '\'');
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_printable(c) {
        out.push(c);
        return;
    }
    let _ = match c {
        '\u{7}' => out.write_str("\\a"),
        '\u{8}' => out.write_str("\\b"),
        '\u{c}' => out.write_str("\\f"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        '\u{b}' => out.write_str("\\v"),
        c if c < ' ' || c == '\u{7f}' => write!(out, "\\x{:02x}", u32::from(c)),
        c if u32::from(c) < 0x10000 => write!(out, "\\u{:04x}", u32::from(c)),
        c => write!(out, "\\U{:08x}", u32::from(c)),
    };
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space,
/// by the Unicode tables of the Go the reference is built with (see [`PRINTABLE_RANGES`]),
/// so that a code point those tables do not know is escaped as the reference escapes it.
fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let code = u32::from(c);
    // The number of range bounds at or below `code`: odd when it falls inside a range.
    let bounds_below = PRINTABLE_RANGES.partition_point(|&bound| bound <= code);
    // A range's end is inclusive, so `code` equal to an end was counted as past it.
    bounds_below % 2 == 1 || (bounds_below > 0 && PRINTABLE_RANGES[bounds_below - 1] == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_like_go() {
        assert_eq!(quote(b"plain"), r#""plain""#);
        assert_eq!(quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote(b"1\r"), r#""1\r""#);
        assert_eq!(
            quote(b"\x07\x08\x0c\n\t\x0b\x00\x7f"),
            r#""\a\b\f\n\t\v\x00\x7f""#
        );
        assert_eq!(quote(b"\\\xff"), r#""\\\xff""#);
        assert_eq!(quote(b"\xe2\x80X"), r#""\xe2\x80X""#);
        assert_eq!(quote("Zürich ✓".as_bytes()), "\"Zürich ✓\"");
        assert_eq!(
            quote("\u{a0}\u{200b}\u{85}".as_bytes()),
            r#""\u00a0\u200b\u0085""#
        );
        assert_eq!(quote("\u{f0000}".as_bytes()), r#""\U000f0000""#);
        // Unknown to the reference's tables, so escaped; range bounds on both sides.
        assert_eq!(quote("\u{1b980}".as_bytes()), r#""\U0001b980""#);
        assert_eq!(
            quote("\u{a1}\u{ac}\u{ad}\u{ae}".as_bytes()),
            "\"¡¬\\u00ad®\""
        );
    }

    #[test]
    fn quote_byte_reads_the_byte_as_latin_1() {
        assert_eq!(quote_byte(b'+'), "'+'");
        assert_eq!(quote_byte(b'"'), "'\"'");
        assert_eq!(quote_byte(b'\''), r"'\''");
        assert_eq!(quote_byte(b'\n'), r"'\n'");
        assert_eq!(quote_byte(0xff), "'ÿ'");
        assert_eq!(quote_byte(0x80), r"'\u0080'");
        assert_eq!(quote_byte(0xa0), r"'\u00a0'");
        assert_eq!(quote_byte(0xad), r"'\u00ad'");
    }
}
