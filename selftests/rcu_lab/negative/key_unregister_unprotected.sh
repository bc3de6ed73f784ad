#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: experiment 3's key hash under the
# `hazptr` strategy, with readers that walk the buckets without publishing a
# hazard pointer.  The unregister waits only for the readers that protect the
# bucket, so it frees entries these readers are on; cycles repeat until KASAN
# reports (at most 30 s): the hazard pointer is what makes hazptr safe.
# expect: kasan
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"
rcu_lab_negative key_unregister_unprotected
