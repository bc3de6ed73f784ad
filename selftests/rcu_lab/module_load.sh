#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# rcu_lab.ko loads and unloads cleanly 20 times in a row.
. "$(dirname "$0")/lib.sh"

ROUNDS=20

ktap_print_header
rcu_lab_require
ktap_set_plan 4

loads0=$(dmesg | grep -c 'rcu_lab .* loaded on')
unloads0=$(dmesg | grep -c 'rcu_lab unloaded')

i=0 failed=""
while [ $i -lt $ROUNDS ]; do
	i=$((i + 1))
	if ! rcu_lab_load; then failed="insmod in round $i"; break; fi
	refcnt=$(cat /sys/module/rcu_lab/refcnt)
	if [ "$refcnt" != 0 ]; then failed="refcnt $refcnt after insmod in round $i"; break; fi
	if ! rcu_lab_unload; then failed="rmmod in round $i"; break; fi
done
[ -z "$failed" ] || ktap_print_msg "failed: $failed"
rcu_lab_test "insmod + rmmod $ROUNDS times" [ -z "$failed" ]

rcu_lab_test "module gone afterwards" [ ! -d /sys/module/rcu_lab ]

loads=$(( $(dmesg | grep -c 'rcu_lab .* loaded on') - loads0 ))
unloads=$(( $(dmesg | grep -c 'rcu_lab unloaded') - unloads0 ))
ktap_print_msg "dmesg: $loads load and $unloads unload lines"
rcu_lab_test "each load logged ($loads/$ROUNDS)" [ "$loads" = $ROUNDS ]
rcu_lab_test "each unload logged ($unloads/$ROUNDS)" [ "$unloads" = $ROUNDS ]

ktap_finished
