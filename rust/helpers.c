// SPDX-License-Identifier: GPL-2.0
/*
 * C shim for rcu_lab's Rust code; see helpers.h.
 */

#include <linux/cpumask.h>
#include <linux/debug_locks.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/hardirq.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/irqflags.h>
#include <linux/llist.h>
#include <linux/kthread.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <linux/workqueue.h>

#include "helpers.h"

/*
 * The shim's per-object and per-section functions.  When Kbuild links the
 * shim into the Rust code as bitcode, __always_inline makes them inline
 * there, as the kernel's __rust_helper does for its own helpers: LLVM
 * otherwise refuses to inline across the C and Rust attribute sets
 * (rust/helpers/helpers.c explains why that refusal is a false positive).
 * Compiled as a C object of its own, they are ordinary functions: the
 * kernel's inline is gnu_inline, which still emits the external definition.
 */
#define RCU_LAB_HOT __always_inline

MODULE_VERSION(RCU_LAB_VERSION);

const char *rcu_lab_module_version(void)
{
	return RCU_LAB_VERSION;
}

const char *rcu_lab_kernel_release(void)
{
	return init_utsname()->release;
}

const char *rcu_lab_preempt_model(void)
{
	if (preempt_model_rt())
		return "rt";
	if (preempt_model_full())
		return "full";
	if (preempt_model_lazy())
		return "lazy";
	if (preempt_model_voluntary())
		return "voluntary";
	if (preempt_model_none())
		return "none";
	return "unknown";
}

const char *rcu_lab_rcu_flavour(void)
{
	return IS_ENABLED(CONFIG_PREEMPT_RCU) ? "preemptible" : "non-preemptible";
}

bool rcu_lab_user_msg_ratelimit(void)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);

	return __ratelimit(&rs);
}

bool rcu_lab_preempt_dynamic(void)
{
	return IS_ENABLED(CONFIG_PREEMPT_DYNAMIC);
}

int rcu_lab_lockdep_state(void)
{
	if (!IS_ENABLED(CONFIG_LOCKDEP))
		return -1;
	return READ_ONCE(debug_locks) ? 1 : 0;
}

unsigned int rcu_lab_num_online_cpus(void)
{
	return num_online_cpus();
}

unsigned int rcu_lab_num_possible_cpus(void)
{
	return num_possible_cpus();
}

/*
 * One rcu_lab debugfs file: the Rust object and its callbacks.  Lives from
 * rcu_lab_debugfs_create_file() to rcu_lab_debugfs_remove(); debugfs_remove()
 * waits for every running operation, so no callback runs after it returns.
 *
 * The `kernel` crate of 7.3 has debugfs files backed by Rust data, but its
 * file_operations have no .owner: an open file does not pin the module, and
 * closing it after rmmod makes debugfs' full_proxy_release() call the freed
 * module's fops (an oops, measured).  These set .owner, so rmmod waits.
 */
struct rcu_lab_debugfs_file {
	const void *data;
	rcu_lab_show_fn show;
	rcu_lab_write_fn write;
};

static int rcu_lab_debugfs_show(struct seq_file *m, void *unused)
{
	struct rcu_lab_debugfs_file *f = m->private;

	return f->show(m, f->data);
}

static int rcu_lab_debugfs_open(struct inode *inode, struct file *file)
{
	return single_open(file, rcu_lab_debugfs_show, inode->i_private);
}

static ssize_t rcu_lab_debugfs_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	struct rcu_lab_debugfs_file *f = file_inode(file)->i_private;
	char *buf;
	int ret;

	if (!f->write) {
		if (rcu_lab_user_msg_ratelimit())
			pr_warn("rcu_lab: %pD is read-only\n", file);
		return -EPERM;
	}
	if (count == 0 || count > RCU_LAB_DEBUGFS_MAX_WRITE) {
		if (rcu_lab_user_msg_ratelimit())
			pr_warn("rcu_lab: %pD: write of %zu bytes rejected (1..%d)\n",
				file, count, RCU_LAB_DEBUGFS_MAX_WRITE);
		return -EINVAL;
	}
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	ret = f->write(f->data, buf, count);
	kfree(buf);
	if (ret < 0)
		return ret;
	*ppos += count;
	return count;
}

static const struct file_operations rcu_lab_debugfs_fops = {
	.owner = THIS_MODULE,
	.open = rcu_lab_debugfs_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.write = rcu_lab_debugfs_write,
	.release = single_release,
};

struct dentry *rcu_lab_debugfs_create_file(const char *name, umode_t mode,
					   struct dentry *parent,
					   const void *data,
					   rcu_lab_show_fn show,
					   rcu_lab_write_fn write)
{
	struct rcu_lab_debugfs_file *f;
	struct dentry *d;

	f = kzalloc_obj(*f);
	if (!f)
		return ERR_PTR(-ENOMEM);
	f->data = data;
	f->show = show;
	f->write = write;
	d = debugfs_create_file(name, mode, parent, f, &rcu_lab_debugfs_fops);
	if (IS_ERR(d))
		kfree(f);
	return d;
}

void rcu_lab_debugfs_remove(struct dentry *dentry)
{
	struct rcu_lab_debugfs_file *f = NULL;

	if (d_is_reg(dentry))
		f = d_inode(dentry)->i_private;
	/* Waits for running open/read/write calls; later ones get -EIO. */
	debugfs_remove(dentry);
	kfree(f);
}

RCU_LAB_HOT void rcu_lab_preempt_disable(void)
{
	preempt_disable();
}

RCU_LAB_HOT void rcu_lab_preempt_enable(void)
{
	preempt_enable();
}

RCU_LAB_HOT void rcu_lab_cond_resched(void)
{
	cond_resched();
}

RCU_LAB_HOT bool rcu_lab_irqs_disabled(void)
{
	return irqs_disabled();
}

void rcu_lab_raw_spin_lock_init(raw_spinlock_t *lock, const char *name,
				struct lock_class_key *key)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	/* What raw_spin_lock_init() does, with the caller's name and key. */
	__raw_spin_lock_init(lock, name, key, LD_WAIT_SPIN);
#else
	raw_spin_lock_init(lock);
#endif
}

RCU_LAB_HOT void rcu_lab_raw_spin_assert_held(raw_spinlock_t *lock)
{
	lockdep_assert_held(lock);
}

RCU_LAB_HOT unsigned long rcu_lab_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

RCU_LAB_HOT void rcu_lab_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

RCU_LAB_HOT bool rcu_lab_rcu_read_lock_held(void)
{
	return rcu_read_lock_held();
}

/*
 * The hazard-pointer state (rust/hazptr.rs).  Only Rust code reads and
 * writes it, atomically; zero is the empty slot and depth.
 */
static DEFINE_PER_CPU_ALIGNED(struct rcu_lab_hazptr_cpu, rcu_lab_hazptr_cpus);

/*
 * notrace: the Rust guard balances the pair by construction, and a guard
 * taken inside tracing or lockdep must not recurse into the preemption
 * tracer; preempt_count() is raised all the same.
 */
RCU_LAB_HOT struct rcu_lab_hazptr_cpu *rcu_lab_hazptr_enter(void)
{
	preempt_disable_notrace();
	return this_cpu_ptr(&rcu_lab_hazptr_cpus);
}

RCU_LAB_HOT void rcu_lab_hazptr_exit(void)
{
	preempt_enable_notrace();
}

RCU_LAB_HOT struct rcu_lab_hazptr_cpu *rcu_lab_hazptr_cpu(int cpu)
{
	return per_cpu_ptr(&rcu_lab_hazptr_cpus, cpu);
}

RCU_LAB_HOT int rcu_lab_next_possible_cpu(int cpu)
{
	unsigned int next = cpumask_next(cpu, cpu_possible_mask);

	return next < nr_cpu_ids ? next : -1;
}

struct rcu_lab_kthread {
	struct task_struct *task;
	struct completion done;
	/* The joiner consumed done in rcu_lab_kthread_wait(). */
	bool done_seen;
	int (*fn)(void *data);
	void *data;
	int ret;
};

static int rcu_lab_kthread_main(void *arg)
{
	struct rcu_lab_kthread *k = arg;

	k->ret = k->fn(k->data);
	complete(&k->done);
	/* kthread_stop() in rcu_lab_kthread_join() ends the thread. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

struct rcu_lab_kthread *rcu_lab_kthread_start(int (*fn)(void *data),
					      void *data, int cpu,
					      const char *name)
{
	struct rcu_lab_kthread *k;
	struct task_struct *t;

	if (cpu >= 0 && (cpu >= nr_cpu_ids || !cpu_online(cpu)))
		return ERR_PTR(-EINVAL);
	k = kzalloc_obj(*k);
	if (!k)
		return ERR_PTR(-ENOMEM);
	k->fn = fn;
	k->data = data;
	init_completion(&k->done);
	t = kthread_create(rcu_lab_kthread_main, k, "rcu_lab/%s", name);
	if (IS_ERR(t)) {
		kfree(k);
		return ERR_CAST(t);
	}
	if (cpu >= 0)
		kthread_bind(t, cpu);
	get_task_struct(t);
	k->task = t;
	wake_up_process(t);
	return k;
}

int rcu_lab_kthread_join(struct rcu_lab_kthread *k)
{
	int ret;

	/* fn has run once kthread_stop() can no longer skip it. */
	if (!k->done_seen)
		wait_for_completion(&k->done);
	kthread_stop(k->task);
	put_task_struct(k->task);
	ret = k->ret;
	kfree(k);
	return ret;
}

bool rcu_lab_kthread_wait(struct rcu_lab_kthread *k, unsigned int ms)
{
	/* Only the joiner waits, so done_seen needs no locking. */
	if (!k->done_seen &&
	    wait_for_completion_timeout(&k->done, msecs_to_jiffies(ms)))
		k->done_seen = true;
	return k->done_seen;
}

RCU_LAB_HOT bool rcu_lab_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

u64 rcu_lab_mem_available_bytes(void)
{
	return (u64)si_mem_available() << PAGE_SHIFT;
}

void *rcu_lab_atomic_page_alloc(void)
{
	return (void *)__get_free_page(GFP_ATOMIC | __GFP_NOWARN);
}

void *rcu_lab_inline_page_alloc(int policy, bool *declined)
{
	*declined = false;
	switch (policy) {
	case RCU_LAB_INLINE_ATOMIC:
		return (void *)__get_free_page(GFP_ATOMIC | __GFP_NOWARN);
	case RCU_LAB_INLINE_NOWAIT:
		return (void *)__get_free_page(GFP_NOWAIT | __GFP_NOWARN);
	case RCU_LAB_INLINE_RUNTIME_CHECK:
		if (!preemptible()) {
			*declined = true;
			return NULL;
		}
		return (void *)__get_free_page(GFP_NOWAIT | __GFP_NOWARN);
	case RCU_LAB_INLINE_OVERRIDE: {
#ifdef CONFIG_PREEMPT_RT
		/* can_fill_pool() on RT: only where a sleeping lock may be taken. */
		if (!preemptible() || current->pi_blocked_on) {
			*declined = true;
			return NULL;
		}
		return (void *)__get_free_page(GFP_NOWAIT | __GFP_NOWARN);
#else
		/* debug_objects_fill_pool() and __kfree_rcu_sheaf() on non-RT. */
		static DEFINE_WAIT_OVERRIDE_MAP(rcu_lab_inline_map, LD_WAIT_CONFIG);
		void *page;

		lock_map_acquire_try(&rcu_lab_inline_map);
		page = (void *)__get_free_page(GFP_NOWAIT | __GFP_NOWARN);
		lock_map_release(&rcu_lab_inline_map);
		return page;
#endif
	}
	}
	*declined = true;
	return NULL;
}

void rcu_lab_atomic_page_free(void *page)
{
	if (page)
		free_page((unsigned long)page);
}

RCU_LAB_HOT int rcu_lab_pcp_count(const void *page)
{
	struct zone *zone = page_zone(virt_to_page(page));

	lockdep_assert_irqs_disabled();
	return READ_ONCE(this_cpu_ptr(zone->per_cpu_pageset)->count);
}

/* kernel/rcu/rcu.h: exported, declared in no public header. */
unsigned long rcu_get_gp_seq(void);
unsigned long rcu_exp_batches_completed(void);

RCU_LAB_HOT unsigned long rcu_lab_rcu_gp_seq(void)
{
	return rcu_get_gp_seq();
}

RCU_LAB_HOT unsigned long rcu_lab_rcu_exp_gp_count(void)
{
	return rcu_exp_batches_completed();
}

void rcu_lab_debug_objects_refill(void)
{
	struct rcu_head head;

	init_rcu_head_on_stack(&head);
	destroy_rcu_head_on_stack(&head);
}

long long rcu_lab_ipi_count(void)
{
#if defined(CONFIG_X86) && defined(CONFIG_SMP)
	long long n = 0;
	int cpu;

	for_each_online_cpu(cpu)
		n += READ_ONCE(per_cpu(irq_stat, cpu).counts[IRQ_COUNT_CALL_FUNCTION]);
	return n;
#else
	return -1;
#endif
}

void rcu_lab_context_state(struct rcu_lab_context_state *s)
{
	s->preemptible = preemptible();
	s->irqs_disabled = irqs_disabled();
	s->in_hardirq = in_hardirq();
	s->in_serving_softirq = in_serving_softirq();
	s->preempt_count = preempt_count();
}

static void rcu_lab_irq_defer_fn(struct irq_work *w)
{
	struct rcu_lab_irq_defer *d = container_of(w, struct rcu_lab_irq_defer, work);
	struct llist_node *first = llist_del_all(&d->list);

	if (first)
		d->fn(d->data, llist_reverse_order(first));
}

void rcu_lab_irq_defer_init(struct rcu_lab_irq_defer *d,
			    void (*fn)(void *data, struct llist_node *first),
			    void *data)
{
	init_irq_work(&d->work, rcu_lab_irq_defer_fn);
	init_llist_head(&d->list);
	d->fn = fn;
	d->data = data;
}

RCU_LAB_HOT void rcu_lab_irq_defer_add(struct rcu_lab_irq_defer *d,
				       struct llist_node *node)
{
	if (llist_add(node, &d->list))
		irq_work_queue(&d->work);
}

struct llist_node *rcu_lab_irq_defer_flush(struct rcu_lab_irq_defer *d)
{
	irq_work_sync(&d->work);
	return llist_reverse_order(llist_del_all(&d->list));
}

/* rcu_lab_kick flags: a timer of that kind is armed; kicks are over. */
enum { RCU_LAB_KICK_NOW, RCU_LAB_KICK_LATER, RCU_LAB_KICK_STOPPED };

static void rcu_lab_kick_work(struct work_struct *work)
{
	struct rcu_lab_kick *k = container_of(work, struct rcu_lab_kick, work);

	k->fn(k->data);
}

static enum hrtimer_restart rcu_lab_kick_now_fn(struct hrtimer *t)
{
	struct rcu_lab_kick *k = container_of(t, struct rcu_lab_kick, now);

	clear_bit(RCU_LAB_KICK_NOW, &k->flags);
	if (!test_bit(RCU_LAB_KICK_STOPPED, &k->flags))
		queue_work(system_dfl_wq, &k->work);
	return HRTIMER_NORESTART;
}

static enum hrtimer_restart rcu_lab_kick_later_fn(struct hrtimer *t)
{
	struct rcu_lab_kick *k = container_of(t, struct rcu_lab_kick, later);

	clear_bit(RCU_LAB_KICK_LATER, &k->flags);
	if (!test_bit(RCU_LAB_KICK_STOPPED, &k->flags))
		queue_work(system_dfl_wq, &k->work);
	return HRTIMER_NORESTART;
}

void rcu_lab_kick_init(struct rcu_lab_kick *k, void (*fn)(void *data),
		       void *data)
{
	hrtimer_setup(&k->now, rcu_lab_kick_now_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_HARD);
	hrtimer_setup(&k->later, rcu_lab_kick_later_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_HARD);
	INIT_WORK(&k->work, rcu_lab_kick_work);
	k->flags = 0;
	k->fn = fn;
	k->data = data;
}

/*
 * The plain test_bit() first: a kick that is already pending costs a read
 * of a shared word, not a locked write to it.
 */
RCU_LAB_HOT void rcu_lab_kick_now(struct rcu_lab_kick *k)
{
	if (test_bit(RCU_LAB_KICK_STOPPED, &k->flags) ||
	    test_bit(RCU_LAB_KICK_NOW, &k->flags) ||
	    test_and_set_bit(RCU_LAB_KICK_NOW, &k->flags))
		return;
	hrtimer_start(&k->now, 0, HRTIMER_MODE_REL_HARD);
}

RCU_LAB_HOT void rcu_lab_kick_later(struct rcu_lab_kick *k, u64 delay_ns)
{
	if (test_bit(RCU_LAB_KICK_STOPPED, &k->flags) ||
	    test_bit(RCU_LAB_KICK_LATER, &k->flags) ||
	    test_and_set_bit(RCU_LAB_KICK_LATER, &k->flags))
		return;
	hrtimer_start(&k->later, ns_to_ktime(delay_ns), HRTIMER_MODE_REL_HARD);
}

void rcu_lab_kick_stop(struct rcu_lab_kick *k)
{
	int round;

	set_bit(RCU_LAB_KICK_STOPPED, &k->flags);
	/*
	 * A kick with interrupts off that saw the flag clear may still be
	 * arming its timer: it is an RCU reader, so wait for it.  A kick from
	 * the work itself may arm a timer until the work has finished, and a
	 * timer that fired before the flag was set may have queued the work:
	 * hence two rounds.  After the flag, timers no longer queue the work.
	 */
	synchronize_rcu();
	for (round = 0; round < 2; round++) {
		hrtimer_cancel(&k->now);
		hrtimer_cancel(&k->later);
		cancel_work_sync(&k->work);
	}
}

struct rcu_lab_shrinker_data {
	rcu_lab_shrink_fn count;
	rcu_lab_shrink_fn scan;
	void *data;
};

static unsigned long rcu_lab_shrink_count(struct shrinker *s,
					  struct shrink_control *sc)
{
	struct rcu_lab_shrinker_data *d = s->private_data;

	return d->count(d->data, 0);
}

static unsigned long rcu_lab_shrink_scan(struct shrinker *s,
					 struct shrink_control *sc)
{
	struct rcu_lab_shrinker_data *d = s->private_data;
	unsigned long freed = d->scan(d->data, sc->nr_to_scan);

	return freed ? freed : SHRINK_STOP;
}

struct shrinker *rcu_lab_shrinker_register(const char *name,
					   rcu_lab_shrink_fn count,
					   rcu_lab_shrink_fn scan, void *data)
{
	struct rcu_lab_shrinker_data *d;
	struct shrinker *s;

	d = kzalloc_obj(*d);
	if (!d)
		return NULL;
	s = shrinker_alloc(0, "rcu_lab-%s", name);
	if (!s) {
		kfree(d);
		return NULL;
	}
	d->count = count;
	d->scan = scan;
	d->data = data;
	s->count_objects = rcu_lab_shrink_count;
	s->scan_objects = rcu_lab_shrink_scan;
	s->private_data = d;
	shrinker_register(s);
	return s;
}

void rcu_lab_shrinker_free(struct shrinker *s)
{
	void *d = s->private_data;

	/* Unregisters and waits for running count/scan calls. */
	shrinker_free(s);
	kfree(d);
}

struct kmem_cache *rcu_lab_kmem_cache_create(const char *name,
					     unsigned int size, bool sheaves)
{
	slab_flags_t flags = SLAB_NO_MERGE;

	if (!sheaves)
		flags |= SLAB_NOLEAKTRACE;
	return kmem_cache_create(name, size, 0, flags, NULL);
}

void *rcu_lab_kmem_cache_alloc_noretry(struct kmem_cache *s, bool zero)
{
	return kmem_cache_alloc(s, GFP_KERNEL | __GFP_NORETRY |
				__GFP_NOMEMALLOC | __GFP_NOWARN |
				(zero ? __GFP_ZERO : 0));
}

/* Opens /sys/kernel/slab/<cache>/<attr>; an ERR_PTR on failure. */
static struct file *rcu_lab_slab_attr_open(const char *cache, const char *attr,
					   int flags)
{
	struct file *f;
	char *path;

	path = kasprintf(GFP_KERNEL, "/sys/kernel/slab/%s/%s", cache, attr);
	if (!path)
		return ERR_PTR(-ENOMEM);
	f = filp_open(path, flags, 0);
	kfree(path);
	return f;
}

int rcu_lab_slab_attr_set(const char *cache, const char *attr, u64 val)
{
	struct file *f = rcu_lab_slab_attr_open(cache, attr, O_WRONLY);
	char buf[24];
	loff_t pos = 0;
	ssize_t n;
	int len;

	if (IS_ERR(f))
		return PTR_ERR(f);
	len = scnprintf(buf, sizeof(buf), "%llu\n", val);
	n = kernel_write(f, buf, len, &pos);
	filp_close(f, NULL);
	return n < 0 ? n : 0;
}

int rcu_lab_slab_attr(const char *cache, const char *attr, u64 *val)
{
	struct file *f = rcu_lab_slab_attr_open(cache, attr, O_RDONLY);
	char buf[32] = "";
	loff_t pos = 0;
	ssize_t n;
	int ret;

	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_read(f, buf, sizeof(buf) - 1, &pos);
	filp_close(f, NULL);
	if (n < 0)
		return n;
	buf[n] = '\0';
	/* "N" or "N C0=.. C1=..": the first number is the total. */
	buf[strcspn(buf, " \n")] = '\0';
	ret = kstrtou64(buf, 10, val);
	return ret;
}
