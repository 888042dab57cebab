//! Go's `%q`, so that error messages quote the offending input exactly as the
//! reference's messages do (clients see them as the body of a 400 answer).

use std::fmt::Write as _;

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

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
///
/// Exact for ASCII and Latin-1. Beyond that it treats controls, separators and spaces, format
/// characters, private-use characters and noncharacters as unprintable; code points that are
/// unassigned in Go's Unicode tables are printed as they are, where Go escapes them.
fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let code = u32::from(c);
    let format = matches!(
        code,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private_use = matches!(code, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF);
    let noncharacter = matches!(code, 0xFDD0..=0xFDEF) || code & 0xFFFE == 0xFFFE;
    !(format || private_use || noncharacter)
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
