#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Experiment 1, kfree_rcu() batching: rcu_lab's engine (rust/rcu/batch.rs)
# and the experiment's debugfs directory, /sys/kernel/debug/rcu_lab/
# kfree_batching/ (Documentation/kfree_batching.rst).
#
# * The engine: enqueue from task context, under a raw spinlock and from
#   hardirq, every object freed exactly once; a flood from one CPU with its
#   block pages within their bound, warm bursts and a refill beside a drain
#   pass within it too; the shrinker; objects waiting in the open block of
#   a CPU that goes offline (and comes back); and every block
#   allocation failing (failslab, cache-filter on the engine's block cache),
#   which must send every object down the emergency call_rcu() path.
# * Batched callbacks on the same engine (issue 19's two shapes): objects
#   with Drop in (rcu_head, callback) blocks and in typed blocks freed with
#   kfree_bulk(), and with no block pages at all (every object by
#   call_rcu()): each dropped exactly once by the time the barrier returns;
#   and with every block allocation failing (failslab on their block
#   caches): each still dropped once, through call_rcu().
# * The inline page policies of experiment 2 (nowait, override,
#   runtime_check): each allocates in task context; under a raw spinlock
#   runtime_check declines on every model and override declines on RT only.
# * The experiment with quick parameters: every variant's result rows, every
#   object freed (the run checks the engine's counters; destroying a kernel
#   variant's cache warns about objects left, which the splat gate sees).
# * Bad parameters are refused with EINVAL and a dmesg line; a second run
#   while one is in progress gets EBUSY; rmmod during a run is refused and
#   works after it.
# * A run the guest cannot afford (the issue's threads=64 objects=1000000
#   size=4096) is refused with ENOMEM before it starts; one that runs out of
#   memory midway (failslab on the load's caches after a budget of bytes)
#   ends with ENOMEM, nothing leaked and no process killed; a long run is
#   stopped by SIGKILL to the writer within 2 s, its results say so, and the
#   module unloads afterwards (the gate also sees no hung-task report).
. "$(dirname "$0")/lib.sh"

E=$RCU_LAB_DEBUGFS/kfree_batching
F=/sys/kernel/debug/failslab
QUICK="threads=2 objects=300 loops=2 rounds=1 idle=0"

ktap_print_header
rcu_lab_require
ktap_set_plan 31

rcu_lab_test "insmod rcu_lab" rcu_lab_load
for c in batch_contexts batch_flood batch_warm_bound batch_refill_race \
	batch_shrinker batch_hotplug batch_callbacks_pairs batch_callbacks_typed \
	batch_callbacks_emergency batch_inline_policies; do
	rcu_lab_test "$c" rcu_lab_case "$c"
done

# failslab for the engine's block cache only: cache-filter=Y limits it to
# caches with /sys/kernel/slab/<cache>/failslab set, which the case sets on
# its engine's block cache; every allocation there fails, sleeping ones
# included.
failslab_arm() {
	[ -d "$F" ] || { ktap_print_msg "no $F (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"; return 1; }
	echo Y >"$F/cache-filter" && echo N >"$F/ignore-gfp-wait" &&
		echo 0 >"$F/verbose" && echo 1 >"$F/interval" && echo -1 >"$F/times" &&
		echo 100 >"$F/probability"
}
failslab_disarm() { echo 0 >"$F/probability"; }
alloc_fail() {
	failslab_arm || return 1
	rcu_lab_case batch_alloc_fail
	_rc=$?
	failslab_disarm
	return $_rc
}
rcu_lab_test "batch_alloc_fail (failslab on the block cache)" alloc_fail
callbacks_alloc_fail() {
	failslab_arm || return 1
	rcu_lab_case batch_callbacks_alloc_fail
	_rc=$?
	failslab_disarm
	return $_rc
}
rcu_lab_test "batch_callbacks_alloc_fail (failslab on the callback engines' block caches)" callbacks_alloc_fail

# The experiment, quick: one row per variant per round and a median row.
quick_run() {
	echo "$QUICK" >"$E/params" || return 1
	echo 1 >"$E/run" || { ktap_print_msg "run failed"; return 1; }
	for v in engine sheaf pageblock nolock call_rcu sync; do
		grep -q "^median variant=$v " "$E/results" ||
			{ ktap_print_msg "no median row for $v"; return 1; }
	done
	grep -q "^# params threads=2 objects=300 loops=2 " "$E/results" &&
		dmesg | grep -q "kfree_batching: threads=2 objects=300 loops=2 size=32 rounds=1 .*: engine [0-9]* ns/obj "
}
rcu_lab_test "experiment: quick run, every variant reported, one-line summary" quick_run
# The kernel paths took the path their cache says: sheaves on the sheaf
# caches, none on the page-block one.
paths() {
	grep -q "^median variant=sheaf .* sheaf_capacity=[1-9]" "$E/results" &&
		grep -q "^median variant=pageblock .* sheaf_capacity=0 " "$E/results"
}
rcu_lab_test "experiment: sheaf caches have sheaves, the page-block cache none" paths
# With CONFIG_SLUB_STATS the counters say which path objects took. On
# PREEMPT_RT kvfree_call_rcu() skips the sheaf path (mm/slab_common.c), so
# there only kfree_rcu_nolock()'s objects reach rcu sheaves.
counters() {
	grep -q "^median variant=sheaf .* free_rcu_sheaf=-" "$E/results" && return 0
	grep -q "^median variant=pageblock .* free_rcu_sheaf=0 " "$E/results" || return 1
	grep -q "^median variant=nolock .* free_rcu_sheaf=[1-9]" "$E/results" || return 1
	if [ "$(rcu_lab_info preempt_model)" = rt ]; then
		grep -q "^median variant=sheaf .* free_rcu_sheaf=0 " "$E/results"
	else
		grep -q "^median variant=sheaf .* free_rcu_sheaf=[1-9]" "$E/results"
	fi
}
rcu_lab_test "experiment: SLUB_STATS: rcu sheaves took the sheaf (not on RT) and nolock objects, no page-block ones" counters

rcu_lab_test "params: unknown key refused" \
	rcu_lab_write_refused kfree_batching/params "unknown key 'colour'" 'colour=3'
rcu_lab_test "params: zero threads refused" \
	rcu_lab_write_refused kfree_batching/params "threads='0' refused" 'threads=0'
rcu_lab_test "params: absurd size refused" \
	rcu_lab_write_refused kfree_batching/params "size='1000000' refused" 'size=1000000'
rcu_lab_test "params: non-number refused" \
	rcu_lab_write_refused kfree_batching/params "loops='ten' refused" 'loops=ten'
rcu_lab_test "params: overflow refused" \
	rcu_lab_write_refused kfree_batching/params "objects='99999999999999999999999' refused" \
	'objects=99999999999999999999999'
rcu_lab_test "params: pair without '=' refused" \
	rcu_lab_write_refused kfree_batching/params "'rounds' is not key=value" 'rounds'
unchanged() { grep -q "^threads=2	" "$E/params" && grep -q "^objects=300	" "$E/params"; }
rcu_lab_test "params: refused writes changed nothing" unchanged
rcu_lab_test "run: anything but 1 refused" \
	rcu_lab_write_refused kfree_batching/run "write 1 to start a run" 'go'

# A run long enough to overlap: a second run and rmmod are refused.
busy() {
	echo "threads=2 objects=300 loops=4 rounds=1 idle=1" >"$E/params" || return 1
	echo 1 >"$E/run" &
	_bg=$!
	sleep 1
	_ok=0
	if echo 1 >"$E/run" 2>/dev/null; then
		ktap_print_msg "a second run was accepted"
		_ok=1
	fi
	if rmmod rcu_lab 2>/dev/null; then
		ktap_print_msg "rmmod succeeded during a run"
		_ok=1
	fi
	wait $_bg || { ktap_print_msg "the first run failed"; _ok=1; }
	return $_ok
}
rcu_lab_test "run: a second run gets EBUSY and rmmod is refused while one runs" busy
ebusy_logged() { dmesg | grep -q "kfree_batching: run refused: a run is in progress"; }
rcu_lab_test "run: the refused second run is in dmesg" ebusy_logged
# Too large for the guest: refused before anything starts, with ENOMEM.
too_large() {
	echo "threads=64 objects=1000000 size=4096 loops=8 rounds=1" >"$E/params" || return 1
	_err=$( (echo 1 >"$E/run") 2>&1) && { ktap_print_msg "the run was accepted"; return 1; }
	case "$_err" in
	*"allocate memory"*) ;;
	*) ktap_print_msg "not ENOMEM: $_err"; return 1 ;;
	esac
	dmesg | grep -q "kfree_batching: run refused: threads=64 objects=1000000 .* needs up to [0-9]* MiB at its peak, more than half of the [0-9]* MiB available" ||
		{ ktap_print_msg "no refusal line in dmesg"; return 1; }
	if dmesg | grep -q "kfree_batching: run started: threads=64"; then
		ktap_print_msg "the refused run started"
		return 1
	fi
}
rcu_lab_test "run: a load too large for the guest is refused with ENOMEM before it starts" too_large

# Out of memory midway: failslab fails every allocation from the load's
# caches once 1 MiB of them succeeded (space), about 32768 of the 160000
# objects of the engine's run.
oom_midway() {
	echo reset >"$E/params" &&
		echo "threads=2 objects=2000 loops=40 rounds=1 variants=1 idle=0 failslab=1" >"$E/params" ||
		return 1
	failslab_arm || return 1
	echo 1048576 >"$F/space"
	_err=$( (echo 1 >"$E/run") 2>&1)
	_rc=$?
	failslab_disarm
	echo 0 >"$F/space"
	echo "failslab=0" >"$E/params"
	[ $_rc != 0 ] || { ktap_print_msg "the run succeeded"; return 1; }
	case "$_err" in
	*"allocate memory"*) ;;
	*) ktap_print_msg "not ENOMEM: $_err"; return 1 ;;
	esac
	dmesg | grep -q "kfree_batching: .* threads stopped early: an allocation failed" ||
		{ ktap_print_msg "no 'stopped early' line"; return 1; }
	grep -q "^# failed after [0-9]* s: error -12" "$E/results" ||
		{ ktap_print_msg "results do not say the run failed"; return 1; }
	if dmesg | grep -qE "invoked oom-killer|Out of memory: Killed process"; then
		ktap_print_msg "the OOM killer ran"
		return 1
	fi
}
rcu_lab_test "run: out of memory midway ends with ENOMEM, no OOM killer, results say so" oom_midway

# A long run (50 rounds) stopped by SIGKILL to the writer.
uptime_cs() { tr -d . </proc/uptime | cut -d' ' -f1; }
stop_by_signal() {
	echo reset >"$E/params" &&
		echo "threads=2 objects=500 loops=4 rounds=50 idle=1" >"$E/params" || return 1
	(echo 1 >"$E/run") &
	_bg=$!
	sleep 3
	kill -0 $_bg 2>/dev/null || { ktap_print_msg "the run ended before the signal"; return 1; }
	_t0=$(uptime_cs)
	kill -9 $_bg
	wait $_bg 2>/dev/null
	_cs=$(( $(uptime_cs) - _t0 ))
	ktap_print_msg "the writer was gone $_cs centiseconds after SIGKILL"
	[ "$_cs" -le 200 ]
}
rcu_lab_test "run: SIGKILL to the writer stops a long run within 2 s" stop_by_signal
stopped_said() {
	grep -q "^# stopped after [0-9]* s: the writer got a fatal signal" "$E/results" &&
		dmesg | grep -q "kfree_batching: run stopped by a fatal signal after"
}
rcu_lab_test "run: the stopped run's results and dmesg say it stopped" stopped_said

rcu_lab_test "rmmod rcu_lab after the run" rcu_lab_unload

ktap_finished
