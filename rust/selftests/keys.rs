// SPDX-License-Identifier: GPL-2.0

//! Test cases for experiment 3's key hash (`crate::rcu::hlist`) and its
//! unregister strategies: each strategy under a stress, and the two uses
//! after free the negative tests provoke.

use super::{Case, Outcome};
use crate::{
    experiments::key_unregister::{stress, StressKind},
    system,
};
use kernel::prelude::*;

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
            run: || stress_case($name),
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
        name: "key_unregister_none",
        negative: true,
        about: "key hash: unregister frees at once (none), readers on the keys torn down: KASAN",
        run: || negative_case(StressKind::None),
    },
    Case {
        name: "key_unregister_unprotected",
        negative: true,
        about: "key hash under hazptr, readers without a hazard pointer: KASAN",
        run: || negative_case(StressKind::UnprotectedHazptr),
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

fn stress_case(name: &'static str) -> Result<Outcome> {
    let r = stress(StressKind::Strategy(name), STRESS_MS, STRESS_KEYS, &|| {
        false
    })?;
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

fn negative_case(kind: StressKind) -> Result<Outcome> {
    let r = stress(kind, NEGATIVE_MS, NEGATIVE_KEYS, &system::tainted_bad_page)?;
    let kasan = system::tainted_bad_page();
    Outcome::new(
        kasan || r.bad > 0,
        format_args!("{}; KASAN reported (taint B): {kasan}", r),
    )
}
