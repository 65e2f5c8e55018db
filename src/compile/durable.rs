//! Durable aggregations: the state of an append-only aggregation logged by key as it changes,
//! and restored on start from a checkpoint (see [`StateStore`]).
//!
//! Stateful operators are numbered in the order the query builds them, the order in which
//! [`described_strategies`](super::described_strategies) lists them, which is the same in
//! every run of the same plan. Restored totals enter on worker 0 as partial states at the
//! epoch before the first new one, so the dataflow's output at that epoch is the restored
//! result itself, which the leader takes in without writing it.

use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tidewater_operators::Durable;
use timely::dataflow::operators::ToStream;
use timely::dataflow::Scope;

use super::aggregate::{Piece, States};
use super::physical::{Settings, Strategy};
use crate::checkpoint::StateStore;
use crate::data::Row;
use crate::error::CheckpointError;
use crate::plan::LogicalPlan;

/// The strategies whose state a checkpoint keeps.
pub(crate) fn is_durable(strategy: Strategy) -> bool {
    matches!(
        strategy,
        Strategy::PieceCount | Strategy::AppendOnlyFold | Strategy::ExpiringFold
    )
}

/// The strategies that keep state a checkpoint cannot keep yet; a plan with any of them is
/// not checkpointed.
pub(crate) fn lacks_durability(strategy: Strategy) -> bool {
    matches!(
        strategy,
        Strategy::Reduce
            | Strategy::UpsertTable
            | Strategy::ArrangedJoin
            | Strategy::GroupedByTable { .. }
            | Strategy::ColumnFold
            | Strategy::JoinedRowFold
    )
}

/// The totals restored for one stateful operator, in the types its fold keeps.
pub(crate) enum Restored {
    /// A word count's counts per piece.
    Pieces(Vec<(Piece, i64)>),
    /// An accumulator's states per key row.
    Rows(Vec<(Row, States)>),
}

/// Reads the state of every durable operator of `plan` as of epoch `through`, compacting
/// it on the way (see [`compact`]).
pub(crate) fn restore(
    plan: &LogicalPlan,
    settings: Settings,
    store: &StateStore,
    through: u64,
) -> Result<Vec<Restored>, CheckpointError> {
    durable_operators(plan, settings)
        .map(|(operator, strategy)| restore_operator(store, operator, strategy, through))
        .collect()
}

/// Compacts the state of `plan`'s aggregations that never forget a key into snapshots as of
/// committed epoch `through` (as a restore does), leaving the windowed ones as they are.
pub(crate) fn compact(
    plan: &LogicalPlan,
    settings: Settings,
    store: &StateStore,
    through: u64,
) -> Result<(), CheckpointError> {
    for (operator, strategy) in durable_operators(plan, settings).filter(|(_, s)| compacts(*s)) {
        restore_operator(store, operator, strategy, through)?;
    }
    Ok(())
}

/// `plan`'s durable operators, numbered as the checkpoint numbers them.
fn durable_operators(plan: &LogicalPlan, settings: Settings) -> impl Iterator<Item = (usize, Strategy)> {
    super::described_strategies(plan, settings)
        .into_iter()
        .filter(|s| is_durable(*s))
        .enumerate()
}

/// Whether an operator's restored state becomes a snapshot. An aggregation that never forgets
/// a key is compacted, so the next restore reads the state and the changes since, not the
/// whole history; the windowed one forgets closed windows without logging it, so its changes
/// are kept.
fn compacts(strategy: Strategy) -> bool {
    strategy != Strategy::ExpiringFold
}

/// Reads operator `operator`'s state as of `through`, in the types its fold keeps, and
/// compacts it if it [`compacts`].
fn restore_operator(
    store: &StateStore,
    operator: usize,
    strategy: Strategy,
    through: u64,
) -> Result<Restored, CheckpointError> {
    fn read<K, S>(
        store: &StateStore,
        operator: usize,
        through: u64,
        compact: bool,
    ) -> Result<Vec<(K, S)>, CheckpointError>
    where
        K: serde::de::DeserializeOwned + Serialize + std::hash::Hash + Eq,
        S: serde::de::DeserializeOwned + Serialize,
    {
        let entries = store.restore(operator, through)?;
        if compact {
            store.compact(operator, through, &entries)?;
        }
        Ok(entries)
    }
    let compact = compacts(strategy);
    Ok(match strategy {
        Strategy::PieceCount => Restored::Pieces(read(store, operator, through, compact)?),
        _ => Restored::Rows(read(store, operator, through, compact)?),
    })
}

/// A query's durable state, as every worker's compilation sees it.
pub(crate) struct DurableState {
    /// Where state is written.
    pub(crate) store: StateStore,
    /// The first epoch this run feeds: changes from it on are logged (earlier times hold the
    /// restored state, which is logged already).
    pub(crate) resume_epoch: u64,
    /// The restored totals per operator, taken by worker 0 (empty in other processes).
    pub(crate) restored: Mutex<Vec<Option<Restored>>>,
    /// The first failure to write state in this process: the leader checks it before each
    /// commit, so an epoch whose state is not durable is never committed.
    pub(crate) failure: Arc<Mutex<Option<CheckpointError>>>,
    /// True in the process of worker 0, whose leader checks `failure`.
    pub(crate) leader_process: bool,
    /// The greatest event times of epochs before this run, `(max, epoch)`, from which the
    /// watermark goes on (empty without a watermark, or on a first run).
    pub(crate) seen_maxima: Vec<(i64, u64)>,
    /// The watermark the last committed epoch ran under: windows it closed were written and
    /// forgotten, and are not restored.
    pub(crate) committed_watermark: Option<i64>,
    /// Every how many epochs the leader compacts the state into a snapshot (Spark's
    /// `spark.sql.streaming.stateStore.minDeltasForSnapshot`).
    pub(crate) snapshot_every: u64,
}

impl DurableState {
    /// The durable wiring of stateful operator `operator` in `scope`: its restored totals
    /// (on worker 0), and the log that writes its changes. `pick` takes the totals out of
    /// what was restored for it.
    pub(crate) fn operator<'s, K, S>(
        &self,
        scope: Scope<'s, u64>,
        operator: usize,
        pick: impl FnOnce(Restored) -> Option<Vec<(K, S)>>,
        quiet: bool,
    ) -> Durable<'s, u64, K, S>
    where
        K: timely::ExchangeData + Serialize,
        S: timely::ExchangeData + Serialize + DeserializeOwned,
    {
        let restored = if scope.index() == 0 {
            let mut restored = self.restored.lock().unwrap_or_else(|p| p.into_inner());
            restored.get_mut(operator).and_then(Option::take).and_then(pick)
        } else {
            None
        };
        let restored = match (restored, self.resume_epoch.checked_sub(1)) {
            (Some(entries), Some(at)) => Some(
                entries
                    .into_iter()
                    .map(move |(key, total)| (key, at, total))
                    .to_stream(scope),
            ),
            // Other workers restore nothing, but their share of the stream must exist too.
            _ => Some(Vec::new().to_stream(scope)),
        };
        let (store, worker) = (self.store.clone(), scope.index());
        let (failure, leader_process) = (self.failure.clone(), self.leader_process);
        Durable {
            first_new: self.resume_epoch,
            quiet_restore: quiet,
            restored,
            log: Box::new(move |epoch: &u64, entries: Vec<(K, S)>| {
                if entries.is_empty() {
                    return;
                }
                if let Err(e) = store.write(operator, *epoch, worker, &entries) {
                    tracing::error!("the state of epoch {epoch} could not be written: {e}");
                    if !leader_process {
                        // Nobody here can stop the commit: the run must not go on without it.
                        std::process::abort();
                    }
                    failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                }
            }),
        }
    }
}
