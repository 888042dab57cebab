//! Integration tests of the cairn engine, linked into one test binary.

mod exposition;
mod limits;
mod model;
mod own_families;
mod persist;
mod store_rules;
mod support;
