#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make run`: load rcu_lab, print and save every debugfs file,
# unload.  Runs from the work tree (/mnt/repo).
set -e
D=/sys/kernel/debug/rcu_lab
out=${RCU_LAB_RESULTS:-/tmp}/rcu_lab
insmod ./rcu_lab.ko
mkdir -p "$out"
for f in "$D"/*; do
	echo "==> $f"
	cat "$f" | tee "$out/$(basename "$f")"
done
rmmod rcu_lab
