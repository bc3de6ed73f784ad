// SPDX-License-Identifier: GPL-2.0

//! Order statistics of samples, shared by the benchmarks and the
//! experiment floor (one definition of "the median" for every report).

/// The `p`th percentile of `v`, nearest rank: the smallest sample with at
/// least `p`% of the samples at or below it (sorts `v`); `None` if `v` is
/// empty. The median (`p` = 50) is the lower middle sample.
pub(crate) fn percentile(v: &mut [u64], p: usize) -> Option<u64> {
    v.sort_unstable();
    let rank = (v.len() * p).div_ceil(100).max(1);
    v.get(rank - 1).copied()
}

/// The median of `v`: the lower middle sample (sorts `v`); `None` if empty.
pub(crate) fn median(v: &mut [u64]) -> Option<u64> {
    percentile(v, 50)
}
