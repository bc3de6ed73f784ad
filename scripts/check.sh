#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The rcu_lab test command (`make check`):
#   1. install what is missing (scripts/deps.sh)
#   2. host-side tests (python unittest of the result tools)
#   3. build the test kernel (cached) and the module (warnings fail it),
#      check rustfmt
#   4. one VM boot: the kselftests in selftests/rcu_lab, then the splat gate
#   5. one VM boot per negative test: the gate must see exactly the report
#      the test provokes
# and ends with "N passed, N failed, N skipped" over every KTAP result.
#
# Environment: PREEMPT_MODEL, SMP (vCPUs, default 2), MEM, RCU_LAB_CACHE.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

model=${PREEMPT_MODEL:-preempt}
smp=${SMP:-2}
mem=${MEM:-2G}
R=$top/results/check-$(date +%Y%m%d-%H%M%S)
mkdir -p "$R"
ln -sfn "$(basename "$R")" "$top/results/latest-check"

passed=0 failed=0 skipped=0
summary=()
t0=$SECONDS

# Record one stage: name, "P passed, F failed, S skipped".
tally() {
	local name=$1 line=$2 p f s
	read -r p _ f _ s _ <<<"${line//,/}"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	summary+=("$(printf '%-44s %s' "$name" "$line")")
}
# A stage that is a single test.
single() { # name, status
	if [ "$2" = 0 ]; then tally "$1" "1 passed, 0 failed, 0 skipped"
	else tally "$1" "0 passed, 1 failed, 0 skipped"; fi
}
finish() {
	echo
	step "summary (results: $R; $(( (SECONDS - t0) / 60 ))m$(( (SECONDS - t0) % 60 ))s)"
	printf '    %s\n' "${summary[@]}"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit
}

step "dependencies"
if ! "$here/deps.sh"; then
	single "install dependencies" 1
	finish
fi

step "host tests"
python3 -m unittest discover -s "$here/tests" -v >"$R/host-tests.txt" 2>&1
ran=$(sed -n 's/^Ran \([0-9]*\) tests\?.*/\1/p' "$R/host-tests.txt")
bad=$(grep -oE '^FAILED \(.*\)' "$R/host-tests.txt" | grep -oE '[0-9]+' | awk '{n+=$1} END {print n+0}')
skip=$(grep -oE 'skipped=[0-9]+' "$R/host-tests.txt" | grep -oE '[0-9]+' || echo 0)
[ -n "$ran" ] || { ran=1 bad=1; cat "$R/host-tests.txt"; }
[ "$bad" = 0 ] || grep -E '^(FAIL|ERROR):' -A 20 "$R/host-tests.txt"
tally "host: python unittest (scripts/tests)" "$((ran - bad - skip)) passed, $bad failed, $skip skipped"

step "kernel ($model)"
if ! kdir=$("$here/build-kernel.sh" "$model"); then
	single "build test kernel ($model)" 1
	finish
fi

step "module"
if make -C "$top" --no-print-directory KDIR="$kdir" modules >"$R/module-build.log" 2>&1; then
	warnings=$(grep -ciE '(^|[^a-z])warning' "$R/module-build.log")
	[ "$warnings" = 0 ] || grep -iE '(^|[^a-z])warning' -A5 "$R/module-build.log"
	single "module builds with 0 warnings ($warnings)" "$warnings"
else
	tail -40 "$R/module-build.log"
	single "module builds" 1
	finish
fi
if command -v rustfmt >/dev/null; then
	rustfmt --edition 2021 --check "$top/rust/rcu_lab_main.rs" >"$R/rustfmt.txt" 2>&1
	rc=$?
	[ $rc = 0 ] || head -40 "$R/rustfmt.txt"
	single "rustfmt --check (rust/ crate)" $rc
else
	tally "rustfmt --check (rust/ crate)" "0 passed, 0 failed, 1 skipped"
fi

step "kselftests in the VM, then the splat gate"
"$here/vm-run" --kernel "$kdir" --smp "$smp" --mem "$mem" --gate --results "$R/suite" \
	-- sh scripts/guest-kselftest.sh selftests/rcu_lab
if [ -f "$R/suite/output.txt" ]; then
	tally "VM: selftests/rcu_lab" "$("$here/ktap_count.py" "$R/suite/output.txt")"
else
	single "VM: selftests/rcu_lab (guest finished)" 1
fi
if [ -f "$R/suite/gate.ktap" ]; then
	tally "VM: splat gate after the suite" "$("$here/ktap_count.py" "$R/suite/gate.ktap")"
else
	single "VM: splat gate after the suite" 1
fi

# The runner itself: a dead or hung guest must end the run with a clear
# status, and leave no QEMU behind.
step "VM runner: a guest panic and a guest hang end the run"
qemu_left() { pgrep -f "qemu-system.*$1" >/dev/null; }
"$here/vm-run" --kernel "$kdir" --no-kmemleak --quiet --timeout 120 --results "$R/runner-panic" \
	-- insmod selftests/rcu_lab/splat/rcu_lab_splat.ko report=panic
rc=$? bad=1
[ $rc = 125 ] && grep -q 'rcu_lab_splat: panic requested' "$R/runner-panic/console.log" &&
	! qemu_left "$R/runner-panic" && bad=0
single "VM runner: panic -> status 125 (got $rc)" $bad
"$here/vm-run" --kernel "$kdir" --no-kmemleak --quiet --timeout 30 --results "$R/runner-hang" \
	-- sleep 600
rc=$? bad=1
[ $rc = 124 ] && ! qemu_left "$R/runner-hang" && bad=0
single "VM runner: hang -> killed at timeout, status 124 (got $rc)" $bad

for t in "$top"/selftests/rcu_lab/negative/*.sh; do
	name=$(basename "$t" .sh)
	expect=$(sed -n 's/^# expect: //p' "$t")
	step "negative test $name (own boot; the gate must see exactly $expect)"
	# Leaks are the main suite's business: no kmemleak scan here.
	"$here/vm-run" --kernel "$kdir" --smp "$smp" --mem "$mem" --expect "$expect" --no-kmemleak \
		--results "$R/negative-$name" -- sh "selftests/rcu_lab/negative/$name.sh"
	if [ -f "$R/negative-$name/gate.ktap" ]; then
		tally "VM: negative/$name" "$("$here/ktap_count.py" \
			"$R/negative-$name/output.txt" "$R/negative-$name/gate.ktap")"
	else
		single "VM: negative/$name (guest finished)" 1
	fi
done

finish
