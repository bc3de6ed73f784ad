// SPDX-License-Identifier: GPL-2.0

//! Lock+unlock cost of the Rust lock types against the same loops in C.
//!
//! Method, as refscale's `lock` and `lock-irq` types: one thread, an
//! uncontended lock, `LOOPS` lock+unlock pairs per run, every timed run with
//! local interrupts disabled (which also keeps the thread on its CPU), one
//! warm-up run per variant first. The exception is the bare
//! `local_irq_save()`/`local_irq_restore()` pair: timed with interrupts on,
//! so that every save really masks them (with them already off, as inside
//! the other runs, it only reads the flag). Runs of all variants are interleaved,
//! `RUNS` rounds, and each variant's median is reported, so drift in the
//! host affects Rust and C alike. The C loops are compiled into this module
//! with the kernel's inline lock calls (`bench/lock_loops.c`).

use super::{
    c_reference as c,
    measure::{median, timed, timed_irqs_off, Fixed},
    Text,
};
use crate::{
    context::Sleep,
    irq::local_interrupt_disable,
    new_raw_spinlock, new_spinlock,
    sync::{RawSpinLock, SpinLock},
    system,
};
use kernel::prelude::*;

const LOOPS: usize = 20_000;
const RUNS: usize = 15;

struct Locks {
    raw: Pin<KBox<RawSpinLock<()>>>,
    spin: Pin<KBox<SpinLock<()>>>,
    kspin: Pin<KBox<kernel::sync::SpinLock<()>>>,
}

/// One Rust operation and the C loop it is compared with.
struct Variant {
    name: &'static str,
    rust: fn(&mut Sleep, &Locks, usize),
    c: fn(usize),
    /// Takes a `spinlock_t`, which sleeps on PREEMPT_RT: not timed there.
    sleeps_on_rt: bool,
    /// Timed with interrupts on (else off).
    irqs_on: bool,
}

impl Variant {
    /// Nanoseconds for one run of `f` in this variant's context.
    fn timed(&self, f: impl FnOnce()) -> u64 {
        if self.irqs_on {
            timed(f)
        } else {
            timed_irqs_off(f)
        }
    }
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "raw_spin_lock",
        rust: |ctx, l, n| {
            for _ in 0..n {
                drop(l.raw.lock(ctx));
            }
        },
        c: c::raw_lock_loop,
        sleeps_on_rt: false,
        irqs_on: false,
    },
    Variant {
        name: "raw_spin_lock_irqsave",
        rust: |ctx, l, n| {
            for _ in 0..n {
                drop(l.raw.lock_irqsave(ctx));
            }
        },
        c: c::raw_lock_irqsave_loop,
        sleeps_on_rt: false,
        irqs_on: false,
    },
    Variant {
        name: "spin_lock",
        rust: |ctx, l, n| {
            for _ in 0..n {
                drop(l.spin.lock(ctx));
            }
        },
        c: c::spin_lock_loop,
        sleeps_on_rt: true,
        irqs_on: false,
    },
    Variant {
        name: "spin_lock_irqsave",
        rust: |ctx, l, n| {
            for _ in 0..n {
                drop(l.spin.lock_irqsave(ctx));
            }
        },
        c: c::spin_lock_irqsave_loop,
        sleeps_on_rt: true,
        irqs_on: false,
    },
    Variant {
        name: "spin_lock(kernel::sync)",
        rust: |_, l, n| {
            for _ in 0..n {
                drop(l.kspin.lock());
            }
        },
        c: c::spin_lock_loop,
        sleeps_on_rt: true,
        irqs_on: false,
    },
    Variant {
        name: "local_irq_save(irqs_on)",
        rust: |_, _, n| {
            for _ in 0..n {
                drop(local_interrupt_disable());
            }
        },
        c: c::local_irq_save_loop,
        sleeps_on_rt: false,
        irqs_on: true,
    },
];

pub(super) fn run(ctx: &mut Sleep, out: &mut Text) -> Result {
    let locks = Locks {
        raw: KBox::pin_init(new_raw_spinlock!((), "rcu_lab_bench_raw"), GFP_KERNEL)?,
        spin: KBox::pin_init(new_spinlock!((), "rcu_lab_bench_spin"), GFP_KERNEL)?,
        kspin: KBox::pin_init(kernel::new_spinlock!((), "rcu_lab_bench_kspin"), GFP_KERNEL)?,
    };
    let rt = system::preempt_model().as_bytes() == b"rt";
    let active = |v: &&Variant| !(rt && v.sleeps_on_rt);

    for v in VARIANTS.iter().filter(active) {
        v.timed(|| (v.rust)(ctx, &locks, LOOPS / 10));
        v.timed(|| (v.c)(LOOPS / 10));
    }
    let mut rust = KVec::from_elem(0u64, VARIANTS.len() * RUNS, GFP_KERNEL)?;
    let mut cref = KVec::from_elem(0u64, VARIANTS.len() * RUNS, GFP_KERNEL)?;
    for r in 0..RUNS {
        for (i, v) in VARIANTS.iter().enumerate().filter(|(_, v)| active(v)) {
            rust[i * RUNS + r] = v.timed(|| (v.rust)(ctx, &locks, LOOPS));
            cref[i * RUNS + r] = v.timed(|| (v.c)(LOOPS));
        }
    }

    out.line(format_args!("# lock+unlock cost, ns per lock+unlock pair"))?;
    out.line(format_args!(
        "# method: {RUNS} interleaved runs x {LOOPS} loops per variant, median; each run \
         with local irqs off (as refscale), but local_irq_save(irqs_on) with them on; C loops \
         built in this module"
    ))?;
    out.system_line()?;
    out.line(format_args!("# {:<22} rust_ns c_ns rust/c", "operation"))?;
    for (i, v) in VARIANTS.iter().enumerate() {
        if !active(&v) {
            out.line(format_args!("{:<24} n/a n/a n/a", v.name))?;
            continue;
        }
        let rm = median(&mut rust[i * RUNS..(i + 1) * RUNS]);
        let cm = median(&mut cref[i * RUNS..(i + 1) * RUNS]);
        out.line(format_args!(
            "{:<24} {} {} {}",
            v.name,
            Fixed::<1>::ratio(rm, LOOPS as u64),
            Fixed::<1>::ratio(cm, LOOPS as u64),
            Fixed::<3>::ratio(rm, cm)
        ))?;
    }
    Ok(())
}
