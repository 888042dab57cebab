//! Text format 0.0.4 parsing, accepting and rejecting what the reference's Go parser does.

use crate::{MetricFamily, NameScheme};

/// Why a text body was rejected: the line and the reason, worded as the reference words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextParseError {
    /// 1-based line number.
    pub line: usize,
    /// The reason.
    pub message: String,
}

impl std::fmt::Display for TextParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "text format parsing error in line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TextParseError {}

/// Parses a text format 0.0.4 body into families, in order of first appearance.
pub fn parse_text(input: &[u8], scheme: NameScheme) -> Result<Vec<MetricFamily>, TextParseError> {
    // STUB
    let _ = (input, scheme);
    Ok(Vec::new())
}
