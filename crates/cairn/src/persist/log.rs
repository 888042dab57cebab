//! The write-ahead log: records appended in the store's order, made durable in batches
//! (group commit: concurrent changes share one fsync), and rotated when a snapshot folds
//! them in.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use super::format::{Payload, log_header};
use super::io::{Fs, FsFile};
use super::{Paths, PersistError};

/// Which log file changes are appended to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Active {
    /// `<file>.wal`, the log that follows the snapshot.
    Main,
    /// `<file>.wal.next`, started by a snapshot that has not finished yet.
    Next,
}

/// The log: what is appended but not yet written, what is durable, and the open file.
#[derive(Debug)]
pub(crate) struct Log {
    fs: Arc<dyn Fs>,
    paths: Paths,
    state: Mutex<State>,
    /// Signalled when `durable` advances or the log breaks.
    written: Condvar,
    /// The open file. Held for a whole write and fsync, so that a rotation never slips in
    /// between a batch being taken and written.
    writer: Mutex<Writer>,
    /// Failed writes, fsyncs and renames, for the front end's metrics.
    pub(crate) errors: AtomicU64,
    /// Bytes appended to the log files since start-up.
    pub(crate) bytes_written: AtomicU64,
}

#[derive(Debug)]
struct State {
    /// Framed records not yet handed to a writer.
    pending: Vec<u8>,
    /// The sequence number of the last record appended (0: none yet).
    appended: u64,
    /// Every record up to this one is durable.
    durable: u64,
    /// A thread is writing a batch; others wait for it.
    leader: bool,
    /// A write or fsync failed: the open file's tail is unknown, so nothing more is
    /// appended to it, and changes are refused, until a snapshot starts a fresh log.
    broken: Option<String>,
    /// The sequence number the last snapshot holds.
    snapshot_lsn: u64,
}

#[derive(Debug)]
struct Writer {
    file: Box<dyn FsFile>,
    active: Active,
}

impl Log {
    /// A log appending to `file` (already positioned after its last good record), whose
    /// last record has sequence number `lsn`, all of it durable and `snapshot_lsn` of it in
    /// the snapshot.
    pub(crate) fn new(
        fs: Arc<dyn Fs>,
        paths: Paths,
        file: Box<dyn FsFile>,
        active: Active,
        lsn: u64,
        snapshot_lsn: u64,
    ) -> Log {
        Log {
            fs,
            paths,
            state: Mutex::new(State {
                pending: Vec::new(),
                appended: lsn,
                durable: lsn,
                leader: false,
                broken: None,
                snapshot_lsn,
            }),
            written: Condvar::new(),
            writer: Mutex::new(Writer { file, active }),
            errors: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
        }
    }

    /// Whether changes can be made: refused while the log is broken. Called under the
    /// store's write lock before changing anything.
    pub(crate) fn accepting(&self) -> Result<(), PersistError> {
        match &self.state.lock().broken {
            None => Ok(()),
            Some(reason) => Err(PersistError::LogBroken {
                reason: reason.clone(),
            }),
        }
    }

    /// Appends a change; returns its sequence number. Called under the store's write lock,
    /// so records are numbered in the order the store applied them.
    pub(crate) fn append(&self, payload: Payload) -> u64 {
        let mut state = self.state.lock();
        state.appended += 1;
        let lsn = state.appended;
        payload.frame(lsn, &mut state.pending);
        lsn
    }

    /// Waits until record `lsn` is durable. The first waiter to find no write under way
    /// writes and fsyncs everything appended so far; the others wait for it, so a burst of
    /// concurrent changes costs one fsync.
    pub(crate) fn wait_durable(&self, lsn: u64) -> Result<(), PersistError> {
        let mut state = self.state.lock();
        loop {
            if state.durable >= lsn {
                return Ok(());
            }
            if let Some(reason) = &state.broken {
                return Err(PersistError::LogBroken {
                    reason: reason.clone(),
                });
            }
            if state.leader {
                self.written.wait(&mut state);
                continue;
            }
            state.leader = true;
            drop(state);
            let mut writer = self.writer.lock();
            state = self.state.lock();
            let batch = std::mem::take(&mut state.pending);
            let upto = state.appended;
            drop(state);
            let result = if batch.is_empty() {
                Ok(())
            } else {
                writer
                    .file
                    .write_all(&batch)
                    .and_then(|()| writer.file.sync())
            };
            state = self.state.lock();
            state.leader = false;
            match result {
                Ok(()) => {
                    self.bytes_written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    state.durable = state.durable.max(upto);
                }
                Err(e) => self.break_log(&mut state, &e),
            }
            drop(writer);
            self.written.notify_all();
        }
    }

    fn break_log(&self, state: &mut State, e: &io::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if state.broken.is_none() {
            state.broken = Some(format!("writing {}: {e}", self.paths.log.display()));
        }
    }

    /// Whether something changed since the last snapshot.
    pub(crate) fn dirty(&self) -> bool {
        let state = self.state.lock();
        state.appended > state.snapshot_lsn
    }

    /// Whether the log is broken (a snapshot must start a fresh one).
    pub(crate) fn is_broken(&self) -> bool {
        self.state.lock().broken.is_some()
    }

    /// Which file is being appended to.
    pub(crate) fn active(&self) -> Active {
        self.writer.lock().active
    }

    /// Counts a failed step of a snapshot.
    pub(crate) fn count_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Creates an empty log at `target` atomically: a temp file gets the header and is
    /// fsynced, then renamed into place, and the directory fsynced, so `target` never exists
    /// half-written. Returns the file open for appending.
    pub(crate) fn create_log_file(&self, target: &std::path::Path) -> io::Result<Box<dyn FsFile>> {
        create_log_file(self.fs.as_ref(), &self.paths, target)
    }

    /// Starts appending to `next` (an empty `<file>.wal.next` just created) after writing
    /// and fsyncing what is pending for the current file. Called under the store's read
    /// lock, so no change is appended meanwhile; returns the sequence number of the last
    /// change, which the snapshot taken under the same lock holds.
    ///
    /// If the current file cannot be written the log breaks, and the snapshot goes on: it
    /// holds every change, and finishing it starts a fresh log.
    pub(crate) fn switch_to_next(&self, next: Box<dyn FsFile>) -> u64 {
        let mut writer = self.writer.lock();
        let mut state = self.state.lock();
        if state.broken.is_some() {
            // Nothing more goes to a broken file; finishing the snapshot replaces it.
            return state.appended;
        }
        let batch = std::mem::take(&mut state.pending);
        let result = if batch.is_empty() {
            Ok(())
        } else {
            writer
                .file
                .write_all(&batch)
                .and_then(|()| writer.file.sync())
        };
        match result {
            Ok(()) => {
                self.bytes_written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                state.durable = state.appended;
                writer.file = next;
                writer.active = Active::Next;
            }
            Err(e) => self.break_log(&mut state, &e),
        }
        let lsn = state.appended;
        drop(state);
        drop(writer);
        self.written.notify_all();
        lsn
    }

    /// The sequence number of the last change, for a snapshot taken under the store's read
    /// lock without switching files (the log is broken, or already appends to `.next`).
    pub(crate) fn last_lsn(&self) -> u64 {
        self.state.lock().appended
    }

    /// After a snapshot holding changes up to `lsn` was renamed into place: `.next` becomes
    /// the log (renamed over `.wal`); or, if the log was broken when the snapshot was
    /// captured, a fresh empty log replaces both and changes are accepted again.
    pub(crate) fn finish_snapshot(&self, lsn: u64, broken_at_capture: bool) -> io::Result<()> {
        let mut writer = self.writer.lock();
        if broken_at_capture {
            // Changes were refused since the log broke, so the snapshot holds every change
            // and the logs hold nothing it lacks.
            let file = create_log_file(self.fs.as_ref(), &self.paths, &self.paths.log)?;
            self.fs.remove(&self.paths.next_log)?;
            self.fs.sync_dir(&self.paths.dir)?;
            writer.file = file;
            writer.active = Active::Main;
            let mut state = self.state.lock();
            if state.appended == lsn {
                state.pending.clear();
                state.durable = lsn;
                state.broken = None;
            }
            state.snapshot_lsn = lsn;
        } else {
            if writer.active == Active::Next {
                // The rename is what retires the old log: until it is durable, start-up
                // replays both files and skips what the snapshot holds.
                self.fs.rename(&self.paths.next_log, &self.paths.log)?;
                // Renamed: a retry must not rename again. If the directory's fsync fails,
                // start-up may still find `.next`, and reads it after `.wal` all the same.
                writer.active = Active::Main;
                self.fs.sync_dir(&self.paths.dir)?;
            }
            self.state.lock().snapshot_lsn = lsn;
        }
        drop(writer);
        self.written.notify_all();
        Ok(())
    }
}

/// Creates an empty log at `target` atomically (see [`Log::create_log_file`]).
pub(crate) fn create_log_file(
    fs: &dyn Fs,
    paths: &Paths,
    target: &std::path::Path,
) -> io::Result<Box<dyn FsFile>> {
    // Written under a temp name first, so that `target` never exists without its header.
    let mut file = fs.create(&paths.log_temp)?;
    file.write_all(&log_header())?;
    // The header must be on disk before the name points to it.
    file.sync()?;
    fs.rename(&paths.log_temp, target)?;
    // The new name must be durable before records appended to it are acknowledged.
    fs.sync_dir(&paths.dir)?;
    Ok(file)
}
