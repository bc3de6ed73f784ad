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
    context::{self, Sleep},
    hazptr::{self, HazPtr},
    rcu::{self, RcuBox, RcuPtr},
    reclaim::{HazptrSynchronize, Reclaim, SynchronizeRcu, SynchronizeRcuExpedited, Wait},
    system,
    task::{self, KThread},
    time::Instant,
};
use core::{
    hint::black_box,
    sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
};
use kernel::{prelude::*, sync::Arc};

/// One measured configuration: a name, how many samples, and its updater
/// and readers (the updater generic over its [`Wait`] strategy).
struct Variant {
    name: &'static str,
    samples: usize,
    updater: fn(&Target, usize) -> Result<KVec<u64>>,
    hazptr_readers: bool,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: <SynchronizeRcu as Reclaim<RcuOld>>::NAME,
        samples: 40,
        updater: rcu_updater::<SynchronizeRcu>,
        hazptr_readers: false,
    },
    Variant {
        name: <SynchronizeRcuExpedited as Reclaim<RcuOld>>::NAME,
        samples: 200,
        updater: rcu_updater::<SynchronizeRcuExpedited>,
        hazptr_readers: false,
    },
    Variant {
        name: <HazptrSynchronize as Reclaim<HpOld>>::NAME,
        samples: 2000,
        updater: hazptr_updater,
        hazptr_readers: true,
    },
];

/// What readers and the updater share.
struct Target {
    rcu: RcuPtr<u64>,
    hp: HazPtr<u64>,
    stop: AtomicBool,
    sections: AtomicU64,
}

/// What an RCU and a hazard-pointer updater unlink.
type RcuOld = rcu::Retired<u64>;
type HpOld = hazptr::Retired<u64>;

/// A busy reader: read sections on `t` until told to stop.
fn busy_reader(ctx: &mut Sleep, t: &Target, hazptr: bool) {
    let mut n = 0u64;
    while !t.stop.load(Relaxed) {
        for _ in 0..256 {
            if hazptr {
                black_box(t.hp.protect(ctx).map(|g| *g));
            } else {
                let g = context::rcu_read_lock(ctx);
                black_box(t.rcu.read(g.guard()).copied());
            }
        }
        n += 256;
        task::cond_resched();
    }
    t.sections.fetch_add(n, Relaxed);
}

/// The updater: `samples` timed waits, in nanoseconds. Each swaps `spare`
/// in with `swap`, times `W`'s wait for the old element, which becomes the
/// next spare.
fn updater<O, W: Wait<O> + Default>(
    mut spare: W::Back,
    swap: impl Fn(W::Back) -> Option<O>,
    samples: usize,
) -> Result<KVec<u64>> {
    let mut ns = KVec::with_capacity(samples, GFP_KERNEL)?;
    for _ in 0..samples {
        let old = swap(spare).ok_or(EINVAL)?;
        let start = Instant::now();
        spare = W::default().wait(old);
        ns.push(start.elapsed_ns(), GFP_KERNEL)?;
    }
    Ok(ns)
}

fn rcu_updater<W: Wait<RcuOld, Back = KBox<RcuBox<u64>>> + Default>(
    t: &Target,
    samples: usize,
) -> Result<KVec<u64>> {
    updater::<RcuOld, W>(
        RcuBox::new(0u64, GFP_KERNEL)?,
        |s| t.rcu.swap(Some(s)),
        samples,
    )
}

fn hazptr_updater(t: &Target, samples: usize) -> Result<KVec<u64>> {
    updater::<HpOld, HazptrSynchronize>(
        KBox::new(0u64, GFP_KERNEL)?,
        |s| t.hp.swap(Some(s)),
        samples,
    )
}

/// Samples of one variant, with or without busy readers; and the number of
/// read sections the readers ran meanwhile.
fn measure(ctx: &mut Sleep, v: &Variant, busy: bool) -> Result<(KVec<u64>, u64)> {
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
            let (r, hazptr) = (t.clone(), v.hazptr_readers);
            let k = KThread::spawn(c"gp-reader", Some(cpu), move |ctx| {
                busy_reader(ctx, &r, hazptr)
            });
            match k {
                Ok(k) => readers.push(k, GFP_KERNEL)?,
                Err(e) => {
                    t.stop.store(true, Relaxed);
                    return Err(e);
                }
            }
        }
    }
    let (u, run, samples) = (t.clone(), v.updater, v.samples);
    let ns = KThread::run(ctx, c"gp-updater", Some(0), move |_| run(&u, samples));
    t.stop.store(true, Relaxed);
    drop(readers);
    Ok((ns??, t.sections.load(Relaxed)))
}

pub(super) fn run(ctx: &mut Sleep, out: &mut Text) -> Result {
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
            let (mut ns, sections) = measure(ctx, v, busy)?;
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
        .position(|v| v.hazptr_readers)
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
