// SPDX-License-Identifier: GPL-2.0

//! Test cases for experiment 3's key hash (`crate::rcu::hlist`) and its
//! unregister strategies: each strategy under a stress, and the two uses
//! after free the negative tests provoke.

use super::{Case, Outcome};
use crate::{
    context::Sleep,
    experiments::{
        key_unregister::{stress, StressKind},
        stress::retired,
    },
    new_raw_spinlock, rcu,
    sync::{KeyReaper, LockClass, RawSpinLock},
    system,
    time::hrtimer::PeriodicTimer,
};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{
    prelude::*,
    sync::Arc,
    time::{delay::fsleep, Delta},
};

/// The stress case of strategy `$name`.
macro_rules! stress_case {
    ($name:literal) => {
        Case {
            name: concat!("key_unregister_stress_", $name),
            negative: false,
            about: concat!(
                "key hash: readers (threads + hardirq) vs register/unregister cycles by ",
                $name,
                ": no bad read, every key freed once"
            ),
            run: |ctx| stress_case(ctx, $name),
        }
    };
}

pub(super) const CASES: &[Case] = &[
    stress_case!("sync"),
    stress_case!("expedited"),
    stress_case!("sync_batched"),
    stress_case!("hazptr"),
    stress_case!("deferred"),
    stress_case!("batched"),
    stress_case!("park"),
    Case {
        name: "lockdep_key_reaped_contexts",
        negative: false,
        about: "real lockdep keys dropped in hardirq, RCU callbacks and under a raw lock, reaped",
        run: reaped_contexts,
    },
    Case {
        name: "key_unregister_none",
        negative: true,
        about: "key hash: unregister frees at once (none), readers on the keys torn down: KASAN",
        run: |ctx| negative_case(ctx, StressKind::None),
    },
    Case {
        name: "key_unregister_unprotected",
        negative: true,
        about: "key hash under hazptr, readers without a hazard pointer: KASAN",
        run: |ctx| negative_case(ctx, StressKind::UnprotectedHazptr),
    },
];

/// Length of a stress case.
const STRESS_MS: u64 = 1000;
/// Keys per cycle of a stress case.
const STRESS_KEYS: usize = 32;
/// Longest a negative case provokes before it gives up.
const NEGATIVE_MS: u64 = 30_000;
/// Keys per cycle of a negative case (two buckets: long chains).
const NEGATIVE_KEYS: usize = 256;

fn stress_case(ctx: &mut Sleep, name: &'static str) -> Result<Outcome> {
    let r = stress(
        ctx,
        StressKind::Strategy(name),
        STRESS_MS,
        STRESS_KEYS,
        &|| false,
    )?;
    // Hard-interrupt readers nest on the reader threads' hazard pointers.
    let wildcard_ok = name != "hazptr" || r.wildcard > 0;
    Outcome::new(
        r.cycles > 0
            && r.reads > 0
            && r.irq_reads > 0
            && r.hits > 0
            && r.bad == 0
            && r.freed == r.registered
            && wildcard_ok,
        format_args!("{name}: {}", r),
    )
}

fn negative_case(ctx: &mut Sleep, kind: StressKind) -> Result<Outcome> {
    let r = stress(
        ctx,
        kind,
        NEGATIVE_MS,
        NEGATIVE_KEYS,
        &system::tainted_bad_page,
    )?;
    let kasan = system::tainted_bad_page();
    Outcome::new(
        kasan || r.bad > 0,
        format_args!("{}; KASAN reported (taint B): {kasan}", r),
    )
}

/// Keys each context of [`reaped_contexts`] drops.
const REAPED_PER_CONTEXT: usize = 8;

/// Real lockdep keys, each with a lock taken once, dropped through the
/// reaper from a hard interrupt (under a raw spinlock, interrupts off), from
/// RCU callbacks, and from task context under a raw spinlock; the reaper
/// unregisters and frees all of them. The kselftest compares
/// `/proc/lockdep_stats` before and after.
pub(super) fn reaped_contexts(ctx: &mut Sleep) -> Result<Outcome> {
    let reaper = KeyReaper::new(ctx, 4)?;
    let mut made = KVec::new();
    for _ in 0..3 * REAPED_PER_CONTEXT {
        let key = reaper.key(ctx)?;
        let lock: Pin<KBox<RawSpinLock<u64>>> = KBox::pin_init(
            RawSpinLock::new(0, c"rcu_lab_reaped_lock", LockClass::Reaped(key.clone())),
            GFP_KERNEL,
        )?;
        *lock.lock(ctx) += 1;
        drop(lock);
        made.push(Some(key), GFP_KERNEL)?;
    }
    // Hard interrupt: a timer pops one key per tick under a raw spinlock.
    // The vector is filled before it goes under the raw lock: pushing may
    // allocate, which a raw spinlock forbids.
    let mut for_irq = KVec::with_capacity(REAPED_PER_CONTEXT, GFP_KERNEL)?;
    for k in made.iter_mut().take(REAPED_PER_CONTEXT) {
        for_irq.push(k.take(), GFP_KERNEL)?;
    }
    let irq_keys = Arc::pin_init(new_raw_spinlock!(for_irq, "rcu_lab_reaped_irq"), GFP_KERNEL)?;
    let in_hardirq = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
    let (q, h) = (irq_keys.clone(), in_hardirq.clone());
    let timer = KBox::pin_init(
        PeriodicTimer::new(100_000, move |irq| {
            let mut g = q.lock_irqsave(irq);
            if let Some(k) = g.pop() {
                if system::ContextState::now().in_hardirq {
                    h.fetch_add(1, Relaxed);
                }
                // The last handle goes here: in hard interrupt, under a raw
                // spinlock.
                drop(k);
            }
        }),
        GFP_KERNEL,
    )?;
    timer.as_ref().run_while(ctx, |ctx| {
        for _ in 0..200 {
            if irq_keys.lock_irqsave(ctx).is_empty() {
                break;
            }
            fsleep(Delta::from_millis(10));
        }
    });
    drop(timer);
    // RCU callbacks: each key in an object dropped by call_rcu().
    let mut rest = made.iter_mut().skip(REAPED_PER_CONTEXT);
    let in_callbacks = retired(REAPED_PER_CONTEXT, |_| rest.next().and_then(Option::take))?;
    for r in in_callbacks {
        r.call_rcu();
    }
    // Task context under a raw spinlock with interrupts off.
    let raw = KBox::pin_init(new_raw_spinlock!((), "rcu_lab_reaped_raw"), GFP_KERNEL)?;
    for k in made.iter_mut() {
        let g = raw.lock_irqsave(ctx);
        drop(k.take());
        drop(g);
    }
    rcu::barrier(ctx);
    reaper.flush(ctx);
    let (pending, unregistered, batches) = reaper.counts();
    let irq = in_hardirq.load(Relaxed);
    drop(reaper);
    Outcome::new(
        irq == REAPED_PER_CONTEXT as u64
            && pending == 0
            && unregistered == 3 * REAPED_PER_CONTEXT as u64,
        format_args!(
            "{irq} keys dropped in hard interrupt, {n} in RCU callbacks, {n} under a raw \
             spinlock; {unregistered} unregistered in {batches} batches, {pending} pending",
            n = REAPED_PER_CONTEXT
        ),
    )
}
