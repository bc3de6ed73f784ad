// SPDX-License-Identifier: GPL-2.0

//! debugfs directories whose files are served by Rust objects, on the
//! `kernel` crate's [`kernel::debugfs`].
//!
//! The `kernel` crate owns the plumbing: a [`kernel::debugfs::File`] keeps
//! its object alive for as long as the file exists, and removing the file
//! (dropping it) waits for reads and writes in progress and makes later ones
//! on still-open files fail with `EIO`, so no callback runs on a freed
//! object and unloading the module is safe at any moment.
//!
//! What this module adds is rcu_lab's contract for its files ([`FileOps`]):
//! every file is text; a write is 1 to [`MAX_WRITE`] bytes of UTF-8, trimmed,
//! handed to [`FileOps::write`]; anything else (a read-only file, an empty or
//! oversized write, bytes that are not UTF-8) is refused with an error code
//! and a rate-limited dmesg line that names the file.

use crate::print::pr_warn_ratelimited;
use core::fmt;
use kernel::{debugfs, prelude::*, uaccess::UserSliceReader};

/// Longest write an rcu_lab debugfs file accepts.
pub(crate) const MAX_WRITE: usize = 256;

/// The behaviour of one debugfs file.
pub(crate) trait FileOps: Send + Sync + 'static {
    /// Whether the file accepts writes.
    const WRITABLE: bool = false;

    /// Produces the file's content for a read.
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// Handles one write: `text` is the written UTF-8 text without
    /// surrounding blanks. Called only when [`FileOps::WRITABLE`] is true;
    /// an error goes back to the writer as its error code.
    fn write(&self, _text: &str) -> Result {
        Err(EPERM)
    }
}

/// A file's object with its name, as the `kernel` crate serves it.
#[pin_data]
struct Node<T> {
    name: &'static CStr,
    #[pin]
    obj: T,
}

impl<T> Node<T> {
    fn name(&self) -> &str {
        self.name.to_str().unwrap_or("?")
    }
}

impl<T: FileOps> debugfs::Writer for Node<T> {
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.obj.show(f)
    }
}

impl<T: FileOps> debugfs::Reader for Node<T> {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        if !T::WRITABLE {
            pr_warn_ratelimited!("{} is read-only\n", self.name());
            return Err(EPERM);
        }
        let len = reader.len();
        if len == 0 || len > MAX_WRITE {
            pr_warn_ratelimited!(
                "{}: write of {} bytes rejected (1..{})\n",
                self.name(),
                len,
                MAX_WRITE
            );
            return Err(EINVAL);
        }
        let mut buf = [0u8; MAX_WRITE];
        reader.read_slice(&mut buf[..len])?;
        let Ok(text) = core::str::from_utf8(&buf[..len]) else {
            pr_warn_ratelimited!("{}: write refused: not UTF-8 text\n", self.name());
            return Err(EINVAL);
        };
        self.obj.write(text.trim())
    }
}

/// A debugfs directory and the files in it, each owning its object.
///
/// Dropping it removes the files (waiting for the reads and writes in
/// progress), then the directory.
pub(crate) struct Dir {
    // Declared first, dropped first: the files go before their directory.
    // Each a `Pin<KBox<File<Node<T>>>>`, boxed once more to hide its type.
    files: KVec<KBox<dyn Send + Sync>>,
    dir: debugfs::Dir,
}

impl Dir {
    /// Creates `/sys/kernel/debug/<name>`.
    pub(crate) fn new(name: &CStr) -> Self {
        Dir {
            files: KVec::new(),
            dir: debugfs::Dir::new(name),
        }
    }

    /// Adds file `name` served by `obj`, which lives as long as the file.
    pub(crate) fn add_file<T: FileOps>(
        &mut self,
        name: &'static CStr,
        obj: impl PinInit<T, Error>,
    ) -> Result {
        self.files.reserve(1, GFP_KERNEL)?;
        let node = try_pin_init!(Node { name, obj <- obj }? Error);
        let file = KBox::pin_init(self.dir.read_write_file(name, node), GFP_KERNEL)?;
        self.files.push(KBox::new(file, GFP_KERNEL)?, GFP_KERNEL)?;
        Ok(())
    }
}
