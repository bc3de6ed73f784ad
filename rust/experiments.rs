// SPDX-License-Identifier: GPL-2.0

//! Experiments: one per LKML question, each in a file (or folder) of its own
//! named for the question, built from the safe types only.
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
//!   it failed). A second run while one is in progress fails with `EBUSY`.
//!   While a run is in progress the open file pins the module, so `rmmod`
//!   fails with `EWOULDBLOCK` instead of pulling the code away.
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
    debugfs::{Dir, FileOps},
    print::pr_warn_ratelimited,
    text::Text,
};
use core::fmt;
use kernel::{new_mutex, prelude::*, str::CString, sync::Arc, sync::Mutex};

pub(crate) mod kfree_batching;

/// One parameter of an experiment.
pub(crate) struct Param {
    /// The key in `params`.
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

/// An experiment: its parameters and the code that runs it.
pub(crate) struct Experiment {
    /// Directory name under `/sys/kernel/debug/rcu_lab/`.
    pub(crate) name: &'static CStr,
    /// Its parameters, in the order `params` lists them.
    pub(crate) params: &'static [Param],
    /// Runs it with `values` (one per parameter, each within its range),
    /// writes the results to `out` and returns the one-line summary.
    pub(crate) run: fn(&Values<'_>, &mut Text) -> Result<CString>,
}

/// The parameter values of one run.
pub(crate) struct Values<'a> {
    params: &'static [Param],
    values: &'a [u64],
}

impl Values<'_> {
    /// The value of parameter `name`; 0 for a name the experiment does not
    /// have (a programming error its tests would see).
    pub(crate) fn get(&self, name: &str) -> u64 {
        self.params
            .iter()
            .zip(self.values)
            .find(|(p, _)| p.name == name)
            .map_or(0, |(_, v)| *v)
    }
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
struct State {
    exp: &'static Experiment,
    #[pin]
    values: Mutex<KVec<u64>>,
    #[pin]
    results: Mutex<Option<KVec<u8>>>,
    /// Held while a run is in progress.
    #[pin]
    running: Mutex<()>,
}

impl State {
    fn name(&self) -> &str {
        self.exp.name.to_str().unwrap_or("?")
    }

    /// Parses `key=value ...` into a copy of the values; refuses the whole
    /// write on the first bad pair.
    fn parse(&self, text: &str) -> Result<KVec<u64>> {
        let mut new = KVec::new();
        if text == "reset" {
            for p in self.exp.params {
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
            let Some(i) = self.exp.params.iter().position(|p| p.name == key) else {
                pr_warn_ratelimited!(
                    "{}: params: unknown key '{}'\n",
                    self.name(),
                    format_args!("{}", key.escape_debug())
                );
                return Err(EINVAL);
            };
            let p = &self.exp.params[i];
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

    fn run(&self) -> Result {
        let Some(_running) = self.running.try_lock() else {
            pr_warn_ratelimited!("{}: run refused: a run is in progress\n", self.name());
            return Err(EBUSY);
        };
        let mut values = KVec::new();
        values.extend_from_slice(&self.values.lock(), GFP_KERNEL)?;
        let v = Values {
            params: self.exp.params,
            values: &values,
        };
        let mut out = Text::new();
        out.line(format_args!("# rcu_lab {} results, format 1", self.name()))?;
        out.system_line()?;
        out.line(format_args!("# params {}", v))?;
        pr_info!("{}: run started: {}\n", self.name(), format_args!("{}", v));
        match (self.exp.run)(&v, &mut out) {
            Ok(summary) => {
                pr_info!("{}: {}\n", self.name(), &*summary);
                *self.results.lock() = Some(out.into_bytes());
                Ok(())
            }
            Err(e) => {
                pr_warn!("{}: run failed: error {}\n", self.name(), e.to_errno());
                Err(e)
            }
        }
    }
}

/// `params`.
struct ParamsFile(Arc<State>);
/// `run`.
struct RunFile(Arc<State>);
/// `results`.
struct ResultsFile(Arc<State>);

impl FileOps for ParamsFile {
    const WRITABLE: bool = true;

    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.0.values.lock();
        for (p, v) in self.0.exp.params.iter().zip(values.iter()) {
            writeln!(
                f,
                "{}={}\t# {} ({}..={}, default {})",
                p.name, v, p.about, p.min, p.max, p.default
            )?;
        }
        Ok(())
    }

    fn write(&self, text: &str) -> Result {
        let new = self.0.parse(text)?;
        *self.0.values.lock() = new;
        Ok(())
    }
}

impl FileOps for RunFile {
    const WRITABLE: bool = true;

    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# write 1 to run {} with its params", self.0.name())
    }

    fn write(&self, text: &str) -> Result {
        if text != "1" {
            pr_warn_ratelimited!(
                "{}: run: write 1 to start a run, not '{}'\n",
                self.0.name(),
                format_args!("{}", text.escape_debug())
            );
            return Err(EINVAL);
        }
        self.0.run()
    }
}

impl FileOps for ResultsFile {
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.results.lock().as_ref() {
            Some(text) => f.write_str(core::str::from_utf8(text).map_err(|_| fmt::Error)?),
            None => writeln!(f, "# no run yet"),
        }
    }
}

/// Every experiment, in the order the report shows them.
const EXPERIMENTS: &[&Experiment] = &[&kfree_batching::EXPERIMENT];

/// Creates each experiment's directory in `dir`.
pub(crate) fn register(dir: &mut Dir) -> Result {
    for exp in EXPERIMENTS {
        let mut values = KVec::new();
        for p in exp.params {
            values.push(p.default, GFP_KERNEL)?;
        }
        let state = Arc::pin_init(
            try_pin_init!(State {
                exp,
                values <- new_mutex!(values, "rcu_lab_experiment_values"),
                results <- new_mutex!(None, "rcu_lab_experiment_results"),
                running <- new_mutex!((), "rcu_lab_experiment_running"),
            }? Error),
            GFP_KERNEL,
        )?;
        let sub = dir.subdir(exp.name)?;
        sub.add_file(c"params", Ok::<_, Error>(ParamsFile(state.clone())))?;
        sub.add_file(c"run", Ok::<_, Error>(RunFile(state.clone())))?;
        sub.add_file(c"results", Ok::<_, Error>(ResultsFile(state)))?;
    }
    Ok(())
}
