//! Float formatting exactly as Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which the
//! reference uses for every sample value it exposes.

/// Appends `v` as Go's `'g'`, shortest form (`1e+06`, `3.14`, `+Inf`, `NaN`).
pub fn write_float(out: &mut Vec<u8>, v: f64) {
    // STUB: replaced by the encoders' work.
    out.extend_from_slice(format!("{v}").as_bytes());
}
