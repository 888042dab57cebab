//! Float formatting exactly as Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which the
//! reference uses for every sample value it exposes.
//!
//! Go's rule for the shortest `'g'` form (`strconv/ftoa.go`, `formatDigits`): take the
//! shortest decimal digits that parse back to `v` (`d₁d₂…dₙ × 10^(x-n+1)`, `x` the decimal
//! exponent of the first digit). If `x < -4 || x >= 6` (the precision used for the decision
//! is fixed at 6 in shortest mode, not the digit count), write `d₁.d₂…dₙe±XX` with an
//! exponent of at least two digits; otherwise write plain decimal notation with exactly the
//! digits needed. So `123456` but `1e+06`, `1.234567e+06`, `0.0001` but `1e-05`.
//!
//! The shortest digits come from Ryu (the `ryu` crate); Go also uses Ryu for this mode and
//! both pick the candidate closest to the exact value, so the digits agree (checked against
//! Go's own output in `tests/data/float/go_format.txt`).

/// Below 2^53 every integer is a float, and its decimal digits (without trailing zeros)
/// are its shortest round-trip digits: a shorter candidate differs by at least 1, more
/// than the half-gap (at most 0.5) to the neighbouring floats.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// The first integer Go writes in exponent form (`x >= 6`).
const EXPONENT_FORM_INTEGER_MIN: u64 = 1_000_000;

/// Appends `v` as Go's `'g'`, shortest form (`1e+06`, `3.14`, `+Inf`, `NaN`, `-0`).
pub fn write_float(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(if v.is_nan() {
            b"NaN"
        } else if v > 0.0 {
            b"+Inf"
        } else {
            b"-Inf"
        });
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    let magnitude = v.abs();
    if magnitude < EXACT_INTEGER_LIMIT && magnitude.fract() == 0.0 {
        // Exact, so the cast neither truncates nor rounds.
        let n = magnitude as u64;
        if n < EXPONENT_FORM_INTEGER_MIN {
            write_u64(out, n);
        } else {
            let mut buf = [0u8; 20];
            let start = u64_digits(n, &mut buf);
            let digits = &buf[start..];
            let exponent = digits.len() as i32 - 1;
            write_exponent_form(out, trim_trailing_zeros(digits), exponent);
        }
        return;
    }
    let mut digits = [0u8; 32];
    let (len, point) = shortest_digits(magnitude, &mut digits);
    let digits = &digits[..len];
    let exponent = point - 1;
    if !(-4..6).contains(&exponent) {
        write_exponent_form(out, digits, exponent);
    } else {
        write_plain_form(out, digits, point);
    }
}

/// Appends `v` in decimal, as Go's `strconv.AppendInt`.
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Appends `v` in decimal, as Go's `strconv.AppendUint`.
pub(crate) fn write_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    let start = u64_digits(v, &mut buf);
    out.extend_from_slice(&buf[start..]);
}

/// Two decimal digits for every value below 100, to halve the divisions.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes the decimal digits of `v` right-aligned into `buf`; returns where they start.
fn u64_digits(mut v: u64, buf: &mut [u8; 20]) -> usize {
    let mut at = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + v as u8;
    }
    at
}

fn trim_trailing_zeros(digits: &[u8]) -> &[u8] {
    let end = digits.iter().rposition(|&d| d != b'0').map_or(1, |i| i + 1);
    &digits[..end]
}

/// Fills `out` with the shortest round-trip digits of a finite, positive `v` (no leading or
/// trailing zeros) and returns their count and the decimal point position: `v` is
/// `0.d₁d₂…dₙ × 10^point`, as Go's `decimalSlice.dp`.
fn shortest_digits(v: f64, out: &mut [u8; 32]) -> (usize, i32) {
    // Ryu prints `1.2345e-7`, `0.00012345`, `1234.5` or `12345.0` (never more than 17
    // significant digits plus the zeros of an integer below 1e16); all we need from it
    // are the digits and where the point goes.
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(v).as_bytes();
    let mut len = 0;
    let mut point = 0i32;
    let mut after_point = false;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'.' => after_point = true,
            b'e' => {
                point += parse_exponent(&text[i + 1..]);
                break;
            }
            b'0' if len == 0 => {
                // A leading zero: `0.000123` moves the point left once per zero after it.
                if after_point {
                    point -= 1;
                }
            }
            d => {
                if len < out.len() {
                    out[len] = d;
                    len += 1;
                }
                if !after_point {
                    point += 1;
                }
            }
        }
        i += 1;
    }
    let len = trim_trailing_zeros(&out[..len]).len();
    (len, point)
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i32, |acc, d| acc * 10 + i32::from(d - b'0'));
    if negative { -magnitude } else { magnitude }
}

/// `d₁.d₂…dₙe±XX`, Go's `fmtE` with the shortest precision.
fn write_exponent_form(out: &mut Vec<u8>, digits: &[u8], exponent: i32) {
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
    out.push(b'e');
    out.push(if exponent < 0 { b'-' } else { b'+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push(b'0');
    }
    write_u64(out, u64::from(magnitude));
}

/// Plain decimal notation with every digit and nothing more, Go's `fmtF` with precision
/// `max(n - point, 0)`.
fn write_plain_form(out: &mut Vec<u8>, digits: &[u8], point: i32) {
    if point <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', point.unsigned_abs() as usize));
        out.extend_from_slice(digits);
        return;
    }
    let point = point as usize;
    if point >= digits.len() {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', point - digits.len()));
    } else {
        out.extend_from_slice(&digits[..point]);
        out.push(b'.');
        out.extend_from_slice(&digits[point..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(v: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers_switch_to_exponent_form_at_one_million() {
        assert_eq!(go(123456.0), "123456");
        assert_eq!(go(999999.0), "999999");
        assert_eq!(go(1e6), "1e+06");
        assert_eq!(go(1234567.0), "1.234567e+06");
        assert_eq!(go(-120000000.0), "-1.2e+08");
    }

    #[test]
    fn small_values_switch_to_exponent_form_below_one_ten_thousandth() {
        assert_eq!(go(0.0001), "0.0001");
        assert_eq!(go(0.00012345), "0.00012345");
        assert_eq!(go(1e-5), "1e-05");
        assert_eq!(go(1.5e-300), "1.5e-300");
    }

    #[test]
    fn fractions_use_shortest_round_trip_digits() {
        assert_eq!(go(2.71), "2.71");
        assert_eq!(go(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(go(1.7957977344380403e9), "1.7957977344380403e+09");
        assert_eq!(go(999999.5), "999999.5");
    }

    #[test]
    fn specials_and_zeros_are_spelled_as_go_does() {
        assert_eq!(go(f64::NAN), "NaN");
        assert_eq!(go(f64::INFINITY), "+Inf");
        assert_eq!(go(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go(0.0), "0");
        assert_eq!(go(-0.0), "-0");
    }

    #[test]
    fn integers_past_two_to_the_53_use_shortest_digits() {
        assert_eq!(go(9007199254740993.0), "9.007199254740992e+15");
        assert_eq!(go(1e21), "1e+21");
        assert_eq!(go(18446744073709551615.0), "1.8446744073709552e+19");
    }

    #[test]
    fn integer_writers_match_go_appendint() {
        let mut out = Vec::new();
        write_i64(&mut out, i64::MIN);
        out.push(b' ');
        write_u64(&mut out, u64::MAX);
        out.push(b' ');
        write_i64(&mut out, 0);
        out.push(b' ');
        write_i64(&mut out, 1_700_000_000_123);
        assert_eq!(
            out,
            b"-9223372036854775808 18446744073709551615 0 1700000000123"
        );
    }
}
