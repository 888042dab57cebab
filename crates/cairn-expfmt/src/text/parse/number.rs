//! Numbers as the reference reads them: sample values and `quantile`/`le` label values (Go's
//! `strconv.ParseFloat` minus hex floats and underscores), timestamps (`strconv.ParseInt`),
//! and the float-to-count conversion of summary and histogram counts.

/// Parses a float the way the reference does, or `None` where it reports an error.
///
/// Accepted: decimal literals (`1`, `-3e3`, `.5`, `5.`, `1E+05`), `inf` and `infinity` with an
/// optional sign and `nan` without one, all case-insensitive. Rejected: anything else,
/// including hex floats (the reference rejects any `p`, `P` or `_` before parsing) and finite
/// literals too large for an `f64`, which Go reports as out of range instead of rounding to
/// infinity. Literals too small round to zero or a subnormal, as in Go.
pub(super) fn parse_float(token: &[u8]) -> Option<f64> {
    match parse_short_decimal(token) {
        Some(value) => Some(value),
        None => parse_float_general(token),
    }
}

/// Powers of ten that are exact in an `f64`.
const EXACT_POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The common case, `-?[0-9]*\.?[0-9]*` with 1 to 15 digits, without the general parser.
///
/// Exact: the digits as an integer are below 10^15 < 2^53, so they and the power of ten are
/// exact `f64`s, and one IEEE division rounds their quotient correctly (Clinger's fast path,
/// which is also the first thing a full parser tries).
fn parse_short_decimal(token: &[u8]) -> Option<f64> {
    let (negative, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    if digits.len() > 16 {
        return None;
    }
    // At most 16 digits: no overflow.
    let mut mantissa: u64 = 0;
    let mut accumulate = |digits: &[u8]| -> usize {
        let mut count = 0;
        while let Some(eight) = digits.get(count..count + 8).and_then(eight_digits) {
            mantissa = mantissa * 100_000_000 + eight;
            count += 8;
        }
        for &byte in &digits[count..] {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            mantissa = mantissa * 10 + u64::from(digit);
            count += 1;
        }
        count
    };
    let integer_digits = accumulate(digits);
    let fraction_digits = match digits.get(integer_digits) {
        None => 0,
        Some(b'.') => {
            let fraction = &digits[integer_digits + 1..];
            let count = accumulate(fraction);
            if count != fraction.len() {
                return None;
            }
            count
        }
        Some(_) => return None,
    };
    let digit_count = integer_digits + fraction_digits;
    if digit_count == 0 || digit_count > 15 {
        return None;
    }
    // Lossless: the mantissa is below 10^15.
    let magnitude = mantissa as f64 / EXACT_POWERS_OF_TEN[fraction_digits];
    Some(if negative { -magnitude } else { magnitude })
}

/// The value of eight ASCII digits, most significant first, computed on them as one word;
/// `None` unless all eight are digits.
fn eight_digits(bytes: &[u8]) -> Option<u64> {
    let mut word = [0; 8];
    word.copy_from_slice(bytes);
    let word = u64::from_le_bytes(word);
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    // A byte is a digit when its high nibble is 3, also after adding 6 (which then cannot
    // carry into the next byte).
    if word & HIGH_NIBBLES != ZEROS
        || word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES != ZEROS
    {
        return None;
    }
    // Little-endian, so the first digit is the lowest byte: combine neighbours into pairs,
    // pairs into fours, fours into the eight-digit number.
    let digits = word - ZEROS;
    let pairs = (digits * 10 + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((fours * 10_000 + (fours >> 32)) & 0xFFFF_FFFF)
}

/// Everything [`parse_short_decimal`] leaves: exponents, long mantissas, signs, words.
fn parse_float_general(token: &[u8]) -> Option<f64> {
    let (sign, body) = match token.split_first() {
        Some((&sign @ (b'+' | b'-'), rest)) => (Some(sign), rest),
        _ => (None, token),
    };
    if let Some(b'i' | b'I' | b'n' | b'N') = body.first() {
        // Go takes a sign on infinity but not on NaN; Rust's parser takes both.
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(if sign == Some(b'-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        if sign.is_none() && body.eq_ignore_ascii_case(b"nan") {
            return Some(f64::NAN);
        }
        return None;
    }
    // Over this alphabet, Rust's decimal grammar is Go's: digits with an optional point (at
    // least one digit), then an optional exponent with an optional sign and at least one digit.
    if !token
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let value: f64 = std::str::from_utf8(token).ok()?.parse().ok()?;
    // A finite literal that rounds to infinity is a range error in Go.
    value.is_finite().then_some(value)
}

/// Parses a timestamp (milliseconds) as Go's `strconv.ParseInt(s, 10, 64)`: an optional sign,
/// then decimal digits, within `i64`.
pub(super) fn parse_timestamp(token: &[u8]) -> Option<i64> {
    let (negative, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, token),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(byte - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// A summary or histogram count from its float sample value, as Go's `uint64(v)` computes it
/// on amd64 (the reference's platform): truncation toward zero, negative values wrapping
/// around (`-1` gives `u64::MAX`), and NaN, infinities and other out-of-range values giving
/// 2^63. Rust's saturating `as u64` would give 0 or `u64::MAX` instead.
pub(super) fn count_from_float(value: f64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    // The x86-64 float-to-int64 instruction: out of range (or NaN) gives i64::MIN.
    fn truncate_to_i64(x: f64) -> i64 {
        if (-TWO_POW_63..TWO_POW_63).contains(&x) {
            x as i64
        } else {
            i64::MIN
        }
    }
    if value < TWO_POW_63 {
        truncate_to_i64(value) as u64
    } else {
        truncate_to_i64(value - TWO_POW_63) as u64 | (1 << 63)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(text: &str) -> Option<f64> {
        parse_float(text.as_bytes())
    }

    #[test]
    fn short_decimals_match_the_general_parser() {
        for text in [
            "0",
            "-0",
            "1",
            "0.23",
            "1.234",
            "-3.5",
            "123456789012345",
            "0.000000000000001",
            "5.",
            ".5",
            "-.5",
            "99999.99999",
            "0.1",
            "0.3",
            "1.7560473",
        ] {
            let expected: f64 = text.parse().unwrap();
            let got = float(text).unwrap();
            assert_eq!(got.to_bits(), expected.to_bits(), "{text}");
        }
    }

    #[test]
    fn eight_digits_reads_a_word_of_digits() {
        assert_eq!(eight_digits(b"34771278"), Some(34_771_278));
        assert_eq!(eight_digits(b"00000001"), Some(1));
        assert_eq!(eight_digits(b"99999999"), Some(99_999_999));
        for bad in [b"3477127:", b"/4771278", b"1234567.", b"12 45678"] {
            assert_eq!(eight_digits(bad), None);
        }
        assert_eq!(float("1234567890123456"), Some(1234567890123456.0));
        assert_eq!(float("12345678.9"), Some(12345678.9));
    }

    #[test]
    fn go_float_syntax_is_accepted() {
        assert_eq!(float("-3e3"), Some(-3000.0));
        assert_eq!(float("1E+05"), Some(100000.0));
        assert_eq!(float("+.1e-1"), Some(0.01));
        assert_eq!(float("1.e5"), Some(100000.0));
        assert_eq!(float("1234567890123456789"), Some(1234567890123456789.0));
        assert_eq!(float("+Inf"), Some(f64::INFINITY));
        assert_eq!(float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(float("Infinity"), Some(f64::INFINITY));
        assert!(float("NaN").unwrap().is_nan());
        assert!(float("nAn").unwrap().is_nan());
        assert_eq!(float("1e-400"), Some(0.0));
        assert_eq!(float("0e99999999999999999999"), Some(0.0));
    }

    #[test]
    fn what_go_rejects_is_rejected() {
        for text in [
            "", "-", "+", ".", "e5", "1e", "1e+", "--1", "+-1", "1.2.3", "1e1.5", "0x10", "0x1p-3",
            "1_000", "-nan", "+NaN", "infin", "inf ", " 1", "1e400", "-1.8e308", "1,5", "\u{661}",
        ] {
            assert_eq!(float(text), None, "{text:?}");
        }
    }

    #[test]
    fn timestamps_are_decimal_i64() {
        assert_eq!(parse_timestamp(b"0"), Some(0));
        assert_eq!(parse_timestamp(b"+5"), Some(5));
        assert_eq!(parse_timestamp(b"-2"), Some(-2));
        assert_eq!(parse_timestamp(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_timestamp(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_timestamp(b"9223372036854775808"), None);
        assert_eq!(parse_timestamp(b"1.5"), None);
        assert_eq!(parse_timestamp(b"1_000"), None);
        assert_eq!(parse_timestamp(b""), None);
        assert_eq!(parse_timestamp(b"-"), None);
    }

    #[test]
    fn counts_convert_like_go_on_amd64() {
        assert_eq!(count_from_float(2693.0), 2693);
        assert_eq!(count_from_float(-0.5), 0);
        assert_eq!(count_from_float(-1.0), u64::MAX);
        assert_eq!(count_from_float(1.8e19), 18_000_000_000_000_000_000);
        assert_eq!(count_from_float(f64::NAN), 1 << 63);
        assert_eq!(count_from_float(f64::INFINITY), 1 << 63);
        assert_eq!(count_from_float(1e30), 1 << 63);
        assert_eq!(count_from_float(-1e30), 1 << 63);
    }
}
