#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /sys/kernel/debug/rcu_lab/ appears and disappears with the module; bad
# writes (to a read-only file, not UTF-8, too long) are refused with an error
# and a dmesg line, rate-limited; unloading waits until no file is open.
. "$(dirname "$0")/lib.sh"

ktap_print_header
rcu_lab_require
ktap_set_plan 10

rcu_lab_test "no $RCU_LAB_DEBUGFS before insmod" [ ! -e "$RCU_LAB_DEBUGFS" ]

rcu_lab_load
rcu_lab_test "$RCU_LAB_DEBUGFS/info after insmod" [ -f "$RCU_LAB_DEBUGFS/info" ]

content=$(cat "$RCU_LAB_DEBUGFS/info")
rcu_lab_test "info is readable and not empty" [ -n "$content" ]

rcu_lab_test "write to info refused, with a dmesg line" \
	rcu_lab_write_refused info 'rcu_lab: info is read-only' 'x\n'
rcu_lab_test "non-UTF-8 write to selftest refused, with a dmesg line" \
	rcu_lab_write_refused selftest 'selftest: write refused: not UTF-8 text' '\377\376\n'
long=$(printf '%0300d' 0)
rcu_lab_test "300-byte write to bench refused, with a dmesg line" \
	rcu_lab_write_refused bench 'bench: write of 300 bytes rejected (1..256)' "$long"

# A burst of bad writes prints at most DEFAULT_RATELIMIT_BURST (10) lines,
# as pr_warn_ratelimited() does; then the budget comes back after
# DEFAULT_RATELIMIT_INTERVAL (5 s) for the tests that follow.
sleep 6
before=$(dmesg | grep -c "bench: unknown benchmark 'burst'")
i=0 refused=0
while [ $i -lt 40 ]; do
	i=$((i + 1))
	echo burst >"$RCU_LAB_DEBUGFS/bench" 2>/dev/null || refused=$((refused + 1))
done
lines=$(( $(dmesg | grep -c "bench: unknown benchmark 'burst'") - before ))
ktap_print_msg "40 bad writes: $refused refused, $lines dmesg lines"
ok=false
[ "$refused" = 40 ] && [ "$lines" -ge 1 ] && [ "$lines" -le 10 ] && ok=true
rcu_lab_test "40 bad writes: all refused, 1..10 dmesg lines ($lines)" $ok
sleep 6

# An open file pins the module: rmmod must fail until it is closed (debugfs
# calls the module's release on close; see rust/debugfs.rs).
exec 3<"$RCU_LAB_DEBUGFS/info"
if rmmod rcu_lab 2>/dev/null; then busy=false; else busy=true; fi
rcu_lab_test "rmmod refused while info is open" $busy
if cat <&3 >/dev/null 2>&1; then readable=true; else readable=false; fi
exec 3<&-
rcu_lab_test "the open file still reads" $readable
rcu_lab_loaded && rcu_lab_unload
rcu_lab_test "no $RCU_LAB_DEBUGFS after rmmod" [ ! -e "$RCU_LAB_DEBUGFS" ]

ktap_finished
