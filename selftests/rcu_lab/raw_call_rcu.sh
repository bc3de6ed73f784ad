#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Experiment 2, raw_call_rcu() against call_rcu(): its debugfs directory,
# /sys/kernel/debug/rcu_lab/raw_call_rcu/ (Documentation/raw_call_rcu.rst).
#
# * A quick run: a median row for every variant (call_rcu, raw_typed,
#   raw_pairs, nowait, override, runtime_check, deferred, typed), with
#   hand-over times in task context and under a raw spinlock (nowait: none
#   under the lock),
#   and the invocation cost per callback of call_rcu and raw_typed;
#   the run itself fails with EIO unless every object was dropped exactly
#   once by its end, and the splat gate sees any lockdep report.
# * The evidence matrix's clean cells on this model (matrix=1): a cell row
#   for every variant and context except the report cells (nowait under a
#   raw spinlock and in a hard interrupt; on PREEMPT_RT also with interrupts
#   off), each agreeing with the expectation written from the 7.3 source
#   (typed: the path its token type picks in that context), and the
#   fallback rows of the policies that may decline, typed among them;
#   the rows are printed as diagnostics, so that the check results hold the
#   matrix of every model.  The report cells run in boots of their own
#   (negative/matrix_nowait_*.sh).
# * Bad parameters are refused with EINVAL (the floor's checks, shared with
#   every experiment).
. "$(dirname "$0")/lib.sh"

E=$RCU_LAB_DEBUGFS/raw_call_rcu
QUICK="threads=2 objects=300 loops=2 rounds=1 idle=0 matrix=0"
MATRIX="threads=1 objects=10 loops=2 rounds=1 idle=0 variants=1 matrix=1"

ktap_print_header
rcu_lab_require
ktap_set_plan 6

rcu_lab_test "insmod rcu_lab" rcu_lab_load

quick_run() {
	echo reset >"$E/params" && echo "$QUICK" >"$E/params" || return 1
	echo 1 >"$E/run" || { ktap_print_msg "run failed"; return 1; }
	for v in call_rcu raw_typed raw_pairs nowait override runtime_check deferred typed; do
		grep -q "^median variant=$v .*enqueue_task_ns_per_obj=[0-9]" "$E/results" ||
			{ ktap_print_msg "no median row for $v"; return 1; }
	done
	for v in call_rcu raw_typed; do
		grep -q "^median variant=$v .*invoke_ns_per_cb=[0-9]" "$E/results" ||
			{ ktap_print_msg "no invocation cost for $v"; return 1; }
	done
	grep -q "^median variant=raw_typed .*enqueue_raw_ns_per_obj=[0-9]" "$E/results" &&
		grep -q "^median variant=typed .*enqueue_raw_ns_per_obj=[0-9]" "$E/results" &&
		grep -q "^median variant=nowait .*enqueue_raw_ns_per_obj=- " "$E/results"
}
rcu_lab_test "experiment: quick run, every variant reported, every object dropped once" quick_run

# 9 variants x 7 contexts, less the report cells of this model.
matrix_run() {
	local want=61 bad
	uname -v | grep -q PREEMPT_RT && want=60
	echo reset >"$E/params" && echo "$MATRIX" >"$E/params" || return 1
	echo 1 >"$E/run" || { ktap_print_msg "run failed"; return 1; }
	grep -E '^(cell|matrix_fallback) ' "$E/results" | while read -r line; do
		ktap_print_msg "$line"
	done
	[ "$(grep -c '^cell .* agree=[01]$' "$E/results")" = "$want" ] ||
		{ ktap_print_msg "expected $want cell rows"; return 1; }
	bad=$(grep -c '^cell .* agree=0$' "$E/results")
	[ "$bad" = 0 ] || { ktap_print_msg "$bad cells disagree"; return 1; }
	grep -q '^matrix_fallback variant=typed .*legal_objects=[1-9]' "$E/results" ||
		{ ktap_print_msg "no fallback row for typed"; return 1; }
}
rcu_lab_test "matrix: every clean cell of this model as expected" matrix_run

refused() { ! echo "$1" >"$E/params" 2>/dev/null; }
rcu_lab_test "params: one loop refused (needs a task and a raw-lock loop)" refused "loops=1"
rcu_lab_test "params: unknown variant bit refused" refused "variants=256"
rcu_lab_test "rmmod rcu_lab" rcu_lab_unload
ktap_finished
