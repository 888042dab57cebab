//! The I/O seam: every file operation persistence makes goes through [`Fs`], so that tests
//! can fail or crash each step ([`FaultFs`]) and the real file system is one implementation
//! ([`RealFs`]).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

/// The file operations persistence needs. Paths name files in one directory.
pub trait Fs: Send + Sync + fmt::Debug {
    /// The whole file, or `None` if it does not exist.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Whether a file exists.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Creates `path` empty (truncating an existing file) for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Opens an existing file for appending at its end.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Renames `from` over `to`, atomically replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file; a missing file is not an error.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// How much zeroed space the log keeps ahead of its end.
    fn preallocate_bytes(&self) -> u64 {
        8 << 20
    }
}

/// A file open for writing.
pub trait FsFile: Send + fmt::Debug {
    /// Appends `buf` at the current end.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Writes `buf` at `offset`, over what is there or past the end (a gap reads as
    /// zeros).
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()>;
    /// Cuts the file to `len` bytes; later appends go after them.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// Makes the file's content and metadata durable (`fsync`).
    fn sync(&mut self) -> io::Result<()>;
    /// Makes the file's content durable (`fdatasync`): enough when the size did not change.
    fn sync_data(&mut self) -> io::Result<()>;
}

/// The operating system's file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // The data is the users' metrics: readable by the gateway's user only, as the
        // reference's files are.
        #[cfg(unix)]
        options.mode(0o600);
        Ok(Box::new(RealFile(options.open(path)?)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let mut file = OpenOptions::new().write(true).open(path)?;
        file.seek(SeekFrom::End(0))?;
        Ok(Box::new(RealFile(file)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // On Unix a directory is opened read-only and fsynced like a file; that is what
        // makes a rename or creation survive a power loss.
        #[cfg(unix)]
        {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            File::open(dir)?.sync_all()
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            Ok(())
        }
    }
}

#[derive(Debug)]
struct RealFile(File);

impl FsFile for RealFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        Write::write_all(&mut self.0, buf)
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::write_all_at(&self.0, buf, offset)
        }
        #[cfg(not(unix))]
        {
            let end = self.0.stream_position()?;
            self.0.seek(SeekFrom::Start(offset))?;
            Write::write_all(&mut self.0, buf)?;
            self.0.seek(SeekFrom::Start(end))?;
            Ok(())
        }
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)?;
        self.0.seek(SeekFrom::Start(len))?;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_all()
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

/// An in-memory file system that models what survives a crash, for tests.
///
/// Each file has its current content and its durable content (as of its last
/// [`FsFile::sync`]); the directory has its current entries and its durable entries (as of
/// the last [`Fs::sync_dir`]). [`FaultFs::crash`] throws away what was not made durable,
/// optionally keeping some unsynced bytes to model torn writes. Faults: from a chosen
/// operation on, every mutating operation fails (the process is as good as dead), or one
/// chosen operation fails once (a transient error such as a full disk).
#[derive(Clone, Debug, Default)]
pub struct FaultFs {
    state: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default)]
struct FaultState {
    files: Vec<Inode>,
    dir: BTreeMap<PathBuf, usize>,
    durable_dir: BTreeMap<PathBuf, usize>,
    /// Mutating operations performed so far (failed ones included).
    ops: u64,
    fail: Option<Fault>,
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Every mutating operation from this one on fails.
    From(u64),
    /// This one operation fails; later ones succeed.
    Once(u64),
}

#[derive(Debug, Default, Clone)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
}

/// What a crash keeps of the writes that were not made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKeeps {
    /// Nothing: files revert to their last sync, the directory to its last sync.
    Nothing,
    /// Everything written and every directory change (as if the OS flushed all).
    Everything,
    /// For each file, its durable content plus this many of the bytes appended after it
    /// (a torn write); directory changes are lost.
    TornTail(usize),
}

impl FaultFs {
    /// An empty file system with no faults.
    pub fn new() -> FaultFs {
        FaultFs::default()
    }

    /// Makes the `n`th mutating operation (counting from 0, from now) and every one after
    /// it fail.
    pub fn fail_from(&self, n: u64) {
        let mut s = self.state.lock();
        s.fail = Some(Fault::From(s.ops + n));
    }

    /// Makes the `n`th mutating operation from now fail, once.
    pub fn fail_once(&self, n: u64) {
        let mut s = self.state.lock();
        s.fail = Some(Fault::Once(s.ops + n));
    }

    /// Removes any fault.
    pub fn heal(&self) {
        self.state.lock().fail = None;
    }

    /// How many mutating operations have been attempted.
    pub fn ops(&self) -> u64 {
        self.state.lock().ops
    }

    /// Simulates power loss: what was not made durable is lost as `keeps` says, and faults
    /// are cleared (the machine reboots).
    pub fn crash(&self, keeps: CrashKeeps) {
        let mut s = self.state.lock();
        s.fail = None;
        let extra = match keeps {
            CrashKeeps::Everything => {
                for inode in &mut s.files {
                    inode.durable.clone_from(&inode.data);
                }
                s.durable_dir = s.dir.clone();
                return;
            }
            CrashKeeps::Nothing => 0,
            CrashKeeps::TornTail(n) => n,
        };
        for inode in &mut s.files {
            // Writes since the last sync may have partly reached the disk: the first
            // `extra` bytes from where the content first differs from the durable one
            // (writes go out in order); a truncation that was not synced is lost whole.
            let differs_at = inode
                .data
                .iter()
                .zip(&inode.durable)
                .position(|(a, b)| a != b)
                .unwrap_or(inode.data.len().min(inode.durable.len()));
            let keep = (differs_at + extra).min(inode.data.len());
            let mut kept = inode.data[..keep].to_vec();
            if inode.durable.len() > keep {
                kept.extend_from_slice(&inode.durable[keep..]);
            }
            inode.data.clone_from(&kept);
            inode.durable = kept;
        }
        s.dir = s.durable_dir.clone();
    }

    /// The current content of a file, for tests.
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.state.lock();
        s.dir.get(path).map(|&id| s.files[id].data.clone())
    }

    /// Writes a file directly and durably, for tests that plant files.
    pub fn put(&self, path: &Path, data: &[u8]) {
        let mut s = self.state.lock();
        let id = s.files.len();
        s.files.push(Inode {
            data: data.to_vec(),
            durable: data.to_vec(),
        });
        s.dir.insert(path.to_owned(), id);
        s.durable_dir.insert(path.to_owned(), id);
    }

    /// The names in the directory, for tests.
    pub fn list(&self) -> Vec<PathBuf> {
        self.state.lock().dir.keys().cloned().collect()
    }
}

impl FaultState {
    /// Counts a mutating operation and tells whether it fails.
    fn attempt(&mut self) -> io::Result<()> {
        let n = self.ops;
        self.ops += 1;
        let fails = match self.fail {
            Some(Fault::From(from)) => n >= from,
            Some(Fault::Once(at)) => n == at,
            None => false,
        };
        if fails {
            Err(io::Error::other(format!("injected fault at operation {n}")))
        } else {
            Ok(())
        }
    }
}

impl Fs for FaultFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        Ok(self.contents(path))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(self.state.lock().dir.contains_key(path))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let mut s = self.state.lock();
        s.attempt()?;
        let id = s.files.len();
        s.files.push(Inode::default());
        s.dir.insert(path.to_owned(), id);
        Ok(Box::new(FaultFile {
            fs: self.state.clone(),
            id,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let s = self.state.lock();
        match s.dir.get(path) {
            Some(&id) => Ok(Box::new(FaultFile {
                fs: self.state.clone(),
                id,
            })),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.attempt()?;
        let id = s
            .dir
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        s.dir.insert(to.to_owned(), id);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.attempt()?;
        s.dir.remove(path);
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.attempt()?;
        s.durable_dir = s.dir.clone();
        Ok(())
    }

    /// Small, so that tests cross the end of the zeroed space often.
    fn preallocate_bytes(&self) -> u64 {
        300
    }
}

#[derive(Debug)]
struct FaultFile {
    fs: Arc<Mutex<FaultState>>,
    id: usize,
}

impl FsFile for FaultFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut s = self.fs.lock();
        if let Err(e) = s.attempt() {
            // A failing write may still have written part of the buffer (a full disk).
            let half = &buf[..buf.len() / 2];
            s.files[self.id].data.extend_from_slice(half);
            return Err(e);
        }
        s.files[self.id].data.extend_from_slice(buf);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<()> {
        let mut s = self.fs.lock();
        s.attempt()?;
        let data = &mut s.files[self.id].data;
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let end = start + buf.len();
        if end > data.len() {
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(buf);
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let mut s = self.fs.lock();
        s.attempt()?;
        let len = usize::try_from(len).map_err(io::Error::other)?;
        s.files[self.id].data.truncate(len);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut s = self.fs.lock();
        s.attempt()?;
        let inode = &mut s.files[self.id];
        inode.durable = inode.data.clone();
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.sync()
    }
}
