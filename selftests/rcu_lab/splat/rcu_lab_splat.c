// SPDX-License-Identifier: GPL-2.0
/*
 * rcu_lab_splat: provoke one real lockdep report on request, so that the
 * negative selftests can show the splat gate catches it.  Every report turns
 * lockdep off for the rest of the boot: load it only in a boot of its own.
 *
 *   insmod rcu_lab_splat.ko report=invalid_wait_context
 *
 * report=panic panics the guest, to test that the VM runner reports a dead
 * guest.
 */

#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *report = "";
module_param(report, charp, 0444);
MODULE_PARM_DESC(report, "report to provoke: invalid_wait_context, panic");

static DEFINE_RAW_SPINLOCK(splat_raw_lock);
static DEFINE_SPINLOCK(splat_lock);

static int __init rcu_lab_splat_init(void)
{
	if (!strcmp(report, "invalid_wait_context")) {
		/*
		 * spinlock_t sleeps on PREEMPT_RT, so it must not nest inside
		 * a raw_spinlock_t; PROVE_RAW_LOCK_NESTING reports this on
		 * every preemption model.
		 */
		raw_spin_lock(&splat_raw_lock);
		spin_lock(&splat_lock);
		spin_unlock(&splat_lock);
		raw_spin_unlock(&splat_raw_lock);
		pr_info("rcu_lab_splat: provoked %s\n", report);
		return 0;
	}
	if (!strcmp(report, "panic"))
		panic("rcu_lab_splat: panic requested");
	pr_err("rcu_lab_splat: unknown report '%s' (known: invalid_wait_context, panic)\n",
	       report);
	return -EINVAL;
}

static void __exit rcu_lab_splat_exit(void)
{
}

module_init(rcu_lab_splat_init);
module_exit(rcu_lab_splat_exit);
MODULE_DESCRIPTION("rcu_lab: provoke one lockdep report for the negative tests");
MODULE_LICENSE("GPL");
