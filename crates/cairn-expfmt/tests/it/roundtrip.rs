//! Tests: roundtrip (filled in by its owner).
