//! Text format 0.0.4 encoding, byte for byte as the reference exposes it.

use crate::{Metric, MetricFamily, MetricType};

/// Appends a whole family: header, then every metric.
pub fn encode_text(out: &mut Vec<u8>, family: &MetricFamily) {
    write_text_header(out, &family.name, family.help.as_deref(), family.metric_type);
    for metric in &family.metrics {
        write_text_metric(out, &family.name, family.metric_type, metric);
    }
}

/// Appends `# HELP` (when `help` is given) and `# TYPE` lines.
pub fn write_text_header(out: &mut Vec<u8>, name: &str, help: Option<&str>, ty: MetricType) {
    // STUB
    let _ = (out, name, help, ty);
}

/// Appends the sample lines of one metric (several for summaries and histograms).
pub fn write_text_metric(out: &mut Vec<u8>, name: &str, ty: MetricType, metric: &Metric) {
    // STUB
    let _ = (out, name, ty, metric);
}
