#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Experiment 3, a lockdep-friendly key-unregister path: the replica of
# lockdep's key hash and its debugfs directory,
# /sys/kernel/debug/rcu_lab/key_unregister/ (Documentation/key_unregister.rst).
#
# * Each strategy under a stress (selftest cases key_unregister_stress_*):
#   reader threads on every other CPU and hard-interrupt readers on every
#   CPU against cycles that register 32 keys in 16 buckets and unregister
#   them; no reader meets a freed entry, every key is freed exactly once
#   (KASAN and kmemleak watch the rest), and under hazptr the interrupt
#   readers use the wildcard.
# * A quick run of the experiment: a median row for every variant, every key
#   freed, no bad read (the run fails with EIO otherwise).
# * The run stops on a signal and rmmod waits for nothing: a long teardown
#   (4096 keys, synchronize_rcu() each) is interrupted with SIGTERM, its
#   results say it stopped, and the module unloads.
# * Bad parameters are refused with EINVAL and a dmesg line; variant none
#   (a use after free) runs only with unsafe_none=1.  The uses after free
#   run in boots of their own (negative/key_unregister_*.sh).
# * Real lockdep keys (lockdep_keys, debug kernel only): keys with a lock
#   taken once, dropped in hard interrupt, in RCU callbacks and under a raw
#   spinlock through the reaper (selftest case lockdep_key_reaped_contexts),
#   with lock-classes and dynamic-keys in /proc/lockdep_stats back to their
#   baseline; a quick serial-against-reaped run; and an unload while a
#   reaped teardown of 256 keys is still in flight (module exit waits for
#   it), after which dynamic-keys is back to what it was before insmod.
. "$(dirname "$0")/lib.sh"

E=$RCU_LAB_DEBUGFS/key_unregister
QUICK="keys=65 rounds=1 lookups=2000 idle=0"

ktap_print_header
rcu_lab_require
ktap_set_plan 16

L=$RCU_LAB_DEBUGFS/lockdep_keys
lockdep=0
[ -r /proc/lockdep_stats ] && lockdep=1
[ $lockdep = 1 ] && keys_before_insmod=$(lockdep_stat "dynamic-keys")

rcu_lab_test "insmod rcu_lab" rcu_lab_load
for s in sync expedited sync_batched hazptr deferred batched park; do
	rcu_lab_test "stress: $s" rcu_lab_case "key_unregister_stress_$s"
done

quick_run() {
	echo reset >"$E/params" && echo "$QUICK" >"$E/params" || return 1
	echo 1 >"$E/run" || { ktap_print_msg "run failed"; return 1; }
	for v in sync expedited sync_batched hazptr deferred batched park; do
		grep -q "^median variant=$v .*teardown_us=[0-9]* .*freed=65 .*bad=0 " "$E/results" ||
			{ ktap_print_msg "no clean median row for $v"; return 1; }
	done
	grep '^median ' "$E/results" | cut -d' ' -f2-7 | while read -r line; do
		ktap_print_msg "$line"
	done
}
rcu_lab_test "experiment: quick run, every variant, every key freed, no bad read" quick_run

# A teardown of 4096 keys by synchronize_rcu(), each a full grace period,
# stopped with SIGTERM after 2 s (a background job of a non-interactive shell
# ignores SIGINT): the write fails, the results say so, and
# the module can be unloaded at once.
stopped_run() {
	echo reset >"$E/params" && echo "keys=4096 variants=1 rounds=1 lookups=0 idle=0" >"$E/params" ||
		return 1
	sh -c "echo 1 >$E/run" &
	pid=$!
	sleep 2
	if rmmod rcu_lab 2>/dev/null; then
		ktap_print_msg "rmmod succeeded while a run was in progress"
		return 1
	fi
	kill -TERM "$pid"
	t=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		t=$((t + 1))
		[ $t -lt 30 ] || { ktap_print_msg "the run did not stop in 30 s"; return 1; }
	done
	ktap_print_msg "stopped within ${t} s of SIGTERM"
	grep -q '^# stopped after' "$E/results" || { ktap_print_msg "results do not say it stopped"; return 1; }
}
rcu_lab_test "a long teardown stops on SIGTERM; rmmod refused while it runs" stopped_run

# The case once to create the classes it uses for good (timers, its raw
# locks), then again: the counts must come back to what they were between.
reaped_contexts() {
	rcu_lab_case lockdep_key_reaped_contexts >/dev/null || return 1
	c0=$(lockdep_stat "lock-classes") k0=$(lockdep_stat "dynamic-keys")
	rcu_lab_case lockdep_key_reaped_contexts || return 1
	c1=$(lockdep_stat "lock-classes") k1=$(lockdep_stat "dynamic-keys")
	ktap_print_msg "lock-classes $c0 -> $c1, dynamic-keys $k0 -> $k1"
	[ "$c0" = "$c1" ] && [ "$k0" = "$k1" ]
}

lockdep_quick() {
	k0=$(lockdep_stat "dynamic-keys")
	echo reset >"$L/params" && echo "keys=65 rounds=1" >"$L/params" || return 1
	echo 1 >"$L/run" || { ktap_print_msg "run failed"; return 1; }
	for v in serial reaped; do
		grep -q "^median variant=$v .*total_us=[0-9]" "$L/results" ||
			{ ktap_print_msg "no median row for $v"; return 1; }
	done
	grep '^median ' "$L/results" | cut -d' ' -f2-9 | while read -r line; do
		ktap_print_msg "$line"
	done
	k1=$(lockdep_stat "dynamic-keys")
	ktap_print_msg "dynamic-keys $k0 -> $k1"
	[ "$k0" = "$k1" ]
}

# The last run leaves 256 keys with the reaper; rmmod right away must wait
# for them, and leave no key registered.
unload_in_flight() {
	echo reset >"$L/params" &&
		echo "keys=256 variants=2 rounds=1 idle=0 flush=0" >"$L/params" || return 1
	echo 1 >"$L/run" || return 1
	rmmod rcu_lab || return 1
	k=$(lockdep_stat "dynamic-keys")
	ktap_print_msg "dynamic-keys before insmod $keys_before_insmod, after rmmod $k"
	[ "$k" = "$keys_before_insmod" ]
}

none_refused() {
	echo reset >"$E/params" && echo "variants=128 rounds=1" >"$E/params" || return 1
	rcu_lab_write_refused key_unregister/run "variant none (bit 128)" '1'
}
rcu_lab_test "params: variant none refused without unsafe_none=1" none_refused
rcu_lab_test "params: 0 keys refused" rcu_lab_write_refused key_unregister/params \
	"keys='0' refused" 'keys=0'
rcu_lab_test "params: 13 bucket bits refused" rcu_lab_write_refused key_unregister/params \
	"bits='13' refused" 'bits=13'
if [ $lockdep = 1 ]; then
	rcu_lab_test "lockdep keys dropped in hardirq, RCU callbacks, under a raw lock: counts back" \
		reaped_contexts
	rcu_lab_test "lockdep keys: serial and reaped teardown, dynamic-keys back" lockdep_quick
	rcu_lab_test "rmmod while 256 reaped keys are in flight waits for them" unload_in_flight
else
	ktap_test_skip "lockdep keys dropped in hardirq, RCU callbacks, under a raw lock (no lockdep)"
	ktap_test_skip "lockdep keys: serial and reaped teardown (no lockdep)"
	rcu_lab_test "rmmod rcu_lab" rcu_lab_unload
fi
ktap_finished
