#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run a kselftest directory's TEST_PROGS inside the guest, the way the
# kernel's kselftest/runner.sh does: one KTAP document, each program's own
# KTAP nested under it as "# " lines, the per-program timeout from settings.
#
#   sh scripts/guest-kselftest.sh selftests/rcu_lab [PROG...]
#
# With PROG names only those programs run (e.g. info.sh).

dir=${1:?usage: guest-kselftest.sh DIR [PROG...]}
shift
suite=$(basename "$dir")

if [ $# -gt 0 ]; then
	progs=$*
else
	# TEST_PROGS := a.sh b.sh \ (continuation lines, += allowed)
	progs=$(awk '/^TEST_PROGS[ \t]*[:+]?=/ { on = 1; sub(/^TEST_PROGS[ \t]*[:+]?=/, "") }
		on { more = sub(/\\$/, ""); print; if (!more) on = 0 }' "$dir/Makefile")
fi
timeout=$(sed -n 's/^timeout=//p' "$dir/settings" 2>/dev/null)
timeout=${timeout:-45}

n=0
for p in $progs; do n=$((n + 1)); done
echo "TAP version 13"
echo "1..$n"
i=0
fails=0
for p in $progs; do
	i=$((i + 1))
	echo "# selftests: $suite: $p"
	if [ ! -f "$dir/$p" ]; then
		echo "not ok $i selftests: $suite: $p # no such test"
		fails=$((fails + 1))
		continue
	fi
	{
		timeout "$timeout" sh "$dir/$p" 2>&1
		echo $? >/tmp/.kselftest-rc
	} | sed 's/^/# /'
	rc=$(cat /tmp/.kselftest-rc)
	case $rc in
	0) echo "ok $i selftests: $suite: $p" ;;
	4) echo "ok $i selftests: $suite: $p # SKIP" ;;
	124|143) echo "not ok $i selftests: $suite: $p # TIMEOUT $timeout seconds"; fails=$((fails + 1)) ;;
	*) echo "not ok $i selftests: $suite: $p # exit=$rc"; fails=$((fails + 1)) ;;
	esac
done
[ $fails = 0 ]
