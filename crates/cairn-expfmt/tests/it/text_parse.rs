//! Tests: text_parse (filled in by its owner).
