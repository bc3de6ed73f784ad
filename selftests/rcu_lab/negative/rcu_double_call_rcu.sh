#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: one rcu_head queued twice with
# call_rcu() must be reported by debug-objects (CONFIG_DEBUG_OBJECTS_RCU_HEAD),
# and nothing else.
# expect: odebug
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"
rcu_lab_negative rcu_double_call_rcu
