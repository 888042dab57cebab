//! Persistence: a snapshot file and a write-ahead log beside it, both reached only through
//! the [`Fs`] seam. The store calls in here; nothing else in the engine touches files.
//! `docs/persistence.md` describes the formats and the commit sequences.

pub(crate) mod format;
mod io;
pub(crate) mod log;
pub(crate) mod snapshot;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

pub use io::{CrashKeeps, FaultFs, Fs, FsFile, RealFs};

use format::{
    ChangeV1, FORMAT_VERSION, Framed, GroupV1, LOG_HEADER_BYTES, LOG_MAGIC, decode_item,
    log_header, read_frame,
};
use log::Active;

/// Where and how a store persists.
#[derive(Clone, Debug)]
pub struct PersistOptions {
    /// The snapshot file (`--persistence.file`); the log is this path plus `.wal`.
    pub path: PathBuf,
    /// The file system; [`RealFs`] outside tests.
    pub fs: Arc<dyn Fs>,
    /// What to do when the files cannot be read.
    pub unreadable: Unreadable,
}

impl PersistOptions {
    /// Persistence to `path` on the real file system, refusing unreadable files.
    pub fn new(path: impl Into<PathBuf>) -> PersistOptions {
        PersistOptions {
            path: path.into(),
            fs: Arc::new(RealFs),
            unreadable: Unreadable::Refuse,
        }
    }
}

/// What opening does with a snapshot or log it cannot read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Unreadable {
    /// Fail with [`OpenError::Unreadable`] and leave the files as they are (the default).
    #[default]
    Refuse,
    /// Rename the unreadable files aside (`<name>.unreadable-<unix seconds>`, never
    /// deleted) and start empty.
    SetAsideAndStartEmpty,
}

/// The files of one store, all in one directory.
#[derive(Clone, Debug)]
pub(crate) struct Paths {
    pub(crate) dir: PathBuf,
    pub(crate) snapshot: PathBuf,
    pub(crate) snapshot_temp: PathBuf,
    pub(crate) log: PathBuf,
    pub(crate) next_log: PathBuf,
    pub(crate) log_temp: PathBuf,
    /// Where a file written by the reference Pushgateway is kept after import.
    pub(crate) reference: PathBuf,
}

impl Paths {
    pub(crate) fn new(snapshot: &Path) -> Paths {
        let with = |suffix: &str| {
            let mut name = snapshot.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        Paths {
            dir: snapshot.parent().map(Path::to_owned).unwrap_or_default(),
            snapshot: snapshot.to_owned(),
            snapshot_temp: with(".tmp"),
            log: with(".wal"),
            next_log: with(".wal.next"),
            log_temp: with(".wal.tmp"),
            reference: with(".reference"),
        }
    }
}

/// What is wrong with a file that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The file does not start with the snapshot magic bytes: not a cairn snapshot.
    NotASnapshot,
    /// The file does not start with a valid log header: not a cairn log.
    NotALog,
    /// Written by a format version this build does not read.
    UnsupportedVersion {
        /// The version the file declares.
        version: u32,
    },
    /// Shorter (or longer) than its header says.
    Truncated {
        /// Bytes the header announces.
        expected_bytes: u64,
        /// Bytes the file has.
        found_bytes: u64,
    },
    /// The payload's crc32 differs from the header's.
    ChecksumMismatch {
        /// The checksum in the header.
        expected: u32,
        /// The checksum of the payload as read.
        found: u32,
    },
    /// The checksum matches but the content does not decode.
    BadPayload {
        /// What did not decode.
        reason: String,
    },
    /// The log's records do not follow the snapshot: changes in between are missing (a
    /// snapshot deleted or replaced by an older one).
    MissingChanges {
        /// The last change the snapshot (or the log before) holds.
        held: u64,
        /// The next change found.
        next: u64,
    },
    /// A reference Pushgateway file that does not decode.
    Reference {
        /// What did not decode.
        reason: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotASnapshot => f.write_str(
                "not a cairn snapshot (no CAIRNSNP magic) nor a reference Pushgateway file",
            ),
            Problem::NotALog => f.write_str("not a cairn write-ahead log (bad header)"),
            Problem::UnsupportedVersion { version } => write!(
                f,
                "format version {version}, this build reads version {FORMAT_VERSION}"
            ),
            Problem::Truncated {
                expected_bytes,
                found_bytes,
            } => write!(
                f,
                "truncated: header says {expected_bytes} bytes, file has {found_bytes}"
            ),
            Problem::ChecksumMismatch { expected, found } => write!(
                f,
                "checksum mismatch: header says {expected:#010x}, content has {found:#010x}"
            ),
            Problem::BadPayload { reason } => write!(f, "content does not decode: {reason}"),
            Problem::MissingChanges { held, next } => write!(
                f,
                "changes missing: the snapshot holds changes up to {held}, the log continues at {next}"
            ),
            Problem::Reference { reason } => {
                write!(f, "reference Pushgateway file does not decode: {reason}")
            }
        }
    }
}

/// Why a persistent store could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// A file exists but cannot be read; it was left untouched.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: Problem,
    },
    /// Reading, creating or renaming a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Unreadable { path, problem } => write!(
                f,
                "cannot read {}: {problem}; the file was left untouched",
                path.display()
            ),
            OpenError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io { source, .. } => Some(source),
            OpenError::Unreadable { .. } => None,
        }
    }
}

/// Why a change could not be made durable, or a snapshot written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersistError {
    /// A write to the log failed earlier; changes are refused until a snapshot succeeds.
    LogBroken {
        /// The failure.
        reason: String,
    },
    /// Writing a file failed.
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        reason: String,
    },
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::LogBroken { reason } => write!(
                f,
                "persistence is failing ({reason}); changes are refused until it recovers"
            ),
            PersistError::Write { path, reason } => {
                write!(f, "writing {}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for PersistError {}

/// What opening found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenReport {
    /// Groups read from the snapshot (or imported).
    pub snapshot_groups: usize,
    /// Changes replayed from the log.
    pub replayed_changes: usize,
    /// Bytes cut from the end of the log: a record torn by a crash, or damaged.
    pub truncated_bytes: u64,
    /// Where a reference Pushgateway file was moved after its groups were imported.
    pub imported_reference: Option<PathBuf>,
    /// Unreadable files renamed aside, with the reason.
    pub set_aside: Vec<(PathBuf, String)>,
}

/// The state found on disk, before the store is built from it.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    pub(crate) groups: Vec<GroupV1>,
    pub(crate) changes: Vec<ChangeV1>,
    /// The sequence number of the last change the snapshot holds.
    pub(crate) snapshot_lsn: u64,
    /// The sequence number of the last change recovered.
    pub(crate) lsn: u64,
    /// Groups of a reference Pushgateway file to import, and where the file is.
    pub(crate) reference: Option<(Vec<crate::import_gob::ReferenceGroup>, PathBuf)>,
    /// The log to continue appending to, with its good length; `None` when the files need
    /// a fresh snapshot and log before anything is appended.
    pub(crate) resume: Option<(Active, u64)>,
    pub(crate) report: OpenReport,
    /// What the files are, for `inspect`.
    pub(crate) files: Files,
}

/// What the files are, for [`crate::Store::inspect`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Files {
    /// The snapshot file's format: `None` if there is no snapshot file.
    pub snapshot_format: Option<SnapshotFormat>,
    /// The snapshot file's size.
    pub snapshot_bytes: u64,
    /// The sequence number of the last change the snapshot holds.
    pub snapshot_lsn: u64,
    /// When the snapshot was written.
    pub snapshot_written_at: Option<SystemTime>,
    /// Each log file there is, with its size.
    pub logs: Vec<(PathBuf, u64)>,
    /// The sequence number of the last change the files hold.
    pub last_lsn: u64,
    /// Bytes at the end of the last log that are a torn write (a crash cut it short):
    /// expected after a crash, cut at the next start-up.
    pub torn_bytes: u64,
    /// A record that is damaged (checksum mismatch, or does not decode): where and what.
    /// Replay stops before it.
    pub damage: Option<String>,
}

/// Who wrote a snapshot file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotFormat {
    /// cairn, in this format version.
    Cairn {
        /// The format version.
        version: u32,
    },
    /// The reference Pushgateway (Go gob).
    Reference,
}

/// Reads what the files hold. On an unreadable file, fails or sets the files aside as
/// `unreadable` says.
pub(crate) fn recover(
    fs: &dyn Fs,
    paths: &Paths,
    unreadable: Unreadable,
    now: SystemTime,
) -> Result<Recovered, OpenError> {
    match read_files(fs, paths) {
        Err(OpenError::Unreadable { path, problem })
            if unreadable == Unreadable::SetAsideAndStartEmpty =>
        {
            let secs = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            let mut report = OpenReport::default();
            for file in [&paths.snapshot, &paths.log, &paths.next_log] {
                if !fs.exists(file).map_err(|e| io_error(file, e))? {
                    continue;
                }
                let mut aside = file.as_os_str().to_owned();
                aside.push(format!(".unreadable-{secs}"));
                let aside = PathBuf::from(aside);
                fs.rename(file, &aside).map_err(|e| io_error(file, e))?;
                let reason = if *file == path {
                    problem.to_string()
                } else {
                    format!("set aside with {}", path.display())
                };
                report.set_aside.push((aside, reason));
            }
            fs.sync_dir(&paths.dir)
                .map_err(|e| io_error(&paths.dir, e))?;
            Ok(Recovered {
                report,
                resume: None,
                ..Recovered::default()
            })
        }
        other => other,
    }
}

fn io_error(path: &Path, source: std::io::Error) -> OpenError {
    OpenError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_files(fs: &dyn Fs, paths: &Paths) -> Result<Recovered, OpenError> {
    let read = |path: &Path| fs.read(path).map_err(|e| io_error(path, e));
    let unreadable = |path: &Path, problem: Problem| OpenError::Unreadable {
        path: path.to_owned(),
        problem,
    };
    let mut recovered = Recovered::default();
    let snapshot_bytes = read(&paths.snapshot)?;
    let has_logs = fs.exists(&paths.log).map_err(|e| io_error(&paths.log, e))?
        || fs
            .exists(&paths.next_log)
            .map_err(|e| io_error(&paths.next_log, e))?;
    // A reference Pushgateway's file: imported whole, then the files start afresh. If the
    // snapshot is missing but the reference's file was already moved aside, an import was
    // cut short by a crash: it is done again.
    let reference = match &snapshot_bytes {
        Some(bytes) if crate::import_gob::looks_like_reference_file(bytes) => {
            Some((bytes.clone(), paths.snapshot.clone()))
        }
        None if !has_logs => read(&paths.reference)?.map(|b| (b, paths.reference.clone())),
        _ => None,
    };
    if let Some((bytes, path)) = reference {
        let groups = crate::import_gob::decode_reference_file(&bytes).map_err(|e| {
            unreadable(
                &path,
                Problem::Reference {
                    reason: e.to_string(),
                },
            )
        })?;
        recovered.report.snapshot_groups = groups.len();
        recovered.files.snapshot_format = Some(SnapshotFormat::Reference);
        recovered.files.snapshot_bytes = bytes.len() as u64;
        recovered.reference = Some((groups, path));
        recovered.resume = None;
        return Ok(recovered);
    }
    if let Some(bytes) = &snapshot_bytes {
        let snapshot = snapshot::read(bytes).map_err(|p| unreadable(&paths.snapshot, p))?;
        recovered.snapshot_lsn = snapshot.meta.lsn;
        recovered.files.snapshot_format = Some(SnapshotFormat::Cairn {
            version: snapshot.version,
        });
        recovered.files.snapshot_bytes = bytes.len() as u64;
        recovered.files.snapshot_lsn = snapshot.meta.lsn;
        recovered.files.snapshot_written_at = Some(snapshot.meta.written_at.to_system());
        recovered.report.snapshot_groups = snapshot.groups.len();
        recovered.groups = snapshot.groups;
    }
    recovered.lsn = recovered.snapshot_lsn;
    // Both logs, in order: `.wal` then `.wal.next`. Records the snapshot holds are skipped;
    // the rest must continue the sequence without a gap. Replay stops at the first record
    // that is torn or damaged; what follows it cannot be applied.
    let mut stopped = false;
    let mut existing = Vec::new();
    for (path, active) in [(&paths.log, Active::Main), (&paths.next_log, Active::Next)] {
        let Some(bytes) = read(path)? else {
            continue;
        };
        if bytes.len() < LOG_HEADER_BYTES
            || &bytes[..LOG_MAGIC.len()] != LOG_MAGIC
            || bytes[..LOG_HEADER_BYTES] != log_header()
        {
            let version = bytes
                .get(8..12)
                .and_then(|v| v.try_into().ok())
                .map(u32::from_le_bytes);
            let problem = match version {
                Some(version) if bytes.starts_with(LOG_MAGIC) && version != FORMAT_VERSION => {
                    Problem::UnsupportedVersion { version }
                }
                _ => Problem::NotALog,
            };
            return Err(unreadable(path, problem));
        }
        let mut at = LOG_HEADER_BYTES;
        if !stopped {
            loop {
                match read_frame(&bytes[at..]) {
                    Framed::Record { lsn, payload, used } => {
                        if lsn <= recovered.lsn {
                            at += used;
                            continue;
                        }
                        if lsn != recovered.lsn + 1 {
                            return Err(unreadable(
                                path,
                                Problem::MissingChanges {
                                    held: recovered.lsn,
                                    next: lsn,
                                },
                            ));
                        }
                        let change = match decode_item::<ChangeV1>(payload) {
                            Ok((change, _)) => change,
                            Err(e) => {
                                recovered.files.damage = Some(format!(
                                    "{} at byte {at}: record {lsn} does not decode: {e}",
                                    path.display()
                                ));
                                stopped = true;
                                break;
                            }
                        };
                        recovered.changes.push(change);
                        recovered.lsn = lsn;
                        at += used;
                    }
                    Framed::End => break,
                    Framed::Torn => {
                        stopped = true;
                        break;
                    }
                    Framed::Corrupt => {
                        // A write cut short in the zeroed space ahead of the log's end is
                        // followed by zeros only: torn, not damaged.
                        if !is_last_write(&bytes[at..]) {
                            recovered.files.damage = Some(format!(
                                "{} at byte {at}: checksum mismatch",
                                path.display()
                            ));
                        }
                        stopped = true;
                        break;
                    }
                }
            }
        }
        // What follows the last good record: zeros written ahead, and maybe the remains
        // of a write cut short.
        let leftover = bytes[at..]
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        recovered.report.truncated_bytes += leftover as u64;
        recovered
            .files
            .logs
            .push((path.clone(), bytes.len() as u64));
        existing.push((active, at as u64, leftover == 0));
    }
    recovered.report.replayed_changes = recovered.changes.len();
    recovered.files.last_lsn = recovered.lsn;
    if recovered.files.damage.is_none() {
        recovered.files.torn_bytes = recovered.report.truncated_bytes;
    }
    // Continue in the last log if every earlier one was read to its end; otherwise (or with
    // no log at all) start a fresh log, after a snapshot if anything would be lost.
    recovered.resume = match existing.as_slice() {
        [] => None,
        [.., (active, good, _)] if existing[..existing.len() - 1].iter().all(|e| e.2) => {
            Some((*active, *good))
        }
        _ => None,
    };
    Ok(recovered)
}

/// Whether `frame` (from a record that does not check out to the end of the file) is a
/// write cut short: after the length it claims, only zeros follow.
fn is_last_write(frame: &[u8]) -> bool {
    let claimed = frame
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let end = format::FRAME_BYTES.saturating_add(claimed).min(frame.len());
    frame[end..].iter().all(|&b| b == 0)
}

/// Opens the log to continue in: cuts what follows its last good record (making the cut
/// durable before anything is appended after it). Returns the file and where the next
/// record goes.
pub(crate) fn resume_log(
    fs: &dyn Fs,
    paths: &Paths,
    active: Active,
    good_bytes: u64,
) -> Result<(Box<dyn FsFile>, u64), OpenError> {
    let path = match active {
        Active::Main => &paths.log,
        Active::Next => &paths.next_log,
    };
    let mut file = fs.open_append(path).map_err(|e| io_error(path, e))?;
    let len = fs
        .read(path)
        .map_err(|e| io_error(path, e))?
        .map_or(0, |b| b.len() as u64);
    if len > good_bytes {
        file.truncate(good_bytes)
            .and_then(|()| file.sync())
            .map_err(|e| io_error(path, e))?;
    }
    Ok((file, good_bytes))
}

/// Moves a reference Pushgateway file aside after its groups were imported (it stays
/// untouched under the new name), unless it already is there.
pub(crate) fn set_reference_aside(
    fs: &dyn Fs,
    paths: &Paths,
    from: &Path,
    now: SystemTime,
) -> Result<PathBuf, OpenError> {
    if from == paths.reference {
        return Ok(from.to_owned());
    }
    let mut aside = paths.reference.clone();
    if fs.exists(&aside).map_err(|e| io_error(&aside, e))? {
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut name = aside.into_os_string();
        name.push(format!("-{secs}"));
        aside = PathBuf::from(name);
    }
    fs.rename(from, &aside).map_err(|e| io_error(from, e))?;
    fs.sync_dir(&paths.dir)
        .map_err(|e| io_error(&paths.dir, e))?;
    Ok(aside)
}
