// SPDX-License-Identifier: GPL-2.0

//! RCU: grace periods and callbacks.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h).

use kernel::bindings;

/// Waits until every RCU callback queued before this call has run.
///
/// Module exit calls it so that no callback of this module runs after the
/// module's text is gone. Sleeps.
pub(crate) fn barrier() {
    // SAFETY: `rcu_barrier()` has no preconditions beyond process context,
    // which its callers provide (module exit).
    unsafe { bindings::rcu_barrier() };
}
