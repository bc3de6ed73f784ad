// SPDX-License-Identifier: GPL-2.0

//! Update-side wait: how long an updater waits before it may free what it
//! unlinked, with RCU (normal and expedited) and with hazard pointers.
//!
//! Method: the updater is a kernel thread bound to CPU 0. One sample: swap a
//! spare element into the pointer, then time the wait that ends the old
//! element's `Retired` (`synchronize_rcu()`, `synchronize_rcu_expedited()`,
//! or the hazard-pointer `synchronize()`), which hands the old element back
//! as the next spare. "idle": no readers. "busy": one kernel thread on each
//! other online CPU runs read sections on the same pointer back to back (RCU
//! guard + read, or hazard-pointer protect of the element). Reported: median
//! and p99 (nearest rank) in microseconds, and the RCU/hazard-pointer ratios
//! of the medians.

use super::{
    measure::{median, percentile, Fixed},
    Text,
};
use crate::{
    hazptr::HazPtr,
    rcu::{self, RcuBox, RcuPtr},
    system,
    task::{self, KThread},
    time::Instant,
};
use core::{
    hint::black_box,
    sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
};
use kernel::{prelude::*, sync::Arc};

/// How the updater waits.
#[derive(Clone, Copy, PartialEq)]
enum Wait {
    Rcu,
    RcuExpedited,
    Hazptr,
}

/// One measured configuration.
struct Variant {
    name: &'static str,
    wait: Wait,
    samples: usize,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "synchronize_rcu",
        wait: Wait::Rcu,
        samples: 40,
    },
    Variant {
        name: "synchronize_rcu_expedited",
        wait: Wait::RcuExpedited,
        samples: 200,
    },
    Variant {
        name: "hazptr_synchronize",
        wait: Wait::Hazptr,
        samples: 2000,
    },
];

/// What readers and the updater share.
struct Target {
    rcu: RcuPtr<u64>,
    hp: HazPtr<u64>,
    stop: AtomicBool,
    sections: AtomicU64,
}

/// A busy reader: read sections on `t` until told to stop.
fn busy_reader(t: &Target, wait: Wait) {
    let mut n = 0u64;
    while !t.stop.load(Relaxed) {
        for _ in 0..256 {
            if wait == Wait::Hazptr {
                black_box(t.hp.protect().map(|g| *g));
            } else {
                let g = rcu::read_lock();
                black_box(t.rcu.read(&g).copied());
            }
        }
        n += 256;
        task::cond_resched();
    }
    t.sections.fetch_add(n, Relaxed);
}

/// The updater: `samples` timed waits, in nanoseconds.
fn updater(t: &Target, wait: Wait, samples: usize) -> Result<KVec<u64>> {
    let mut ns = KVec::with_capacity(samples, GFP_KERNEL)?;
    let mut rcu_spare = RcuBox::new(0u64, GFP_KERNEL)?;
    let mut hp_spare = KBox::new(0u64, GFP_KERNEL)?;
    for _ in 0..samples {
        let start;
        match wait {
            Wait::Rcu | Wait::RcuExpedited => {
                let old = t.rcu.swap(Some(rcu_spare)).ok_or(EINVAL)?;
                start = Instant::now();
                rcu_spare = if wait == Wait::Rcu {
                    old.synchronize()
                } else {
                    old.synchronize_expedited()
                };
            }
            Wait::Hazptr => {
                let old = t.hp.swap(Some(hp_spare)).ok_or(EINVAL)?;
                start = Instant::now();
                hp_spare = old.synchronize();
            }
        }
        ns.push(start.elapsed_ns(), GFP_KERNEL)?;
    }
    Ok(ns)
}

/// Samples of one variant, with or without busy readers; and the number of
/// read sections the readers ran meanwhile.
fn measure(v: &Variant, busy: bool) -> Result<(KVec<u64>, u64)> {
    let t = Arc::new(
        Target {
            rcu: RcuPtr::new(Some(RcuBox::new(0u64, GFP_KERNEL)?)),
            hp: HazPtr::new(Some(KBox::new(0u64, GFP_KERNEL)?)),
            stop: AtomicBool::new(false),
            sections: AtomicU64::new(0),
        },
        GFP_KERNEL,
    )?;
    let mut readers = KVec::new();
    if busy {
        for cpu in 1..system::online_cpus() {
            let (r, wait) = (t.clone(), v.wait);
            let k = KThread::spawn(c"gp-reader", Some(cpu), move || busy_reader(&r, wait));
            match k {
                Ok(k) => readers.push(k, GFP_KERNEL)?,
                Err(e) => {
                    t.stop.store(true, Relaxed);
                    return Err(e);
                }
            }
        }
    }
    let (u, wait, samples) = (t.clone(), v.wait, v.samples);
    let ns = KThread::run(c"gp-updater", Some(0), move || updater(&u, wait, samples));
    t.stop.store(true, Relaxed);
    drop(readers);
    Ok((ns??, t.sections.load(Relaxed)))
}

pub(super) fn run(out: &mut Text) -> Result {
    let cpus = system::online_cpus();
    out.line(format_args!(
        "# update-side wait before freeing, microseconds"
    ))?;
    out.line(format_args!(
        "# method: updater on CPU 0 swaps an element in and times the wait that ends the \
         old one's Retired; busy: {} reader thread(s) on the other CPUs run read sections \
         on the same pointer back to back; median and p99 (nearest rank)",
        cpus.saturating_sub(1)
    ))?;
    out.system_line()?;
    out.line(format_args!(
        "# {:<26} readers samples median_us p99_us reader_sections",
        "wait"
    ))?;
    // Medians in ns, [variant][idle, busy].
    let mut med = [[0u64; 2]; VARIANTS.len()];
    for (i, v) in VARIANTS.iter().enumerate() {
        for (j, busy) in [false, true].into_iter().enumerate() {
            if busy && cpus < 2 {
                out.line(format_args!("{:<28} busy n/a (one CPU)", v.name))?;
                continue;
            }
            let (mut ns, sections) = measure(v, busy)?;
            med[i][j] = median(&mut ns);
            let p99 = percentile(&mut ns, 99);
            out.line(format_args!(
                "{:<28} {} {} {} {} {}",
                v.name,
                if busy { "busy" } else { "idle" },
                ns.len(),
                Fixed::<2>::ratio(med[i][j], 1000),
                Fixed::<2>::ratio(p99, 1000),
                sections
            ))?;
        }
    }
    let hp = VARIANTS
        .iter()
        .position(|v| v.wait == Wait::Hazptr)
        .ok_or(EINVAL)?;
    for (i, v) in VARIANTS.iter().enumerate().filter(|&(i, _)| i != hp) {
        out.line(format_args!(
            "ratio {}/hazptr_synchronize idle {} busy {}",
            v.name,
            Fixed::<1>::ratio(med[i][0], med[hp][0]),
            Fixed::<1>::ratio(med[i][1], med[hp][1])
        ))?;
    }
    Ok(())
}
