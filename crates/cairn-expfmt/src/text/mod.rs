//! The text exposition format 0.0.4: parsing and encoding.

mod encode;
mod parse;

pub use encode::{
    SampleLine, encode_text, write_text_header, write_text_metric, write_text_sample,
};
pub(crate) use encode::{Series, write_escaped_quoted, write_name};
pub use parse::{TextParseError, parse_text, parse_text_with_limits};
