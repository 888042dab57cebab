//! OpenMetrics 1.0 text encoding.

use crate::MetricFamily;

/// Appends `family` in OpenMetrics 1.0 text.
pub fn encode_openmetrics(out: &mut Vec<u8>, family: &MetricFamily) {
    // STUB
    let _ = (out, family);
}

/// Appends the `# EOF` line that ends an OpenMetrics exposition.
pub fn write_openmetrics_eof(out: &mut Vec<u8>) {
    out.extend_from_slice(b"# EOF\n");
}
