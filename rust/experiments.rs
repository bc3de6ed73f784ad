// SPDX-License-Identifier: GPL-2.0

//! Experiments: one per LKML question, each in a file (or folder) of its own
//! named for the question, built from the safe types only; and the floor
//! they share, written once.
//!
//! An experiment is its logic and its table of variants ([`Spec`]): its
//! parameters are a struct declared with [`params!`], its variants and
//! result fields tables for [`Run::rounds`]. Everything else comes from
//! here: the debugfs files, the memory check before a run, running variants
//! over rotating rounds with medians, counts against an idle baseline, the
//! result rows, per-CPU load threads, stopping on a fatal signal, grace
//! periods and IPIs counted against an idle interval ([`Activity`],
//! [`Control::idle`]), and the one-line dmesg summary.
//!
//! Every experiment gets the same debugfs directory,
//! `/sys/kernel/debug/rcu_lab/<name>/`:
//!
//! * `params`: read it for every parameter with its value, range and
//!   meaning; write `key=value` pairs (separated by blanks) to change them.
//!   `reset` restores the defaults. A write with an unknown key, a value
//!   that is not a decimal number, overflows, or is out of range changes
//!   nothing and fails with `EINVAL` and a rate-limited dmesg line.
//! * `run`: write `1` to run the experiment with the current parameters, in
//!   the writer's context; the write returns when it is done (its error if
//!   it failed). A run whose worst-case memory (worked out from its
//!   parameters before anything is allocated) exceeds half of the memory
//!   available is refused with `ENOMEM`. A fatal signal to the writer
//!   (`SIGKILL`, or `SIGINT`/`SIGTERM` to a shell's `echo`) stops the run
//!   within about a second: its threads are joined, its objects freed,
//!   and `results` keeps what was measured with a line saying it stopped;
//!   the write fails with `EINTR`. A second run while one is in progress
//!   fails with `EBUSY`. While a run is in progress the open file pins the
//!   module, so `rmmod` fails instead of pulling the code away: stopping
//!   a run is the signal's job.
//! * `results`: the last run's results: `#` comment lines (what was measured
//!   and how) and rows of `key=value` fields, in a format that only grows
//!   new keys.
//!
//! Each run ends with a one-line summary in dmesg, like rcuscale's.

// Experiments use only the safe types: the compiler keeps it so (an item that
// must be unsafe on purpose says so with `#[allow(unsafe_code)]` and its SAFETY
// note).
#![deny(unsafe_code)]

use crate::{
    context::Sleep,
    debugfs::{Dir, FileOps},
    print::pr_warn_ratelimited,
    rcu,
    stats::median,
    system, task,
    text::Text,
    time::Instant,
};
use core::{
    fmt,
    sync::atomic::{AtomicBool, Ordering::Relaxed},
};
use kernel::{
    new_mutex,
    prelude::*,
    str::CString,
    sync::Arc,
    sync::Mutex,
    time::{delay::fsleep, Delta},
};

pub(crate) mod key_unregister;
pub(crate) mod kfree_batching;
pub(crate) mod raw_call_rcu;
pub(crate) mod stress;

/// One parameter of an experiment, as [`params!`] declares it.
pub(crate) struct Param {
    /// The key in `params` (the field's name).
    pub(crate) name: &'static str,
    /// Default value.
    pub(crate) default: u64,
    /// Smallest accepted value.
    pub(crate) min: u64,
    /// Largest accepted value.
    pub(crate) max: u64,
    /// One line on what it means.
    pub(crate) about: &'static str,
}

/// An experiment's parameters: a struct with one `u64` field per
/// parameter, declared with [`params!`].
pub(crate) trait Params: Sized + 'static {
    /// Every parameter, in field order.
    const TABLE: &'static [Param];

    /// The struct from one value per parameter, in [`Params::TABLE`]
    /// order, each within its range.
    fn from_values(values: &[u64]) -> Self;
}

/// Declares an experiment's parameters: a struct with one `u64` field per
/// parameter and its [`Params`] table. A parameter is a field, so code that
/// misspells one does not compile; a default outside its range does not
/// either.
///
/// ```ignore
/// params! {
///     pub(crate) struct Load {
///         threads: 1..=64 = 2, "load threads";
///         objects: 1..=1_000_000 = 2000, "objects per loop and thread";
///     }
/// }
/// ```
macro_rules! params {
    ($vis:vis struct $name:ident {
        $($field:ident : $min:literal ..= $max:literal = $default:literal, $about:literal;)*
    }) => {
        /// The experiment's parameters (`params` in its debugfs directory).
        #[derive(Clone, Copy)]
        $vis struct $name {
            $(#[doc = $about] pub(crate) $field: u64,)*
        }

        impl $crate::experiments::Params for $name {
            const TABLE: &'static [$crate::experiments::Param] = &[$(
                $crate::experiments::Param {
                    name: stringify!($field),
                    default: $default,
                    min: $min,
                    max: $max,
                    about: $about,
                },
            )*];

            fn from_values(values: &[u64]) -> Self {
                const { $(assert!($min <= $default && $default <= $max);)* };
                let mut v = values.iter().copied();
                Self { $($field: v.next().unwrap_or($default),)* }
            }
        }
    };
}
pub(crate) use params;

/// An experiment: its name, parameters, worst-case memory and logic.
pub(crate) trait Spec: 'static {
    /// Directory name under `/sys/kernel/debug/rcu_lab/`.
    const NAME: &'static CStr;
    /// Its parameters.
    type Params: Params;
    /// What it keeps from module load to unload (a warm engine, say),
    /// shared by its runs.
    type Shared: Send + Sync + 'static;

    /// Makes [`Spec::Shared`] when the module loads. Sleeps.
    fn shared(ctx: &mut Sleep) -> Result<Self::Shared>;

    /// The most memory, in bytes, a run with `p` can hold at once. A run
    /// that needs more than half of the memory available is refused before
    /// it starts. Sleeps.
    fn peak_bytes(ctx: &mut Sleep, p: &Self::Params) -> Result<u64>;

    /// Runs it: writes what it measured to `run` and returns the summary
    /// (the dmesg line after the parameters). Runs in the writer's task,
    /// whose token is `ctx`. Sleeps.
    fn run(
        ctx: &mut Sleep,
        p: &Self::Params,
        shared: &Self::Shared,
        run: &mut Run,
    ) -> Result<CString>;
}

/// Every experiment, in the order the report shows them: each entry
/// creates its debugfs directory and what it shares between runs.
static EXPERIMENTS: &[fn(&mut Sleep, &mut Dir) -> Result] = &[
    register_one::<kfree_batching::KfreeBatching>,
    register_one::<raw_call_rcu::RawCallRcu>,
    register_one::<key_unregister::KeyUnregister>,
    register_one::<key_unregister::lockdep::LockdepKeys>,
];

/// How a run is going: whether it must stop, and why.
///
/// The writer's context polls its own signals ([`Control::check`], and
/// while load threads run, [`Control::threads`] every 100 ms); the load
/// threads read [`Control::stopping`] and end early when it turns true.
pub(crate) struct Control {
    stop: AtomicBool,
    signalled: AtomicBool,
}

impl Control {
    /// A control of no run: nothing stops it but [`Control::stop`] (the
    /// selftests drive experiment code with one).
    pub(crate) fn new() -> Self {
        Self {
            stop: AtomicBool::new(false),
            signalled: AtomicBool::new(false),
        }
    }

    /// Whether the run is stopping: load threads end their loops early.
    /// Any context.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Relaxed)
    }

    /// Tells the load threads to stop (a thread that failed does this, so
    /// the others do not go on for nothing). Any context.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// In the writer's context: notes a fatal signal to the writer.
    fn poll(&self) {
        if task::fatal_signal_pending() {
            self.signalled.store(true, Relaxed);
            self.stop();
        }
    }

    /// `Err(EINTR)` once the writer has a fatal signal. Call it in the
    /// writer's context between steps.
    pub(crate) fn check(&self) -> Result {
        self.poll();
        if self.signalled.load(Relaxed) {
            Err(EINTR)
        } else {
            Ok(())
        }
    }

    /// Runs `f(0, ctx)`, ..., `f(n - 1, ctx)` (each with its thread's
    /// token) on `n` kernel threads named
    /// `rcu_lab/<name>` (thread `i` on CPU `i % online CPUs`, as rcuscale
    /// binds its threads), and waits for them while watching the writer's
    /// signals: a fatal one makes [`Control::stopping`] true, which `f`
    /// must read between steps. `Err(EINTR)` if the writer was signalled.
    /// Sleeps.
    pub(crate) fn threads<F: Fn(usize, &mut Sleep) + Sync>(
        &self,
        ctx: &mut Sleep,
        name: &CStr,
        n: usize,
        f: &F,
    ) -> Result {
        let cpus = Some(system::online_cpus());
        task::scoped(ctx, name, n, cpus, f, &mut || self.poll())?;
        self.check()
    }

    /// Sleeps `us` microseconds (at least 1) and returns what the system
    /// did meanwhile: the idle baseline of a run's [`Activity`] counts.
    /// `Err(EINTR)` if the writer gets a fatal signal. Sleeps.
    pub(crate) fn idle(&self, ctx: &mut Sleep, us: u64) -> Result<Counts> {
        let a = Activity::now();
        self.sleep_us(ctx, us.max(1))?;
        Ok(a.since())
    }

    /// Sleeps `us` microseconds, or until the writer gets a fatal signal
    /// (`Err(EINTR)`). Sleeps.
    pub(crate) fn sleep_us(&self, _ctx: &mut Sleep, us: u64) -> Result {
        let start = Instant::now();
        loop {
            self.check()?;
            let done = start.elapsed_us();
            if done >= us {
                return Ok(());
            }
            fsleep(Delta::from_micros((us - done).min(10_000) as i64));
        }
    }
}

/// A reading of what experiments count against an idle interval: RCU's
/// grace-period sequences and the IPIs received so far.
pub(crate) struct Activity {
    gp: rcu::GpSeq,
    ipis: Option<u64>,
}

/// What happened between an [`Activity`] reading and a later one.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counts {
    /// Normal grace periods.
    pub(crate) gps: u64,
    /// Expedited grace periods.
    pub(crate) exp_gps: u64,
    /// Function-call IPIs received by all online CPUs (`None` where the
    /// kernel does not count them: see [`system::ipi_count`]).
    pub(crate) ipis: Option<u64>,
}

impl Activity {
    /// Reads the counters now. Any context.
    pub(crate) fn now() -> Self {
        Self {
            gp: rcu::GpSeq::now(),
            ipis: system::ipi_count(),
        }
    }

    /// What happened since this reading. Any context.
    pub(crate) fn since(&self) -> Counts {
        let (gps, exp_gps) = self.gp.elapsed();
        Counts {
            gps,
            exp_gps,
            ipis: match (self.ipis, system::ipi_count()) {
                (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                _ => None,
            },
        }
    }
}

/// A variant of an experiment: its name in the results and its value.
pub(crate) struct Variant<V> {
    /// The `variant=` field of its rows.
    pub(crate) name: &'static str,
    /// What the experiment's measure function gets.
    pub(crate) v: V,
}

/// What a result field reports of a run's measurement `M`.
pub(crate) enum Stat<M> {
    /// A figure (`None`: not observable here, printed `-`); the median row
    /// gives its median over the rounds (`-` if a round had none).
    Value(fn(&M) -> Option<u64>),
    /// An event count over the run, with the same count over an idle
    /// interval as long right after it (`None`: no idle interval). Fields
    /// `<name>`, `idle_<name>` and `net_<name>` = the count less the idle
    /// one, never below 0. The median row gives the median of the rounds'
    /// net counts with their spread (`net_<name>_min`, `net_<name>_max`)
    /// and `<name>_noise`: `swamped` when the idle baseline drowns the
    /// signal (a round's idle interval saw more than its run, or the idle
    /// counts vary over the rounds, by at least the net median), else `ok`.
    Count {
        /// The count over the run.
        run: fn(&M) -> u64,
        /// The count over the idle interval.
        idle: fn(&M) -> Option<u64>,
    },
}

/// One result field: its name, what it reports, and whether the summary
/// line shows it (`Some(unit)`: "<median> <unit>", a count's net median).
pub(crate) struct Field<M> {
    /// The key in the result rows.
    pub(crate) name: &'static str,
    /// What it reports.
    pub(crate) stat: Stat<M>,
    /// Its unit in the dmesg summary, if it is shown there.
    pub(crate) summary: Option<&'static str>,
}

impl<M> Field<M> {
    /// A [`Stat::Value`] field, not in the summary.
    pub(crate) const fn value(name: &'static str, get: fn(&M) -> Option<u64>) -> Self {
        Self {
            name,
            stat: Stat::Value(get),
            summary: None,
        }
    }

    /// A [`Stat::Count`] field, not in the summary.
    pub(crate) const fn count(
        name: &'static str,
        run: fn(&M) -> u64,
        idle: fn(&M) -> Option<u64>,
    ) -> Self {
        Self {
            name,
            stat: Stat::Count { run, idle },
            summary: None,
        }
    }

    /// The field, shown in the summary with `unit`.
    pub(crate) const fn summary(self, unit: &'static str) -> Self {
        Self {
            summary: Some(unit),
            ..self
        }
    }
}

/// A count's statistics over the rounds.
struct CountStats {
    run: u64,
    idle: Option<u64>,
    net: Option<(u64, u64, u64)>,
    swamped: bool,
}

/// What a field gives the median row.
enum Cell {
    Value(Option<u64>),
    Count(CountStats),
}

impl<M> Field<M> {
    /// The cell of the rounds `ms` (at least one).
    fn cell(&self, ms: &[M]) -> Result<Cell> {
        let mut v = KVec::with_capacity(ms.len(), GFP_KERNEL)?;
        Ok(match &self.stat {
            Stat::Value(get) => {
                let mut all = true;
                for m in ms {
                    match get(m) {
                        Some(x) => v.push(x, GFP_KERNEL)?,
                        None => all = false,
                    }
                }
                Cell::Value(if all { median(&mut v) } else { None })
            }
            Stat::Count { run, idle } => {
                let mut idles = KVec::with_capacity(ms.len(), GFP_KERNEL)?;
                let mut nets = KVec::with_capacity(ms.len(), GFP_KERNEL)?;
                let mut below = false;
                for m in ms {
                    v.push(run(m), GFP_KERNEL)?;
                    if let Some(i) = idle(m) {
                        idles.push(i, GFP_KERNEL)?;
                        nets.push(run(m).saturating_sub(i), GFP_KERNEL)?;
                        below |= run(m) < i;
                    }
                }
                let complete = idles.len() == ms.len();
                let (imin, imax) = (
                    idles.iter().copied().min().unwrap_or(0),
                    idles.iter().copied().max().unwrap_or(0),
                );
                let net = if complete {
                    let (lo, hi) = (
                        nets.iter().copied().min().unwrap_or(0),
                        nets.iter().copied().max().unwrap_or(0),
                    );
                    median(&mut nets).map(|m| (m, lo, hi))
                } else {
                    None
                };
                Cell::Count(CountStats {
                    run: median(&mut v).unwrap_or(0),
                    idle: if complete { median(&mut idles) } else { None },
                    // A spread of 0 is no noise, even around a net 0.
                    swamped: net.is_some_and(|(m, _, _)| {
                        below || (ms.len() > 1 && imax > imin && imax - imin >= m)
                    }),
                    net,
                })
            }
        })
    }
}

/// An optional number as a results field: the number or `-`.
pub(crate) struct Opt<T>(pub(crate) Option<T>);

impl<T: fmt::Display> fmt::Display for Opt<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("-"),
        }
    }
}

/// One result row's fields for one round's measurement.
struct RunFields<'a, M>(&'a [Field<M>], &'a M);

impl<M> fmt::Display for RunFields<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for field in self.0 {
            let n = field.name;
            match &field.stat {
                Stat::Value(get) => write!(f, " {n}={}", Opt(get(self.1)))?,
                Stat::Count { run, idle } => {
                    let (r, i) = (run(self.1), idle(self.1));
                    write!(
                        f,
                        " {n}={r} idle_{n}={} net_{n}={}",
                        Opt(i),
                        Opt(i.map(|i| r.saturating_sub(i)))
                    )?
                }
            }
        }
        Ok(())
    }
}

/// The median row's fields.
struct MedianFields<'a, M>(&'a [Field<M>], &'a [Cell]);

impl<M> fmt::Display for MedianFields<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (field, cell) in self.0.iter().zip(self.1) {
            let n = field.name;
            match cell {
                Cell::Value(v) => write!(f, " {n}={}", Opt(*v))?,
                Cell::Count(c) => write!(
                    f,
                    " {n}={} idle_{n}={} net_{n}={} net_{n}_min={} net_{n}_max={} {n}_noise={}",
                    c.run,
                    Opt(c.idle),
                    Opt(c.net.map(|n| n.0)),
                    Opt(c.net.map(|n| n.1)),
                    Opt(c.net.map(|n| n.2)),
                    match c.net {
                        None => "-",
                        Some(_) if c.swamped => "swamped",
                        Some(_) => "ok",
                    }
                )?,
            }
        }
        Ok(())
    }
}

/// A run in progress: its results text and its [`Control`].
pub(crate) struct Run {
    /// The `results` file being written.
    pub(crate) out: Text,
    /// Stop requests and the writer's signals.
    pub(crate) ctl: Control,
    name: &'static str,
}

impl Run {
    /// Appends one line to the results.
    pub(crate) fn line(&mut self, args: fmt::Arguments<'_>) -> Result {
        self.out.line(args)
    }

    /// Names a bar plot of result field `field` over the variants (median
    /// rows), for the report (`scripts/report.py`): `# plot <field>[ log]:
    /// <title>`.
    pub(crate) fn plot(&mut self, field: &str, log: bool, title: &str) -> Result {
        let log = if log { " log" } else { "" };
        self.out.line(format_args!("# plot {field}{log}: {title}"))
    }

    /// Runs every variant of `table` whose bit is set in `mask` (bit `i`
    /// for `table[i]`) once per round, `rounds` rounds, in a rotating order
    /// (round `r` starts with the `r`-th chosen variant), so that no variant
    /// always runs first or right after the same one. `measure(ctx, ctl,
    /// variant, seq)` measures one run (`seq` counts runs from 0) in the
    /// caller's context, `ctx` its token. Writes a
    /// `run` row per measurement (`run variant=<name> round=<r> ...`) and a
    /// `median` row per variant, both with `fields`, and returns the
    /// summary: per variant its `summary` fields. Stops with the first
    /// error, after the rows measured so far. Sleeps.
    pub(crate) fn rounds<V: Copy, M>(
        &mut self,
        ctx: &mut Sleep,
        table: &[Variant<V>],
        mask: u64,
        rounds: usize,
        fields: &[Field<M>],
        mut measure: impl FnMut(&mut Sleep, &Control, V, usize) -> Result<M>,
    ) -> Result<Text> {
        let mut chosen: KVec<(&Variant<V>, KVec<M>)> = KVec::new();
        for (i, var) in table.iter().enumerate() {
            if mask & (1 << i) != 0 {
                chosen.push((var, KVec::new()), GFP_KERNEL)?;
            }
        }
        if chosen.is_empty() {
            return Err(EINVAL);
        }
        self.line(format_args!(
            "# rounds: {rounds}, variants in rotating order; median rows: the median over \
             rounds (the lower middle one); counts: net = count - idle count, never below 0, \
             with its spread over rounds; <count>_noise=swamped when a round's idle interval \
             saw more than its run or the idle counts vary (by at least the net median)"
        ))?;
        let mut seq = 0;
        for round in 0..rounds {
            for k in 0..chosen.len() {
                let i = (round + k) % chosen.len();
                self.ctl.check()?;
                let var = chosen[i].0;
                let m = measure(ctx, &self.ctl, var.v, seq)?;
                seq += 1;
                self.out.line(format_args!(
                    "run variant={} round={round}{}",
                    var.name,
                    RunFields(fields, &m)
                ))?;
                chosen[i].1.push(m, GFP_KERNEL)?;
            }
            pr_info!("{}: round {}/{} done\n", self.name, round + 1, rounds);
        }
        let mut summary = Text::new();
        for (i, (var, ms)) in chosen.iter().enumerate() {
            let mut cells = KVec::with_capacity(fields.len(), GFP_KERNEL)?;
            for f in fields {
                cells.push(f.cell(ms)?, GFP_KERNEL)?;
            }
            self.out.line(format_args!(
                "median variant={} round=-{}",
                var.name,
                MedianFields(fields, &cells)
            ))?;
            write_summary(&mut summary, i == 0, var.name, fields, &cells)?;
        }
        Ok(summary)
    }
}

/// Appends one variant's part of the summary: `; name v unit v unit`.
fn write_summary<M>(
    out: &mut Text,
    first: bool,
    name: &str,
    fields: &[Field<M>],
    cells: &[Cell],
) -> Result {
    let mut w = |args: fmt::Arguments<'_>| fmt::Write::write_fmt(out, args).map_err(|_| ENOMEM);
    w(format_args!("{}{}", if first { "" } else { "; " }, name))?;
    for (f, c) in fields.iter().zip(cells) {
        let Some(unit) = f.summary else { continue };
        match c {
            Cell::Value(v) => w(format_args!(" {} {unit}", Opt(*v)))?,
            Cell::Count(c) => w(format_args!(
                " {} {unit}{}",
                Opt(c.net.map(|n| n.0)),
                if c.swamped {
                    " (idle noise swamps it)"
                } else {
                    ""
                }
            ))?,
        }
    }
    Ok(())
}

/// The parameter values of one run, as `key=value` pairs.
struct Values<'a> {
    params: &'static [Param],
    values: &'a [u64],
}

impl fmt::Display for Values<'_> {
    /// `key=value` pairs separated by blanks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (p, v)) in self.params.iter().zip(self.values).enumerate() {
            write!(f, "{}{}={}", if i > 0 { " " } else { "" }, p.name, v)?;
        }
        Ok(())
    }
}

/// State an experiment's files share.
#[pin_data]
struct State<S: Spec> {
    shared: S::Shared,
    #[pin]
    values: Mutex<KVec<u64>>,
    #[pin]
    results: Mutex<Option<KVec<u8>>>,
    /// Held while a run is in progress.
    #[pin]
    running: Mutex<()>,
}

/// Bytes in a MiB, for messages.
const MIB: u64 = 1 << 20;

impl<S: Spec> State<S> {
    fn name(&self) -> &'static str {
        S::NAME.to_str().unwrap_or("?")
    }

    /// Parses `key=value ...` into a copy of the values; refuses the whole
    /// write on the first bad pair.
    fn parse(&self, text: &str) -> Result<KVec<u64>> {
        let mut new = KVec::new();
        if text == "reset" {
            for p in S::Params::TABLE {
                new.push(p.default, GFP_KERNEL)?;
            }
            return Ok(new);
        }
        new.extend_from_slice(&self.values.lock(), GFP_KERNEL)?;
        for pair in text.split_ascii_whitespace() {
            let Some((key, value)) = pair.split_once('=') else {
                pr_warn_ratelimited!(
                    "{}: params: '{}' is not key=value\n",
                    self.name(),
                    format_args!("{}", pair.escape_debug())
                );
                return Err(EINVAL);
            };
            let Some(i) = S::Params::TABLE.iter().position(|p| p.name == key) else {
                pr_warn_ratelimited!(
                    "{}: params: unknown key '{}'\n",
                    self.name(),
                    format_args!("{}", key.escape_debug())
                );
                return Err(EINVAL);
            };
            let p = &S::Params::TABLE[i];
            let v = match value.parse::<u64>() {
                Ok(v) if (p.min..=p.max).contains(&v) => v,
                Ok(_) | Err(_) => {
                    pr_warn_ratelimited!(
                        "{}: params: {}='{}' refused: need a decimal number in {}..={}\n",
                        self.name(),
                        p.name,
                        format_args!("{}", value.escape_debug()),
                        p.min,
                        p.max
                    );
                    return Err(EINVAL);
                }
            };
            new[i] = v;
        }
        Ok(new)
    }

    fn run(&self, ctx: &mut Sleep) -> Result {
        let Some(_running) = self.running.try_lock() else {
            pr_warn_ratelimited!("{}: run refused: a run is in progress\n", self.name());
            return Err(EBUSY);
        };
        let mut values = KVec::new();
        values.extend_from_slice(&self.values.lock(), GFP_KERNEL)?;
        let v = Values {
            params: S::Params::TABLE,
            values: &values,
        };
        // The worst case must fit in a fair share of what is free now:
        // beyond it, the load would push the machine into reclaim and the
        // OOM killer before its own allocations (which never retry) fail.
        let p = S::Params::from_values(&values);
        let peak = S::peak_bytes(ctx, &p)?;
        let avail = system::mem_available_bytes();
        if peak > avail / 2 {
            pr_warn_ratelimited!(
                "{}: run refused: {} needs up to {} MiB at its peak, more than half of the {} MiB available\n",
                self.name(),
                format_args!("{v}"),
                peak.div_ceil(MIB),
                avail / MIB
            );
            return Err(ENOMEM);
        }
        let mut run = Run {
            out: Text::new(),
            ctl: Control::new(),
            name: self.name(),
        };
        run.line(format_args!("# rcu_lab {} results, format 1", self.name()))?;
        run.out.system_line()?;
        run.line(format_args!("# params {}", v))?;
        run.line(format_args!(
            "# memory: up to {} MiB at the peak (worked out from the params), {} MiB available",
            peak.div_ceil(MIB),
            avail / MIB
        ))?;
        pr_info!("{}: run started: {}\n", self.name(), format_args!("{v}"));
        let t = Instant::now();
        let r = S::run(ctx, &p, &self.shared, &mut run);
        let secs = t.elapsed_us() / 1_000_000;
        let r = match r {
            Ok(summary) => {
                pr_info!("{}: {}: {}\n", self.name(), format_args!("{v}"), &*summary);
                Ok(())
            }
            Err(e) if e == EINTR => {
                run.line(format_args!(
                    "# stopped after {secs} s: the writer got a fatal signal; the rows above \
                     are what was measured, everything allocated was freed"
                ))?;
                pr_info!(
                    "{}: run stopped by a fatal signal after {} s\n",
                    self.name(),
                    secs
                );
                Err(e)
            }
            Err(e) => {
                run.line(format_args!(
                    "# failed after {secs} s: error {}; the rows above are what was measured",
                    e.to_errno()
                ))?;
                pr_warn!("{}: run failed: error {}\n", self.name(), e.to_errno());
                Err(e)
            }
        };
        *self.results.lock() = Some(run.out.into_bytes());
        r
    }
}

/// `params`.
struct ParamsFile<S: Spec>(Arc<State<S>>);
/// `run`.
struct RunFile<S: Spec>(Arc<State<S>>);
/// `results`.
struct ResultsFile<S: Spec>(Arc<State<S>>);

impl<S: Spec> FileOps for ParamsFile<S> {
    const WRITABLE: bool = true;

    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.0.values.lock();
        for (p, v) in S::Params::TABLE.iter().zip(values.iter()) {
            writeln!(
                f,
                "{}={}\t# {} ({}..={}, default {})",
                p.name, v, p.about, p.min, p.max, p.default
            )?;
        }
        Ok(())
    }

    fn write(&self, _ctx: &mut Sleep, text: &str) -> Result {
        let new = self.0.parse(text)?;
        *self.0.values.lock() = new;
        Ok(())
    }
}

impl<S: Spec> FileOps for RunFile<S> {
    const WRITABLE: bool = true;

    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# write 1 to run {} with its params", self.0.name())
    }

    fn write(&self, ctx: &mut Sleep, text: &str) -> Result {
        if text != "1" {
            pr_warn_ratelimited!(
                "{}: run: write 1 to start a run, not '{}'\n",
                self.0.name(),
                format_args!("{}", text.escape_debug())
            );
            return Err(EINVAL);
        }
        self.0.run(ctx)
    }
}

impl<S: Spec> FileOps for ResultsFile<S> {
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.results.lock().as_ref() {
            Some(text) => f.write_str(core::str::from_utf8(text).map_err(|_| fmt::Error)?),
            None => writeln!(f, "# no run yet"),
        }
    }
}

/// Creates each experiment's directory in `dir`, and what it shares
/// between runs. Sleeps.
pub(crate) fn register(ctx: &mut Sleep, dir: &mut Dir) -> Result {
    EXPERIMENTS
        .iter()
        .try_for_each(|register| register(ctx, dir))
}

/// Creates experiment `S`'s directory in `dir`.
fn register_one<S: Spec>(ctx: &mut Sleep, dir: &mut Dir) -> Result {
    let mut values = KVec::new();
    for p in S::Params::TABLE {
        values.push(p.default, GFP_KERNEL)?;
    }
    let state = Arc::pin_init(
        try_pin_init!(State::<S> {
            shared: S::shared(ctx)?,
            values <- new_mutex!(values, "rcu_lab_experiment_values"),
            results <- new_mutex!(None, "rcu_lab_experiment_results"),
            running <- new_mutex!((), "rcu_lab_experiment_running"),
        }? Error),
        GFP_KERNEL,
    )?;
    let sub = dir.subdir(S::NAME)?;
    sub.add_file(c"params", Ok::<_, Error>(ParamsFile(state.clone())))?;
    sub.add_file(c"run", Ok::<_, Error>(RunFile(state.clone())))?;
    sub.add_file(c"results", Ok::<_, Error>(ResultsFile(state)))?;
    Ok(())
}
