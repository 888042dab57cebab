//! The write-ahead log: records appended in the store's order, made durable in batches by
//! one syncer thread (group commit: the changes appended while one fsync runs share the
//! next), and rotated when a snapshot folds them in.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

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

/// What to call when a change is durable (or cannot be made durable).
pub(crate) type Completion = Box<dyn FnOnce(Result<(), PersistError>) + Send>;

/// The log, and the syncer thread that writes it; dropping it writes what is pending and
/// stops the thread.
#[derive(Debug)]
pub(crate) struct Log {
    shared: Arc<Shared>,
    syncer: Option<JoinHandle<()>>,
}

impl std::ops::Deref for Log {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.shared.state.lock().shutdown = true;
        self.shared.work.notify_one();
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
    }
}

/// The log's state, shared with the syncer thread.
#[derive(Debug)]
pub(crate) struct Shared {
    fs: Arc<dyn Fs>,
    paths: Paths,
    state: Mutex<State>,
    /// Signalled when something is appended or the log is dropped (the syncer waits).
    work: Condvar,
    /// Signalled when `durable` advances or the log breaks (blocking waiters wait).
    written: Condvar,
    /// The open file. Held for a whole write and fsync, so that a rotation never slips in
    /// between a batch being taken and written.
    writer: Mutex<Writer>,
    /// Failed writes, fsyncs and renames, for the front end's metrics.
    pub(crate) errors: AtomicU64,
    /// Bytes appended to the log files since start-up.
    pub(crate) bytes_written: AtomicU64,
    /// Batches written and fsynced since start-up (records per batch show how well
    /// group commit works).
    pub(crate) syncs: AtomicU64,
    /// Bytes of records in the file being appended to: what start-up replays after the
    /// snapshot once the snapshot in progress, if any, is in place. Mirrors the writer's
    /// end, for readers that must not wait behind an fsync.
    pub(crate) active_bytes: AtomicU64,
}

struct State {
    /// Framed records not yet handed to the syncer.
    pending: Vec<u8>,
    /// The sequence number of the last record appended (0: none yet).
    appended: u64,
    /// Every record up to this one is durable.
    durable: u64,
    /// Called when their change is durable: (sequence number, completion), in order.
    completions: Vec<(u64, Completion)>,
    /// The log is being dropped: the syncer writes what is pending and stops.
    shutdown: bool,
    /// A write or fsync failed: the open file's tail is unknown, so nothing more is
    /// appended to it, and changes are refused, until a snapshot starts a fresh log.
    broken: Option<String>,
    /// The sequence number the last snapshot holds.
    snapshot_lsn: u64,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("pending_bytes", &self.pending.len())
            .field("appended", &self.appended)
            .field("durable", &self.durable)
            .field("waiting", &self.completions.len())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Writer {
    file: Box<dyn FsFile>,
    active: Active,
    /// Where the next record goes: the end of the last good record.
    end: u64,
    /// The file's size: zeros from `end` on, written ahead so that appending a batch
    /// usually changes no metadata and `fdatasync` writes the data blocks alone.
    allocated: u64,
    /// How many zeros to keep ahead of `end` ([`Fs::preallocate_bytes`]).
    preallocate_bytes: u64,
}

/// Zeros to write ahead with.
static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// The most zeros written ahead with one batch. Writing the whole lead at once (megabytes
/// and a full fsync while every waiting push waits too) was the log's longest stall; a
/// step with a batch now and then costs that batch a little instead.
const WRITE_AHEAD_STEP: u64 = 256 << 10;

impl Writer {
    fn new(file: Box<dyn FsFile>, active: Active, end: u64, preallocate_bytes: u64) -> Writer {
        Writer {
            file,
            active,
            end,
            allocated: end,
            preallocate_bytes,
        }
    }

    /// Writes `batch` at the end and makes it durable. A batch usually overwrites zeros
    /// written ahead and needs only `fdatasync`. When fewer than half the zeros to keep
    /// ahead are left, the batch also writes a step of them after itself and takes a full
    /// fsync, which makes the file's new size durable with it.
    fn append_durably(&mut self, batch: &[u8]) -> io::Result<()> {
        let needed = self.end + batch.len() as u64;
        self.file.write_at(self.end, batch)?;
        let ahead = self.allocated.saturating_sub(needed);
        if ahead < self.preallocate_bytes / 2 {
            let from = self.allocated.max(needed);
            let target = from + self.preallocate_bytes.min(WRITE_AHEAD_STEP);
            let mut at = from;
            while at < target {
                let n = (target - at).min(ZEROS.len() as u64) as usize;
                self.file.write_at(at, &ZEROS[..n])?;
                at += n as u64;
            }
            self.file.sync()?;
            self.allocated = target;
        } else {
            self.file.sync_data()?;
        }
        self.end = needed;
        Ok(())
    }

    /// Starts appending to another file, empty after its header.
    fn switch(&mut self, file: Box<dyn FsFile>, active: Active) {
        let preallocate_bytes = self.preallocate_bytes;
        *self = Writer::new(
            file,
            active,
            super::format::LOG_HEADER_BYTES as u64,
            preallocate_bytes,
        );
    }
}

impl Log {
    /// A log appending to `file` (already positioned after its last good record), whose
    /// last record has sequence number `lsn`, all of it durable and `snapshot_lsn` of it in
    /// the snapshot. Starts the syncer thread.
    pub(crate) fn new(
        fs: Arc<dyn Fs>,
        paths: Paths,
        (file, end): (Box<dyn FsFile>, u64),
        active: Active,
        lsn: u64,
        snapshot_lsn: u64,
    ) -> io::Result<Log> {
        let preallocate_bytes = fs.preallocate_bytes();
        let shared = Arc::new(Shared {
            fs,
            paths,
            state: Mutex::new(State {
                pending: Vec::new(),
                appended: lsn,
                durable: lsn,
                completions: Vec::new(),
                shutdown: false,
                broken: None,
                snapshot_lsn,
            }),
            work: Condvar::new(),
            written: Condvar::new(),
            writer: Mutex::new(Writer::new(file, active, end, preallocate_bytes)),
            errors: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            active_bytes: AtomicU64::new(0),
        });
        shared.note_end(&shared.writer.lock());
        let syncing = shared.clone();
        let syncer = std::thread::Builder::new()
            .name("cairn-log-sync".to_owned())
            .spawn(move || syncing.sync_loop())?;
        Ok(Log {
            shared,
            syncer: Some(syncer),
        })
    }
}

impl Log {
    /// The state shared with the syncer, for waiting on a change after the store's lock is
    /// released.
    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}

impl Shared {
    /// The syncer thread: waits for appended records, writes and fsyncs them as one batch,
    /// and completes their waiters; what is appended meanwhile waits for the next batch.
    fn sync_loop(&self) {
        let mut state = self.state.lock();
        loop {
            while state.pending.is_empty() && !state.shutdown {
                self.work.wait(&mut state);
            }
            if state.pending.is_empty() {
                return;
            }
            drop(state);
            // The writer first, as a rotation takes it: a batch is never taken from
            // `pending` and written to a file the rotation has already switched away from.
            let mut writer = self.writer.lock();
            state = self.state.lock();
            let batch = std::mem::take(&mut state.pending);
            let upto = state.appended;
            if batch.is_empty() || state.broken.is_some() {
                // Taken by a rotation, or not to be written to a broken file: the
                // snapshot that recovers it holds these changes.
                continue;
            }
            drop(state);
            let result = writer.append_durably(&batch);
            state = self.state.lock();
            match result {
                Ok(()) => {
                    self.bytes_written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    self.syncs.fetch_add(1, Ordering::Relaxed);
                    self.note_end(&writer);
                    state.durable = state.durable.max(upto);
                }
                Err(e) => self.break_log(&mut state, &e),
            }
            drop(writer);
            let done = self.take_completed(&mut state);
            drop(state);
            self.written.notify_all();
            self.complete(done);
            state = self.state.lock();
        }
    }

    /// The completions whose change is now durable, or all of them if the log broke.
    fn take_completed(&self, state: &mut State) -> Vec<(Completion, Result<(), PersistError>)> {
        let durable = state.durable;
        let broken = state.broken.clone();
        let mut done = Vec::new();
        let mut i = 0;
        while i < state.completions.len() {
            let lsn = state.completions[i].0;
            let result = if lsn <= durable {
                Some(Ok(()))
            } else {
                broken.as_ref().map(|reason| {
                    Err(PersistError::LogBroken {
                        reason: reason.clone(),
                    })
                })
            };
            match result {
                Some(result) => done.push((state.completions.swap_remove(i).1, result)),
                None => i += 1,
            }
        }
        done
    }

    fn complete(&self, done: Vec<(Completion, Result<(), PersistError>)>) {
        for (completion, result) in done {
            completion(result);
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
        drop(state);
        self.work.notify_one();
        lsn
    }

    /// Waits until record `lsn` is durable.
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
            self.written.wait(&mut state);
        }
    }

    /// Calls `completion` once record `lsn` is durable (at once if it is), or with the
    /// error if the log breaks first. It runs on the syncer thread: it must be quick.
    pub(crate) fn on_durable(&self, lsn: u64, completion: Completion) {
        let mut state = self.state.lock();
        let now = if state.durable >= lsn {
            Some(Ok(()))
        } else {
            state.broken.as_ref().map(|reason| {
                Err(PersistError::LogBroken {
                    reason: reason.clone(),
                })
            })
        };
        match now {
            Some(result) => {
                drop(state);
                completion(result);
            }
            None => state.completions.push((lsn, completion)),
        }
    }

    /// Records where the writer's file ends (called under the writer's lock, after the
    /// end moved).
    fn note_end(&self, writer: &Writer) {
        let records = writer
            .end
            .saturating_sub(super::format::LOG_HEADER_BYTES as u64);
        self.active_bytes.store(records, Ordering::Relaxed);
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
    pub(crate) fn create_log_file(
        &self,
        target: &std::path::Path,
    ) -> io::Result<(Box<dyn FsFile>, u64)> {
        create_log_file(self.fs.as_ref(), &self.paths, target)
    }

    /// Starts appending to `next` (an empty `<file>.wal.next` just created) after writing
    /// and fsyncing what is pending for the current file. Called under the store's read
    /// lock, so no change is appended meanwhile; returns the sequence number of the last
    /// change, which the snapshot taken under the same lock holds.
    ///
    /// If the current file cannot be written the log breaks, and the snapshot goes on: it
    /// holds every change, and finishing it starts a fresh log.
    pub(crate) fn switch_to_next(&self, (next, _): (Box<dyn FsFile>, u64)) -> u64 {
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
            writer.append_durably(&batch)
        };
        match result {
            Ok(()) => {
                self.bytes_written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                if !batch.is_empty() {
                    self.syncs.fetch_add(1, Ordering::Relaxed);
                }
                state.durable = state.appended;
                writer.switch(next, Active::Next);
                self.note_end(&writer);
            }
            Err(e) => self.break_log(&mut state, &e),
        }
        let lsn = state.appended;
        let done = self.take_completed(&mut state);
        drop(state);
        drop(writer);
        self.written.notify_all();
        self.complete(done);
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
        if broken_at_capture {
            let mut writer = self.writer.lock();
            // Changes were refused since the log broke, so the snapshot holds every change
            // and the logs hold nothing it lacks.
            let (file, _) = create_log_file(self.fs.as_ref(), &self.paths, &self.paths.log)?;
            self.fs.remove(&self.paths.next_log)?;
            self.fs.sync_dir(&self.paths.dir)?;
            writer.switch(file, Active::Main);
            self.note_end(&writer);
            let mut state = self.state.lock();
            if state.appended == lsn {
                state.pending.clear();
                state.durable = lsn;
                state.broken = None;
            }
            state.snapshot_lsn = lsn;
        } else {
            // Not under the writer's lock: appends go on meanwhile, to the open `.next`
            // whatever its name, while the rename frees the old log's blocks (40-55 ms
            // for 120 MB, which pushes waited for when the lock was held). Only
            // snapshots, one at a time, change which file is active.
            if self.active() == Active::Next {
                // The rename is what retires the old log: until it is durable, start-up
                // replays both files and skips what the snapshot holds.
                self.fs.rename(&self.paths.next_log, &self.paths.log)?;
                // Renamed: a retry must not rename again. If the directory's fsync fails,
                // start-up may still find `.next`, and reads it after `.wal` all the same.
                self.writer.lock().active = Active::Main;
                self.fs.sync_dir(&self.paths.dir)?;
            }
            self.state.lock().snapshot_lsn = lsn;
        }
        self.written.notify_all();
        Ok(())
    }
}

/// Creates an empty log at `target` atomically (see [`Log::create_log_file`]); returns it
/// and where its first record goes.
pub(crate) fn create_log_file(
    fs: &dyn Fs,
    paths: &Paths,
    target: &std::path::Path,
) -> io::Result<(Box<dyn FsFile>, u64)> {
    // Written under a temp name first, so that `target` never exists without its header.
    let mut file = fs.create(&paths.log_temp)?;
    let header = log_header();
    file.write_all(&header)?;
    // The header must be on disk before the name points to it.
    file.sync()?;
    fs.rename(&paths.log_temp, target)?;
    // The new name must be durable before records appended to it are acknowledged.
    fs.sync_dir(&paths.dir)?;
    Ok((file, header.len() as u64))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Active, WRITE_AHEAD_STEP, Writer};
    use crate::persist::io::{FaultFs, Fs};

    #[test]
    fn zeros_are_written_ahead_a_step_at_a_time_right_after_the_last_batch() {
        let fs = FaultFs::new();
        let path = Path::new("/log");
        let lead = 4 * WRITE_AHEAD_STEP;
        let mut writer = Writer::new(fs.create(path).unwrap(), Active::Main, 0, lead);
        let mut written = 0usize;
        let mut steps = 0;
        let mut previous_len = 0;
        // Batches of every size up to past a whole lead, so that one does not fit at all.
        for (i, size) in [1000usize, 70_000, 3, 5 * WRITE_AHEAD_STEP as usize, 12]
            .into_iter()
            .cycle()
            .take(60)
            .enumerate()
        {
            let batch = vec![1 + (i % 200) as u8; size];
            writer.append_durably(&batch).unwrap();
            written += size;
            let file = fs.contents(path).unwrap();
            assert_eq!(file.len() as u64, writer.allocated);
            assert!(
                file[..written].iter().all(|&b| b != 0),
                "batch {i} in place"
            );
            assert!(
                file[written..].iter().all(|&b| b == 0),
                "zeros after batch {i}"
            );
            // Never more than one step of zeros past the batch at once.
            let grown = file.len().saturating_sub(previous_len.max(written));
            assert!(
                grown as u64 <= WRITE_AHEAD_STEP,
                "batch {i} wrote {grown} zeros"
            );
            steps += usize::from(file.len() > previous_len.max(written));
            previous_len = file.len();
        }
        assert!(steps > 4, "zeros were written ahead {steps} times");
    }
}
