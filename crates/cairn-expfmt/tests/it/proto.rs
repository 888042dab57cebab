//! Tests: proto (filled in by its owner).
