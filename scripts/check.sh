#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The rcu_lab test command (`make check`):
#   1. install what is missing (scripts/deps.sh)
#   2. host-side tests: python unittest of the result tools, the loom model
#      checks of the lock-free protocols (rust/model, cargo test), the
#      toolchain pin (bindgen loads LLVM 22's libclang even when another one
#      is installed), and rustfmt --check
#   3. per preemption model (PREEMPT_MODELS): build the debug kernel
#      (cached) and the module (warnings fail it), type-check the
#      compile-fail cases once per kernel build (scripts/compile-fail.sh), then
#      a. one VM boot: the kselftests in selftests/rcu_lab, then the splat gate
#      b. independent boots, RCU_LAB_PARALLEL (default 2) at a time: the RCU
#         and hazard-pointer suites again with 4 vCPUs, the VM runner's own
#         tests (a panic, a hang, a boot stall, a kernel tree the project did
#         not build; default model only), one boot per
#         negative test, where the gate must see exactly the report the test
#         provokes
# and ends with "N passed, N failed, N skipped" over every KTAP result.
#
# PREEMPT_MODELS: a model (default: PREEMPT_MODEL, else preempt-lazy), a
# space-separated list, `all` (preempt-lazy preempt preempt-rt), or `smoke`
# (the default model in full, the others built and booted for a short suite:
# module load, info, debugfs).
#
# Environment: SMP (vCPUs of the main suite, default 2), MEM, RCU_LAB_CACHE,
# RCU_LAB_PARALLEL.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

default_model=${PREEMPT_MODEL:-$RCU_LAB_DEFAULT_MODEL}
models=${PREEMPT_MODELS:-$default_model}
smoke=()
case $models in
all) models=$RCU_LAB_MODELS ;;
smoke)
	models=$default_model
	for m in $RCU_LAB_MODELS; do [ "$m" = "$default_model" ] || smoke+=("$m"); done ;;
esac
for m in $models "${smoke[@]}"; do model_kconf "$m" >/dev/null; done
smp=${SMP:-2}
mem=${MEM:-2G}
R=$top/results/check-$(date +%Y%m%d-%H%M%S)
mkdir -p "$R"
# The commit the results belong to (the report pairs a run with the checks
# of the same commit): "-dirty" when the tree had changes.
git -C "$top" describe --always --dirty --abbrev=12 >"$R/commit" 2>/dev/null || echo unknown >"$R/commit"
ln -sfn "$(basename "$R")" "$top/results/latest-check"

passed=0 failed=0 skipped=0
summary=()
t0=$SECONDS

# Record one stage: name, "P passed, F failed, S skipped".
tally() {
	local name=$1 line=$2 p f s
	read -r p _ f _ s _ <<<"${line//,/}"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	summary+=("$(printf '%-52s %s' "$name" "$line")")
}
# A stage that is a single test.
single() { # name, status
	if [ "$2" = 0 ]; then tally "$1" "1 passed, 0 failed, 0 skipped"
	else tally "$1" "0 passed, 1 failed, 0 skipped"; fi
}
# A stage whose KTAP output is in a file, or that did not get that far.
ktap() { # name file
	if [ -f "$2" ]; then
		tally "$1" "$("$here/ktap_count.py" "$2")"
	else
		single "$1 (guest finished)" 1
	fi
}
elapsed() { echo "$(( (SECONDS - $1) / 60 ))m$(( (SECONDS - $1) % 60 ))s"; }
finish() {
	echo
	step "summary (results: $R; $(elapsed "$t0"))"
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
"$PYTHON" -m unittest discover -s "$here/tests" -v >"$R/host-tests.txt" 2>&1
ran=$(sed -n 's/^Ran \([0-9]*\) tests\?.*/\1/p' "$R/host-tests.txt")
bad=$(grep -oE '^FAILED \(.*\)' "$R/host-tests.txt" | grep -oE '(failures|errors)=[0-9]+' |
	grep -oE '[0-9]+' | awk '{n+=$1} END {print n+0}')
skip=$(grep -oE 'skipped=[0-9]+' "$R/host-tests.txt" | grep -oE '[0-9]+' || echo 0)
[ -n "$ran" ] || { ran=1 bad=1; cat "$R/host-tests.txt"; }
[ "$bad" = 0 ] || grep -E '^(FAIL|ERROR):' -A 20 "$R/host-tests.txt"
tally "host: python unittest (scripts/tests)" "$((ran - bad - skip)) passed, $bad failed, $skip skipped"

# The model crate builds in the cache, not the work tree (which the guest
# mounts); loom comes from crates.io.
info "loom model checks (rust/model; the first run downloads and builds loom)"
CARGO_TARGET_DIR=$RCU_LAB_CACHE/model-target cargo test --release \
	--manifest-path "$top/rust/model/Cargo.toml" >"$R/model-tests.txt" 2>&1
results=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' \
	"$R/model-tests.txt" | awk '{p+=$1; f+=$2; s+=$3} END {if (NR) print p" passed, "f" failed, "s" skipped"}')
if [ -z "$results" ]; then
	tail -30 "$R/model-tests.txt"
	results="0 passed, 1 failed, 0 skipped"
elif [ "${results#* passed, 0 failed}" = "$results" ]; then
	grep -E '^(test .* FAILED|---- |thread .* panicked)' -A 5 "$R/model-tests.txt" | head -60
fi
tally "host: loom model checks (rust/model)" "$results"

# The host benchmark of `make run` (experiment 2's cache question), once
# and quickly: it builds with /usr/bin/rustc and checks that every
# callback of every walk ran exactly once per walk.
info "host callback-walk benchmark, one run (scripts/hostbench.sh)"
"$here/hostbench.sh" "$R/hostbench" 1 >"$R/hostbench.log" 2>&1
rc=$?
if [ $rc = 0 ] && ! grep -q "^# every object's callback ran" "$R/hostbench/walk.txt"; then
	rc=1
fi
[ $rc = 0 ] || tail -20 "$R/hostbench.log"
single "host: callback walks build and run each callback once per walk (scripts/hostbench)" $rc

if command -v rustfmt >/dev/null; then
	rustfmt --edition 2021 --check "$top/rust/rcu_lab_main.rs" >"$R/rustfmt.txt" 2>&1
	rc=$?
	[ $rc = 0 ] || head -40 "$R/rustfmt.txt"
	single "rustfmt --check (rust/ crate)" $rc
else
	tally "rustfmt --check (rust/ crate)" "0 passed, 0 failed, 1 skipped"
fi

# Boots that depend on nothing but the build run RCU_LAB_PARALLEL at a time:
# under TCG a guest mostly keeps one host core busy. Each job's output goes
# to $R/<job>.log; results are counted in a fixed order once all are done.
par=${RCU_LAB_PARALLEL:-2}
[[ $par =~ ^[1-9][0-9]*$ ]] || die "RCU_LAB_PARALLEL must be a positive number, got '$par'"
jobs_started=0 jobs_total=0
names=()
declare -A what=() started=()
job() { # name description command...
	local name=$1 desc=$2
	shift 2
	while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n; done
	jobs_started=$((jobs_started + 1))
	info "[$jobs_started/$jobs_total] $desc"
	names+=("$name")
	what[$name]=$desc
	started[$name]=$SECONDS
	(
		"$@" >"$R/$name.log" 2>&1
		echo $? >"$R/$name.rc"
		echo "$((SECONDS - started[$name]))" >"$R/$name.secs"
	) &
}
rc_of() { cat "$R/$1.rc" 2>/dev/null || echo 125; }
# Prints the end of a failed job's log.
show() { printf '    %s\n' "--- $R/$1.log (end) ---"; tail -n 40 "$R/$1.log" | sed 's/^/    /'; }
qemu_left() { pgrep -f "qemu-system.*$1" >/dev/null; }

# The compile-fail cases, once per kernel build (lazy and full share one;
# the types differ on PREEMPT_RT), right after the module built for it.
declare -A compile_failed=()
compile_fail() { # model kdir
	local m=$1 kdir=$2
	[ -z "${compile_failed[$kdir]:-}" ] || return 0
	compile_failed[$kdir]=1
	"$here/compile-fail.sh" "$kdir" "$R/compile-fail-$m.ktap"
	ktap "[$m] compile-fail cases and twins ($(basename "$kdir"))" "$R/compile-fail-$m.ktap"
}

# Builds the model's debug kernel and the module for it; sets built_kdir to
# the kernel directory, or records the failure and leaves it empty.
built_kdir=
build_for() { # model
	local m=$1 kdir
	built_kdir=
	step "[$m] kernel and module"
	if ! kdir=$("$here/build-kernel.sh" "$m" debug); then
		single "[$m] build the debug kernel" 1
		return
	fi
	if make -C "$top" --no-print-directory KDIR="$kdir" modules >"$R/module-build-$m.log" 2>&1; then
		local warnings
		warnings=$(grep -ciE '(^|[^a-z])warning' "$R/module-build-$m.log")
		[ "$warnings" = 0 ] || grep -iE '(^|[^a-z])warning' -A5 "$R/module-build-$m.log"
		single "[$m] module builds with 0 warnings ($warnings)" "$warnings"
		built_kdir=$kdir
		compile_fail "$m" "$kdir"
	else
		tail -40 "$R/module-build-$m.log"
		single "[$m] module builds" 1
	fi
}

# The whole VM suite on one model.
check_model() { # model
	local m=$1 kdir t_vm vm
	build_for "$m"
	kdir=$built_kdir
	[ -n "$kdir" ] || return
	vm=("$here/vm-run" --kernel "$kdir" --preempt "$m")
	t_vm=$SECONDS
	step "[$m] kselftests in the VM, then the splat gate"
	"${vm[@]}" --smp "$smp" --mem "$mem" --gate --results "$R/$m/suite" \
		-- sh scripts/guest-kselftest.sh selftests/rcu_lab
	ktap "[$m] VM: selftests/rcu_lab" "$R/$m/suite/output.txt"
	ktap "[$m] VM: splat gate after the suite" "$R/$m/suite/gate.ktap"

	local negatives=("$top"/selftests/rcu_lab/negative/*.sh) runner=0
	[ "$m" = "$default_model" ] && runner=4
	jobs_started=0 jobs_total=$((1 + runner + ${#negatives[@]})) names=()
	step "[$m] independent boots, $par at a time"
	job "$m-suite-4cpu" "RCU and hazard-pointer suites with 4 vCPUs, then the splat gate" \
		"${vm[@]}" --smp 4 --mem "$mem" --gate --quiet --results "$R/$m/suite-4cpu" \
		-- sh scripts/guest-kselftest.sh selftests/rcu_lab rcu.sh hazptr.sh
	if [ $runner != 0 ]; then
		# The runner itself: a dead or hung guest must end the run with a
		# clear status, and leave no QEMU behind.
		job "$m-runner-panic" "VM runner: a guest panic ends the run" \
			"${vm[@]}" --no-kmemleak --quiet --timeout 120 --results "$R/$m/runner-panic" \
			-- insmod selftests/rcu_lab/splat/rcu_lab_splat.ko report=panic
		job "$m-runner-hang" "VM runner: a guest hang ends the run at its timeout" \
			"${vm[@]}" --no-kmemleak --quiet --timeout 60 --results "$R/$m/runner-hang" \
			-- sleep 600
		# A boot stall (no console output in RCU_LAB_BOOT_TIMEOUT s; 2 s
		# here, before /init can print) is retried once, then ends the run.
		job "$m-runner-stall" "VM runner: a boot that prints nothing is retried once, then ends the run" \
			env RCU_LAB_BOOT_TIMEOUT=2 "${vm[@]}" --no-kmemleak --quiet \
			--results "$R/$m/runner-stall" -- true
		# A kernel tree the project did not build (the README's "your own
		# kernel"): only a .config and the image, no modroot/ and no source
		# link. The module built for the cached kernel loads in it.
		local own=$R/$m/own-tree
		mkdir -p "$own/arch/x86/boot"
		cp "$kdir/.config" "$own/.config"
		ln -sf "$kdir/arch/x86/boot/bzImage" "$own/arch/x86/boot/bzImage"
		job "$m-runner-own-kernel" "VM runner: --kernel on a tree the project did not build" \
			"$here/vm-run" --kernel "$own" --preempt "$m" --no-kmemleak --quiet \
			--results "$R/$m/runner-own-kernel" \
			-- sh -c 'insmod rcu_lab.ko && grep kernel_release /sys/kernel/debug/rcu_lab/info'
	fi
	local t name expect
	for t in "${negatives[@]}"; do
		name=$(basename "$t" .sh)
		# "# expect-MODEL:" overrides "# expect:" on that model.
		expect=$(sed -n "s/^# expect-$m: //p" "$t")
		[ -n "$expect" ] || expect=$(sed -n 's/^# expect: //p' "$t")
		# "none": a model where the case is clean (the gate's normal rule).
		local want="exactly $expect" gate=(--expect "$expect")
		[ "$expect" = none ] && want="no report" gate=(--gate)
		# Leaks are the main suite's business: no kmemleak scan here.
		job "$m-negative-$name" "negative test $name (own boot; the gate must see $want)" \
			"${vm[@]}" --smp "$smp" --mem "$mem" "${gate[@]}" \
			--no-kmemleak --quiet --results "$R/$m/negative-$name" \
			-- sh "selftests/rcu_lab/negative/$name.sh"
	done
	wait

	local rc bad stage
	for name in "${names[@]}"; do
		rc=$(rc_of "$name")
		stage=${name#"$m-"}
		info "${what[$name]}: status $rc after $(cat "$R/$name.secs" 2>/dev/null || echo '?') s"
		case $stage in
		suite-4cpu)
			ktap "[$m] VM (4 vCPUs): rcu.sh hazptr.sh" "$R/$m/suite-4cpu/output.txt"
			ktap "[$m] VM (4 vCPUs): splat gate" "$R/$m/suite-4cpu/gate.ktap"
			[ "$rc" = 0 ] || show "$name"
			;;
		runner-panic)
			bad=1
			[ "$rc" = 125 ] && grep -q 'rcu_lab_splat: panic requested' "$R/$m/runner-panic/console.log" &&
				! qemu_left "$R/$m/runner-panic" && bad=0
			[ $bad = 0 ] || show "$name"
			single "[$m] VM runner: panic -> status 125 (got $rc)" $bad
			;;
		runner-stall)
			bad=1
			[ "$rc" = 124 ] && grep -q 'booting again (attempt 2 of 2)' "$R/$name.log" &&
				grep -q 'printed nothing in 2 s, twice' "$R/$name.log" &&
				! qemu_left "$R/$m/runner-stall" && bad=0
			[ $bad = 0 ] || show "$name"
			single "[$m] VM runner: boot stall -> one retry, then status 124 (got $rc)" $bad
			;;
		runner-own-kernel)
			bad=1
			[ "$rc" = 0 ] && grep -q '^kernel_release' "$R/$m/runner-own-kernel/output.txt" && bad=0
			[ $bad = 0 ] || show "$name"
			single "[$m] VM runner: --kernel on a tree without modroot/ boots and loads the module (got $rc)" $bad
			;;
		runner-hang)
			bad=1
			[ "$rc" = 124 ] && ! qemu_left "$R/$m/runner-hang" && bad=0
			[ $bad = 0 ] || show "$name"
			single "[$m] VM runner: hang -> killed at timeout, status 124 (got $rc)" $bad
			;;
		negative-*)
			if [ -f "$R/$m/$stage/gate.ktap" ]; then
				tally "[$m] VM: $stage" \
					"$("$here/ktap_count.py" "$R/$m/$stage/output.txt" "$R/$m/$stage/gate.ktap")"
			else
				single "[$m] VM: $stage (guest finished)" 1
			fi
			[ "$rc" = 0 ] || show "$name"
			;;
		esac
	done
	info "[$m] VM stages took $(elapsed "$t_vm")"
}

# A short suite on one model: the kernel builds and boots, the module loads.
smoke_model() { # model
	local m=$1 kdir
	build_for "$m"
	kdir=$built_kdir
	[ -n "$kdir" ] || return
	step "[$m] quick boot: module_load.sh info.sh debugfs.sh, then the splat gate"
	"$here/vm-run" --kernel "$kdir" --preempt "$m" --smp "$smp" --mem "$mem" --gate \
		--results "$R/$m/smoke" \
		-- sh scripts/guest-kselftest.sh selftests/rcu_lab module_load.sh info.sh debugfs.sh
	ktap "[$m] VM (quick): module_load.sh info.sh debugfs.sh" "$R/$m/smoke/output.txt"
	ktap "[$m] VM (quick): splat gate" "$R/$m/smoke/gate.ktap"
}

for m in $models; do
	tm=$SECONDS
	check_model "$m"
	info "[$m] done in $(elapsed "$tm")"
done
for m in "${smoke[@]}"; do
	tm=$SECONDS
	smoke_model "$m"
	info "[$m] done in $(elapsed "$tm")"
done

finish
