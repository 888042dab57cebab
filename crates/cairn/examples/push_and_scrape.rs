//! Pushes a text exposition read from stdin to the group named on the command line and
//! prints the store's scrape: the engine used as a library, no HTTP.
//!
//! `printf 'rows_copied 12\n' | cargo run -p cairn --example push_and_scrape -- job/nightly/instance/db1`

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use cairn::{GroupingKey, NameScheme, PushMode, ScrapeFormat, Store, StoreConfig};

fn main() -> ExitCode {
    let tail = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "job/example".to_owned());
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut body) {
        eprintln!("reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    let store = Store::new(StoreConfig::default());
    let result = GroupingKey::from_path(tail.as_bytes(), NameScheme::Legacy)
        .map_err(|e| e.to_string())
        .and_then(|key| {
            let families =
                cairn::parse_text(&body, NameScheme::Legacy).map_err(|e| e.to_string())?;
            store
                .push(key, PushMode::Replace, families, SystemTime::now())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        eprintln!("push rejected: {e}");
        return ExitCode::FAILURE;
    }
    let mut out = Vec::new();
    if let Err(e) = store.render(ScrapeFormat::Text, &mut out) {
        eprintln!("scrape failed: {e}");
        return ExitCode::FAILURE;
    }
    let _ = std::io::stdout().write_all(&out);
    ExitCode::SUCCESS
}
