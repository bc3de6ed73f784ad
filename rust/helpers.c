// SPDX-License-Identifier: GPL-2.0
/*
 * C shim for rcu_lab's Rust code; see helpers.h.
 */

#include <linux/cpumask.h>
#include <linux/debug_locks.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
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
	if (preempt_model_voluntary())
		return "voluntary";
	if (preempt_model_none())
		return "none";
	return "unknown";
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
		pr_warn("rcu_lab: %pD is read-only\n", file);
		return -EPERM;
	}
	if (count == 0 || count > RCU_LAB_DEBUGFS_MAX_WRITE) {
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

	f = kzalloc(sizeof(*f), GFP_KERNEL);
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
