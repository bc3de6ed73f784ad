#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: the RCU stress test with an updater
# that frees replaced elements without waiting for a grace period.  Readers
# then use freed memory, and KASAN must report it: proof that the stress
# test can fail.
# expect: kasan
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"
rcu_lab_negative rcu_use_after_free
