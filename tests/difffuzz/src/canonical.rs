//! cairn's parse result in the canonical one-line form that `gobatch/main.go` writes for the
//! reference's: the two lines are equal exactly when the parsers agree.
//!
//! `E <line> <message>` for a rejected body; `A` and then, per family sorted by name,
//! `|F <name> <help or -> <TYPE>` and, per series in parse order,
//! `|M {<labels sorted by name>} <timestamp or -> <value>`. Strings are escaped byte by byte
//! (printable ASCII other than `\`, `"`, space and `|` stays, the rest is `\xHH`), floats are
//! their IEEE bits in hex (any NaN is `NaN`), so equal lines mean equal values.

use std::fmt::Write as _;

use cairn_expfmt::{MetricFamily, TextParseError, Value};

/// The canonical line (without its `\n`) for a parse result.
pub(crate) fn canonical(result: &Result<Vec<MetricFamily>, TextParseError>) -> String {
    let mut out = String::new();
    let families = match result {
        Ok(families) => families,
        Err(error) => {
            let _ = write!(out, "E {} ", error.line);
            escape(&mut out, error.message.as_bytes());
            return out;
        }
    };
    let mut sorted: Vec<&MetricFamily> = families.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    out.push('A');
    for family in sorted {
        out.push_str("|F ");
        escape(&mut out, family.name.as_bytes());
        out.push(' ');
        match &family.help {
            Some(help) => {
                out.push('"');
                escape(&mut out, help.as_bytes());
            }
            None => out.push('-'),
        }
        out.push(' ');
        out.push_str(family.metric_type.proto_name());
        for metric in &family.metrics {
            out.push_str("|M {");
            let mut labels: Vec<_> = metric.labels.iter().collect();
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            for (i, label) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                escape(&mut out, label.name.as_bytes());
                out.push('=');
                escape(&mut out, label.value.as_bytes());
            }
            out.push_str("} ");
            match metric.timestamp_ms {
                Some(timestamp) => {
                    let _ = write!(out, "{timestamp}");
                }
                None => out.push('-'),
            }
            out.push(' ');
            value(&mut out, &metric.value);
        }
    }
    out
}

fn value(out: &mut String, value: &Value) {
    match value {
        Value::Counter(counter) => {
            out.push_str("C ");
            float(out, counter.value);
        }
        Value::Gauge(v) => {
            out.push_str("G ");
            float(out, *v);
        }
        Value::Untyped(v) => {
            out.push_str("U ");
            float(out, *v);
        }
        Value::Summary(summary) => {
            let _ = write!(out, "S {} ", summary.sample_count);
            float(out, summary.sample_sum);
            for q in &summary.quantiles {
                out.push(' ');
                float(out, q.quantile);
                out.push(':');
                float(out, q.value);
            }
        }
        Value::Histogram(histogram) => {
            let _ = write!(out, "H {} ", histogram.sample_count);
            float(out, histogram.sample_sum);
            for bucket in &histogram.buckets {
                out.push(' ');
                float(out, bucket.upper_bound);
                let _ = write!(out, ":{}", bucket.cumulative_count);
            }
        }
        Value::Unset => out.push('-'),
    }
}

fn float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else {
        let _ = write!(out, "{:016x}", v.to_bits());
    }
}

/// Appends `bytes` escaped as `gobatch` escapes them.
pub(crate) fn escape(out: &mut String, bytes: &[u8]) {
    for &byte in bytes {
        if byte > b' ' && byte < 0x7f && !matches!(byte, b'\\' | b'"' | b'|') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_expfmt::{NameScheme, parse_text};

    #[test]
    fn a_summary_and_an_error_have_the_documented_form() {
        let body = b"# HELP x h\\n\n# TYPE x summary\nx{quantile=\"0.5\",b=\"c\"} 1 5\nx_count{b=\"c\"} 3\n";
        assert_eq!(
            canonical(&parse_text(body, NameScheme::Legacy)),
            "A|F x \"h\\x0a SUMMARY|M {b=c} 5 S 3 0000000000000000 3fe0000000000000:3ff0000000000000"
        );
        assert_eq!(
            canonical(&parse_text(b"a 1", NameScheme::Legacy)),
            "E 1 unexpected\\x20end\\x20of\\x20input\\x20stream"
        );
    }
}
