//! Tests: encode (filled in by its owner).
