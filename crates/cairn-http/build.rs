//! Build information for `/api/v1/status` and `pushgateway_build_info`, handed to the crate
//! as `CAIRN_*` compile-time variables. Every source is optional: a value set in the
//! environment wins, then what git and rustc say, and a build without git still succeeds
//! (the value is then `unknown`).

use std::path::Path;
use std::process::Command;

/// Variables a release build may set (`CAIRN_GIT_REVISION=$(git rev-parse HEAD) cargo build`).
const PASSED_THROUGH: [&str; 5] = [
    "CAIRN_GIT_REVISION",
    "CAIRN_GIT_BRANCH",
    "CAIRN_BUILD_USER",
    "CAIRN_BUILD_DATE",
    "SOURCE_DATE_EPOCH",
];

fn main() {
    for name in PASSED_THROUGH {
        println!("cargo:rerun-if-env-changed={name}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    if std::env::var_os("CAIRN_GIT_REVISION").is_none() {
        let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
        println!("cargo:rustc-env=CAIRN_GIT_REVISION={revision}");
    }
    if std::env::var_os("CAIRN_GIT_BRANCH").is_none() {
        let branch =
            git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
        println!("cargo:rustc-env=CAIRN_GIT_BRANCH={branch}");
    }
    if std::env::var_os("CAIRN_BUILD_DATE").is_none() {
        if let Some(date) = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .map(promu_date)
        {
            println!("cargo:rustc-env=CAIRN_BUILD_DATE={date}");
        }
    }
    // Rebuild when HEAD moves: HEAD itself (a branch switch) and the branch's ref, loose
    // or packed. Only existing files are named: cargo reruns a script on every build when a
    // named file is missing.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name]) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rust_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        // `rustc 1.89.0 (29483883e 2025-08-04)` -> `rustc 1.89.0`.
        .map(|v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CAIRN_RUST_VERSION={rust_version}");
}

/// The first line git prints for `args`, if git is there and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let line = String::from_utf8(output.stdout).ok()?;
    let line = line.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

/// Unix seconds as promu writes a build date: `20060102-15:04:05` (UTC).
fn promu_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
