// SPDX-License-Identifier: GPL-2.0

//! Read-side cost: RCU read guards and hazard-pointer guards, against the C
//! `rcu_read_lock()` loop.
//!
//! Method, as refscale's `rcu` type and as `bench/locks.rs`: one thread, no
//! contention, `LOOPS` read sections per run with local interrupts off, one
//! warm-up run per variant, `RUNS` interleaved rounds, median per variant.
//! A section is empty (guard taken and dropped) for the bare guards, and one
//! load of the element's field for the pointer types. The C loop is built
//! into the module (`bench/reader_loops.c`); `make run` also runs refscale
//! `scale_type=rcu` in the same boot. On this lockdep kernel
//! `rcu_read_lock()` includes lockdep's `lock_acquire()`/`lock_release()` on
//! `rcu_lock_map`; the hazard-pointer guards have no lockdep annotation, so
//! `__rcu_read_lock(C)` (the same loop without the annotation) is measured
//! too: it is the comparison a kernel without lockdep would see. And
//! `preempt_disable(C)`, the part of a hazard-pointer guard that
//! `CONFIG_DEBUG_PREEMPT` makes dear on this kernel.

use super::{
    c_reference as c,
    measure::{median, timed_irqs_off, Fixed},
    Text,
};
use crate::{
    context::Sleep,
    hazptr::HazPtr,
    rcu::{RcuBox, RcuPtr},
};
use core::hint::black_box;
use kernel::prelude::*;

const LOOPS: usize = 20_000;
const RUNS: usize = 15;

/// What the read sections read.
struct Fixture {
    rcu: RcuPtr<u64>,
    hp: HazPtr<u64>,
}

/// One kind of read section.
struct Variant {
    name: &'static str,
    run: fn(&mut Sleep, &Fixture, usize),
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "rcu_read_lock(C)",
        run: |_, _, n| c::rcu_read_loop(n),
    },
    Variant {
        name: "__rcu_read_lock(C)",
        run: |_, _, n| c::rcu_read_nolockdep_loop(n),
    },
    Variant {
        name: "preempt_disable(C)",
        run: |_, _, n| c::preempt_loop(n),
    },
    Variant {
        name: "rcu::read_lock",
        run: |_, _, n| {
            for _ in 0..n {
                drop(black_box(kernel::sync::rcu::read_lock()));
            }
        },
    },
    Variant {
        name: "RcuPtr::read",
        run: |_ctx, f, n| {
            for _ in 0..n {
                let g = kernel::sync::rcu::read_lock();
                black_box(f.rcu.read(&g).copied());
            }
        },
    },
    Variant {
        name: "HazPtr::protect_cell",
        run: |ctx, f, n| {
            for _ in 0..n {
                let g = f.hp.protect_cell(ctx);
                black_box(g.get().copied());
            }
        },
    },
    Variant {
        name: "HazPtr::protect",
        run: |ctx, f, n| {
            for _ in 0..n {
                black_box(f.hp.protect(ctx).map(|g| *g));
            }
        },
    },
];

/// Index of a variant in [`VARIANTS`].
fn index(name: &str) -> usize {
    VARIANTS.iter().position(|v| v.name == name).unwrap_or(0)
}

pub(super) fn run(ctx: &mut Sleep, out: &mut Text) -> Result {
    let f = Fixture {
        rcu: RcuPtr::new(Some(RcuBox::new(1u64, GFP_KERNEL)?)),
        hp: HazPtr::new(Some(KBox::new(1u64, GFP_KERNEL)?)),
    };
    for v in VARIANTS {
        timed_irqs_off(|| (v.run)(ctx, &f, LOOPS / 10));
    }
    let mut ns = KVec::from_elem(0u64, VARIANTS.len() * RUNS, GFP_KERNEL)?;
    for r in 0..RUNS {
        for (i, v) in VARIANTS.iter().enumerate() {
            ns[i * RUNS + r] = timed_irqs_off(|| (v.run)(ctx, &f, LOOPS));
        }
    }
    let mut med = [0u64; VARIANTS.len()];
    for (i, m) in med.iter_mut().enumerate() {
        *m = median(&mut ns[i * RUNS..(i + 1) * RUNS]);
    }

    out.line(format_args!("# read-side cost, ns per read section"))?;
    out.line(format_args!(
        "# method: {RUNS} interleaved runs x {LOOPS} sections per variant, median; each run \
         with local irqs off (as refscale); C loop built in this module; rcu_read_lock() \
         includes lockdep's rcu_lock_map acquire/release on this kernel"
    ))?;
    out.system_line()?;
    let c_rcu = med[index("rcu_read_lock(C)")];
    out.line(format_args!("# {:<22} ns vs_C_rcu", "section"))?;
    for (v, m) in VARIANTS.iter().zip(med) {
        out.line(format_args!(
            "{:<24} {} {}",
            v.name,
            Fixed::<1>::ratio(m, LOOPS as u64),
            Fixed::<3>::ratio(m, c_rcu)
        ))?;
    }
    let pairs = [
        ("hazptr/rcu guard", "HazPtr::protect_cell", "rcu::read_lock"),
        ("hazptr/rcu pointer", "HazPtr::protect", "RcuPtr::read"),
        (
            "hazptr/rcu no-lockdep",
            "HazPtr::protect_cell",
            "__rcu_read_lock(C)",
        ),
        ("rust/C rcu guard", "rcu::read_lock", "rcu_read_lock(C)"),
    ];
    for (what, a, b) in pairs {
        out.line(format_args!(
            "ratio {:<21} {}",
            what,
            Fixed::<3>::ratio(med[index(a)], med[index(b)])
        ))?;
    }
    Ok(())
}
