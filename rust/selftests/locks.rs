// SPDX-License-Identifier: GPL-2.0

//! Test cases for the lock types in [`crate::sync`].
//!
//! Safe code only: these use the wrappers as any experiment would.

use super::{Case, Outcome};
use crate::{
    context::{self, Context, NoWait, Sleep},
    irq, new_raw_spinlock, new_spinlock,
    sync::{
        lock::{IrqSaveBackend, Lock, Section},
        LockClass, RawSpinLock,
    },
    system::{self, Lockdep},
    task::{self, KThread},
    time::Instant,
};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use kernel::{prelude::*, sync::Arc};

pub(super) const CASES: &[Case] = &[
    Case {
        name: "lock_mutual_exclusion",
        negative: false,
        about:
            "one thread per CPU increments a counter under each lock type; it must come out exact",
        run: mutual_exclusion,
    },
    Case {
        name: "lock_irqsave_restores",
        negative: false,
        about: "irqsave guards disable interrupts and restore the state they found",
        run: irqsave_restores,
    },
    Case {
        name: "lock_nested_order",
        negative: false,
        about: "spinlock_t > raw > raw nested in a fixed order on every CPU: no report",
        run: nested_order,
    },
    Case {
        name: "lock_dynamic_keys",
        negative: false,
        about: "10000 dynamic keys, each used by one lock once, then dropped",
        run: dynamic_keys,
    },
    Case {
        name: "lock_abba",
        negative: true,
        about: "A then B, later B then A, on two RawSpinLocks: circular dependency",
        run: abba,
    },
    Case {
        name: "lock_spinlock_in_raw",
        negative: true,
        about: "a SpinLock taken inside a held RawSpinLock: invalid wait context",
        run: spinlock_in_raw,
    },
    Case {
        name: "lock_sleep_in_raw",
        negative: true,
        about: "cond_resched() under a RawSpinLock: sleeping function called from invalid context",
        run: sleep_in_raw,
    },
];

/// Increments per thread in the mutual-exclusion case.
const ROUNDS: u64 = 50_000;

/// Widens the window between reading and writing the counter.
fn dawdle() {
    for _ in 0..8 {
        core::hint::spin_loop();
    }
}

/// Runs `f(cpu)` on one kernel thread per online CPU and waits for all.
fn on_each_cpu<F>(f: F) -> Result<u32>
where
    F: Fn(u32, &mut Sleep) + Send + Sync + 'static,
{
    let f = Arc::new(f, GFP_KERNEL)?;
    let n = system::online_cpus();
    let mut threads = KVec::with_capacity(n as usize, GFP_KERNEL)?;
    for cpu in 0..n {
        let f = f.clone();
        threads.push(
            KThread::spawn(c"test", Some(cpu), move |ctx| f(cpu, ctx))?,
            GFP_KERNEL,
        )?;
    }
    for t in threads {
        t.join();
    }
    Ok(n)
}

/// Hammers one counter from every CPU, with `lock()` or `lock_irqsave()`.
fn hammer<B: IrqSaveBackend + Section<Sleep> + 'static>(
    ctx: &mut Sleep,
    lock: Arc<Lock<u64, B>>,
    irqsave: bool,
) -> Result<(u32, u64)>
where
    B::GuardState: 'static,
{
    let l = lock.clone();
    let n = on_each_cpu(move |_, ctx| {
        for _ in 0..ROUNDS {
            if irqsave {
                let mut g = l.lock_irqsave(ctx);
                let v = *g;
                dawdle();
                *g = v + 1;
            } else {
                let mut g = l.lock(ctx);
                let v = *g;
                dawdle();
                *g = v + 1;
            }
        }
    })?;
    let total = *lock.lock(ctx);
    Ok((n, total))
}

/// A `NoWait` token for a section with interrupts off, on lazy and full
/// only (`irqsave_restores`).
#[allow(unsafe_code)]
fn irqs_off_non_rt() -> NoWait {
    // SAFETY: Called only when the model is not PREEMPT_RT, where a
    // `spinlock_t` spins and interrupts off do not forbid taking it.
    unsafe { <NoWait as Context>::assume() }
}

/// A forged `NoWait` token: deliberately wrong, for the negative test
/// `lock_spinlock_in_raw`, which takes a `spinlock_t` under a raw spinlock
/// so that lockdep reports it.
#[allow(unsafe_code)]
fn forged_nowait() -> NoWait {
    // SAFETY: None: the caller holds a raw spinlock, where this proof is
    // false on purpose (the negative test expects lockdep's report).
    unsafe { <NoWait as Context>::assume() }
}

fn mutual_exclusion(ctx: &mut Sleep) -> Result<Outcome> {
    let raw = Arc::pin_init(new_raw_spinlock!(0u64, "rcu_lab_test_raw"), GFP_KERNEL)?;
    let raw_irq = Arc::pin_init(new_raw_spinlock!(0u64, "rcu_lab_test_raw_irq"), GFP_KERNEL)?;
    let spin = Arc::pin_init(new_spinlock!(0u64, "rcu_lab_test_spin"), GFP_KERNEL)?;
    let spin_irq = Arc::pin_init(new_spinlock!(0u64, "rcu_lab_test_spin_irq"), GFP_KERNEL)?;
    let (n, r) = hammer(ctx, raw, false)?;
    let (_, ri) = hammer(ctx, raw_irq, true)?;
    let (_, s) = hammer(ctx, spin, false)?;
    let (_, si) = hammer(ctx, spin_irq, true)?;

    // The same increments without a lock show that the threads did race.
    let racy = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
    let c = racy.clone();
    on_each_cpu(move |_, _| {
        for _ in 0..ROUNDS {
            let v = c.load(Ordering::Relaxed);
            dawdle();
            c.store(v + 1, Ordering::Relaxed);
        }
    })?;
    let want = u64::from(n) * ROUNDS;
    let lost = want - racy.load(Ordering::Relaxed);
    Outcome::new(
        r == want && ri == want && s == want && si == want,
        format_args!(
            "{n} threads x {ROUNDS}: want {want}, RawSpinLock {r}, irqsave {ri}, \
             SpinLock {s}, irqsave {si}; without a lock {lost} updates were lost"
        ),
    )
}

fn irqsave_restores(ctx: &mut Sleep) -> Result<Outcome> {
    let raw = KBox::pin_init(new_raw_spinlock!((), "rcu_lab_test_irq_raw"), GFP_KERNEL)?;
    let spin = KBox::pin_init(new_spinlock!((), "rcu_lab_test_irq_spin"), GFP_KERNEL)?;
    // On PREEMPT_RT spin_lock_irqsave() leaves interrupts on (it sleeps).
    let rt = system::preempt_model().as_bytes() == b"rt";
    let mut bad = 0u32;

    let before = irq::disabled();
    let inside = {
        let _g = raw.lock_irqsave(ctx);
        irq::disabled()
    };
    bad += u32::from(before || !inside || irq::disabled());
    let inside_spin = {
        let _g = spin.lock_irqsave(ctx);
        irq::disabled()
    };
    bad += u32::from(inside_spin == rt || irq::disabled());

    // Taken with interrupts already off, the guard must leave them off.
    let nested_off = {
        let mut off = context::irqs_off(ctx);
        {
            let _g = raw.lock_irqsave(off.ctx());
        }
        let raw_ok = irq::disabled();
        let spin_ok = rt || {
            {
                // The types refuse a `spinlock_t` with interrupts off
                // (`IrqsOff` lends `Atomic`); on lazy and full it is legal.
                let mut legal = irqs_off_non_rt();
                let _g = spin.lock_irqsave(&mut legal);
            }
            irq::disabled()
        };
        raw_ok && spin_ok
    };
    bad += u32::from(!nested_off || irq::disabled());
    Outcome::new(
        bad == 0,
        format_args!(
            "enabled -> raw irqsave: off inside, on after; spinlock irqsave: {} inside; \
             inside local_irq_save: still off after; {bad} mismatches",
            if rt { "on (PREEMPT_RT)" } else { "off" }
        ),
    )
}

fn nested_order(ctx: &mut Sleep) -> Result<Outcome> {
    #[pin_data]
    struct Nest {
        #[pin]
        outer: crate::sync::SpinLock<u64>,
        #[pin]
        mid: RawSpinLock<u64>,
        #[pin]
        inner: RawSpinLock<u64>,
    }
    let nest = Arc::pin_init(
        pin_init!(Nest {
            outer <- new_spinlock!(0, "rcu_lab_nest_outer"),
            mid <- new_raw_spinlock!(0, "rcu_lab_nest_mid"),
            inner <- new_raw_spinlock!(0, "rcu_lab_nest_inner"),
        }),
        GFP_KERNEL,
    )?;
    let n2 = nest.clone();
    let n = on_each_cpu(move |_, ctx| {
        for _ in 0..2000 {
            // Each lock is taken with the token the outer one lends.
            let mut a = n2.outer.lock(ctx);
            let (a, ta) = a.split();
            let mut b = n2.mid.lock(ta);
            let (b, tb) = b.split();
            let mut c = n2.inner.lock_irqsave(tb);
            // lockdep agrees that all three are held (it warns otherwise).
            n2.outer.assert_is_held();
            n2.mid.assert_is_held();
            n2.inner.assert_is_held();
            *a += 1;
            *b += 1;
            *c += 1;
        }
    })?;
    let want = u64::from(n) * 2000;
    let outer = *nest.outer.lock(ctx);
    let mid = *nest.mid.lock(ctx);
    let counts = (outer, mid, *nest.inner.lock(ctx));
    let lockdep = Lockdep::current();
    Outcome::new(
        counts == (want, want, want) && lockdep != Lockdep::Off,
        format_args!(
            "{n} threads x 2000 nestings, counts {}/{}/{} of {want}, lockdep {}",
            counts.0,
            counts.1,
            counts.2,
            lockdep.as_str()
        ),
    )
}

/// Keys in the dynamic-key case, and threads that share the work.
const KEYS: usize = 10_000;
const KEY_THREADS: usize = 8;

fn dynamic_keys(ctx: &mut Sleep) -> Result<Outcome> {
    let used = Arc::new(AtomicUsize::new(0), GFP_KERNEL)?;
    let failed = Arc::new(AtomicUsize::new(0), GFP_KERNEL)?;
    let start = Instant::now();
    let mut threads = KVec::with_capacity(KEY_THREADS, GFP_KERNEL)?;
    for _ in 0..KEY_THREADS {
        let (used, failed) = (used.clone(), failed.clone());
        threads.push(
            KThread::spawn(c"keys", None, move |ctx| {
                for _ in 0..KEYS / KEY_THREADS {
                    let key = match LockClass::new_dynamic(ctx) {
                        Ok(k) => k,
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    };
                    let lock =
                        KBox::pin_init(RawSpinLock::new(0u32, c"rcu_lab_dynamic", key), GFP_KERNEL);
                    match lock {
                        Ok(lock) => {
                            *lock.lock(ctx) += 1;
                            used.fetch_add(1, Ordering::Relaxed);
                            // Dropping the lock drops the last reference to
                            // its key, which unregisters it (and sleeps).
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })?,
            GFP_KERNEL,
        )?;
    }
    for t in threads {
        t.join();
    }
    let elapsed = start.elapsed_us();
    // lockdep frees zapped classes from an RCU callback.
    crate::rcu::barrier(ctx);
    let used = used.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    let lockdep = Lockdep::current();
    Outcome::new(
        used == KEYS && failed == 0 && lockdep != Lockdep::Off,
        format_args!(
            "{used}/{KEYS} keys registered, used and unregistered by {KEY_THREADS} threads \
             in {} ms ({} us per key), {failed} failures, lockdep {}",
            elapsed / 1000,
            elapsed / KEYS as u64,
            lockdep.as_str()
        ),
    )
}

fn abba(ctx: &mut Sleep) -> Result<Outcome> {
    let a = KBox::pin_init(new_raw_spinlock!((), "rcu_lab_abba_a"), GFP_KERNEL)?;
    let b = KBox::pin_init(new_raw_spinlock!((), "rcu_lab_abba_b"), GFP_KERNEL)?;
    {
        let mut ga = a.lock(ctx);
        let _gb = b.lock(ga.ctx());
    }
    {
        let mut gb = b.lock(ctx);
        let _ga = a.lock(gb.ctx());
    }
    Outcome::new(true, format_args!("took A->B, then B->A"))
}

fn spinlock_in_raw(ctx: &mut Sleep) -> Result<Outcome> {
    let raw = KBox::pin_init(new_raw_spinlock!((), "rcu_lab_wait_raw"), GFP_KERNEL)?;
    let spin = KBox::pin_init(new_spinlock!((), "rcu_lab_wait_spin"), GFP_KERNEL)?;
    {
        let _r = raw.lock(ctx);
        // The types refuse this (the raw guard lends `Atomic`): the
        // negative test forges the proof to make lockdep see it.
        let mut forged = forged_nowait();
        let _s = spin.lock(&mut forged);
    }
    Outcome::new(true, format_args!("took a SpinLock inside a RawSpinLock"))
}

fn sleep_in_raw(ctx: &mut Sleep) -> Result<Outcome> {
    let raw = KBox::pin_init(new_raw_spinlock!((), "rcu_lab_sleep_raw"), GFP_KERNEL)?;
    {
        let _r = raw.lock(ctx);
        task::cond_resched();
    }
    Outcome::new(
        true,
        format_args!("called cond_resched() under a RawSpinLock"),
    )
}
