#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /sys/kernel/debug/rcu_lab/ appears and disappears with the module; bad
# writes (to a read-only file, not UTF-8) are refused with an error and a
# dmesg line; unloading while a file is open is refused until it is closed.
. "$(dirname "$0")/lib.sh"

ktap_print_header
rcu_lab_require
ktap_set_plan 7

rcu_lab_test "no $RCU_LAB_DEBUGFS before insmod" [ ! -e "$RCU_LAB_DEBUGFS" ]

rcu_lab_load
rcu_lab_test "$RCU_LAB_DEBUGFS/info after insmod" [ -f "$RCU_LAB_DEBUGFS/info" ]

content=$(cat "$RCU_LAB_DEBUGFS/info")
rcu_lab_test "info is readable and not empty" [ -n "$content" ]

rcu_lab_test "write to info refused, with a dmesg line" \
	rcu_lab_write_refused info 'rcu_lab: info is read-only' 'x\n'
rcu_lab_test "non-UTF-8 write to selftest refused, with a dmesg line" \
	rcu_lab_write_refused selftest 'selftest: write refused: not UTF-8 text' '\377\376\n'

# An open file pins the module: rmmod must fail until it is closed.
exec 3<"$RCU_LAB_DEBUGFS/info"
if rmmod rcu_lab 2>/dev/null; then busy=false; else busy=true; fi
exec 3<&-
rcu_lab_test "rmmod refused while info is open" $busy

rcu_lab_loaded && rcu_lab_unload
rcu_lab_test "no $RCU_LAB_DEBUGFS after rmmod" [ ! -e "$RCU_LAB_DEBUGFS" ]

ktap_finished
