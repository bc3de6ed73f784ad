// SPDX-License-Identifier: GPL-2.0

//! The report cells of experiment 2's evidence matrix, each for a boot of
//! its own: `nowait` (a block page with `GFP_NOWAIT` in the caller's
//! context) where the 7.3 source says lockdep, or RT's sleeping-function
//! check, must object (`matrix::expected_report`). The negative tests
//! `selftests/rcu_lab/negative/matrix_nowait_*.sh` name the reports.

use super::{Case, Outcome};
use crate::experiments::raw_call_rcu::matrix::{self, expected_report, Context, Way};
use crate::{context::Sleep, rcu::batch::Inline};
use kernel::prelude::*;

pub(super) const CASES: &[Case] = &[
    Case {
        name: "matrix_nowait_raw_spinlock",
        negative: true,
        about: "experiment 2: nowait's block page under a raw spinlock reaches zone->lock",
        run: |ctx| provoke(ctx, Context::RawSpinlock),
    },
    Case {
        name: "matrix_nowait_hardirq",
        negative: true,
        about: "experiment 2: nowait's block page in a hard hrtimer reaches zone->lock",
        run: |ctx| provoke(ctx, Context::Hardirq),
    },
    Case {
        name: "matrix_nowait_irqs_off",
        negative: true,
        about: "experiment 2: nowait's block page with interrupts off reaches zone->lock",
        run: |ctx| provoke(ctx, Context::IrqsOff),
    },
];

/// Runs the cell; passes when pages were allocated in the context and
/// every object was dropped (the report is the gate's to judge).
fn provoke(tok: &mut Sleep, ctx: Context) -> Result<Outcome> {
    let rt = matrix::is_rt();
    let r = matrix::provoke(tok, ctx)?;
    let s = r.stats.unwrap_or_default();
    let expect = expected_report(Way::Engine(Inline::Nowait), ctx, rt);
    Outcome::new(
        s.inline_allocated > 0 && r.dropped == Some(r.objects),
        format_args!(
            "nowait in {}: {} block pages allocated in the context for {} objects (64 more \
             than this CPU's per-CPU page lists held), {} dropped; preemptible {} \
             preempt_count {:#x}; expected report: {}",
            ctx.name(),
            s.inline_allocated,
            r.objects,
            r.dropped.unwrap_or(0),
            r.state.preemptible as u8,
            r.state.preempt_count,
            if expect.is_empty() { "none" } else { expect }
        ),
    )
}
