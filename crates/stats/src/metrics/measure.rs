//! The measures every figure is made of: a half-open [`TimeRange`], a [`Ratio`], a mean and
//! a nearest-rank percentile.

use serde::{Deserialize, Serialize};
use switchboard_domain::Timestamp;

use super::survey::MetricsError;

/// A half-open time range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeRange {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl TimeRange {
    /// # Errors
    /// [`MetricsError::InvalidRange`] if `end < start`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, MetricsError> {
        let r = Self { start, end };
        r.check()?;
        Ok(r)
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    pub(super) fn check(&self) -> Result<(), MetricsError> {
        if self.end < self.start {
            Err(MetricsError::InvalidRange)
        } else {
            Ok(())
        }
    }
}

/// A numerator over a denominator; `value` is `None` when the denominator is 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ratio {
    pub numerator: u64,
    pub denominator: u64,
    pub value: Option<f64>,
}

impl Ratio {
    pub fn new(numerator: u64, denominator: u64) -> Self {
        Self {
            numerator,
            denominator,
            value: (denominator > 0).then(|| numerator as f64 / denominator as f64),
        }
    }
}

/// `sum / n`, `None` for `n = 0`.
pub(crate) fn mean(sum: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

/// The nearest-rank `p`-th percentile of sorted `values`: rank `⌈p·n/100⌉`, at least 1.
pub(crate) fn nearest_rank(sorted: &[u64], p: usize) -> Option<u64> {
    let n = sorted.len();
    let rank = (p * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}
