#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: A then B, later B then A, on two RawSpinLocks
# must be reported by the kernel, and nothing else.
# expect: lockdep-circular
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"
rcu_lab_negative lock_abba
