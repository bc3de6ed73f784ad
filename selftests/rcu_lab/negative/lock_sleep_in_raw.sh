#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: cond_resched() under a held RawSpinLock
# must be reported by the kernel, and nothing else.
# expect: sleep-in-atomic
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"
rcu_lab_negative lock_sleep_in_raw
