// SPDX-License-Identifier: GPL-2.0

//! The cache question of experiment 2, on the host's real caches: what does
//! invoking callbacks cost when the walk follows a chain of `rcu_head`s (as
//! `rcu_do_batch()` does) against an array of (object, function) pairs or
//! an array of typed pointers, each with and without a prefetch a few
//! entries ahead?
//!
//! Built by `scripts/hostbench.sh` with the plain `/usr/bin/rustc` (no
//! crate from crates.io). The array walks are the module's own code,
//! `rust/protocol/walk.rs`, included here by path; the chain walk is a
//! re-implementation of `rcu_do_batch()`'s loop (`kernel/rcu/tree.c`: read
//! `rhp->next`, then call `rhp->func(rhp)`), labelled as such.
//!
//! Objects are 64 bytes, an `rcu_head` (next, func) first, as in the
//! kernel; each callback reads and writes one word of its object. Two
//! layouts:
//!
//! * `random`: the objects fill an arena of at least 8 times the last-level
//!   cache, and are queued in a random order over it (objects freed long
//!   after allocation, from all over memory);
//! * `alloc`: the same objects queued in address order, packed as a slab
//!   packs them (a burst freed in allocation order).
//!
//! Each walk runs `RUNS` times per shape, shapes interleaved, with a pass
//! over a buffer twice the last-level cache before each to evict the
//! objects; reported: median, min and max nanoseconds per callback.
//!
//! Usage: walk [RUNS [ARENA_MIB]]; prints one line per shape and layout.

#![deny(unsafe_op_in_unsafe_fn)]

#[path = "../../rust/protocol/walk.rs"]
#[allow(dead_code)]
mod walk;

use std::hint::black_box;
use std::time::Instant;

/// The `struct rcu_head` of the chain: next, then the function.
#[repr(C)]
struct Head {
    next: *mut Head,
    func: unsafe extern "C" fn(*mut Head),
}

/// A 64-byte object with its head first and the word its callback touches.
#[repr(C, align(64))]
struct Obj {
    head: Head,
    word: u64,
    _pad: [u64; 5],
}

const _: () = assert!(std::mem::size_of::<Obj>() == 64);

/// Prefetch distance of the prefetching walks (entries ahead).
const AHEAD: usize = 8;

/// The callback: reads and writes one word of its object.
///
/// # Safety
///
/// `h` is the head of a live `Obj`.
unsafe extern "C" fn touch(h: *mut Head) {
    let o = h.cast::<Obj>();
    // SAFETY: The head is at offset 0 of a live `Obj` (the caller's
    // guarantee).
    unsafe { (*o).word = (*o).word.wrapping_add(1) };
}

/// `touch` with the object type the pair walk takes.
///
/// # Safety
///
/// As `touch`.
unsafe extern "C" fn touch_obj(o: *mut Obj) {
    // SAFETY: As in `touch`.
    unsafe { touch(o.cast()) }
}

/// `rcu_do_batch()`'s walk, re-implemented: read the next pointer, then
/// call the function; with `PREFETCH`, prefetch the next object first
/// (the only one a chain knows of).
///
/// # Safety
///
/// `list` is a null-terminated chain of live heads with valid functions.
unsafe fn walk_chain<const PREFETCH: bool>(mut list: *mut Head) {
    while !list.is_null() {
        // SAFETY: A live head of the chain (the caller's guarantee).
        let (next, f) = unsafe { ((*list).next, (*list).func) };
        if PREFETCH {
            walk::prefetch(next);
        }
        // SAFETY: Its own function, on a live object.
        unsafe { f(list) };
        list = next;
    }
}

/// A small xorshift generator: the layout needs randomness, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// The last-level cache of CPU 0 in bytes, from sysfs, with its level.
fn llc() -> (u64, u32) {
    let mut best = (0, 0);
    for i in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
        let (Ok(level), Ok(size), Ok(kind)) = (
            std::fs::read_to_string(format!("{dir}/level")),
            std::fs::read_to_string(format!("{dir}/size")),
            std::fs::read_to_string(format!("{dir}/type")),
        ) else {
            continue;
        };
        if kind.trim() == "Instruction" {
            continue;
        }
        let size = size.trim();
        let bytes = match size.strip_suffix('K') {
            Some(k) => k.parse::<u64>().unwrap_or(0) << 10,
            None => match size.strip_suffix('M') {
                Some(m) => m.parse::<u64>().unwrap_or(0) << 20,
                None => size.parse().unwrap_or(0),
            },
        };
        let level: u32 = level.trim().parse().unwrap_or(0);
        if level > best.1 {
            best = (bytes, level);
        }
    }
    best
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[(v.len() - 1) / 2]
}

/// The walks, in the order they are run and reported.
const SHAPES: &[&str] = &[
    "chain",
    "chain+prefetch",
    "pairs",
    "pairs+prefetch",
    "typed",
    "typed+prefetch",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let (llc_bytes, llc_level) = llc();
    if llc_bytes == 0 {
        eprintln!("walk: no cache size in /sys/devices/system/cpu/cpu0/cache");
        std::process::exit(1);
    }
    let min_arena = 8 * llc_bytes;
    let arena_bytes = args
        .next()
        .and_then(|a| a.parse::<u64>().ok())
        .map_or(min_arena, |mib| (mib << 20).max(min_arena));
    let n = (arena_bytes / 64) as usize;
    println!(
        "# walk: {n} objects of 64 bytes ({} MiB, {:.1}x the L{llc_level} cache of {} KiB), \
         {runs} runs per shape and layout, shapes interleaved, {} MiB evicted before each; \
         prefetch {AHEAD} entries ahead (chain: the next object)",
        arena_bytes >> 20,
        arena_bytes as f64 / llc_bytes as f64,
        llc_bytes >> 10,
        (2 * llc_bytes) >> 20
    );
    let mut objs: Vec<Obj> = (0..n)
        .map(|_| Obj {
            head: Head {
                next: std::ptr::null_mut(),
                func: touch,
            },
            word: 0,
            _pad: [0; 5],
        })
        .collect();
    let base = objs.as_mut_ptr();
    let mut evict = vec![0u64; (2 * llc_bytes / 8) as usize];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for layout in ["random", "alloc"] {
        // The queueing order: a permutation of the objects.
        let mut order: Vec<usize> = (0..n).collect();
        if layout == "random" {
            for i in (1..n).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        // SAFETY: Every index is below `n`, within the vector.
        let ptrs: Vec<*mut Obj> = order.iter().map(|&i| unsafe { base.add(i) }).collect();
        for w in ptrs.windows(2) {
            // SAFETY: Live objects of the vector.
            unsafe { (*w[0]).head.next = w[1].cast() };
        }
        if let Some(&last) = ptrs.last() {
            // SAFETY: As above.
            unsafe { (*last).head.next = std::ptr::null_mut() };
        }
        let pairs: Vec<(*mut Obj, unsafe extern "C" fn(*mut Obj))> =
            ptrs.iter().map(|&p| (p, touch_obj as _)).collect();
        let first = ptrs[0].cast::<Head>();
        let mut ns = vec![Vec::with_capacity(runs); SHAPES.len()];
        for _ in 0..runs {
            for (s, per) in ns.iter_mut().enumerate() {
                for (i, w) in evict.iter_mut().enumerate() {
                    *w = w.wrapping_add(i as u64);
                }
                black_box(&mut evict);
                let t = Instant::now();
                // SAFETY: The chain and the pairs hold live objects of
                // `objs` and `touch`, which may be called on each.
                unsafe {
                    match s {
                        0 => walk_chain::<false>(first),
                        1 => walk_chain::<true>(first),
                        2 => walk::call_pairs::<Obj, 0>(&pairs),
                        3 => walk::call_pairs::<Obj, AHEAD>(&pairs),
                        4 => walk::for_each_typed::<Obj, 0>(&ptrs, |o| touch_obj(o)),
                        _ => walk::for_each_typed::<Obj, AHEAD>(&ptrs, |o| touch_obj(o)),
                    }
                }
                per.push(t.elapsed().as_nanos() as f64 / n as f64);
            }
        }
        black_box(&objs);
        let chain = median(&mut ns[0].clone());
        for (s, per) in ns.iter_mut().enumerate() {
            let med = median(per);
            println!(
                "walk layout={layout} shape={} ns_per_callback={med:.2} min={:.2} max={:.2} \
                 chain_over_this={:.2}",
                SHAPES[s],
                per[0],
                per[per.len() - 1],
                chain / med
            );
        }
    }
    // Every callback ran once per walk: the words say so.
    let want = (runs * SHAPES.len() * 2) as u64;
    let bad = objs.iter().filter(|o| o.word != want).count();
    if bad > 0 {
        eprintln!("walk: {bad} objects were not touched {want} times");
        std::process::exit(1);
    }
    println!("# every object's callback ran {want} times");
}
