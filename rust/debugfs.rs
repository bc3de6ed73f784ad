// SPDX-License-Identifier: GPL-2.0

//! debugfs directories whose files are served by Rust objects.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h).
//!
//! A [`Dir`] owns its files and the objects behind them. Dropping it removes
//! every file first; `debugfs_remove()` waits for the reads and writes in
//! progress and makes later ones fail with `EIO`, so a callback never runs
//! on a freed object. An open file holds a reference on the module (the C
//! shim's `file_operations` set `.owner`), so `rmmod` waits for it: the
//! module text the proxy calls into on `release` stays.
//!
//! Why not the `kernel` crate's `debugfs` (7.3): its `file_operations` have
//! no `.owner`, so an open file does not pin the module, and closing it
//! after `rmmod` makes debugfs' `full_proxy_release()` call the freed
//! module's `release` (an oops, measured with `selftests/rcu_lab/debugfs.sh`).
//!
//! rcu_lab's contract for its files ([`FileOps`]): every file is text; a write
//! is 1 to 256 bytes of UTF-8, trimmed, handed to [`FileOps::write`]; anything
//! else (a read-only file, an empty or oversized write, bytes that are not
//! UTF-8) is refused with an error code and a rate-limited dmesg line that
//! names the file.

use crate::{
    context::{self, Sleep},
    helpers,
    print::pr_warn_ratelimited,
};
use core::{fmt, marker::PhantomData, ptr::NonNull};
use kernel::{bindings, error::from_err_ptr, prelude::*, types::ForeignOwnable};

/// The behaviour of one debugfs file.
pub(crate) trait FileOps: Send + Sync + 'static {
    /// Whether the file accepts writes (mode 0644 instead of 0444).
    const WRITABLE: bool = false;

    /// Produces the file's content for a read.
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// Handles one write: `text` is the written UTF-8 text without
    /// surrounding blanks, `ctx` the writer's token (a task holding
    /// nothing: it may sleep). Called only when [`FileOps::WRITABLE`] is
    /// true; an error goes back to the writer as its error code.
    fn write(&self, _ctx: &mut Sleep, _text: &str) -> Result {
        Err(EPERM)
    }
}

/// A file's object with its name.
#[pin_data]
struct Node<T> {
    name: &'static CStr,
    #[pin]
    obj: T,
}

impl<T: FileOps> fmt::Display for Node<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.obj.show(f)
    }
}

/// Text output of a file being read (a `struct seq_file`).
///
/// # Invariants
///
/// `ptr` points to the `seq_file` of a `show` call in progress, for `'a`.
struct SeqFile<'a> {
    ptr: *mut bindings::seq_file,
    _call: PhantomData<&'a mut bindings::seq_file>,
}

impl fmt::Write for SeqFile<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: By the type invariant `self.ptr` is the live `seq_file` of
        // this `show` call; `s` is valid for reads of `s.len()` bytes. Text
        // that does not fit makes `seq_read()` retry the whole `show` with a
        // larger buffer, so nothing is lost and there is no error to report.
        unsafe { bindings::seq_write(self.ptr, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// The `show` callback of files of type `T`.
///
/// # Safety
///
/// `data` is the pointer [`Dir::add_file`] registered for a `T` file and `m`
/// the `seq_file` of the read in progress.
unsafe extern "C" fn show_callback<T: FileOps>(
    m: *mut bindings::seq_file,
    data: *const c_void,
) -> c_int {
    // SAFETY: `data` came from `Pin<KBox<Node<T>>>::into_foreign()` in
    // `Dir::add_file`; `Dir` releases it only after `debugfs_remove()` has
    // returned, which waits for this callback to finish.
    let node = unsafe { <Pin<KBox<Node<T>>> as ForeignOwnable>::borrow(data.cast_mut()) };
    // INVARIANT: `m` is the `seq_file` of this `show` call, which outlives
    // `seq`.
    let mut seq = SeqFile {
        ptr: m,
        _call: PhantomData,
    };
    match fmt::write(&mut seq, format_args!("{}", &*node)) {
        Ok(()) => 0,
        Err(_) => EINVAL.to_errno(),
    }
}

/// The `write` callback of writable files of type `T`.
///
/// # Safety
///
/// As for [`show_callback`]; `buf` is a kernel buffer of `len` bytes, valid
/// and unchanged until the callback returns.
unsafe extern "C" fn write_callback<T: FileOps>(
    data: *const c_void,
    buf: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: As in `show_callback`.
    let node = unsafe { <Pin<KBox<Node<T>>> as ForeignOwnable>::borrow(data.cast_mut()) };
    // SAFETY: The caller guarantees `buf` holds `len` bytes for this call.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    let Ok(text) = core::str::from_utf8(input) else {
        pr_warn_ratelimited!(
            "{}: write refused: not UTF-8 text\n",
            node.name.to_str().unwrap_or("?")
        );
        return EINVAL.to_errno();
    };
    // SAFETY: debugfs calls `write` in the writer's task, holding no lock
    // (the C shim's `write` handler only copies the buffer): it may sleep.
    match unsafe { context::enter(|ctx: &mut Sleep| node.obj.write(ctx, text.trim())) } {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Releases the object behind a removed file.
///
/// # Safety
///
/// `data` must come from `Pin<KBox<Node<T>>>::into_foreign()` and no callback
/// may still be using it; after this call `data` is dangling.
unsafe fn release<T: FileOps>(data: *const c_void) {
    // SAFETY: The caller guarantees `data` came from `into_foreign()` and
    // that no borrow of it is still alive.
    drop(unsafe { <Pin<KBox<Node<T>>> as ForeignOwnable>::from_foreign(data.cast_mut()) });
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
/// * Each entry of `subdirs` is a directory created in it by
///   [`Dir::subdir`], removed before it.
/// * Each entry of `files` is a file in that directory created by
///   [`Dir::add_file`]: its `dentry` is live, and its `data` came from
///   `Pin<KBox<Node<T>>>::into_foreign()` for the type `release` was
///   instantiated with. Both are released exactly once, in `Drop`.
pub(crate) struct Dir {
    dentry: NonNull<bindings::dentry>,
    files: KVec<File>,
    subdirs: KVec<Dir>,
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
        Self::create(name, core::ptr::null_mut())
    }

    fn create(name: &CStr, parent: *mut bindings::dentry) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated; `parent` is NULL (the debugfs
        // root) or a live directory of a `Dir`. debugfs copies the name.
        let d = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), parent) };
        let dentry = NonNull::new(from_err_ptr(d)?).ok_or(ENOMEM)?;
        // INVARIANT: `dentry` was just created and has no files yet.
        Ok(Dir {
            dentry,
            files: KVec::new(),
            subdirs: KVec::new(),
        })
    }

    /// Creates directory `name` in this one; it lives (and is removed)
    /// with this directory.
    pub(crate) fn subdir(&mut self, name: &CStr) -> Result<&mut Dir> {
        self.subdirs.reserve(1, GFP_KERNEL)?;
        let d = Self::create(name, self.dentry.as_ptr())?;
        // INVARIANT: a directory in this one, recorded for `Drop`; the
        // reservation makes the push infallible.
        self.subdirs.push(d, GFP_KERNEL)?;
        let last = self.subdirs.len() - 1;
        Ok(&mut self.subdirs[last])
    }

    /// Adds file `name` served by the object `obj` initialises, which lives
    /// as long as the file.
    pub(crate) fn add_file<T: FileOps>(
        &mut self,
        name: &'static CStr,
        obj: impl PinInit<T, Error>,
    ) -> Result {
        self.files.reserve(1, GFP_KERNEL)?;
        let node = KBox::pin_init(try_pin_init!(Node { name, obj <- obj }? Error), GFP_KERNEL)?;
        let data = node.into_foreign().cast_const();
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
        let Some(dentry) = from_err_ptr(d).ok().and_then(NonNull::new) else {
            // SAFETY: No file was created, so nothing else has `data`.
            unsafe { release::<T>(data) };
            pr_err!("cannot create debugfs file {}\n", name);
            return Err(ENOMEM);
        };
        // INVARIANT: the file and its object are recorded for `Drop`; the
        // reservation above makes this push infallible.
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
        // Subdirectories (and their files) go before their parent.
        self.subdirs.clear();
        // SAFETY: By the type invariant the directory is live; it is empty.
        unsafe { helpers::rcu_lab_debugfs_remove(self.dentry.as_ptr()) };
    }
}
