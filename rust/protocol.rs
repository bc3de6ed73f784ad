// SPDX-License-Identifier: GPL-2.0

//! Lock-free protocols, in files shared with the host-side model checker.
//!
//! The files under `rust/protocol/` use nothing but `core` and describe an
//! algorithm against a small trait of what it needs from the machine: the
//! module compiles them against the kernel's CPUs and atomics
//! ([`crate::hazptr`], [`crate::rcu`]), and `rust/model/` compiles the very
//! same files against loom, which checks every interleaving (see
//! `Documentation/reclamation.rst`).
//!
//! * [`publish`]: publishing a pointer to readers that take no lock
//!   (`rcu_assign_pointer()` / `rcu_dereference()`);
//! * [`hazptr`]: per-CPU hazard-pointer slots with a wildcard;
//! * [`hlist`]: an RCU hash-list bucket, and its protection by a hazard
//!   pointer on the bucket (experiment 3);
//! * [`word`]: the atomic word both are written against;
//! * [`walk`]: invoking callbacks from an array (experiment 2), shared in
//!   the same way with the host benchmark `scripts/hostbench/walk.rs`,
//!   which times it on real hardware.

pub(crate) mod hazptr;
pub(crate) mod hlist;
pub(crate) mod publish;
pub(crate) mod walk;
pub(crate) mod word;
