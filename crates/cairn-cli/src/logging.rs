//! Log lines as the reference writes them (promslog in go-kit style): logfmt
//! `ts=2026-11-27T19:56:55.123Z caller=main.rs:85 level=info msg="..." key=value`, or one
//! JSON object per line with the same keys in the same order.

use std::fmt::{self, Write as _};

use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `--log.level`: the least severe level written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// `--log.format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Logfmt,
    Json,
}

impl LogLevel {
    /// The flag's value, as `/api/v1/status` shows it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    fn max_level(self) -> Level {
        match self {
            LogLevel::Debug => Level::DEBUG,
            LogLevel::Info => Level::INFO,
            LogLevel::Warn => Level::WARN,
            LogLevel::Error => Level::ERROR,
        }
    }
}

impl LogFormat {
    /// The flag's value, as `/api/v1/status` shows it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LogFormat::Logfmt => "logfmt",
            LogFormat::Json => "json",
        }
    }
}

/// Installs the global subscriber: events at `level` and above, to stderr, in `format`.
pub(crate) fn init(level: LogLevel, format: LogFormat) {
    tracing_subscriber::fmt()
        .with_max_level(level.max_level())
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(GoKitFormat { format })
        .init();
}

/// Writes each event as one logfmt or JSON line: `ts`, `caller`, `level`, `msg`, then the
/// event's other fields in the order they were given. Span fields are not written.
#[derive(Clone, Copy, Debug)]
struct GoKitFormat {
    format: LogFormat,
}

impl<S, N> FormatEvent<S, N> for GoKitFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let line = Line {
            ts: timestamp(),
            caller: caller(meta.file(), meta.line(), meta.target()),
            level: level_name(*meta.level()),
            msg: fields.message.unwrap_or_default(),
            fields: fields.others,
        };
        let mut out = String::new();
        match self.format {
            LogFormat::Logfmt => line.write_logfmt(&mut out),
            LogFormat::Json => line.write_json(&mut out),
        }
        writer.write_str(&out)?;
        writer.write_char('\n')
    }
}

/// Now, in UTC with milliseconds: `2026-11-27T19:56:55.123Z`.
fn timestamp() -> String {
    let mut micros = String::new();
    // tracing-subscriber writes RFC 3339 with microseconds; go-kit style has milliseconds.
    if SystemTime
        .format_time(&mut Writer::new(&mut micros))
        .is_err()
    {
        return micros;
    }
    match micros.find('.') {
        Some(dot) if micros.len() >= dot + 4 => format!("{}Z", &micros[..dot + 4]),
        _ => micros,
    }
}

/// `file.rs:line` as Go's `caller` is `main.go:85`; the target when there is no file.
fn caller(file: Option<&str>, line: Option<u32>, target: &str) -> String {
    match (file, line) {
        (Some(file), Some(line)) => {
            let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
            format!("{base}:{line}")
        }
        _ => target.to_owned(),
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        // Trace is never enabled by --log.level; if a layer lets it through, it is debug.
        Level::DEBUG | Level::TRACE => "debug",
    }
}

/// A field value: text, or a number or boolean (bare in JSON).
#[derive(Debug, PartialEq)]
enum FieldValue {
    Text(String),
    Bare(String),
}

impl FieldValue {
    fn as_str(&self) -> &str {
        match self {
            FieldValue::Text(s) | FieldValue::Bare(s) => s,
        }
    }
}

/// An event's fields: the message apart, the rest in order.
#[derive(Debug, Default)]
struct Fields {
    message: Option<String>,
    others: Vec<(&'static str, FieldValue)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: FieldValue) {
        if field.name() == "message" {
            self.message = Some(value.as_str().to_owned());
        } else {
            self.others.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, FieldValue::Text(value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields arrive here with Display as their Debug, and the message as
        // `format_args!`, whose Debug is its text.
        self.push(field, FieldValue::Text(format!("{value:?}")));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, FieldValue::Text(value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::Bare(value.to_string()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::Bare(value.to_string()));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let bare = if value.is_finite() {
            FieldValue::Bare(value.to_string())
        } else {
            // JSON has no NaN or infinities.
            FieldValue::Text(value.to_string())
        };
        self.push(field, bare);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bare(value.to_string()));
    }
}

/// One log line before formatting.
#[derive(Debug)]
struct Line {
    ts: String,
    caller: String,
    level: &'static str,
    msg: String,
    fields: Vec<(&'static str, FieldValue)>,
}

impl Line {
    fn pairs(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        [
            ("ts", self.ts.as_str()),
            ("caller", self.caller.as_str()),
            ("level", self.level),
            ("msg", self.msg.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k, v, false))
        .chain(
            self.fields
                .iter()
                .map(|(k, v)| (*k, v.as_str(), matches!(v, FieldValue::Bare(_)))),
        )
    }

    fn write_logfmt(&self, out: &mut String) {
        for (i, (key, value, _)) in self.pairs().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            write_logfmt_key(out, key);
            out.push('=');
            write_logfmt_value(out, value);
        }
    }

    fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (key, value, bare)) in self.pairs().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(out, key);
            out.push(':');
            if bare {
                out.push_str(value);
            } else {
                write_json_string(out, value);
            }
        }
        out.push('}');
    }
}

/// A key as logfmt allows one: no space, `=`, `"` or control characters (each becomes
/// `_`); an empty key is `_`.
fn write_logfmt_key(out: &mut String, key: &str) {
    if key.is_empty() {
        out.push('_');
        return;
    }
    out.extend(key.chars().map(|c| {
        if c == '=' || c == '"' || c.is_whitespace() || c.is_control() {
            '_'
        } else {
            c
        }
    }));
}

/// Whether a logfmt value must be quoted: it is empty, or has whitespace, `"`, `=` or a
/// control character (a backslash alone does not need quotes).
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| c == '"' || c == '=' || c.is_whitespace() || c.is_control())
}

/// A logfmt value: bare when it can be, else quoted with `\`, `"`, newline, carriage
/// return and tab escaped as `\\`, `\"`, `\n`, `\r`, `\t` and other control characters as
/// `\u{..}`, so a line never breaks and always parses back to the same text.
fn write_logfmt_value(out: &mut String, value: &str) {
    if !needs_quotes(value) {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON string literal (RFC 8259 escapes).
fn write_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logfmt(value: &str) -> String {
        let mut out = String::new();
        write_logfmt_value(&mut out, value);
        out
    }

    fn line(fields: Vec<(&'static str, FieldValue)>) -> Line {
        Line {
            ts: "2026-11-27T19:56:55.123Z".to_owned(),
            caller: "routes.rs:85".to_owned(),
            level: "info",
            msg: "push rejected".to_owned(),
            fields,
        }
    }

    #[test]
    fn plain_logfmt_values_stay_bare() {
        assert_eq!(logfmt("info"), "info");
        assert_eq!(logfmt("/metrics/job/x"), "/metrics/job/x");
        assert_eq!(logfmt("C:\\dir"), "C:\\dir");
        assert_eq!(logfmt("Π"), "Π");
    }

    #[test]
    fn logfmt_values_with_spaces_quotes_or_equals_are_quoted_and_escaped() {
        assert_eq!(logfmt(""), "\"\"");
        assert_eq!(logfmt("push rejected"), "\"push rejected\"");
        assert_eq!(logfmt("a=b"), "\"a=b\"");
        assert_eq!(logfmt("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(logfmt("a\\b c"), "\"a\\\\b c\"");
        assert_eq!(logfmt("two\nlines\r\tx"), "\"two\\nlines\\r\\tx\"");
        assert_eq!(logfmt("bell\u{7}"), "\"bell\\u{7}\"");
        assert_eq!(logfmt("nbsp\u{a0}x"), "\"nbsp\u{a0}x\"");
    }

    #[test]
    fn logfmt_line_has_go_kit_keys_first_then_fields_in_order() {
        let line = line(vec![
            ("path", FieldValue::Text("/metrics/job/a b".to_owned())),
            ("groups", FieldValue::Bare("3".to_owned())),
            ("err", FieldValue::Text("x=\"1\"".to_owned())),
        ]);
        let mut out = String::new();
        line.write_logfmt(&mut out);
        assert_eq!(
            out,
            "ts=2026-11-27T19:56:55.123Z caller=routes.rs:85 level=info msg=\"push rejected\" \
             path=\"/metrics/job/a b\" groups=3 err=\"x=\\\"1\\\"\""
        );
    }

    #[test]
    fn json_line_has_the_same_keys_with_numbers_bare() {
        let line = line(vec![
            ("groups", FieldValue::Bare("3".to_owned())),
            ("err", FieldValue::Text("bad \"x\"\n\u{1}".to_owned())),
        ]);
        let mut out = String::new();
        line.write_json(&mut out);
        assert_eq!(
            out,
            "{\"ts\":\"2026-11-27T19:56:55.123Z\",\"caller\":\"routes.rs:85\",\"level\":\"info\",\
             \"msg\":\"push rejected\",\"groups\":3,\"err\":\"bad \\\"x\\\"\\n\\u0001\"}"
        );
    }

    #[test]
    fn logfmt_keys_cannot_break_the_line() {
        let mut out = String::new();
        write_logfmt_key(&mut out, "a b=c\"");
        assert_eq!(out, "a_b_c_");
    }

    #[test]
    fn caller_is_the_file_name_and_line() {
        assert_eq!(
            caller(
                Some("crates/cairn-http/src/routes.rs"),
                Some(212),
                "cairn_http"
            ),
            "routes.rs:212"
        );
        assert_eq!(caller(None, None, "cairn_http::push"), "cairn_http::push");
    }

    /// A writer into a shared buffer, for capturing what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(level: LogLevel, format: LogFormat, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level.max_level())
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .event_format(GoKitFormat { format })
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn events_are_written_one_line_each_from_the_chosen_level() {
        let out = capture(LogLevel::Info, LogFormat::Logfmt, || {
            tracing::debug!("hidden");
            let err = "disk full";
            tracing::warn!(file = "/tmp/a b", groups = 2, %err, "cannot persist");
        });
        assert_eq!(out.lines().count(), 1, "{out}");
        let (ts, rest) = out.split_once(' ').unwrap();
        assert!(ts.starts_with("ts=") && ts.ends_with('Z'), "{out}");
        let rest = rest.split_once(' ').unwrap().1;
        assert_eq!(
            rest,
            "level=warn msg=\"cannot persist\" file=\"/tmp/a b\" groups=2 err=\"disk full\"\n"
        );
        assert!(out.contains(" caller=logging.rs:"), "{out}");
    }

    #[test]
    fn json_events_carry_ts_level_and_msg() {
        let out = capture(LogLevel::Debug, LogFormat::Json, || {
            tracing::debug!(address = ":9091", "Listening on");
        });
        assert!(out.starts_with("{\"ts\":\""), "{out}");
        assert!(
            out.ends_with(",\"level\":\"debug\",\"msg\":\"Listening on\",\"address\":\":9091\"}\n"),
            "{out}"
        );
    }

    #[test]
    fn timestamp_has_milliseconds_in_utc() {
        let ts = timestamp();
        assert_eq!(ts.len(), "2026-11-27T19:56:55.123Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.');
    }
}
