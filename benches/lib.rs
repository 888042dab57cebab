//! Benchmarks for cairn (criterion, in benches/).
