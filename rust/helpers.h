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

#include <linux/hrtimer_types.h>
#include <linux/irq_work_types.h>
#include <linux/llist.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>
#include <linux/workqueue_types.h>

struct dentry;
struct kmem_cache;
struct shrinker;
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

struct dentry *rcu_lab_debugfs_create_file(const char *name, umode_t mode,
					   struct dentry *parent,
					   const void *data,
					   rcu_lab_show_fn show,
					   rcu_lab_write_fn write);
void rcu_lab_debugfs_remove(struct dentry *dentry);

/* Preemption: a per-CPU section that interrupts may still enter. */
void rcu_lab_preempt_disable(void);
void rcu_lab_preempt_enable(void);

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
/*
 * Waits up to ms milliseconds for fn to return; true once it has (only the
 * thread that joins k may call it).  The
 * caller sleeps uninterruptibly for at most that long, so a joiner that
 * polls with it stays out of the hung-task detector's way and can look at
 * its own signals in between.
 */
bool rcu_lab_kthread_wait(struct rcu_lab_kthread *k, unsigned int ms);

/*
 * Whether the current task has a fatal signal pending (SIGKILL, or an
 * unhandled SIGINT/SIGTERM that will kill it).
 */
bool rcu_lab_fatal_signal_pending(void);

/*
 * Memory available for new allocations without swapping, in bytes
 * (MemAvailable of /proc/meminfo, si_mem_available()).
 */
u64 rcu_lab_mem_available_bytes(void);

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

/*
 * The rejected design's block pages (rust/rcu/batch.rs, Inline::Atomic; the
 * zone probe of its negative test):
 * one page from the page allocator with GFP_ATOMIC and nothing else.  Not
 * registered with kmemleak: its metadata allocation would reach the slab
 * allocator's n->list_lock before the page allocator's zone->lock (measured),
 * and the design exists only for a negative test, whose boot runs no
 * kmemleak scan.  NULL when the allocation fails (never warns).
 * rcu_lab_atomic_page_free() takes NULL too.
 */
void *rcu_lab_atomic_page_alloc(void);
void rcu_lab_atomic_page_free(void *page);

/*
 * Experiment 2's inline block pages (rust/rcu/batch.rs, Config::inline):
 * one page allocated in the caller's context, by a policy:
 *
 *   RCU_LAB_INLINE_ATOMIC         GFP_ATOMIC (the negative test's design)
 *   RCU_LAB_INLINE_NOWAIT         GFP_NOWAIT, always (the 2020 proposal)
 *   RCU_LAB_INLINE_OVERRIDE       can_fill_pool()'s policy (lib/debugobjects.c):
 *                                 on non-RT GFP_NOWAIT under a lockdep wait-type
 *                                 override to LD_WAIT_CONFIG; on RT only when
 *                                 preemptible() && !current->pi_blocked_on
 *   RCU_LAB_INLINE_RUNTIME_CHECK  GFP_NOWAIT only when preemptible() (Paul's check)
 *
 * *declined is set when the policy refused to allocate in this context;
 * NULL without it means the allocation failed.  Freed with
 * rcu_lab_atomic_page_free(); not registered with kmemleak (see above).
 */
#define RCU_LAB_INLINE_ATOMIC 1
#define RCU_LAB_INLINE_NOWAIT 2
#define RCU_LAB_INLINE_OVERRIDE 3
#define RCU_LAB_INLINE_RUNTIME_CHECK 4
void *rcu_lab_inline_page_alloc(int policy, bool *declined);
/*
 * Pages on the current CPU's per-CPU free lists of the zone page is in
 * (all orders and migrate types); call with interrupts disabled.  When it
 * is 0, the next order-0 allocation on this CPU from that zone refills the
 * list under zone->lock.
 */
int rcu_lab_pcp_count(const void *page);

/*
 * RCU's grace-period counters (kernel/rcu/rcu.h, exported but not in a
 * public header): the grace-period sequence (a grace period adds 4) and the
 * number of expedited grace periods completed.
 */
unsigned long rcu_lab_rcu_gp_seq(void);
unsigned long rcu_lab_rcu_exp_gp_count(void);

/*
 * Function-call interrupts received so far by every online CPU: the sum of
 * x86's per-CPU irq_stat.counts[IRQ_COUNT_CALL_FUNCTION] (irq_stat is
 * exported, arch/x86/kernel/irq.c:34-35; both call-function vectors count
 * into it, arch/x86/kernel/smp.c:258-274), which
 * /proc/interrupts shows as CAL.  Expedited grace periods send these
 * (tree_exp.h:420), and so do TLB shootdowns: take deltas against an idle
 * interval.  -1 on other architectures.  Any context.
 */
long long rcu_lab_ipi_count(void);

/*
 * Lets debug-objects refill its pool from the calling context: an rcu_head's
 * debug-object init first calls debug_objects_fill_pool(), which tops the
 * global pool up to ODEBUG_POOL_MIN_LEVEL (256) when it is below and
 * can_fill_pool() allows (lib/debugobjects.c:722-782; on PREEMPT_RT only
 * when preemptible() and not PI-blocked).  call_rcu() from a raw context
 * draws debug objects from the pool without refilling it on RT.  An on-stack
 * head, initialised and destroyed at once, leaves nothing tracked.  Nothing
 * without CONFIG_DEBUG_OBJECTS_RCU_HEAD.
 */
void rcu_lab_debug_objects_refill(void);

/*
 * What the current context looks like to run-time checks (experiment 2's
 * evidence matrix): preemptible(), preempt_count(), irqs_disabled(),
 * in_hardirq(), in_serving_softirq().  Any context.
 */
struct rcu_lab_context_state {
	bool preemptible;
	bool irqs_disabled;
	bool in_hardirq;
	bool in_serving_softirq;
	unsigned int preempt_count;
};
void rcu_lab_context_state(struct rcu_lab_context_state *s);

/*
 * Work requested from any context (hardirq, under a raw spinlock): a kick
 * arms a hard-interrupt hrtimer, whose callback queues the work on
 * system_dfl_wq; fn(data) then runs in process context.  A kick never
 * queues work itself, so it takes only the hrtimer base's raw lock.
 * rcu_lab_kick_now() runs fn as soon as possible, rcu_lab_kick_later()
 * after delay_ns unless a later kick is already pending.
 * rcu_lab_kick_stop() makes further kicks do nothing and waits until no
 * timer or work is left (sleeps).
 */
struct rcu_lab_kick {
	struct hrtimer now;
	struct hrtimer later;
	struct work_struct work;
	unsigned long flags;
	void (*fn)(void *data);
	void *data;
};

void rcu_lab_kick_init(struct rcu_lab_kick *k, void (*fn)(void *data),
		       void *data);
void rcu_lab_kick_now(struct rcu_lab_kick *k);
void rcu_lab_kick_later(struct rcu_lab_kick *k, u64 delay_ns);
void rcu_lab_kick_stop(struct rcu_lab_kick *k);

/*
 * Objects handed over from any context but NMI and passed on later from an
 * irq_work, as 7.3's kfree_rcu_nolock() defers (mm/slub.c:6108-6121,
 * 6421-6500): rcu_lab_irq_defer_add() pushes a node on a lock-free list and
 * queues the irq_work (IRQ_WORK_INIT: hard interrupt on non-RT, the
 * irq_work/N thread on PREEMPT_RT) when the list was empty; the irq_work
 * takes the whole list and calls fn(data, first) with the nodes in the
 * order they were added.  rcu_lab_irq_defer_flush() waits for a pending or
 * running irq_work (irq_work_sync(); sleeps on RT) and returns what is left
 * on the list, in order (NULL if nothing).
 */
struct rcu_lab_irq_defer {
	struct irq_work work;
	struct llist_head list;
	void (*fn)(void *data, struct llist_node *first);
	void *data;
};

void rcu_lab_irq_defer_init(struct rcu_lab_irq_defer *d,
			    void (*fn)(void *data, struct llist_node *first),
			    void *data);
void rcu_lab_irq_defer_add(struct rcu_lab_irq_defer *d, struct llist_node *node);
struct llist_node *rcu_lab_irq_defer_flush(struct rcu_lab_irq_defer *d);

/*
 * A shrinker (include/linux/shrinker.h) named "rcu_lab-<name>" whose
 * count/scan call into Rust with data; NULL if it cannot be allocated.
 * rcu_lab_shrinker_free() unregisters it and waits for running callbacks.
 */
typedef unsigned long (*rcu_lab_shrink_fn)(void *data, unsigned long nr);
struct shrinker *rcu_lab_shrinker_register(const char *name,
					   rcu_lab_shrink_fn count,
					   rcu_lab_shrink_fn scan, void *data);
void rcu_lab_shrinker_free(struct shrinker *s);

/*
 * Slab caches with a run-time object size (rust/slab.rs).  sheaves: false
 * creates the cache with SLAB_NOLEAKTRACE, which 7.3 allows and which
 * turns per-CPU sheaves off (SLAB_NO_SHEAVES is refused); every cache gets
 * SLAB_NO_MERGE.  rcu_lab_slab_attr() reads the first number of
 * /sys/kernel/slab/<cache>/<attr> (e.g. "slabs", "sheaf_capacity",
 * "free_rcu_sheaf" with CONFIG_SLUB_STATS) into *val; 0 or -errno.
 */
struct kmem_cache *rcu_lab_kmem_cache_create(const char *name,
					     unsigned int size, bool sheaves);
int rcu_lab_slab_attr(const char *cache, const char *attr, u64 *val);
/* Writes val to /sys/kernel/slab/<cache>/<attr> (e.g. "failslab"); 0 or -errno. */
int rcu_lab_slab_attr_set(const char *cache, const char *attr, u64 val);
/*
 * An object (zeroed if zero), with the kernel's page-cache refill flags
 * (GFP_KERNEL | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN); may sleep.
 */
void *rcu_lab_kmem_cache_alloc_noretry(struct kmem_cache *s, bool zero);

/* C reference loops of the lock benchmark (bench/lock_loops.c). */
void rcu_lab_ref_raw_lock_loop(unsigned long n);
void rcu_lab_ref_raw_lock_irqsave_loop(unsigned long n);
void rcu_lab_ref_spin_lock_loop(unsigned long n);
void rcu_lab_ref_spin_lock_irqsave_loop(unsigned long n);
void rcu_lab_ref_local_irq_save_loop(unsigned long n);

/* C reference loops of the reader benchmark (bench/reader_loops.c). */
void rcu_lab_ref_rcu_read_loop(unsigned long n);
void rcu_lab_ref_rcu_read_nolockdep_loop(unsigned long n);
void rcu_lab_ref_preempt_loop(unsigned long n);

#endif /* RCU_LAB_HELPERS_H */
