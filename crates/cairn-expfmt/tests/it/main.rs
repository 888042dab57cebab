//! Integration tests of cairn-expfmt, linked into one test binary.

mod encode;
mod limits;
mod proto;
mod roundtrip;
mod text_parse;
