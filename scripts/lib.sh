# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers for the rcu_lab scripts (sourced, not run).

# Everything built or downloaded lives here, outside the work tree.
RCU_LAB_CACHE=${RCU_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rcu_lab}
RCU_LAB_TOOLS=$RCU_LAB_CACHE/tools
# Debian's rustc-web: the only rustc here whose rust-src matches it.
KRUSTC=${KRUSTC:-/usr/bin/rustc}
BINDGEN=${BINDGEN:-$RCU_LAB_TOOLS/bin/bindgen}

if [ -t 2 ]; then _b=$'\033[1m' _n=$'\033[0m'; else _b= _n=; fi
step() { printf '%s==> %s%s\n' "$_b" "$*" "$_n" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'rcu_lab: error: %s\n' "$*" >&2; exit 1; }
