//! PLACEHOLDER while the importer is written elsewhere; replaced before commit.
#![allow(dead_code)]
use std::time::SystemTime;

pub(crate) fn looks_like_reference_file(_bytes: &[u8]) -> bool {
    false
}

pub(crate) fn decode_reference_file(_bytes: &[u8]) -> Result<Vec<ReferenceGroup>, ImportError> {
    Err(ImportError)
}

#[derive(Debug)]
pub(crate) struct ReferenceGroup {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) families: Vec<ReferenceFamily>,
}

#[derive(Debug)]
pub(crate) struct ReferenceFamily {
    pub(crate) pushed_at: SystemTime,
    pub(crate) family: cairn_expfmt::MetricFamily,
}

#[derive(Debug)]
pub(crate) struct ImportError;

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("placeholder")
    }
}
