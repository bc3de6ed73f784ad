#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn a `make run` results directory into report.md with PNG plots.

    report.py RUN_DIR

RUN_DIR holds one directory per kernel flavour that ran (`debug`, `perf`),
and `host/` with the host benchmark (scripts/hostbench.sh),
each with the guest's reports in rcu_lab/ (bench-locks, bench-readers,
bench-gp, refscale, info, kfree_batching, rcuscale-kfree; see
scripts/guest-run.sh). The report has one
section per benchmark or experiment, each a table with a column per kernel
and, where it helps, a plot; every figure says the kernel, model and vCPUs
it comes from. Sections are entries of SECTIONS: an experiment adds its own
(a function taking the Run and returning the section's Markdown).

Timings under QEMU TCG mean something only as ratios within one boot; the
report says so and gives the ratios.
"""

import os
import re
import sys

FLAVOURS = ("debug", "perf")
ABOUT = {
    "debug": "debug kernel (lockdep, KASAN, kmemleak, debug-objects)",
    "perf": "performance kernel (none of them)",
}


def parse_rows(text):
    """Data rows of a report: lines that are not comments, split on blanks."""
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split())
    return rows


def comment(text, key):
    """The text of the first `# key: ...` comment line, or None."""
    for line in text.splitlines():
        if line.startswith(f"# {key}"):
            return line[2 + len(key):].lstrip(": ").strip()
    return None


def number(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


class Kernel:
    """The reports of one kernel flavour's boot."""

    def __init__(self, flavour, path):
        self.flavour, self.path = flavour, path
        self.files = {}
        d = os.path.join(path, "rcu_lab")
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else ():
            p = os.path.join(d, name)
            if os.path.isfile(p):
                with open(p, errors="replace") as f:
                    self.files[name] = f.read()
        self.info = {}
        for line in self.files.get("info", "").splitlines():
            k, _, v = line.partition(": ")
            self.info[k] = v

    def label(self):
        i = self.info
        return (f"{self.flavour}: {i.get('kernel_release', '?')}, preempt "
                f"{i.get('preempt_model', '?')}, {i.get('rcu_flavour', '?')} RCU, "
                f"{i.get('cpus_online', '?')} vCPUs")

    def rows(self, name):
        return parse_rows(self.files.get(name, ""))

    def refscale(self):
        return {r[0].removeprefix("refscale_"): number(r[1]) for r in self.rows("refscale")
                if len(r) > 1}


class Run:
    def __init__(self, path):
        self.path = path
        self.kernels = [Kernel(f, os.path.join(path, f)) for f in FLAVOURS
                        if os.path.isdir(os.path.join(path, f, "rcu_lab"))]
        self.plots = []

    def plot_path(self, name):
        self.plots.append(name)
        return os.path.join(self.path, name)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join("" if c is None else str(c) for c in r) + " |")
    return "\n".join(out)


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def plt_or_none():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


def bars(run, name, title, ylabel, groups, series, log=False):
    """A grouped bar chart: one group per label in `groups`, one bar per
    (series name, values) in `series`. Returns the Markdown image or ''."""
    plt = plt_or_none()
    if plt is None or not groups:
        return ""
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(groups) + 2), 5.0))
    width = 0.8 / max(1, len(series))
    for i, (label, values) in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [0 if v is None else v for v in values], width, label=label)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(run.plot_path(name), dpi=110)
    plt.close(fig)
    return f"\n![{title}]({name})\n"


def section_locks(run):
    ks = [k for k in run.kernels if k.rows("bench-locks")]
    if not ks:
        return None
    ops = [r[0] for r in ks[0].rows("bench-locks")]
    header = ["operation"]
    for k in ks:
        header += [f"{k.flavour} rust ns", f"{k.flavour} C ns", f"{k.flavour} rust/C"]
    rows = []
    for op in ops:
        row = [op]
        for k in ks:
            r = next((r for r in k.rows("bench-locks") if r[0] == op), [op, None, None, None])
            row += [r[1], r[2], r[3]]
        rows.append(row)
    ref = []
    for k in ks:
        rs = k.refscale()
        rust = {r[0]: number(r[1]) for r in k.rows("bench-locks")}
        for op, t in (("raw_spin_lock", "lock"), ("raw_spin_lock_irqsave", "lock-irq")):
            if rs.get(t) and rust.get(op):
                ref.append([k.flavour, op, fmt(rust[op]), f"refscale {t}", fmt(rs[t]),
                            f"{rust[op] / rs[t]:.3f}"])
    method = comment(ks[0].files["bench-locks"], "method")
    text = ["## Lock wrappers against C", "",
            f"ns per lock+unlock pair, Rust wrapper against the same C loop built into "
            f"the module. Method: {method}.", "", table(header, rows)]
    if ref:
        text += ["", "Against the kernel's refscale (same boot):", "",
                 table(["kernel", "operation", "rust ns", "refscale", "refscale ns",
                        "rust/refscale"], ref)]
    text.append(bars(run, "locks.png", "lock+unlock, ns (Rust and C, per kernel)", "ns",
                     ops, [(f"{k.flavour} {w}", [number(r[i]) for r in k.rows("bench-locks")])
                           for k in ks for w, i in (("rust", 1), ("C", 2))]))
    return "\n".join(text)


def section_readers(run):
    ks = [k for k in run.kernels if k.rows("bench-readers")]
    if not ks:
        return None
    data = [r for r in ks[0].rows("bench-readers") if r[0] != "ratio"]
    names = [r[0] for r in data]
    header = ["read section"] + [f"{k.flavour} ns" for k in ks] + \
        [f"{k.flavour} vs C rcu_read_lock" for k in ks]
    rows = []
    for n in names:
        vals = []
        for k in ks:
            r = next((r for r in k.rows("bench-readers") if r[0] == n), None)
            vals.append((r[1], r[2]) if r else (None, None))
        rows.append([n] + [v[0] for v in vals] + [v[1] for v in vals])
    for t in ("rcu", "preempt"):
        rows.append([f"refscale {t} (C)"] + [fmt(k.refscale().get(t)) for k in ks] +
                    [None] * len(ks))
    ratios = []
    for k in ks:
        for r in k.rows("bench-readers"):
            if r[0] == "ratio":
                ratios.append([k.flavour, " ".join(r[1:-1]), r[-1]])
    method = comment(ks[0].files["bench-readers"], "method")
    text = ["## Read-side cost: RCU and hazard pointers", "",
            f"ns per read section. Method: {method}.", "", table(header, rows), "",
            table(["kernel", "ratio", "value"], ratios)]
    groups = names + ["refscale rcu", "refscale preempt"]
    series = []
    for k in ks:
        vals = [number(next((r[1] for r in k.rows("bench-readers") if r[0] == n), None))
                for n in names]
        vals += [k.refscale().get("rcu"), k.refscale().get("preempt")]
        series.append((k.label(), vals))
    text.append(bars(run, "readers.png", "read-side cost, ns per section (log scale)", "ns",
                     groups, series, log=True))
    return "\n".join(text)


def section_gp(run):
    ks = [k for k in run.kernels if k.rows("bench-gp")]
    if not ks:
        return None
    rows, groups, series = [], [], {}
    for k in ks:
        for r in k.rows("bench-gp"):
            if r[0] == "ratio" or len(r) < 6:
                continue
            rows.append([k.flavour, r[0], r[1], r[2], r[3], r[4], r[5]])
            g = f"{r[0]} {r[1]}"
            if g not in groups:
                groups.append(g)
            series.setdefault((k.flavour, "median"), {})[g] = number(r[3])
            series.setdefault((k.flavour, "p99"), {})[g] = number(r[4])
    ratios = [[k.flavour, " ".join(r[1:])] for k in ks for r in k.rows("bench-gp")
              if r[0] == "ratio"]
    method = comment(ks[0].files["bench-gp"], "method")
    text = ["## Update-side wait: grace periods against hazard pointers", "",
            f"Microseconds an updater waits before it may free what it unlinked. "
            f"Method: {method}.", "",
            table(["kernel", "wait", "readers", "samples", "median us", "p99 us",
                   "reader sections"], rows), "",
            table(["kernel", "ratio (median against hazptr_synchronize)"], ratios)]
    text.append(bars(run, "gp.png", "update-side wait, us (median and p99, log scale)", "us",
                     groups, [(f"{f} {s}", [v.get(g) for g in groups])
                              for (f, s), v in series.items()], log=True))
    return "\n".join(text)


def keyvals(text, kind):
    """Rows of an experiment's results that start with `kind`, as dicts of
    their key=value fields."""
    out = []
    for r in parse_rows(text):
        if r and r[0] == kind:
            out.append(dict(f.split("=", 1) for f in r[1:] if "=" in f))
    return out


def median(values):
    vs = sorted(v for v in values if v is not None)
    return vs[(len(vs) - 1) // 2] if vs else None


KFREE_VARIANTS = ("engine", "sheaf", "pageblock", "nolock", "call_rcu", "sync")


def kfree_medians(k):
    return {m["variant"]: m for m in keyvals(k.files.get("kfree_batching", ""), "median")}


def kfree_targets(med):
    """The issue's targets on one kernel's medians: (target, figure, met)."""
    def n(v, key):
        return number(med.get(v, {}).get(key))
    out = []
    e, pb, cr, sh = (n(v, "enqueue_ns_per_obj") for v in ("engine", "pageblock", "call_rcu",
                                                          "sheaf"))
    if e and pb:
        out.append(("engine at least as fast as the kernel's page-block path",
                    f"pageblock/engine {pb / e:.2f}", pb / e >= 1.0))
    ep, pp = n("engine", "peak_pages"), n("pageblock", "peak_pages")
    if ep is not None and pp is not None:
        out.append(("engine peak footprint no larger than page-block's (cache slabs + "
                    "engine blocks; the kernel's own block pages are not visible)",
                    f"{ep:.0f} vs {pp:.0f} pages", ep <= pp))
    if e and cr:
        out.append(("engine at least 2x faster than per-object call_rcu()",
                    f"call_rcu/engine {cr / e:.2f}", cr / e >= 2.0))
    eg, sg = n("engine", "net_gps_per_1000_milli"), n("sheaf", "net_gps_per_1000_milli")
    if eg is not None and sg is not None:
        out.append(("engine grace periods per 1000 objects no more than the sheaf path's",
                    f"{eg / 1000:.3f} vs {sg / 1000:.3f}", eg <= sg))
    if e and sh:
        out.append(("engine allocation + enqueue at most 1.0x the sheaf path's",
                    f"engine/sheaf {e / sh:.2f}", e / sh <= 1.0))
    eo, so = n("engine", "enqueue_only_ns_per_obj"), n("sheaf", "enqueue_only_ns_per_obj")
    if eo and so:
        out.append(("engine enqueue alone at most 1.0x the sheaf path's",
                    f"engine/sheaf {eo / so:.2f} ({eo:.0f} vs {so:.0f} ns/obj)", eo / so <= 1.0))
    fb, total = n("engine", "fallback"), n("engine", "objects")
    if fb is not None and total:
        out.append(("at most 1 % of the engine's objects through the emergency path",
                    f"{100 * fb / total:.2f} %", fb / total <= 0.01))
    bp, bb = n("engine", "block_pages"), n("engine", "block_bound")
    if bp is not None and bb is not None:
        out.append(("engine block pages at their peak within the bound batch_flood checks "
                    "(blocks the objects need + one open block and cache_pages per CPU)",
                    f"{bp:.0f} vs {bb:.0f} pages", bp <= bb))
    return out


def section_kfree(run):
    ks = [k for k in run.kernels if kfree_medians(k)]
    if not ks:
        return None
    text = ["## Experiment 1: kfree_rcu() batching (seed 002)", "",
            "rcu_lab's page-block engine (rust/rcu/batch.rs) against 7.3's sheaf path, its "
            "page-block path, kfree_rcu_nolock(), per-object call_rcu() and synchronize_rcu() "
            "per loop, one variant after another, rounds in rotating order, medians over "
            "rounds (Documentation/kfree_batching.rst). TCG emulates no cache hierarchy, so "
            "the per-object cache miss the seed removes barely shows here.", ""]
    for k in ks:
        med = kfree_medians(k)
        params = comment(k.files["kfree_batching"], "params") or "?"
        e = number(med.get("engine", {}).get("enqueue_ns_per_obj"))
        rows = []
        for v in KFREE_VARIANTS:
            m = med.get(v)
            if not m:
                continue
            ns = number(m.get("enqueue_ns_per_obj"))
            per_k = number(m.get("net_gps_per_1000_milli"))
            rows.append([v, m.get("enqueue_ns_per_obj"),
                         f"{ns / e:.2f}" if ns and e else "n/a",
                         fmt(number(m.get("reclaim_us")) / 1000 if m.get("reclaim_us") else None),
                         m.get("net_gps"), fmt(per_k / 1000 if per_k is not None else None, 3),
                         m.get("exp_gps"), m.get("requests"), m.get("peak_pages"),
                         m.get("block_pages"), m.get("fallback"), m.get("sheaf_capacity"),
                         m.get("free_rcu_sheaf")])
        text += [f"### {k.label()}", "", f"Parameters: {params}.", "",
                 table(["variant", "ns/obj", "x engine", "reclaim ms", "net GPs",
                        "GPs/1000 obj", "exp GPs", "GP requests", "peak pages",
                        "engine block pages", "fallback objs", "sheaf_capacity",
                        "free_rcu_sheaf"], rows), ""]
        big = {m["variant"]: m for m in
               keyvals(k.files.get("kfree_batching-cache32", ""), "median")}.get("engine")
        if big:
            bns = number(big.get("enqueue_ns_per_obj"))
            pb = number(med.get("pageblock", {}).get("enqueue_ns_per_obj"))
            cr = number(med.get("call_rcu", {}).get("enqueue_ns_per_obj"))
            text += ["The engine again in the same boot with 32 cached pages per CPU "
                     "(cache_pages=32; the table uses the kernel's 5):", "",
                     table(["variant", "ns/obj", "pageblock/engine", "call_rcu/engine",
                            "net GPs", "peak pages", "engine block pages",
                            "fallback objs"],
                           [["engine, cache_pages=32", big.get("enqueue_ns_per_obj"),
                             f"{pb / bns:.2f}" if pb and bns else "n/a",
                             f"{cr / bns:.2f}" if cr and bns else "n/a",
                             big.get("net_gps"), big.get("peak_pages"),
                             big.get("block_pages"), big.get("fallback")]]), ""]
        tg = kfree_targets(med)
        if tg:
            text += [table(["target", "figure", "met"],
                           [[t, f, "n/a" if ok is None else ("yes" if ok else "no")]
                            for t, f, ok in tg]), ""]
        rs = keyvals(k.files.get("rcuscale-kfree", ""), "rcuscale_kfree")
        rs_ns = median([number(r.get("ns")) for r in rs])
        sh = med.get("sheaf", {})
        sh_win, sh_obj = number(sh.get("window_us")), number(sh.get("enqueue_ns_per_obj"))
        per_thread = re.search(r"kfree_alloc_num=(\d+)", k.files.get("rcuscale-kfree", ""))
        per_thread = number(per_thread.group(1)) if per_thread else None
        loops = median([number(r.get("loops")) for r in rs])
        rs_obj = rs_ns / (per_thread * loops) if rs_ns and per_thread and loops else None
        if rs_ns and sh_win:
            text += ["Cross-check with the kernel's own harness, same boot: rcuscale "
                     "kfree_rcu_test=1 kfree_rcu_test_double=1, 2 threads x 2000 x 8 "
                     f"(kmalloc-32), median of {len(rs)} runs, against the experiment's "
                     "sheaf variant (same shape, its own 32-byte cache). rcuscale's time is "
                     "its last thread's, start to end, so its ns/obj is that over the "
                     "thread's objects; the experiment's is thread time in the loops over "
                     "objects.", "",
                     table(["kernel", "rcuscale total ms", "rcuscale ns/obj",
                            "rcuscale batches", "sheaf window ms", "sheaf ns/obj",
                            "ns/obj rcuscale/experiment", "window rcuscale/experiment"],
                           [[k.flavour, fmt(rs_ns / 1e6, 2), fmt(rs_obj, 0),
                             fmt(median([number(r.get("batches")) for r in rs]), 0),
                             fmt(sh_win / 1000, 2), sh.get("enqueue_ns_per_obj"),
                             f"{rs_obj / sh_obj:.2f}" if rs_obj and sh_obj else "n/a",
                             f"{rs_ns / 1000 / sh_win:.2f}"]]), ""]
    groups = [v for v in KFREE_VARIANTS if any(v in kfree_medians(k) for k in ks)]
    text.append(bars(run, "kfree_time.png", "kfree_rcu variants: ns per object (log scale)",
                     "ns per object", groups,
                     [(k.label(), [number(kfree_medians(k).get(v, {}).get("enqueue_ns_per_obj"))
                                   for v in groups]) for k in ks], log=True))
    text.append(bars(run, "kfree_footprint.png",
                     "kfree_rcu variants: peak pages (cache slabs + engine blocks)",
                     "pages", groups,
                     [(k.label(), [number(kfree_medians(k).get(v, {}).get("peak_pages"))
                                   for v in groups]) for k in ks]))
    return "\n".join(text)


# Results files that a section of their own renders; every other experiment
# results file gets the generic section.
CUSTOM = {"kfree_batching", "kfree_batching-cache32"}
EXPERIMENT_HEADER = re.compile(r"^# rcu_lab (\S+) results")
PLOT = re.compile(r"^# plot (\S+)( log)?: (.*)$", re.M)


def experiment_files(run):
    """Names of the experiment results files in the run (any kernel), in
    order, with the experiment each belongs to."""
    names = {}
    for k in run.kernels:
        for name, text in k.files.items():
            m = EXPERIMENT_HEADER.match(text)
            if m:
                names[name] = m.group(1)
    return sorted(names.items())


def section_experiments(run):
    """Every experiment results file without a section of its own: its
    median rows as a table per kernel, and a bar plot per `# plot FIELD
    [log]: TITLE` line of its results."""
    text = []
    for name, exp in experiment_files(run):
        if name in CUSTOM:
            continue
        ks = [k for k in run.kernels if keyvals(k.files.get(name, ""), "median")]
        if not ks:
            continue
        text += [f"## Experiment {exp} ({name})", ""]
        for k in ks:
            meds = keyvals(k.files[name], "median")
            fields = [f for f in meds[0] if f not in ("variant", "round")]
            text += [f"### {k.label()}", "",
                     f"Parameters: {comment(k.files[name], 'params') or '?'}.", "",
                     table(["variant"] + fields,
                           [[m.get("variant")] + [m.get(f) for f in fields] for m in meds]),
                     ""]
        variants = []
        for k in ks:
            for m in keyvals(k.files[name], "median"):
                if m.get("variant") not in variants:
                    variants.append(m.get("variant"))
        plots = {}
        for k in ks:
            for field, log, title in PLOT.findall(k.files[name]):
                plots.setdefault(field, (bool(log), title))
        for field, (log, title) in plots.items():
            series = [(k.label(), [number({m.get("variant"): m for m in
                                           keyvals(k.files[name], "median")}
                                          .get(v, {}).get(field)) for v in variants])
                      for k in ks]
            text.append(bars(run, f"{name}-{field}.png", title, field, variants, series,
                             log=log))
    return "\n".join(text) if text else None


# The report's sections, in order: the benchmarks, the experiments with
# sections of their own, then every other experiment generically.
def section_host_walk(run):
    """Experiment 2's cache question on the host: scripts/hostbench.sh."""
    path = os.path.join(run.path, "host", "walk.txt")
    if not os.path.isfile(path):
        return ""
    with open(path, errors="replace") as f:
        text = f.read()
    res = {}
    for line in text.splitlines():
        if not line.startswith("walk "):
            continue
        kv = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
        res[(kv.get("layout"), kv.get("shape"))] = kv
    shapes = []
    for (_, shape) in res:
        if shape not in shapes:
            shapes.append(shape)
    out = ["## Host: invoking callbacks from a chain or from an array (experiment 2)", "",
           "The cache question of seed 002 on the host's real caches (QEMU TCG models "
           "none): nanoseconds per callback walking a chain of rcu_heads (a "
           "re-implementation of rcu_do_batch()'s loop, labelled chain), an array of "
           "(object, function) pairs and an array of typed pointers, each with and without "
           "a prefetch ahead; each callback reads and writes one word of its 64-byte "
           "object. The array walks are the module's rust/protocol/walk.rs. Layouts: "
           "random (objects over at least 8x the last-level cache, queued in random "
           "order) and alloc (queued in address order, packed as a slab). Median (min-max) "
           "over the runs, shapes interleaved (scripts/hostbench/walk.rs).", ""]
    for line in text.splitlines():
        if line.startswith("# ") and ":" in line:
            out.append(f"* {line[2:]}")
    out.append("")
    rows = []
    for shape in shapes:
        row = [shape]
        for layout in ("random", "alloc"):
            kv = res.get((layout, shape), {})
            row += [f"{kv.get('ns_per_callback', 'n/a')} ({kv.get('min', '?')}-"
                    f"{kv.get('max', '?')})", kv.get("chain_over_this", "n/a")]
        rows.append(row)
    out.append(table(["shape", "random ns/callback", "chain/shape random",
                      "alloc ns/callback", "chain/shape alloc"], rows))
    typed = number(res.get(("random", "typed"), {}).get("chain_over_this"))
    if typed is not None:
        out += ["", table(["target", "figure", "met"], [[
            "host, random layout: the typed array at least 2x cheaper per callback than "
            "the chain", f"chain/typed {typed:.2f}", "yes" if typed >= 2 else "no"]])]
    spectre = comment(text, "spectre_v2") or ""
    out += ["", "This benchmark is user-space code built without retpolines. In a kernel "
            "built with them (spectre_v2 above gives this host kernel's mitigation), every "
            "indirect call goes through a return trampoline that stops speculation past "
            "it: rcu_do_batch()'s chain and the pair shape call each callback through a "
            "pointer, the typed shape calls none, so retpolines would widen the gap."
            + (f" This host kernel: {spectre}." if spectre else "")]
    series = [(layout, [number(res.get((layout, s), {}).get("ns_per_callback"))
                        for s in shapes]) for layout in ("random", "alloc")]
    out.append(bars(run, "host_walk.png", "callback invocation, ns per callback (host, log)",
                    "ns per callback", shapes, series, log=True))
    return "\n".join(out)


# Experiment 2's evidence matrix: models in column order, the contexts and
# variants in the module's order (rust/experiments/raw_call_rcu/matrix.rs).
MATRIX_MODELS = (("preempt-lazy", "lazy"), ("preempt", "full"), ("preempt-rt", "rt"))
MATRIX_CONTEXTS = ("task", "spinlock", "raw_spinlock", "irqs_off", "softirq", "hardirq",
                   "rcu_callback")
MATRIX_VARIANTS = ("call_rcu", "raw", "nowait", "override", "runtime_check", "deferred",
                   "kfree_rcu", "kfree_rcu_nolock", "typed")
CELL = re.compile(r"^(?:# )*(cell|matrix_fallback) (.*)$")


def matrix_rows(text):
    """The `cell` and `matrix_fallback` rows in a results file or in a
    kselftest output (where they are diagnostics, `# # cell ...`)."""
    cells, fallback = [], []
    for line in text.splitlines():
        m = CELL.match(line.strip())
        if m:
            kv = dict(f.split("=", 1) for f in m.group(2).split() if "=" in f)
            (cells if m.group(1) == "cell" else fallback).append(kv)
    return cells, fallback


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def matrix_checks(run):
    """Per model, the newest `make check` results of the run's commit
    (results/check-*/commit equal to results/run-*/commit): its directory,
    or None."""
    commit = read(os.path.join(run.path, "commit")).strip()
    found = {}
    if not commit or commit == "unknown":
        return commit, found
    top = os.path.dirname(os.path.abspath(run.path))
    checks = sorted((d for d in os.listdir(top) if d.startswith("check-")), reverse=True)
    for d in checks:
        path = os.path.join(top, d)
        if read(os.path.join(path, "commit")).strip() != commit:
            continue
        for model, _ in MATRIX_MODELS:
            out = os.path.join(path, model, "suite", "output.txt")
            if model not in found and matrix_rows(read(out))[0]:
                found[model] = path
    return commit, found


def report_cells(check, model):
    """The matrix's report cells of a check: (variant, context) -> verdict,
    from the negative tests' gate results (selftests/rcu_lab/negative/
    matrix_<variant>_<context>.sh)."""
    out = {}
    mdir = os.path.join(check, model)
    if not os.path.isdir(mdir):
        return out
    for d in os.listdir(mdir):
        if not d.startswith("negative-matrix_"):
            continue
        rest = d[len("negative-matrix_"):]
        for v in MATRIX_VARIANTS:
            if rest.startswith(v + "_") and rest[len(v) + 1:] in MATRIX_CONTEXTS:
                gate = read(os.path.join(mdir, d, "gate.ktap"))
                reports = re.findall(r"(?:expected '([^']+)' report|report '([^']+)':)", gate)
                reports = [a or b for a, b in reports]
                verdict = "as expected" if "splat-gate: PASS" in gate else "NOT as expected"
                out[(v, rest[len(v) + 1:])] = (
                    f"report: {'+'.join(reports) if reports else 'none'}, {verdict}")
    return out


def matrix_table(cells, reports, missing):
    """Variants x contexts: each cell's outcome (`missing` where there is
    none), then the contexts' run-time state."""
    by = {(c.get("variant"), c.get("context")): c for c in cells}
    rows = []
    for v in MATRIX_VARIANTS:
        row = [v]
        for ctx in MATRIX_CONTEXTS:
            c = by.get((v, ctx))
            if c is not None:
                text = "clean"
                if c.get("path") not in (None, "-"):
                    text += f", {c['path']}"
                if c.get("agree") != "1":
                    text += " (DISAGREES)"
            else:
                text = reports.get((v, ctx), missing)
            row.append(text)
        rows.append(row)
    state = []
    for key in ("preemptible", "preempt_count", "irqs_disabled", "in_hardirq",
                "in_serving_softirq"):
        row = [f"*{key}*"]
        for ctx in MATRIX_CONTEXTS:
            vals = sorted({c.get(key) for c in cells if c.get("context") == ctx} - {None})
            row.append("/".join(vals) if vals else "?")
        state.append(row)
    return table(["variant"] + list(MATRIX_CONTEXTS), rows + state)


def section_matrix(run):
    """Experiment 2's evidence matrix: this run's clean cells (its own
    model), and every model's from `make check` of the same commit."""
    own = {}
    for k in run.kernels:
        cells, fallback = matrix_rows(k.files.get("raw_call_rcu", ""))
        if cells:
            own[k.flavour] = (k, cells, fallback)
    commit, checks = matrix_checks(run)
    if not own and not checks:
        return None
    out = ["## Experiment 2: the evidence matrix (raw_call_rcu)", "",
           "Each variant handed 32 objects in each context (engines with no page cache, "
           "8 entries per block). clean: the splat gate saw no report in that boot; alloc: "
           "block-page misses allocated in the caller's context; fallback: they took the "
           "object's own rcu_head (call_rcu()). A report cell runs in a boot of its own "
           "(make check, selftests/rcu_lab/negative/matrix_*.sh), its gate judging the "
           "exact report expected from the 7.3 source. Expectations: "
           "Documentation/raw_call_rcu.rst; the rows under the variants give each context "
           "as the hand-over saw it (values separated by / where cells differed).", ""]
    for flavour, (k, cells, fallback) in own.items():
        out += [f"### This run, {k.label()}", "",
                "Clean cells only (report cells need boots of their own).", "",
                matrix_table(cells, {}, "-"), ""]
        for f in fallback:
            out.append(f"* {f.get('variant')}: {f.get('fallback')} of {f.get('legal_objects')} "
                       f"objects fell back where allocating was legal "
                       f"({f.get('fallback_per_mille')} per mille)")
        out.append("")
    missing = []
    for model, name in MATRIX_MODELS:
        path = checks.get(model)
        if path is None:
            missing.append(model)
            continue
        cells, fallback = matrix_rows(read(os.path.join(path, model, "suite", "output.txt")))
        out += [f"### make check, {model} ({name}): {os.path.basename(path)}, commit {commit}",
                "", matrix_table(cells, report_cells(path, model), "no result"), ""]
        for f in fallback:
            out.append(f"* {f.get('variant')}: {f.get('fallback')} of {f.get('legal_objects')} "
                       f"objects fell back where allocating was legal "
                       f"({f.get('fallback_per_mille')} per mille)")
        out.append("")
    if missing:
        out.append(f"No `make check` results of commit {commit or 'unknown'} for: "
                   f"{', '.join(missing)} (`make check PREEMPT_MODELS=all` on this commit "
                   "fills them in).")
    return "\n".join(out)


SECTIONS = [section_locks, section_readers, section_gp, section_kfree, section_experiments,
            section_matrix, section_host_walk]


def report(path):
    run = Run(path)
    out = ["# rcu_lab run report", ""]
    if not run.kernels:
        out.append("No kernel produced reports in this run.")
    for k in run.kernels:
        out.append(f"* {ABOUT[k.flavour]}: {k.label()}")
    out += ["", "Timings come from QEMU TCG (no KVM): compare them only as ratios "
            "within one boot (one column). The debug kernel's figures mostly measure "
            "lockdep and KASAN; the performance kernel's are the ones to quote.", ""]
    for s in SECTIONS:
        text = s(run)
        if text:
            out += [text, ""]
    md = "\n".join(out)
    with open(os.path.join(path, "report.md"), "w") as f:
        f.write(md)
    return md, run.plots


def main(argv):
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    md, plots = report(argv[0])
    print(md)
    if plots:
        print(f"\nplots: {', '.join(plots)} in {argv[0]}")
    elif plt_or_none() is None:
        print("\nno plots: python3-matplotlib is missing (scripts/deps.sh installs it)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
