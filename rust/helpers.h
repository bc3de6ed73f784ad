/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C shim for rcu_lab's Rust code: wrappers around `static inline` kernel
 * functions and macros that bindgen cannot turn into calls, plus the small
 * amount of C glue debugfs needs.  Rust declarations are generated from this
 * header by bindgen (see Kbuild); keep every function prefixed rcu_lab_.
 */
#ifndef RCU_LAB_HELPERS_H
#define RCU_LAB_HELPERS_H

#include <linux/types.h>

struct dentry;
struct seq_file;

/* What the running kernel is. */
const char *rcu_lab_module_version(void);
const char *rcu_lab_kernel_release(void);
const char *rcu_lab_preempt_model(void);
bool rcu_lab_preempt_dynamic(void);
/* 1: lockdep configured and still on; 0: turned off by a report; -1: absent. */
int rcu_lab_lockdep_state(void);
unsigned int rcu_lab_num_online_cpus(void);
unsigned int rcu_lab_num_possible_cpus(void);

/* debugfs files whose show/write are Rust callbacks. */
typedef int (*rcu_lab_show_fn)(struct seq_file *m, const void *data);
typedef int (*rcu_lab_write_fn)(const void *data, const char *buf, size_t len);

/*
 * Longest write accepted by an rcu_lab debugfs file; longer ones fail with
 * -EINVAL and a dmesg line.
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

#endif /* RCU_LAB_HELPERS_H */
