#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Negative test, in a boot of its own: experiment 3's key hash with the
# unregister strategy `none`, which frees each entry at once.  Readers on
# every CPU (threads and hard interrupts) look up exactly the keys being
# torn down, in two buckets, so every walk crosses the entries freed;
# register/unregister cycles repeat until KASAN reports (at most 30 s): proof
# that the key-hash stress can fail.
# expect: kasan
RCU_LAB_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$RCU_LAB_DIR/lib.sh"
rcu_lab_negative key_unregister_none
