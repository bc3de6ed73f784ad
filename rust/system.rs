// SPDX-License-Identifier: GPL-2.0

//! Facts about the running kernel: release, preemption model, lockdep, CPUs.

use crate::{context::MaySleep, helpers};
use kernel::prelude::*;

/// Converts a pointer to a static C string returned by the shim.
///
/// # Safety
///
/// `ptr` must point to a NUL-terminated string that lives as long as the
/// kernel (or this module's text) and is never written.
unsafe fn static_cstr(ptr: *const c_char) -> &'static str {
    // SAFETY: The caller guarantees that `ptr` is a NUL-terminated string
    // valid and immutable for `'static`.
    let s = unsafe { CStr::from_char_ptr(ptr) };
    // The shim's strings are ASCII.
    s.to_str().unwrap_or("?")
}

/// Version of this module, as in `/sys/module/rcu_lab/version`.
pub(crate) fn module_version() -> &'static str {
    // SAFETY: `rcu_lab_module_version()` returns a string literal in the
    // module's read-only data, which outlives every caller in the module.
    unsafe { static_cstr(helpers::rcu_lab_module_version()) }
}

/// Release of the running kernel, as `uname -r` prints it.
pub(crate) fn kernel_release() -> &'static str {
    // SAFETY: `rcu_lab_kernel_release()` returns `init_utsname()->release`,
    // a NUL-terminated array in the initial UTS namespace, which is static.
    // Only `sethostname`-style calls write UTS fields, and never `release`.
    unsafe { static_cstr(helpers::rcu_lab_kernel_release()) }
}

/// Preemption model in force: `lazy`, `full` or `rt` (x86 in 7.3 has no
/// other; `none` and `voluntary` remain for other architectures).
pub(crate) fn preempt_model() -> &'static str {
    // SAFETY: `rcu_lab_preempt_model()` returns one of a few string literals.
    unsafe { static_cstr(helpers::rcu_lab_preempt_model()) }
}

/// The RCU flavour: `preemptible` (`CONFIG_PREEMPT_RCU`: full, RT, and every
/// `PREEMPT_DYNAMIC` kernel) or `non-preemptible` (a lazy kernel without it).
pub(crate) fn rcu_flavour() -> &'static str {
    // SAFETY: `rcu_lab_rcu_flavour()` returns one of two string literals.
    unsafe { static_cstr(helpers::rcu_lab_rcu_flavour()) }
}

/// Whether the preemption model was chosen at boot (`CONFIG_PREEMPT_DYNAMIC`).
pub(crate) fn preempt_dynamic() -> bool {
    // SAFETY: The function only tests a Kconfig symbol.
    unsafe { helpers::rcu_lab_preempt_dynamic() }
}

/// State of lockdep in the running kernel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lockdep {
    /// Configured and still checking.
    On,
    /// Configured, but turned off (by an earlier report, or at boot).
    Off,
    /// Not configured in this kernel.
    Absent,
}

impl Lockdep {
    /// Reads the state now (`debug_locks`).
    pub(crate) fn current() -> Self {
        // SAFETY: The function reads `debug_locks` with `READ_ONCE()`.
        match unsafe { helpers::rcu_lab_lockdep_state() } {
            1 => Lockdep::On,
            0 => Lockdep::Off,
            _ => Lockdep::Absent,
        }
    }

    /// The name `info` prints.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Lockdep::On => "on",
            Lockdep::Off => "off",
            Lockdep::Absent => "absent",
        }
    }
}

/// What the current context looks like to the kernel's run-time checks.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct ContextState {
    /// `preemptible()`: preemption count 0 and interrupts on.
    pub(crate) preemptible: bool,
    /// `preempt_count()`, all fields.
    pub(crate) preempt_count: u32,
    /// `irqs_disabled()`.
    pub(crate) irqs_disabled: bool,
    /// `in_hardirq()`.
    pub(crate) in_hardirq: bool,
    /// `in_serving_softirq()`.
    pub(crate) in_serving_softirq: bool,
}

impl ContextState {
    /// Reads the current context's state. Any context.
    pub(crate) fn now() -> Self {
        let mut s = helpers::rcu_lab_context_state {
            preemptible: false,
            irqs_disabled: false,
            in_hardirq: false,
            in_serving_softirq: false,
            preempt_count: 0,
        };
        // SAFETY: The function only writes the struct it is given, which
        // is valid for writes; it may be called from any context.
        unsafe { helpers::rcu_lab_context_state(&mut s) };
        ContextState {
            preemptible: s.preemptible,
            preempt_count: s.preempt_count,
            irqs_disabled: s.irqs_disabled,
            in_hardirq: s.in_hardirq,
            in_serving_softirq: s.in_serving_softirq,
        }
    }
}

/// Function-call interrupts (IPIs) received so far by all online CPUs
/// (`CAL` in `/proc/interrupts`: expedited grace periods and TLB
/// shootdowns); `None` where the kernel does not count them per CPU
/// (not x86). Any context.
pub(crate) fn ipi_count() -> Option<u64> {
    // SAFETY: The function reads per-CPU counters; any context.
    let n = unsafe { helpers::rcu_lab_ipi_count() };
    u64::try_from(n).ok()
}

/// Whether the kernel is tainted `B` (`TAINT_BAD_PAGE`): KASAN's reports
/// set it (mm/kasan/report.c `end_report()`), so a negative test can stop
/// provoking once one was printed. Any context.
pub(crate) fn tainted_bad_page() -> bool {
    // SAFETY: `test_taint()` reads a bit of `tainted_mask`; any context.
    unsafe { kernel::bindings::test_taint(kernel::bindings::TAINT_BAD_PAGE) != 0 }
}

/// Number of online CPUs.
pub(crate) fn online_cpus() -> u32 {
    // SAFETY: `num_online_cpus()` may be called from any context.
    unsafe { helpers::rcu_lab_num_online_cpus() }
}

/// Number of possible CPUs.
pub(crate) fn possible_cpus() -> u32 {
    // SAFETY: `num_possible_cpus()` may be called from any context.
    unsafe { helpers::rcu_lab_num_possible_cpus() }
}

/// Memory available for new allocations without swapping, in bytes
/// (`MemAvailable` in `/proc/meminfo`).
pub(crate) fn mem_available_bytes() -> u64 {
    // SAFETY: `si_mem_available()` only reads counters; any context.
    unsafe { helpers::rcu_lab_mem_available_bytes() }
}

/// Takes CPU `cpu` offline (`remove_cpu()`) or brings it back online
/// (`add_cpu()`): what writing `0` or `1` to
/// `/sys/devices/system/cpu/cpu<N>/online` does. Sleeps: `ctx` proves it
/// may.
pub(crate) fn set_cpu_online(_ctx: &mut impl MaySleep, cpu: u32, online: bool) -> Result {
    // SAFETY: Both take the hotplug locks themselves and may be called from
    // any sleepable context; an unknown or unpluggable CPU is an error.
    let r = unsafe {
        if online {
            kernel::bindings::add_cpu(cpu)
        } else {
            kernel::bindings::remove_cpu(cpu)
        }
    };
    kernel::error::to_result(r)
}
