//! [`BatchClock`]: the time `current_timestamp()`, `now()` and `current_date()` read.
//!
//! As in Spark, every row of an epoch sees the same time: the epoch's batch time, which the
//! leader reads once when it starts the epoch (from the query's processing clock) and logs in
//! the offsets log, so that an epoch run again after a restart sees its logged time. A bound
//! expression starts with an unattached clock (the wall clock, read per call); a query attaches
//! its own when it starts ([`BoundExpr::attach_clock`]), so two queries of one plan each read
//! their own epochs' times.

use std::fmt;
use std::sync::Arc;

use super::bind::{BoundExpr, SessionGap};

/// Where the current time comes from: the epoch a query is running and its batch time in
/// microseconds, or (unattached) epoch 0 and the wall clock.
#[derive(Clone, Default)]
pub struct BatchClock(Option<Arc<dyn Fn() -> (u64, i64) + Send + Sync>>);

impl BatchClock {
    /// A clock that reads `now`: the epoch in flight and its batch time (microseconds since
    /// the Unix epoch).
    pub fn new(now: impl Fn() -> (u64, i64) + Send + Sync + 'static) -> Self {
        BatchClock(Some(Arc::new(now)))
    }

    /// The epoch in flight and its time, in microseconds since the Unix epoch.
    pub fn now(&self) -> (u64, i64) {
        match &self.0 {
            Some(now) => now(),
            None => (
                0,
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as i64),
            ),
        }
    }
}

impl fmt::Debug for BatchClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "BatchClock(batch time)"
        } else {
            "BatchClock(wall clock)"
        })
    }
}

impl BoundExpr {
    /// The same expression over other columns: each column `j` becomes `to(j)`; `None` if
    /// some column has no counterpart.
    pub(crate) fn over_columns(&self, to: &dyn Fn(usize) -> Option<usize>) -> Option<BoundExpr> {
        self.with_columns(&mut |j| to(j).map(BoundExpr::Column))
    }

    /// The same expression with each column `j` replaced by the expression `to(j)` (the
    /// expression a projection below computed that column by); `None` if some column has no
    /// replacement. `to` is called once for each place a column is read.
    pub(crate) fn with_columns(&self, to: &mut dyn FnMut(usize) -> Option<BoundExpr>) -> Option<BoundExpr> {
        fn replace(e: &mut BoundExpr, to: &mut dyn FnMut(usize) -> Option<BoundExpr>, mapped: &mut bool) {
            match e {
                BoundExpr::Column(j) => match to(*j) {
                    Some(replacement) => *e = replacement,
                    None => *mapped = false,
                },
                e => e.for_each_child(&mut |child| replace(child, to, mapped)),
            }
        }
        let mut copy = self.clone();
        let mut mapped = true;
        replace(&mut copy, to, &mut mapped);
        mapped.then_some(copy)
    }

    /// The parts of a conjunction (`a AND b AND c`): each must hold for the whole to.
    pub(crate) fn conjuncts(&self) -> Vec<&BoundExpr> {
        match self {
            BoundExpr::Binary {
                op: super::BinaryOp::And,
                left,
                right,
                ..
            } => {
                let mut parts = left.conjuncts();
                parts.extend(right.conjuncts());
                parts
            }
            other => vec![other],
        }
    }

    /// Whether the expression reads any column of its row: it has no counterpart over no
    /// columns.
    pub(crate) fn reads_columns(&self) -> bool {
        self.over_columns(&|_| None).is_none()
    }

    /// Calls `f` with each direct sub-expression.
    pub(super) fn for_each_child(&mut self, f: &mut dyn FnMut(&mut BoundExpr)) {
        match self {
            BoundExpr::Column(_) | BoundExpr::Literal(_) | BoundExpr::Now { .. } => {}
            BoundExpr::Unary(_, e)
            | BoundExpr::Split(e, _)
            | BoundExpr::Window(e, _)
            | BoundExpr::SlidingWindows(e, ..)
            | BoundExpr::Field(e, _)
            | BoundExpr::Cast(e, ..)
            | BoundExpr::Ansi(e, _)
            | BoundExpr::Like(e, ..) => f(e),
            BoundExpr::Binary { left, right, .. } | BoundExpr::Decimal { left, right, .. } => {
                f(left);
                f(right);
            }
            BoundExpr::SessionStart(e, gap) => {
                f(e);
                if let SessionGap::PerRow(gap) = gap {
                    f(gap);
                }
            }
            BoundExpr::Call(call) => call.args.iter_mut().for_each(f),
            BoundExpr::Case { branches, otherwise } => {
                for (condition, result) in branches {
                    f(condition);
                    f(result);
                }
                f(otherwise);
            }
        }
    }

    /// Whether the expression reads the current time anywhere.
    pub fn reads_clock(&self) -> bool {
        let mut reads = matches!(self, BoundExpr::Now { .. });
        // `for_each_child` wants `&mut`; a clone is cheap next to how rarely this runs.
        let mut copy = self.clone();
        copy.for_each_child(&mut |child| reads |= child.reads_clock());
        reads
    }

    /// Sends the errors of every ANSI expression inside to `slot` (a query's; see
    /// [`FailureSlot`](super::ansi::FailureSlot)).
    pub(crate) fn attach_failure_slot(&mut self, slot: &super::ansi::FailureSlot) {
        if let BoundExpr::Ansi(_, own) = self {
            *own = Some(slot.clone());
        }
        self.for_each_child(&mut |child| child.attach_failure_slot(slot));
    }

    /// Makes every `current_timestamp()`, `now()` and `current_date()` inside read `clock`.
    pub fn attach_clock(&mut self, clock: &BatchClock) {
        if let BoundExpr::Now { clock: own, .. } = self {
            *own = clock.clone();
        }
        self.for_each_child(&mut |child| child.attach_clock(clock));
    }
}
