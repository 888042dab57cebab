//! What the binary knows about its own build, shown by `/api/v1/status` and
//! `pushgateway_build_info`: fixed at compile time by `build.rs` from the environment, git
//! and rustc, with `unknown` for whatever was not available.

/// The crate version (`CARGO_PKG_VERSION`).
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit built (`CAIRN_GIT_REVISION`, else `git rev-parse HEAD`).
pub(crate) const REVISION: &str = or_unknown(option_env!("CAIRN_GIT_REVISION"));

/// The git branch built (`CAIRN_GIT_BRANCH`, else `git rev-parse --abbrev-ref HEAD`).
pub(crate) const BRANCH: &str = or_unknown(option_env!("CAIRN_GIT_BRANCH"));

/// Who built it (`CAIRN_BUILD_USER`, e.g. `user@host` as promu writes it).
pub(crate) const BUILD_USER: &str = or_unknown(option_env!("CAIRN_BUILD_USER"));

/// When it was built (`CAIRN_BUILD_DATE`, else `SOURCE_DATE_EPOCH` as `20060102-15:04:05`).
pub(crate) const BUILD_DATE: &str = or_unknown(option_env!("CAIRN_BUILD_DATE"));

/// The compiler, in the place of the reference's Go version (`rustc 1.89.0`).
pub(crate) const RUST_VERSION: &str = or_unknown(option_env!("CAIRN_RUST_VERSION"));

const fn or_unknown(value: Option<&'static str>) -> &'static str {
    match value {
        Some(v) if !v.is_empty() => v,
        _ => "unknown",
    }
}
