/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C shim for rcu_lab's Rust code: what the `kernel` crate of Linux 7.3 does
 * not bind.  These are `static inline` functions and macros bindgen cannot
 * turn into calls (raw spinlocks, irqsave on spinlock_t, rcu_read_lock_held(),
 * num_online_cpus()), the hazard pointers' per-CPU data, a kernel thread
 * runner, the rate-limit state of user-triggerable messages, and debugfs
 * file_operations that pin the module while a file is open.  Rust
 * declarations are generated from this header by bindgen (see Kbuild); keep
 * every function prefixed rcu_lab_.
 */
#ifndef RCU_LAB_HELPERS_H
#define RCU_LAB_HELPERS_H

#include <linux/spinlock_types.h>
#include <linux/types.h>

struct dentry;
struct lock_class_key;
struct seq_file;
struct rcu_lab_kthread;

/* What the running kernel is. */
const char *rcu_lab_module_version(void);
const char *rcu_lab_kernel_release(void);
const char *rcu_lab_preempt_model(void);
bool rcu_lab_preempt_dynamic(void);
/* "preemptible" (PREEMPT_RCU) or "non-preemptible" (TREE_RCU without it). */
const char *rcu_lab_rcu_flavour(void);
/* 1: lockdep configured and still on; 0: turned off by a report; -1: absent. */
int rcu_lab_lockdep_state(void);
unsigned int rcu_lab_num_online_cpus(void);
unsigned int rcu_lab_num_possible_cpus(void);

/*
 * Rate limit of messages a user can trigger at will (refused debugfs
 * writes): true when this one may be printed.  One state for the module,
 * DEFAULT_RATELIMIT_INTERVAL/BURST as pr_*_ratelimited().
 */
bool rcu_lab_user_msg_ratelimit(void);

/*
 * debugfs files whose show/write are Rust callbacks, with .owner set so that
 * an open file pins the module (the `kernel` crate's files do not).
 */
typedef int (*rcu_lab_show_fn)(struct seq_file *m, const void *data);
typedef int (*rcu_lab_write_fn)(const void *data, const char *buf, size_t len);

/*
 * Longest write accepted by an rcu_lab debugfs file; longer ones fail with
 * -EINVAL and a (rate-limited) dmesg line.
 */
#define RCU_LAB_DEBUGFS_MAX_WRITE 256

struct dentry *rcu_lab_debugfs_create_dir(const char *name,
					  struct dentry *parent);
struct dentry *rcu_lab_debugfs_create_file(const char *name, umode_t mode,
					   struct dentry *parent,
					   const void *data,
					   rcu_lab_show_fn show,
					   rcu_lab_write_fn write);
void rcu_lab_debugfs_remove(struct dentry *dentry);
int rcu_lab_seq_write(struct seq_file *m, const void *buf, size_t len);

/* Sleeping and interrupt state. */
void rcu_lab_cond_resched(void);
bool rcu_lab_irqs_disabled(void);

/*
 * raw_spinlock_t: initialisation with the spinning lockdep wait type, and
 * lockdep_assert_held() (macros); Rust calls the exported _raw_spin_lock()
 * family for the rest, as the macros do on x86.
 */
void rcu_lab_raw_spin_lock_init(raw_spinlock_t *lock, const char *name,
				struct lock_class_key *key);
void rcu_lab_raw_spin_assert_held(raw_spinlock_t *lock);

/* spinlock_t irqsave (spin_lock/spin_unlock have kernel helpers). */
unsigned long rcu_lab_spin_lock_irqsave(spinlock_t *lock);
void rcu_lab_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);

/*
 * Kernel threads running a function once: rcu_lab_kthread_join() waits for
 * fn to return, stops the thread and frees the handle.  cpu < 0: unbound.
 */
struct rcu_lab_kthread *rcu_lab_kthread_start(int (*fn)(void *data),
					      void *data, int cpu,
					      const char *name);
int rcu_lab_kthread_join(struct rcu_lab_kthread *k);

/* RCU: whether lockdep sees this context in a read-side critical section. */
bool rcu_lab_rcu_read_lock_held(void);

/*
 * Hazard-pointer state, one per possible CPU in the module's per-CPU data:
 * the slot every CPU reads, and the nesting depth only its CPU touches
 * (rust/protocol/hazptr.rs, CpuState, has the same layout).
 * rcu_lab_hazptr_enter() disables preemption (notrace) and returns the
 * current CPU's; rcu_lab_hazptr_exit() enables preemption again.
 */
struct rcu_lab_hazptr_cpu {
	unsigned long slot;
	unsigned long depth;
};

struct rcu_lab_hazptr_cpu *rcu_lab_hazptr_enter(void);
void rcu_lab_hazptr_exit(void);
struct rcu_lab_hazptr_cpu *rcu_lab_hazptr_cpu(int cpu);
/* The next possible CPU after cpu (-1 to start), or -1 after the last. */
int rcu_lab_next_possible_cpu(int cpu);

/* C reference loops of the lock benchmark (bench/lock_loops.c). */
void rcu_lab_ref_raw_lock_loop(unsigned long n);
void rcu_lab_ref_raw_lock_irqsave_loop(unsigned long n);
void rcu_lab_ref_spin_lock_loop(unsigned long n);
void rcu_lab_ref_spin_lock_irqsave_loop(unsigned long n);

/* C reference loops of the reader benchmark (bench/reader_loops.c). */
void rcu_lab_ref_rcu_read_loop(unsigned long n);
void rcu_lab_ref_rcu_read_nolockdep_loop(unsigned long n);
void rcu_lab_ref_preempt_loop(unsigned long n);

#endif /* RCU_LAB_HELPERS_H */
