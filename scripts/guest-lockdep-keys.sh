#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Experiment 3's real-lockdep figures on one model, in the guest:
#
#   make vm PREEMPT_MODEL=preempt-lazy CMD='sh scripts/guest-lockdep-keys.sh'
#   make vm PREEMPT_MODEL=preempt      CMD='sh scripts/guest-lockdep-keys.sh'
#   make vm PREEMPT_MODEL=preempt-rt   CMD='sh scripts/guest-lockdep-keys.sh'
#
# (`make run` boots one model; this gives the other two.)  Loads rcu_lab,
# runs lockdep_keys with 65 and 256 keys (serial drops against the reaper,
# rotating rounds), prints the median rows and /proc/lockdep_stats' class and
# key counts before and after, and saves the results under
# /mnt/results/lockdep_keys-<keys> when that directory is writable.
set -e
D=/sys/kernel/debug/rcu_lab/lockdep_keys
stats() { grep -E '^ *(lock-classes|dynamic-keys):' /proc/lockdep_stats | tr -s ' '; }
echo "==> /proc/lockdep_stats before insmod"; stats
insmod "${RCU_LAB_KO:-rcu_lab.ko}"
for k in 65 256; do
	r=5
	[ $k = 256 ] && r=3
	echo reset >$D/params
	echo "keys=$k rounds=$r" >$D/params
	echo "==> lockdep_keys keys=$k rounds=$r ($(uname -v | grep -o 'PREEMPT[_A-Z]*([a-z]*)\|PREEMPT_RT' | head -1))"
	echo 1 >$D/run
	grep -E '^(# kernel|median)' $D/results
	if [ -d /mnt/results ] && [ -w /mnt/results ]; then cat $D/results >/mnt/results/lockdep_keys-$k; fi
done
rmmod rcu_lab
echo "==> /proc/lockdep_stats after rmmod"; stats
