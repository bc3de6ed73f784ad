// SPDX-License-Identifier: GPL-2.0
/*
 * C shim for rcu_lab's Rust code; see helpers.h.
 */

#include <linux/cpumask.h>
#include <linux/debug_locks.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/irqflags.h>
#include <linux/kthread.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>

#include "helpers.h"

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

struct dentry *rcu_lab_debugfs_create_dir(const char *name,
					  struct dentry *parent)
{
	return debugfs_create_dir(name, parent);
}

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

int rcu_lab_seq_write(struct seq_file *m, const void *buf, size_t len)
{
	return seq_write(m, buf, len);
}

void rcu_lab_cond_resched(void)
{
	cond_resched();
}

bool rcu_lab_irqs_disabled(void)
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

void rcu_lab_raw_spin_assert_held(raw_spinlock_t *lock)
{
	lockdep_assert_held(lock);
}

unsigned long rcu_lab_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rcu_lab_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

bool rcu_lab_rcu_read_lock_held(void)
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
struct rcu_lab_hazptr_cpu *rcu_lab_hazptr_enter(void)
{
	preempt_disable_notrace();
	return this_cpu_ptr(&rcu_lab_hazptr_cpus);
}

void rcu_lab_hazptr_exit(void)
{
	preempt_enable_notrace();
}

struct rcu_lab_hazptr_cpu *rcu_lab_hazptr_cpu(int cpu)
{
	return per_cpu_ptr(&rcu_lab_hazptr_cpus, cpu);
}

int rcu_lab_next_possible_cpu(int cpu)
{
	unsigned int next = cpumask_next(cpu, cpu_possible_mask);

	return next < nr_cpu_ids ? next : -1;
}

struct rcu_lab_kthread {
	struct task_struct *task;
	struct completion done;
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
	wait_for_completion(&k->done);
	kthread_stop(k->task);
	put_task_struct(k->task);
	ret = k->ret;
	kfree(k);
	return ret;
}
