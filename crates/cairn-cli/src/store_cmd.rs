//! `cairn store verify|inspect|dump FILE`: offline tools on a persistence file. They only
//! read, so they are safe on a copy of the files of a running gateway.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cairn::persist::{Files, PersistOptions, SnapshotFormat};
use cairn::{Consistency, NameScheme, ScrapeFormat, Store, StoreConfig};

/// What to do with the file.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum StoreCommand {
    /// Check that the snapshot and its log load; exit 0 if they do, 1 if not.
    Verify {
        /// The persistence file (`--persistence.file`); its `.wal` is read too.
        file: PathBuf,
    },
    /// Say what the files hold: format, groups, families, series, sizes.
    Inspect {
        /// The persistence file (`--persistence.file`); its `.wal` is read too.
        file: PathBuf,
    },
    /// Print what the files hold as text exposition.
    Dump {
        /// The persistence file (`--persistence.file`); its `.wal` is read too.
        file: PathBuf,
    },
}

pub(crate) fn run(command: StoreCommand) -> anyhow::Result<ExitCode> {
    let file = match &command {
        StoreCommand::Verify { file }
        | StoreCommand::Inspect { file }
        | StoreCommand::Dump { file } => file.clone(),
    };
    if !file.exists() && !wal(&file).exists() {
        anyhow::bail!(
            "{}: no such file (nor {})",
            file.display(),
            wal(&file).display()
        );
    }
    // Read as stored: names the gateway accepted, unchecked, so that nothing it holds is
    // refused here.
    let config = StoreConfig {
        consistency: Consistency::Unchecked,
        name_scheme: NameScheme::Utf8,
        ..StoreConfig::default()
    };
    let loaded = Store::inspect(config, PersistOptions::new(&file));
    match command {
        StoreCommand::Verify { .. } => {
            let (store, files) = match loaded {
                Ok(loaded) => loaded,
                Err(e) => {
                    eprintln!("FAILED: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            if let Some(damage) = &files.damage {
                eprintln!(
                    "FAILED: {damage}; start-up would replay the log up to there and cut the rest"
                );
                return Ok(ExitCode::FAILURE);
            }
            println!("ok: {}", summary(&store));
            if files.torn_bytes > 0 {
                println!(
                    "note: the log ends in a torn write of {} bytes (a crash cut it short); \
                     start-up cuts it",
                    files.torn_bytes
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Inspect { .. } => {
            let (store, files) = loaded.with_context(|| format!("reading {}", file.display()))?;
            print!("{}", describe(&file, &store, &files));
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Dump { .. } => {
            let (store, _) = loaded.with_context(|| format!("reading {}", file.display()))?;
            let mut out = Vec::new();
            store
                .render(ScrapeFormat::Text, &mut out)
                .context("the stored groups do not form a valid exposition")?;
            std::io::stdout().lock().write_all(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn wal(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".wal");
    PathBuf::from(name)
}

fn summary(store: &Store) -> String {
    let families: usize = store.groups().iter().map(|g| g.families().count()).sum();
    format!(
        "{} groups, {} families, {} series",
        store.group_count(),
        families,
        store.series_count()
    )
}

fn describe(file: &Path, store: &Store, files: &Files) -> String {
    let mut out = format!("file:      {}\n", file.display());
    let format = match files.snapshot_format {
        Some(SnapshotFormat::Cairn { version }) => {
            format!("cairn snapshot, format version {version}")
        }
        Some(SnapshotFormat::Reference) => {
            "reference Pushgateway file (Go gob); cairn imports it at start-up".to_owned()
        }
        None => "no snapshot (log only)".to_owned(),
    };
    out += &format!("format:    {format}\n");
    match files.snapshot_format {
        Some(SnapshotFormat::Cairn { .. }) => {
            let written = files
                .snapshot_written_at
                .map(|t| format!(", written {}", cairn_http::rfc3339_nano(t)))
                .unwrap_or_default();
            out += &format!(
                "snapshot:  {} bytes{written}, holds changes up to {}\n",
                files.snapshot_bytes, files.snapshot_lsn
            );
        }
        Some(SnapshotFormat::Reference) => {
            out += &format!("snapshot:  {} bytes\n", files.snapshot_bytes);
        }
        None => {}
    }
    for (log, bytes) in &files.logs {
        out += &format!("log:       {} ({bytes} bytes)\n", log.display());
    }
    out += &format!(
        "changes:   {} after the snapshot (last {})\n",
        files.last_lsn - files.snapshot_lsn.min(files.last_lsn),
        files.last_lsn
    );
    if files.torn_bytes > 0 {
        out += &format!("torn tail: {} bytes (cut at start-up)\n", files.torn_bytes);
    }
    if let Some(damage) = &files.damage {
        out += &format!("damaged:   {damage}\n");
    }
    out += &format!("holds:     {}\n", summary(store));
    out
}
