# SPDX-License-Identifier: GPL-2.0
# Shared by the rcu_lab selftests (busybox sh compatible); source it.

RCU_LAB_DIR=${RCU_LAB_DIR:-$(cd "$(dirname "$0")" && pwd)}
# The module: next to the tests when installed, else at the top of the tree.
if [ -z "$RCU_LAB_KO" ]; then
	for ko in "$RCU_LAB_DIR/rcu_lab.ko" "$RCU_LAB_DIR/../../rcu_lab.ko"; do
		[ -f "$ko" ] && RCU_LAB_KO=$ko && break
	done
fi
RCU_LAB_DEBUGFS=/sys/kernel/debug/rcu_lab

# The kernel's own KTAP helpers: from the guest image, or from the kernel tree
# when these tests sit in tools/testing/selftests/rcu_lab.
for h in "$KTAP_HELPERS" "$RCU_LAB_DIR/../kselftest/ktap_helpers.sh"; do
	if [ -n "$h" ] && [ -f "$h" ]; then
		. "$h"
		break
	fi
done
command -v ktap_print_header >/dev/null || {
	echo "1..0 # SKIP ktap_helpers.sh not found (set KTAP_HELPERS)"
	exit 4
}

# Skip the whole test (KTAP plan 1..0) unless we can run it.
rcu_lab_require() {
	[ "$(id -u)" = 0 ] || { ktap_skip_all "must run as root"; exit "$KSFT_SKIP"; }
	[ -n "$RCU_LAB_KO" ] || { ktap_skip_all "rcu_lab.ko not found (set RCU_LAB_KO)"; exit "$KSFT_SKIP"; }
	[ -d /sys/kernel/debug/ ] && [ -n "$(ls /sys/kernel/debug 2>/dev/null)" ] ||
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	if [ -d /sys/module/rcu_lab ]; then
		rmmod rcu_lab || { ktap_skip_all "rcu_lab is loaded and cannot be unloaded"; exit "$KSFT_SKIP"; }
	fi
}

rcu_lab_load() { insmod "$RCU_LAB_KO" "$@"; }
rcu_lab_unload() { rmmod rcu_lab; }
rcu_lab_loaded() { [ -d /sys/module/rcu_lab ]; }

# Value of key $1 in the info file.
rcu_lab_info() { sed -n "s/^$1: //p" "$RCU_LAB_DEBUGFS/info"; }

# Number of CPUs in a cpulist such as "0-3,6".
cpulist_count() {
	echo "$1" | tr ',' '\n' | while IFS=- read -r a b; do
		echo $(( ${b:-$a} - a + 1 ))
	done | awk '{ n += $1 } END { print n + 0 }'
}

# One KTAP test point: passes when COMMAND succeeds.  Unlike the kernel's
# ktap_test_result, the arguments are not split again.
rcu_lab_test() { # description command...
	_desc=$1
	shift
	if "$@"; then ktap_test_pass "$_desc"; else ktap_test_fail "$_desc"; fi
}

# Succeeds when writing printf format $3 to debugfs file $1 fails and dmesg
# gains a line containing $2: bad input is refused, and says so.
rcu_lab_write_refused() { # file dmesg-text printf-format
	_before=$(dmesg | grep -cF "$2")
	# shellcheck disable=SC2059
	if printf "$3" >"$RCU_LAB_DEBUGFS/$1" 2>/dev/null; then
		ktap_print_msg "writing to $1 succeeded"
		return 1
	fi
	[ "$(dmesg | grep -cF "$2")" -gt "$_before" ] && return 0
	ktap_print_msg "no dmesg line '$2'"
	return 1
}

# Run in-kernel case $1 through the selftest file; print its result line as
# a KTAP diagnostic; succeed when the case reported "ok".
rcu_lab_case() {
	if ! echo "$1" >"$RCU_LAB_DEBUGFS/selftest"; then
		ktap_print_msg "selftest $1: the write failed"
		return 1
	fi
	_line=$(tail -n 1 "$RCU_LAB_DEBUGFS/selftest")
	ktap_print_msg "$_line"
	case "$_line" in
	"ok $1"|"ok $1 "*) return 0 ;;
	esac
	return 1
}

# A negative test: load the module, run case $1, which provokes one
# detector report, unload.  The splat gate, run by scripts/check.sh with the
# script's "# expect:" line, decides whether exactly that report appeared.
# With $2 and $3, one more test after the case: $3 is a command (a shell
# function of the script) that must succeed, $2 its description.
rcu_lab_negative() {
	ktap_print_header
	rcu_lab_require
	if [ $# -ge 3 ]; then ktap_set_plan 4; else ktap_set_plan 3; fi
	rcu_lab_test "insmod rcu_lab" rcu_lab_load
	rcu_lab_test "selftest case $1 ran" rcu_lab_case "$1"
	if [ $# -ge 3 ]; then rcu_lab_test "$2" "$3"; fi
	rcu_lab_test "rmmod rcu_lab" rcu_lab_unload
	ktap_finished
}

# Whether lockdep's report names the page allocator's zone->lock: the lock an
# inline page allocation in a raw context must not reach.
rcu_lab_report_names_zone_lock() {
	dmesg | grep -q "(&zone->lock)"
}

# A counter from /proc/lockdep_stats, e.g. lockdep_stat "lock-classes".
lockdep_stat() {
	sed -n "s/^ *$1: *\([0-9]*\).*/\1/p" /proc/lockdep_stats
}

# Names of the lock classes lockdep has in use, one per line.
lockdep_class_names() {
	sed -n 's/^[0-9a-f]* FD: *[0-9]* BD: *[0-9]* [^:]*: //p' /proc/lockdep
}

# The "lock-classes" count, with the class names written to FILE, taken
# while the count did not change: a class other kernel code registers
# between the two reads would otherwise be counted but not listed (CI saw
# that once, 2026-12-05). Retries up to 20 times.
lockdep_snapshot() { # FILE
	local c1 c2 i=0
	while :; do
		c1=$(lockdep_stat lock-classes)
		lockdep_class_names >"$1"
		c2=$(lockdep_stat lock-classes)
		[ "$c1" = "$c2" ] || [ $i -ge 20 ] && break
		i=$((i + 1))
	done
	echo "$c2"
}
