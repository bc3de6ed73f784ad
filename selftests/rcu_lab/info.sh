#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /sys/kernel/debug/rcu_lab/info reports what the kernel really is.
. "$(dirname "$0")/lib.sh"

ktap_print_header
rcu_lab_require
ktap_set_plan 8

rcu_lab_load
sed 's/^/# info: /' "$RCU_LAB_DEBUGFS/info"

check() { # description, got, expected
	[ "$2" = "$3" ] || ktap_print_msg "$1: info says '$2', the kernel says '$3'"
	rcu_lab_test "$1 ($2)" [ "$2" = "$3" ]
}

config() { # value of a Kconfig symbol, empty when unset
	zcat /proc/config.gz 2>/dev/null | sed -n "s/^CONFIG_$1=//p"
}

check module_version "$(rcu_lab_info module_version)" "$(cat /sys/module/rcu_lab/version)"
check kernel_release "$(rcu_lab_info kernel_release)" "$(uname -r)"
check cpus_online "$(rcu_lab_info cpus_online)" \
	"$(cpulist_count "$(cat /sys/devices/system/cpu/online)")"
check cpus_possible "$(rcu_lab_info cpus_possible)" \
	"$(cpulist_count "$(cat /sys/devices/system/cpu/possible)")"

if [ -f /proc/lockdep_stats ]; then
	dl=$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats)
	[ "$dl" = 1 ] && want=on || want=off
else
	want=absent
fi
check lockdep "$(rcu_lab_info lockdep)" "$want"

# The model from the build config; with PREEMPT_DYNAMIC the boot may pick
# another (preempt=), which debugfs shows as "(model)".
if [ "$(config PREEMPT_RT)" = y ]; then want=rt
elif [ "$(config PREEMPT_LAZY)" = y ]; then want=lazy
elif [ "$(config PREEMPT)" = y ]; then want=full
elif [ "$(config PREEMPT_VOLUNTARY)" = y ]; then want=voluntary
else want=none
fi
dyn=no
if [ "$(config PREEMPT_DYNAMIC)" = y ]; then
	dyn=yes
	cur=$(sed -n 's/.*(\([a-z]*\)).*/\1/p' /sys/kernel/debug/sched/preempt 2>/dev/null)
	[ -n "$cur" ] && want=$cur
fi
check preempt_model "$(rcu_lab_info preempt_model)" "$want"
check preempt_dynamic "$(rcu_lab_info preempt_dynamic)" "$dyn"
[ "$(config PREEMPT_RCU)" = y ] && want=preemptible || want=non-preemptible
check rcu_flavour "$(rcu_lab_info rcu_flavour)" "$want"

rcu_lab_unload
ktap_finished
