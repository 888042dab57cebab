//! Inputs for the differential fuzzer: plausible expositions built from parts chosen to hit
//! the parser's corners (suffixed names, `quantile` and `le`, escapes, number spellings,
//! blanks, comments, missing newlines), and byte-level mutations of those and of seed files.
//! Input `i` of seed `s` depends only on `(s, i)`, so any input can be made again alone.

/// A small, fast pseudo-random generator (SplitMix64): reproducible and good enough to pick
/// parts; this is not cryptography.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64, index: u64) -> Rng {
        let mut rng = Rng(seed ^ index.wrapping_mul(0xA076_1D64_78BD_642F));
        rng.next();
        rng
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `1/n`.
    pub(crate) fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const BASE_NAMES: &[&str] = &[
    "a",
    "m",
    "x",
    "h",
    "s",
    "g",
    "up",
    "http_requests_total",
    "rpc_duration_seconds",
    "process_cpu_seconds_total",
    "a:b",
    "_x",
    "x_count",
    "x_sum",
    "h_bucket",
];
const SUFFIXES: &[&str] = &[
    "", "", "", "_sum", "_count", "_bucket", "_total", "_created",
];
const TYPES: &[&str] = &[
    "counter",
    "gauge",
    "summary",
    "histogram",
    "untyped",
    "gauge_histogram",
    "COUNTER",
    "Gauge",
    "SUMMARY",
    "HiStOgRaM",
    "unknown",
    "",
    "gau\\ge",
    "ſummary",
    "counter\r",
    "info",
    "stateset",
];
const LABEL_NAMES: &[&str] = &[
    "a", "b", "job", "instance", "le", "quantile", "le", "quantile", "__name__", "_", "_x", "code",
    "method", "A1", "x_y", "1a", "a-b", "a.b", "é",
];
const LABEL_VALUES: &[&str] = &[
    "",
    "v",
    "1",
    "0.5",
    "0.99",
    "+Inf",
    "-Inf",
    "inf",
    "NaN",
    "nan",
    "1e3",
    "0x1p3",
    "1_0",
    "+1",
    "-0",
    "x y",
    "a\\\"b",
    "a\\\\b",
    "line\\nbreak",
    "\\t",
    "é",
    "日本",
    "\u{a0}",
    "{}",
    ",",
    "=",
    "#",
    "1e400",
    ".5",
    "5.",
    "Infinity",
    "-infinity",
];
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "42",
    "3.14",
    "-0",
    "+1",
    "1e3",
    "1E-3",
    "1e+308",
    "1e309",
    "1e400",
    "-1e400",
    "1e-400",
    "4.9e-324",
    "2.2250738585072014e-308",
    ".5",
    "5.",
    ".",
    "+Inf",
    "-Inf",
    "Inf",
    "inf",
    "+inf",
    "infinity",
    "Infinity",
    "-Infinity",
    "INF",
    "NaN",
    "nan",
    "NAN",
    "-NaN",
    "+NaN",
    "0x1p3",
    "0x10",
    "0X1P-2",
    "1_000",
    "1__0",
    "0b101",
    "0o17",
    "1e",
    "e1",
    "--1",
    "+-1",
    "1.2.3",
    "123456789012345678901234567890",
    "0.1234567890123456789",
    "9007199254740993",
    "18446744073709551616",
    "-18446744073709551617",
    "1e19",
    "1.8e19",
    "-5",
    "",
    "abc",
    "1\r",
    "1,5",
    "0.0000001",
    "100000000000000000000000",
    "0e0",
    "00001",
    "1.",
    "+.5",
    "-.5e-5",
    "1i",
    "9223372036854775807",
    "9223372036854775808",
];
const TIMESTAMPS: &[&str] = &[
    "0",
    "1",
    "-1",
    "+5",
    "1700000000000",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "1.5",
    "1e3",
    "0x10",
    "1_000",
    "",
    "abc",
    "--1",
    "+",
    "-",
    "00",
    "1 2",
];
const HELP_TEXTS: &[&str] = &[
    "",
    "Help.",
    "Total requests.",
    "with \\\\ backslash",
    "with \\n newline",
    "quote \\\" here",
    "tab\\t",
    "trailing \\",
    "é日本",
    "  spaces  ",
    "# not a comment",
    "\\\\n",
    "a\\",
    "{x=\"y\"} 1",
];
const COMMENTS: &[&str] = &[
    "#",
    "# ",
    "# EOF",
    "#EOF",
    "# some comment",
    "#HELP x y",
    "# HELP",
    "# TYPE",
    "# HELP ",
    "# TYPE x",
    "# TYPE x ",
    "# help x y",
    "# UNIT x seconds",
    "#\tHELP\tx\ty",
    "# HELP x",
    "# TYPE  x  gauge",
    "#  TYPE x counter",
];

/// Values that parse in both, for bodies meant to be accepted.
const CLEAN_VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "10",
    "42",
    "-1",
    "0.5",
    "3.14",
    "1e3",
    "1.5e-7",
    "123456789",
    "+Inf",
    "NaN",
    "-Inf",
    "1e+308",
    "0.001",
    "17179869184",
    "4.9e-324",
    "1e19",
];
const CLEAN_LABEL_NAMES: &[&str] = &["a", "b", "job", "instance", "le", "quantile", "code", "x_y"];
const CLEAN_LABEL_VALUES: &[&str] = &[
    "",
    "v",
    "1",
    "0.5",
    "0.9",
    "0.99",
    "+Inf",
    "10",
    "a\\\"b",
    "line\\nbreak",
    "é",
    "x y",
];

/// Picks from `clean` in a body meant to be accepted (but one in 50 times even there), else
/// from `any`.
fn choose<'a>(rng: &mut Rng, clean_body: bool, clean: &[&'a str], any: &[&'a str]) -> &'a str {
    if clean_body && !rng.one_in(50) {
        clean[rng.below(clean.len())]
    } else {
        any[rng.below(any.len())]
    }
}

/// A number spelled at random: decimal with or without point, exponent and sign, near the
/// edges of `f64` (and of `u64` and `i64`, for counts and timestamps), hex, with underscores,
/// or a word for infinity or NaN in random case.
fn random_number(rng: &mut Rng) -> String {
    let mut out = String::new();
    match rng.below(12) {
        0 => {
            let word = *rng.pick(&["inf", "infinity", "nan", "in", "infinit", "nana"]);
            out.push_str(rng.pick::<&str>(&["", "", "+", "-"]));
            for c in word.chars() {
                out.push(if rng.one_in(2) {
                    c.to_ascii_uppercase()
                } else {
                    c
                });
            }
        }
        1 => {
            out.push_str(rng.pick::<&str>(&["0x", "0X", "-0x", "0b", "0o"]));
            for _ in 0..rng.below(6) {
                out.push(char::from(*rng.pick(b"0123456789abcdefABCDEF_.")));
            }
            if rng.one_in(2) {
                out.push_str(&format!("p{}", rng.below(40) as i64 - 20));
            }
        }
        _ => {
            out.push_str(rng.pick::<&str>(&["", "", "", "+", "-"]));
            let digits = |rng: &mut Rng, out: &mut String, n: usize| {
                for _ in 0..n {
                    out.push(char::from(b'0' + rng.below(10) as u8));
                    if rng.one_in(60) {
                        out.push('_');
                    }
                }
            };
            let integer = *rng.pick(&[0, 1, 1, 2, 3, 15, 16, 17, 19, 20, 21, 25, 40]);
            digits(rng, &mut out, integer);
            if rng.one_in(2) {
                out.push('.');
                let fraction = *rng.pick(&[0, 1, 2, 5, 15, 17, 20, 30]);
                digits(rng, &mut out, fraction);
            }
            if rng.one_in(3) {
                out.push(*rng.pick(&['e', 'E']));
                out.push_str(rng.pick::<&str>(&["", "+", "-"]));
                let exponent = *rng.pick(&[
                    0, 1, 5, 18, 19, 22, 300, 307, 308, 309, 320, 323, 324, 325, 350, 400,
                ]);
                out.push_str(&exponent.to_string());
            }
        }
    }
    out
}

/// Blanks between tokens: mostly one space, sometimes none, more, or tabs.
fn blanks(rng: &mut Rng, out: &mut Vec<u8>, at_least_one: bool) {
    let options: &[&[u8]] = &[b" ", b" ", b" ", b" ", b"  ", b"\t", b" \t ", b""];
    loop {
        let blank = *rng.pick(options);
        if !(at_least_one && blank.is_empty()) {
            out.extend_from_slice(blank);
            return;
        }
    }
}

/// One family name of a body: the few names of a body repeat, so that HELP, TYPE and sample
/// lines meet.
fn family_name(rng: &mut Rng) -> String {
    if rng.one_in(10) {
        let alphabet = b"abcxyz_:09";
        let length = 1 + rng.below(6);
        return (0..length)
            .map(|_| char::from(*rng.pick(alphabet)))
            .collect();
    }
    (*rng.pick(BASE_NAMES)).to_owned()
}

fn label_set(rng: &mut Rng, out: &mut Vec<u8>, clean: bool) {
    let count = match rng.below(10) {
        0 => 0,
        1..=5 => 1,
        6..=8 => 2,
        _ => 3 + rng.below(3),
    };
    out.push(b'{');
    for i in 0..count {
        if i > 0 {
            out.push(b',');
            if rng.one_in(4) {
                blanks(rng, out, false);
            }
        }
        out.extend_from_slice(choose(rng, clean, CLEAN_LABEL_NAMES, LABEL_NAMES).as_bytes());
        if rng.one_in(8) {
            blanks(rng, out, false);
        }
        out.push(b'=');
        if rng.one_in(8) {
            blanks(rng, out, false);
        }
        out.push(b'"');
        out.extend_from_slice(choose(rng, clean, CLEAN_LABEL_VALUES, LABEL_VALUES).as_bytes());
        out.push(b'"');
    }
    if count > 0 && rng.one_in(6) {
        out.push(b',');
    }
    if rng.one_in(8) {
        blanks(rng, out, false);
    }
    out.push(b'}');
}

fn sample_line(rng: &mut Rng, out: &mut Vec<u8>, names: &[String], clean: bool) {
    if rng.one_in(10) {
        blanks(rng, out, false);
    }
    out.extend_from_slice(rng.pick(names).as_bytes());
    out.extend_from_slice(rng.pick(SUFFIXES).as_bytes());
    if !rng.one_in(3) {
        if rng.one_in(6) {
            blanks(rng, out, false);
        }
        label_set(rng, out, clean);
    }
    blanks(rng, out, true);
    out.extend_from_slice(choose(rng, clean, CLEAN_VALUES, VALUES).as_bytes());
    if rng.one_in(5) {
        blanks(rng, out, true);
        out.extend_from_slice(
            choose(rng, clean, &["0", "1700000000000", "-5"], TIMESTAMPS).as_bytes(),
        );
    }
    if !clean && rng.one_in(25) {
        blanks(rng, out, true);
    }
}

fn comment_line(rng: &mut Rng, out: &mut Vec<u8>, names: &[String], clean: bool) {
    match rng.below(6) {
        0 | 1 => {
            out.extend_from_slice(b"# HELP");
            blanks(rng, out, true);
            out.extend_from_slice(rng.pick(names).as_bytes());
            if rng.one_in(6) {
                out.extend_from_slice(rng.pick(SUFFIXES).as_bytes());
            }
            blanks(rng, out, true);
            out.extend_from_slice(rng.pick(HELP_TEXTS).as_bytes());
            if !clean && rng.one_in(30) {
                out.push(0xff);
            }
        }
        2 | 3 => {
            out.extend_from_slice(b"# TYPE");
            blanks(rng, out, true);
            out.extend_from_slice(rng.pick(names).as_bytes());
            if rng.one_in(6) {
                out.extend_from_slice(rng.pick(SUFFIXES).as_bytes());
            }
            blanks(rng, out, true);
            out.extend_from_slice(choose(rng, clean, &TYPES[..6], TYPES).as_bytes());
        }
        _ => out.extend_from_slice(rng.pick(COMMENTS).as_bytes()),
    }
}

/// A body written family by family, as a client library writes one: HELP, TYPE, then the
/// series, with the lines a summary or histogram has (`quantile`, `le`, `_sum`, `_count`).
/// Now and then a line is moved or a part repeated, and values are sometimes odd.
fn families_body(rng: &mut Rng) -> Vec<u8> {
    const LE: &[&str] = &["0.1", "1", "2.5", "10", "+Inf", "1e3", "NaN", "-1", "0"];
    const QUANTILE: &[&str] = &["0", "0.5", "0.9", "0.99", "1", "NaN", "-0.5"];
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let name = family_name(rng);
        let kind = *rng.pick(&[
            "counter",
            "gauge",
            "summary",
            "histogram",
            "untyped",
            "gauge_histogram",
            "",
        ]);
        if rng.one_in(2) {
            lines.push(format!("# HELP {name} {}", rng.pick(HELP_TEXTS)).into_bytes());
        }
        if !kind.is_empty() {
            lines.push(format!("# TYPE {name} {kind}").into_bytes());
        }
        for _ in 0..1 + rng.below(3) {
            let mut labels = Vec::new();
            label_set(rng, &mut labels, true);
            let labels = String::from_utf8_lossy(&labels).into_owned();
            let value = |rng: &mut Rng| choose(rng, true, CLEAN_VALUES, VALUES);
            let with_special = |special: &str| -> String {
                let inner = labels.trim_start_matches('{').trim_end_matches('}');
                if inner.is_empty() {
                    format!("{{{special}}}")
                } else if (special.len() + inner.len()) % 2 == 0 {
                    format!("{{{special},{inner}}}")
                } else {
                    format!("{{{inner},{special}}}")
                }
            };
            match kind {
                "summary" | "histogram" | "gauge_histogram" => {
                    let (label, suffix, points) = if kind == "summary" {
                        ("quantile", "", QUANTILE)
                    } else {
                        ("le", "_bucket", LE)
                    };
                    for _ in 0..rng.below(4) {
                        let point = if rng.one_in(5) {
                            random_number(rng)
                        } else {
                            (*rng.pick(points)).to_owned()
                        };
                        let special = format!("{label}=\"{point}\"");
                        let line =
                            format!("{name}{suffix}{} {}", with_special(&special), value(rng));
                        lines.push(line.into_bytes());
                    }
                    if !rng.one_in(4) {
                        lines.push(format!("{name}_sum{labels} {}", value(rng)).into_bytes());
                    }
                    if !rng.one_in(4) {
                        let count = if rng.one_in(4) {
                            random_number(rng)
                        } else {
                            value(rng).to_owned()
                        };
                        lines.push(format!("{name}_count{labels} {count}").into_bytes());
                    }
                }
                _ => lines.push(format!("{name}{labels} {}", value(rng)).into_bytes()),
            }
            if rng.one_in(8) {
                let last = lines.last().cloned().unwrap_or_default();
                lines.push(last);
            }
        }
    }
    if lines.len() > 1 && rng.one_in(5) {
        let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
        lines.swap(i, j);
    }
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(&line);
        // Timestamps, on any line of a series.
        if !line.starts_with(b"#") && rng.one_in(6) {
            out.push(b' ');
            let stamp = choose(rng, true, &["1700000000000", "0", "-1", "17"], TIMESTAMPS);
            out.extend_from_slice(stamp.as_bytes());
        }
        out.push(b'\n');
    }
    out
}

/// A larger body: one or two families with many lines whose label sets repeat in varying
/// order (so summary and histogram lines must find their series again), lines with many
/// labels (a duplicate among them now and then) and long label values.
fn large_body(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let name = family_name(rng);
        let kind = *rng.pick(&["summary", "histogram", "counter", "untyped"]);
        if rng.one_in(2) {
            out.extend_from_slice(format!("# TYPE {name} {kind}\n").as_bytes());
        }
        for _ in 0..20 + rng.below(200) {
            let mut labels = Vec::new();
            for label in ["a", "b", "c"] {
                if !rng.one_in(3) {
                    labels.push(format!("{label}=\"{}\"", rng.below(3)));
                }
            }
            if rng.one_in(30) {
                let many = 14 + rng.below(10);
                labels.extend((0..many).map(|i| format!("l{i}=\"v\"")));
                if rng.one_in(2) {
                    labels.push(format!("l{}=\"w\"", rng.below(many + 2)));
                }
            }
            if rng.one_in(40) {
                let long = "x".repeat(1 + rng.below(10_000));
                labels.push(format!("long=\"{long}\""));
            }
            let (suffix, special) = match (kind, rng.below(4)) {
                ("summary", 0) => ("_sum", String::new()),
                ("summary", 1) => ("_count", String::new()),
                ("summary", _) => ("", format!("quantile=\"0.{}\"", rng.below(10))),
                ("histogram", 0) => ("_sum", String::new()),
                ("histogram", 1) => ("_count", String::new()),
                ("histogram", _) => ("_bucket", format!("le=\"{}\"", rng.below(5))),
                _ => ("", String::new()),
            };
            if !special.is_empty() {
                labels.push(special);
            }
            // Any order: the reference finds a series by its sorted label set.
            for i in (1..labels.len()).rev() {
                labels.swap(i, rng.below(i + 1));
            }
            let value = rng.below(1000);
            out.extend_from_slice(
                format!("{name}{suffix}{{{}}} {value}\n", labels.join(",")).as_bytes(),
            );
        }
    }
    out
}

/// A body of a few families: HELP and TYPE lines mostly before their samples, in a plausible
/// order, with everything else thrown in now and then.
pub(crate) fn structured(rng: &mut Rng) -> Vec<u8> {
    let names: Vec<String> = (0..1 + rng.below(3)).map(|_| family_name(rng)).collect();
    // Half the bodies are meant to be accepted, so that families get compared too.
    let clean = rng.one_in(2);
    let mut out = Vec::new();
    let lines = rng.below(12);
    for _ in 0..lines {
        match rng.below(10) {
            0..=2 => comment_line(rng, &mut out, &names, clean),
            3 if rng.one_in(2) => {
                if rng.one_in(3) {
                    blanks(rng, &mut out, true);
                }
            }
            _ => sample_line(rng, &mut out, &names, clean),
        }
        out.extend_from_slice(if !clean && rng.one_in(40) {
            b"\r\n"
        } else {
            b"\n"
        });
    }
    if !clean && !out.is_empty() && rng.one_in(15) {
        out.pop();
    }
    if rng.one_in(20) {
        blanks(rng, &mut out, true);
    }
    out
}

/// Bytes the parser treats specially, and a few it must not.
const INTERESTING: &[u8] = b"{}\",=\n \t#\\_.eE+-0123456789aziInNpPx\r:\x00\x7f\x80\xc3\xa9\xff";

/// `input` changed by one to four byte-level edits.
pub(crate) fn mutate(rng: &mut Rng, mut input: Vec<u8>, donors: &[Vec<u8>]) -> Vec<u8> {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(9) {
            0 if len > 0 => {
                let at = rng.below(len);
                input[at] = *rng.pick(INTERESTING);
            }
            1 => {
                let at = rng.below(len + 1);
                input.insert(at, *rng.pick(INTERESTING));
            }
            2 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(8)).min(len);
                input.drain(at..end);
            }
            3 if len > 0 => {
                let at = rng.below(len);
                input[at] ^= 1 << rng.below(8);
            }
            4 if len > 0 => {
                // Repeat a short range.
                let at = rng.below(len);
                let end = (at + 1 + rng.below(32)).min(len);
                let copy = input[at..end].to_vec();
                let to = rng.below(len + 1);
                input.splice(to..to, copy);
            }
            5 => {
                // A line from another input.
                let donor = rng.pick(donors);
                let lines: Vec<&[u8]> = donor.split_inclusive(|&b| b == b'\n').collect();
                if !lines.is_empty() {
                    let line = rng.pick(&lines).to_vec();
                    let to = line_start(&input, rng.below(len + 1));
                    input.splice(to..to, line);
                }
            }
            6 if len > 0 => {
                // Swap two lines.
                let mut lines: Vec<Vec<u8>> = input
                    .split_inclusive(|&b| b == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect();
                let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                lines.swap(i, j);
                input = lines.concat();
            }
            7 if len > 0 => {
                input.truncate(rng.below(len));
            }
            8 if rng.one_in(2) => {
                // A character from anywhere in Unicode, or bytes that are not UTF-8.
                let at = rng.below(len + 1);
                let bytes = if rng.one_in(4) {
                    let bad: &[&[u8]] = &[
                        b"\xed\xa0\x80",
                        b"\xc0\xaf",
                        b"\xf4\x90\x80\x80",
                        b"\xe2\x82",
                        b"\x80",
                    ];
                    rng.pick(bad).to_vec()
                } else {
                    let planes = [0x80, 0x800, 0x1_0000, 0x3_0000, 0x11_0000];
                    let limit = *rng.pick(&planes);
                    let c = char::from_u32(rng.below(limit) as u32).unwrap_or('\u{fffd}');
                    c.to_string().into_bytes()
                };
                input.splice(at..at, bytes);
            }
            _ => {
                // A structured line spliced in at a line start.
                let mut line = Vec::new();
                let names = vec![family_name(rng)];
                if rng.one_in(2) {
                    sample_line(rng, &mut line, &names, false);
                } else {
                    comment_line(rng, &mut line, &names, false);
                }
                line.push(b'\n');
                let to = line_start(&input, rng.below(len + 1));
                input.splice(to..to, line);
            }
        }
    }
    input
}

fn line_start(input: &[u8], at: usize) -> usize {
    input[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1)
}

/// Input `index` of a run: structured, a mutated structured one, a seed as it is, or a
/// mutated seed.
pub(crate) fn input(seed: u64, index: u64, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut rng = Rng::new(seed, index);
    match rng.below(10) {
        0 if rng.one_in(10) => large_body(&mut rng),
        0 | 1 => structured(&mut rng),
        2 | 3 => families_body(&mut rng),
        4 | 5 => {
            let base = if rng.one_in(2) {
                structured(&mut rng)
            } else {
                families_body(&mut rng)
            };
            mutate(&mut rng, base, seeds)
        }
        6 if !seeds.is_empty() && rng.one_in(20) => rng.pick(seeds).clone(),
        _ if !seeds.is_empty() => {
            let base = rng.pick(seeds).clone();
            mutate(&mut rng, base, seeds)
        }
        _ => structured(&mut rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_depend_only_on_seed_and_index() {
        let seeds = vec![b"a 1\n".to_vec(), b"# TYPE x summary\nx_sum 1\n".to_vec()];
        let first: Vec<Vec<u8>> = (0..200).map(|i| input(7, i, &seeds)).collect();
        let again: Vec<Vec<u8>> = (0..200).rev().map(|i| input(7, i, &seeds)).collect();
        assert!(first.iter().eq(again.iter().rev()));
        let other: Vec<Vec<u8>> = (0..200).map(|i| input(8, i, &seeds)).collect();
        assert_ne!(first, other);
        assert!(first.iter().filter(|body| !body.is_empty()).count() > 150);
    }
}
