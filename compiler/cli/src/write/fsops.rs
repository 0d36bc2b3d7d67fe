//! File-system operations relative to an open directory that never follow a symbolic link.
//!
//! Every path below the output directory is opened one component at a time with
//! `O_NOFOLLOW` (directories with `O_DIRECTORY` too), so a link planted anywhere below it —
//! a directory, a file, a temporary — is seen as a link and refused, never written through,
//! and a link swapped in between a check and a write makes the write fail instead of
//! landing outside. The output directory itself may be a link (an out dir on another disk).

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};
use std::io::{self, Read as _};
use std::os::fd::OwnedFd;
use std::path::Path;

/// An open directory.
#[derive(Debug)]
pub struct Dir(OwnedFd);

/// What a name in a directory is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Absent,
    File {
        size: u64,
    },
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Special,
}

impl Entry {
    pub fn describe(self) -> &'static str {
        match self {
            Entry::Absent => "missing",
            Entry::File { .. } => "a file",
            Entry::Dir => "a directory",
            Entry::Symlink => "a symbolic link",
            Entry::Special => "a special file (FIFO, socket or device)",
        }
    }
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

fn no_mode() -> Mode {
    Mode::empty()
}

impl Dir {
    /// Open the directory at `path` (following links in `path` itself).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Ok(Dir(rustix::fs::open(path, flags, no_mode())?))
    }

    /// What `name` is, without following a link.
    pub fn entry(&self, name: &str) -> io::Result<Entry> {
        match rustix::fs::statat(&self.0, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => Entry::File {
                    size: st.st_size as u64,
                },
                FileType::Directory => Entry::Dir,
                FileType::Symlink => Entry::Symlink,
                _ => Entry::Special,
            }),
            Err(rustix::io::Errno::NOENT) => Ok(Entry::Absent),
            Err(e) => Err(e.into()),
        }
    }

    /// The subdirectory `name`; an error if it is a link or not a directory.
    pub fn open_dir(&self, name: &str) -> io::Result<Dir> {
        Ok(Dir(rustix::fs::openat(
            &self.0,
            name,
            DIR_FLAGS,
            no_mode(),
        )?))
    }

    /// Create the subdirectory `name`.
    pub fn make_dir(&self, name: &str, mode: u32) -> io::Result<()> {
        Ok(rustix::fs::mkdirat(
            &self.0,
            name,
            Mode::from_raw_mode(mode),
        )?)
    }

    /// The whole content of the regular file `name`, if it is one of at most `limit` bytes.
    pub fn read_file(&self, name: &str, limit: u64) -> io::Result<Vec<u8>> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = rustix::fs::openat(&self.0, name, flags, no_mode())?;
        let st = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(io::Error::other("not a regular file"));
        }
        if st.st_size as u64 > limit {
            return Err(io::Error::other("larger than expected"));
        }
        let mut bytes = Vec::with_capacity(st.st_size as usize);
        std::fs::File::from(fd)
            .take(limit + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Err(io::Error::other("larger than expected"));
        }
        Ok(bytes)
    }

    /// Create the file `name`, which must not exist (not even as a dangling link).
    pub fn create_new(&self, name: &str, mode: u32) -> io::Result<std::fs::File> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.0, name, flags, Mode::from_raw_mode(mode))?;
        Ok(std::fs::File::from(fd))
    }

    /// Open (creating it if needed) the lock file `name` and lock it, shared or exclusive,
    /// without waiting. `Ok(None)`: another process holds the lock. A read-only directory
    /// falls back to an existing lock file opened for reading, or to no lock at all.
    pub fn lock(&self, name: &str, exclusive: bool) -> io::Result<Option<Option<OwnedFd>>> {
        let rw = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(&self.0, name, rw, Mode::from_raw_mode(0o644)) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::ROFS | rustix::io::Errno::ACCESS | rustix::io::Errno::PERM) => {
                let ro = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                match rustix::fs::openat(&self.0, name, ro, no_mode()) {
                    Ok(fd) => fd,
                    // Nothing can be written here, so no build can be writing here either.
                    Err(rustix::io::Errno::NOENT) => return Ok(Some(None)),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let op = if exclusive {
            FlockOperation::NonBlockingLockExclusive
        } else {
            FlockOperation::NonBlockingLockShared
        };
        match rustix::fs::flock(&fd, op) {
            Ok(()) => Ok(Some(Some(fd))),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Rename `from` in this directory to `to` in `dir`, replacing a file there.
    pub fn rename_to(&self, from: &str, dir: &Dir, to: &str) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.0, from, &dir.0, to)?)
    }

    pub fn remove_file(&self, name: &str) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.0, name, AtFlags::empty())?)
    }

    /// Remove the subdirectory `name` if it is empty.
    pub fn remove_dir(&self, name: &str) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.0, name, AtFlags::REMOVEDIR)?)
    }

    /// The names in this directory with what they are (`.` and `..` left out).
    pub fn list(&self) -> io::Result<Vec<(String, Entry)>> {
        let mut out = Vec::new();
        for e in rustix::fs::Dir::read_from(&self.0)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            let kind = self.entry(&name)?;
            out.push((name, kind));
        }
        out.sort();
        Ok(out)
    }

    /// Flush every file written so far on this directory's file system, in one call.
    #[cfg(target_os = "linux")]
    pub fn sync_file_system(&self) -> io::Result<()> {
        Ok(rustix::fs::syncfs(&self.0)?)
    }

    #[cfg(not(target_os = "linux"))]
    pub fn sync_file_system(&self) -> io::Result<()> {
        Ok(rustix::fs::sync())
    }
}

/// Walk `rel` (a `/`-separated directory path, `""` for the root itself) below `root`, one
/// component at a time. `Ok(None)`: a component does not exist. `Err((prefix, entry))`: the
/// component `prefix` exists but is not a directory sparkc may enter (`entry` says what it is).
pub fn walk(root: &Dir, rel: &str) -> Result<Option<Dir>, Blocked> {
    let mut dir: Option<Dir> = None;
    let mut prefix = String::new();
    for comp in rel.split('/').filter(|c| !c.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(comp);
        let at = dir.as_ref().unwrap_or(root);
        match at.entry(comp) {
            Ok(Entry::Dir) => {}
            Ok(Entry::Absent) => return Ok(None),
            Ok(other) => return Err(Blocked::Entry(prefix, other)),
            Err(e) => return Err(Blocked::Io(prefix, e.to_string())),
        }
        match at.open_dir(comp) {
            Ok(d) => dir = Some(d),
            // Swapped for something else between the look and the open.
            Err(e) => return Err(Blocked::Io(prefix, e.to_string())),
        }
    }
    match dir {
        Some(d) => Ok(Some(d)),
        None => match root.open_dir(".") {
            Ok(d) => Ok(Some(d)),
            Err(e) => Err(Blocked::Io(String::new(), e.to_string())),
        },
    }
}

/// Why a path below the output directory cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Blocked {
    /// The component at this path is this kind of entry where a directory is needed.
    Entry(String, Entry),
    Io(String, String),
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.describe().cmp(other.describe())
    }
}

/// A name nobody can guess for a temporary directory: 64 bits from the standard library's
/// randomly keyed hasher (seeded from the operating system), the process id and the clock.
pub fn unpredictable_name(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{prefix}{:016x}", h.finish())
}
