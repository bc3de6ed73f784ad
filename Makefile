# SPDX-License-Identifier: GPL-2.0
#
# rcu_lab: user entry point.
#
#   make              build rcu_lab.ko against KDIR (default: the cached test
#                     kernel for PREEMPT_MODEL, built first if missing)
#   make run          main job: install, build, boot, load, show results
#   make check        test command: host tests, VM kselftests, splat gate,
#                     negative tests; ends with "N passed, N failed"
#   make vm CMD='…'   run a command in the test VM (see scripts/vm-run -h)
#   make deps | kernel | fmt | fmt-check | clean
#
# Variables: KDIR (another kernel build tree, Linux 7.x), PREEMPT_MODEL
# (preempt-lazy, preempt, preempt-rt), PREEMPT_MODELS (models `make check`
# runs: one of them, or `all`), KERNEL_FLAVOUR (debug, perf: which cached
# kernel `make` builds against), LLVM (the kernel's LLVM suffix, -22),
# RCU_LAB_CACHE (cache directory, default ~/.cache/rcu_lab), SMP, MEM.

PREEMPT_MODEL ?= preempt-lazy
KERNEL_FLAVOUR ?= debug
LLVM ?= -22
LIBCLANG_PATH ?= /usr/lib/llvm$(LLVM)/lib/libclang$(LLVM).so.1
KRUSTC ?= /usr/bin/rustc
RCU_LAB_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rcu_lab
BINDGEN ?= $(RCU_LAB_CACHE)/tools/bin/bindgen
RUSTFMT ?= rustfmt
export PREEMPT_MODEL PREEMPT_MODELS RCU_LAB_CACHE KRUSTC BINDGEN LIBCLANG_PATH

# The kernel build directory: KDIR if given, else the cached test kernel.
kdir = $(if $(KDIR),$(KDIR),$$(scripts/build-kernel.sh $(PREEMPT_MODEL) $(KERNEL_FLAVOUR)))
kbuild = LLVM=$(LLVM) RUSTC=$(KRUSTC) BINDGEN=$(BINDGEN)

.PHONY: all modules deps kernel run check vm fmt fmt-check clean

all: modules

deps:
	@scripts/deps.sh

kernel: deps
	@scripts/build-kernel.sh $(PREEMPT_MODEL) $(KERNEL_FLAVOUR) >/dev/null

# The objects here record their dependencies as paths into the kernel they
# were built against, so building against another kernel (a new KDIR, or the
# test kernel rebuilt after a fragment changed) would reuse them unchanged
# and insmod would refuse the module. .kernel-stamp names the kernel of the
# objects; when it changes, they are cleaned first.
modules:
	@kdir=$(kdir) && \
	stamp="$$(cd "$$kdir" && pwd) $$(cat "$$kdir/include/config/kernel.release" 2>/dev/null) $$(sha256sum "$$kdir/.config" 2>/dev/null | cut -c1-16)" && \
	if [ "$$(cat .kernel-stamp 2>/dev/null)" != "$$stamp" ]; then \
		if [ -f .kernel-stamp ]; then echo "  CLEAN   objects built for another kernel"; fi; \
		$(MAKE) -C "$$kdir" M=$(CURDIR) $(kbuild) clean >/dev/null && \
		echo "$$stamp" >.kernel-stamp; \
	fi && \
	$(MAKE) -C "$$kdir" M=$(CURDIR) $(kbuild) modules

run:
	@scripts/run.sh

check:
	@scripts/check.sh

vm:
	@test -n "$(CMD)" || { echo "usage: make vm CMD='command to run in the guest'" >&2; exit 2; }
	@scripts/vm-run $(if $(SMP),--smp $(SMP)) $(if $(MEM),--mem $(MEM)) -- sh -c '$(CMD)'

fmt:
	$(RUSTFMT) --edition 2021 rust/rcu_lab_main.rs

fmt-check:
	$(RUSTFMT) --edition 2021 --check rust/rcu_lab_main.rs

clean:
	@kdir=$(if $(KDIR),$(KDIR),$$(ls -dt $(RCU_LAB_CACHE)/kernel/$(KERNEL_FLAVOUR)-*/ 2>/dev/null | head -1)); \
	if [ -n "$$kdir" ]; then $(MAKE) -C "$$kdir" M=$(CURDIR) $(kbuild) clean; fi
	rm -f rust/helpers_generated.rs rust/*.bc .kernel-stamp
