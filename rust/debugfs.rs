// SPDX-License-Identifier: GPL-2.0

//! debugfs directories whose files are served by Rust objects.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h).
//!
//! A [`Dir`] owns its files and the objects behind them. Dropping it removes
//! every file first; `debugfs_remove()` waits for the reads and writes in
//! progress and makes later ones fail with `-EIO`, so a callback never runs
//! on a freed object. An open file holds a reference on the module (the C
//! shim's `file_operations` set `.owner`), so unloading waits for it too.

use crate::helpers;
use core::{fmt, marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::{c_char, c_int, c_void},
    prelude::*,
    str::CStr,
    sync::Arc,
    types::ForeignOwnable,
};

/// Text output of a debugfs file being read (a `struct seq_file`).
///
/// # Invariants
///
/// `ptr` points to the `seq_file` of a `show` call in progress, for `'a`.
pub(crate) struct SeqFile<'a> {
    ptr: *mut bindings::seq_file,
    _call: PhantomData<&'a mut bindings::seq_file>,
}

impl SeqFile<'_> {
    /// Appends formatted text.
    ///
    /// Text that does not fit makes `seq_read()` retry the whole `show` with
    /// a larger buffer, so nothing is lost and there is no error to report.
    pub(crate) fn print(&mut self, args: fmt::Arguments<'_>) {
        // `write_str` below never fails.
        let _ = fmt::write(self, args);
    }
}

impl fmt::Write for SeqFile<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: By the type invariant `self.ptr` is the live `seq_file` of
        // this `show` call; `s` is valid for reads of `s.len()` bytes.
        unsafe { helpers::rcu_lab_seq_write(self.ptr, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// The text of a write to debugfs file `file`, without surrounding blanks.
///
/// Input that is not UTF-8 is refused with `EINVAL` and a dmesg line.
pub(crate) fn written_text<'a>(file: &str, input: &'a [u8]) -> Result<&'a str> {
    match core::str::from_utf8(input) {
        Ok(text) => Ok(text.trim()),
        Err(_) => {
            pr_warn!("{}: write refused: not UTF-8 text\n", file);
            Err(EINVAL)
        }
    }
}

/// The behaviour of one debugfs file.
pub(crate) trait FileOps: Send + Sync + 'static {
    /// Whether the file accepts writes (mode 0644 instead of 0444).
    const WRITABLE: bool = false;

    /// Produces the file's content for a read.
    fn show(&self, m: &mut SeqFile<'_>) -> Result;

    /// Handles one write of `input` (1 to 256 bytes, already copied from
    /// user space). Called only when [`FileOps::WRITABLE`] is true.
    fn write(&self, _input: &[u8]) -> Result {
        Err(EPERM)
    }
}

unsafe extern "C" fn show_callback<T: FileOps>(
    m: *mut bindings::seq_file,
    data: *const c_void,
) -> c_int {
    // SAFETY: `data` came from `Arc::<T>::into_foreign()` in `Dir::add_file`;
    // `Dir` releases it only after `debugfs_remove()` has returned, which
    // waits for this callback to finish.
    let obj = unsafe { <Arc<T> as ForeignOwnable>::borrow(data) };
    // INVARIANT: `m` is the `seq_file` of this `show` call, which outlives
    // `seq`.
    let mut seq = SeqFile {
        ptr: m,
        _call: PhantomData,
    };
    match obj.show(&mut seq) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

unsafe extern "C" fn write_callback<T: FileOps>(
    data: *const c_void,
    buf: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: As in `show_callback`.
    let obj = unsafe { <Arc<T> as ForeignOwnable>::borrow(data) };
    // SAFETY: The shim passes a kernel buffer of `len` bytes that stays
    // valid and unchanged until this callback returns.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    match obj.write(input) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Releases the object behind a removed file.
///
/// # Safety
///
/// `data` must come from `Arc::<T>::into_foreign()` and no callback may still
/// be using it; after this call `data` is dangling.
unsafe fn release<T: FileOps>(data: *const c_void) {
    // SAFETY: The caller guarantees `data` came from `into_foreign()` and
    // that no borrow of it is still alive.
    drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(data) });
}

struct File {
    dentry: NonNull<bindings::dentry>,
    data: *const c_void,
    release: unsafe fn(*const c_void),
}

/// A debugfs directory and the files in it.
///
/// # Invariants
///
/// * `dentry` is a directory created by `debugfs_create_dir()` and not yet
///   removed.
/// * Each entry of `files` is a file in that directory created by
///   [`Dir::add_file`]: its `dentry` is live, and its `data` came from
///   `Arc::into_foreign()` for the type `release` was instantiated with. Both
///   are released exactly once, in `Drop`.
pub(crate) struct Dir {
    dentry: NonNull<bindings::dentry>,
    files: KVec<File>,
}

// SAFETY: `Dir` only holds pointers to debugfs entries, which may be removed
// from any thread, and objects of types that are `Send + Sync` (`FileOps`).
unsafe impl Send for Dir {}

// SAFETY: `&Dir` gives no access to anything: every method that touches the
// entries takes `&mut self`.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `/sys/kernel/debug/<name>`.
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated; a NULL parent means the debugfs
        // root. debugfs copies the name.
        let d = unsafe {
            helpers::rcu_lab_debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut())
        };
        let d = from_err_ptr(d)?;
        let dentry = NonNull::new(d).ok_or(ENOMEM)?;
        // INVARIANT: `dentry` was just created and has no files yet.
        Ok(Dir {
            dentry,
            files: KVec::new(),
        })
    }

    /// Adds file `name` served by `obj`, which lives as long as the file.
    pub(crate) fn add_file<T: FileOps>(&mut self, name: &CStr, obj: Arc<T>) -> Result {
        self.files.reserve(1, GFP_KERNEL)?;
        let data = obj.into_foreign();
        let mode = if T::WRITABLE { 0o644 } else { 0o444 };
        let write: helpers::rcu_lab_write_fn = if T::WRITABLE {
            Some(write_callback::<T>)
        } else {
            None
        };
        // SAFETY: `name` is NUL-terminated, `self.dentry` is a live directory
        // (type invariant). `data` stays valid until the file is removed in
        // `Drop`, and the callbacks match the type `data` was made from.
        let d = unsafe {
            helpers::rcu_lab_debugfs_create_file(
                name.as_char_ptr(),
                mode,
                self.dentry.as_ptr(),
                data,
                Some(show_callback::<T>),
                write,
            )
        };
        let dentry = match from_err_ptr(d).ok().and_then(NonNull::new) {
            Some(dentry) => dentry,
            None => {
                // SAFETY: No file was created, so nothing else has `data`.
                unsafe { release::<T>(data) };
                pr_err!("cannot create debugfs file {}\n", name);
                return Err(ENOMEM);
            }
        };
        // INVARIANT: the file and its object are recorded for `Drop`.
        self.files.push(
            File {
                dentry,
                data,
                release: release::<T>,
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        for f in self.files.iter() {
            // SAFETY: By the type invariant `f.dentry` is a live file; this
            // removes it and waits until no callback runs on it.
            unsafe { helpers::rcu_lab_debugfs_remove(f.dentry.as_ptr()) };
            // SAFETY: The file is gone and no callback can run any more, so
            // this is the last use of `f.data` (type invariant).
            unsafe { (f.release)(f.data) };
        }
        // SAFETY: By the type invariant the directory is live; it is empty.
        unsafe { helpers::rcu_lab_debugfs_remove(self.dentry.as_ptr()) };
    }
}
