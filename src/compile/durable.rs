//! Durable state: what stateful operators keep, logged by key as it changes and restored on
//! start from a checkpoint (see [`StateStore`]).
//!
//! - Append-only aggregations log their changed totals per key; upsert tables their changed
//!   rows per key.
//! - Differential's `reduce` and `join` keep their inputs arranged. An input that is itself
//!   rebuilt on a restart ([`is_rebuilt`]: an aggregation, an upsert table, a static table)
//!   rebuilds them; a join side made of stream rows alone is logged as a collection of
//!   changes, whose sum is its contents.
//!
//! State slots are numbered in the order the query builds them, the order in which
//! [`strategies_of`](super::describe::strategies_of) lists their operators, which is the
//! same in every run of the same plan. Restored state enters on worker 0 at the epoch before
//! the first new one, so the dataflow's output at that epoch is the restored result itself,
//! which the leader takes in without writing it.

use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tidewater_operators::Durable;
use timely::dataflow::operators::ToStream;
use timely::dataflow::Scope;

use super::aggregate::{Piece, States};
use super::physical::{JoinStateFormat, Physical, Settings, Strategy, StreamSide};
use crate::checkpoint::StateStore;
use crate::data::{Row, Value};
use crate::error::CheckpointError;
use crate::plan::{JoinKind, LogicalPlan};

/// One piece of state a checkpoint keeps, numbered in the order the query builds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// A windowed aggregation's totals per key, its window the key column at `window_key`.
    Expiring {
        /// The window's position among the keys.
        window_key: usize,
    },
    /// An append-only aggregation's totals per key (a fused table-join fold's keys stored as
    /// rows).
    Fold(Strategy),
    /// An upsert table's latest row per key.
    Upserts,
    /// A deduplication's remembered keys, each until when.
    SeenKeys,
    /// An aggregation's sessions per key and start: end and aggregate states; `forget`: the
    /// watermark closes them (append and update modes).
    Sessions {
        /// Whether closed sessions are forgotten.
        forget: bool,
    },
    /// One side of an arranged join: its collection, logged as changes (a side that is
    /// rebuilt from restored state below it logs nothing).
    JoinSide,
    /// A join of two streams under watermarks: both sides' rows held per key, with their
    /// matched flags, logged as each key's latest state (an empty one once all expired).
    StreamJoin,
    /// `flat_map_groups_with_state`: each key's serialized state and timeout, logged as its
    /// latest (`None` once removed).
    GroupStates,
    /// `transform_with_state`: each key's variables, their expiries and its timers,
    /// serialized, with the key's next wake-up, logged as its latest (`None` once empty).
    ProcessorStates,
}

/// The state slots of an operator built with `strategy`, in the order it uses them.
fn slots(strategy: Strategy) -> Vec<Slot> {
    match strategy {
        // Its window column is found in the physical plan (see `durable_slots`).
        Strategy::ExpiringFold | Strategy::WindowStartFold => vec![Slot::Expiring { window_key: 0 }],
        Strategy::PieceCount
        | Strategy::AppendOnlyFold
        | Strategy::WindowStartKeptFold
        | Strategy::GroupedByTable { .. }
        | Strategy::ColumnFold
        | Strategy::JoinedRowFold => vec![Slot::Fold(strategy)],
        Strategy::UpsertTable => vec![Slot::Upserts],
        // Whether the mode forgets closed sessions is set in `durable_slots`.
        Strategy::SessionFold => vec![Slot::Sessions { forget: true }],
        Strategy::Deduplicate => vec![Slot::SeenKeys],
        Strategy::ArrangedJoin => vec![Slot::JoinSide, Slot::JoinSide],
        Strategy::SymmetricHashJoin | Strategy::AppendHashJoin => vec![Slot::StreamJoin],
        Strategy::GroupsWithState => vec![Slot::GroupStates],
        Strategy::TransformWithState => vec![Slot::ProcessorStates],
        _ => Vec::new(),
    }
}

/// Whether `plan`'s output is rebuilt on a restart without reading its streams again: a
/// static table is read again, an aggregation or an upsert table restores its own state, and
/// an arranged join keeps whichever side is not rebuilt and gives its pairs again from them.
/// Differential's `reduce` and `join` rebuild their arrangements from such inputs, so only
/// stream rows feeding a join need keeping. A hash join (see [`hash_joins`]) restores the rows
/// it keeps, and gives no pair again, as does a join under watermarks. `format` is the
/// query's join state format.
pub(crate) fn is_rebuilt(plan: &LogicalPlan, format: JoinStateFormat) -> bool {
    match plan {
        LogicalPlan::Source { source, .. } => source.is_static(),
        LogicalPlan::Project { input, .. }
        | LogicalPlan::Filter { input, .. }
        | LogicalPlan::Watermark { input, .. }
        | LogicalPlan::Sort { input, .. }
        | LogicalPlan::Limit { input, .. } => is_rebuilt(input, format),
        LogicalPlan::Aggregate { .. } | LogicalPlan::Upsert { .. } => true,
        // It keeps the keys it has seen, not the rows it let through.
        LogicalPlan::Deduplicate { .. } => false,
        // It keeps each key's state, not the rows it wrote.
        LogicalPlan::GroupsWithState { .. } => false,
        LogicalPlan::Join {
            left,
            right,
            kind,
            event_time,
            ..
        } => {
            if right.is_static() {
                is_rebuilt(left, format)
            } else {
                // A join under watermarks keeps rows by key, as a hash join does.
                event_time.is_none() && !hash_joins(*kind, left, right, format)
            }
        }
        LogicalPlan::Union { inputs, .. } => inputs.iter().all(|i| is_rebuilt(i, format)),
    }
}

/// Whether a join of `kind` of `left` and `right` without watermarks keeps its sides in a
/// hash join rather than arranged: an inner join of two streams that only insert, under the
/// join state format that has it. A side rebuilt from restored state below would give its
/// rows again on a restart, to a join that restores its own: such a join stays arranged.
pub(crate) fn hash_joins(
    kind: JoinKind,
    left: &LogicalPlan,
    right: &LogicalPlan,
    format: JoinStateFormat,
) -> bool {
    format == JoinStateFormat::Hashed
        && kind == JoinKind::Inner
        && !right.is_static()
        && [left, right]
            .iter()
            .all(|side| side.is_append_only() && !is_rebuilt(side, format))
}

/// The state restored for one slot, in the types its operator keeps.
pub(crate) enum Restored {
    /// A word count's counts per piece.
    Pieces(Vec<(Piece, i64)>),
    /// An accumulator's states per key row.
    Rows(Vec<(Row, States)>),
    /// An upsert table's live rows per key.
    Upserts(Vec<(Row, Option<Row>)>),
    /// A join side's rows and their multiplicities.
    Collection(Vec<(Row, isize)>),
    /// Sessions by key and start, each `Some((end, states))` as the log holds them.
    Sessions(Vec<SessionEntry>),
    /// A deduplication's remembered keys, each `Some(until when)` (`Some(None)`: for ever), as
    /// its log holds them.
    SeenKeys(Vec<(Row, Option<Option<i64>>)>),
    /// A join of two streams' rows held per key.
    JoinState(Vec<(Row, tidewater_operators::KeyState<Row, Row>)>),
    /// The states of a stateful function per key, each `Some((serialized state, timeout))`
    /// as the log holds them.
    GroupStates(Vec<(Row, Option<GroupStateEntry>)>),
}

/// A key's state of a stateful function: serialized, with its timeout.
pub(crate) type GroupStateEntry = tidewater_operators::group_state::Kept<Vec<u8>>;

/// A session as its log holds it: `((key, start), Some((end, states)))`.
pub(crate) type SessionEntry = ((Row, i64), Option<(i64, States)>);

/// Reads the state of every durable operator of `plan` as of epoch `through`, compacting
/// it on the way (see [`compact`]). `closed_by` is the watermark epoch `through` ran under:
/// windows it closed were written and forgotten, and are not restored.
pub(crate) fn restore(
    plan: &LogicalPlan,
    settings: Settings,
    store: &StateStore,
    through: u64,
    closed_by: Option<i64>,
) -> Result<Vec<Restored>, CheckpointError> {
    durable_slots(plan, settings)
        .into_iter()
        .map(|(number, slot)| restore_slot(store, number, slot, through, closed_by))
        .collect()
}

/// Compacts the state of `plan`'s operators into snapshots as of committed epoch `through`
/// (as a restore does), `closed_by` being the watermark that epoch ran under.
pub(crate) fn compact(
    plan: &LogicalPlan,
    settings: Settings,
    store: &StateStore,
    through: u64,
    closed_by: Option<i64>,
) -> Result<(), CheckpointError> {
    for (number, slot) in durable_slots(plan, settings) {
        restore_slot(store, number, slot, through, closed_by)?;
    }
    Ok(())
}

/// `plan`'s state slots, numbered as the checkpoint numbers them.
fn durable_slots(plan: &LogicalPlan, settings: Settings) -> Vec<(usize, Slot)> {
    let physical = super::physical::plan(plan, settings);
    let mut window_keys = Vec::new();
    expiring_window_keys(&physical, &mut window_keys);
    let mut window_keys = window_keys.into_iter();
    super::describe::strategies_of(&physical, settings)
        .into_iter()
        .flat_map(slots)
        .map(|slot| match slot {
            Slot::Expiring { .. } => Slot::Expiring {
                window_key: window_keys.next().unwrap_or(0),
            },
            Slot::Sessions { .. } => Slot::Sessions {
                forget: settings.output_mode != crate::plan::OutputMode::Complete,
            },
            other => other,
        })
        .enumerate()
        .collect()
}

/// The window columns of the expiring folds under `node`, inputs first: the order in which
/// they are built.
fn expiring_window_keys(node: &Physical<'_>, keys: &mut Vec<usize>) {
    match node {
        Physical::Source { .. } => {}
        Physical::Rows { input, .. }
        | Physical::Watermark { input, .. }
        | Physical::Upsert { input, .. }
        | Physical::Deduplicate { input, .. }
        | Physical::GroupsWithState { input, .. } => expiring_window_keys(input, keys),
        Physical::Join { left, right, .. } => {
            expiring_window_keys(left, keys);
            expiring_window_keys(right, keys);
        }
        Physical::Union(inputs) => inputs.iter().for_each(|input| expiring_window_keys(input, keys)),
        Physical::Aggregate(aggregate) => {
            expiring_window_keys(&aggregate.input, keys);
            keys.extend(aggregate.fold.expiring_window_key());
        }
        Physical::TableAggregate(aggregate) => {
            if let StreamSide::Rows(stream) = &aggregate.stream {
                expiring_window_keys(stream, keys);
            }
            expiring_window_keys(&aggregate.table, keys);
        }
    }
}

/// Whether the window of `key` (at `window_key`) was closed by the watermark `closed_by`.
pub(crate) fn window_closed(key: &Row, window_key: usize, closed_by: Option<i64>) -> bool {
    key.get(window_key)
        .and_then(Value::window_end)
        .is_some_and(|end| tidewater_operators::watermark::is_final(end, closed_by))
}

/// Reads slot `number`'s state as of `through`, in the types its operator keeps, and
/// compacts it into a snapshot, so that the next restore reads the state and the changes
/// since, not the whole history.
fn restore_slot(
    store: &StateStore,
    number: usize,
    slot: Slot,
    through: u64,
    closed_by: Option<i64>,
) -> Result<Restored, CheckpointError> {
    fn latest<K, S>(store: &StateStore, number: usize, through: u64) -> Result<Vec<(K, S)>, CheckpointError>
    where
        K: serde::de::DeserializeOwned + Serialize + std::hash::Hash + Eq,
        S: serde::de::DeserializeOwned + Serialize,
    {
        let entries = store.restore(number, through)?;
        store.compact(number, through, &entries)?;
        Ok(entries)
    }
    Ok(match slot {
        Slot::Fold(Strategy::PieceCount) => Restored::Pieces(latest(store, number, through)?),
        Slot::Fold(_) => Restored::Rows(latest(store, number, through)?),
        Slot::Expiring { window_key } => {
            let mut entries: Vec<(Row, States)> = store.restore(number, through)?;
            // The fold forgets a window once the watermark closes it, without logging that:
            // its last state stays in the changes until a snapshot leaves it out.
            entries.retain(|(key, _)| !window_closed(key, window_key, closed_by));
            store.compact(number, through, &entries)?;
            Restored::Rows(entries)
        }
        Slot::Upserts => {
            let mut entries: Vec<(Row, Option<Row>)> = store.restore(number, through)?;
            // A deleted key is gone: the snapshot need not remember it.
            entries.retain(|(_, row)| row.is_some());
            store.compact(number, through, &entries)?;
            Restored::Upserts(entries)
        }
        Slot::SeenKeys => {
            // The log holds `None` for a key forgotten, `Some(until)` for one remembered.
            let entries: Vec<(Row, Option<Option<i64>>)> = store.restore(number, through)?;
            let live: Vec<(Row, Option<Option<i64>>)> =
                entries.into_iter().filter(|(_, s)| s.is_some()).collect();
            store.compact(number, through, &live)?;
            Restored::SeenKeys(live)
        }
        Slot::Sessions { forget } => {
            let mut entries: Vec<SessionEntry> = store.restore(number, through)?;
            // A session merged away or forgotten is logged as `None`; one the watermark had
            // closed before the last committed epoch was forgotten then.
            entries.retain(|(_, session)| {
                session.as_ref().is_some_and(|(end, _)| {
                    !(forget && tidewater_operators::watermark::is_final(*end, closed_by))
                })
            });
            store.compact(number, through, &entries)?;
            Restored::Sessions(entries)
        }
        Slot::JoinSide => {
            let entries: Vec<(Row, isize)> = store.restore_summed(number, through)?;
            store.compact(number, through, &entries)?;
            Restored::Collection(entries)
        }
        Slot::GroupStates | Slot::ProcessorStates => {
            let mut entries: Vec<(Row, Option<GroupStateEntry>)> = store.restore(number, through)?;
            // A removed key is gone: the snapshot need not remember it.
            entries.retain(|(_, state)| state.is_some());
            store.compact(number, through, &entries)?;
            Restored::GroupStates(entries)
        }
        Slot::StreamJoin => {
            let mut entries: Vec<(Row, tidewater_operators::KeyState<Row, Row>)> =
                store.restore(number, through)?;
            // A key whose rows all expired is gone: the snapshot need not remember it.
            entries.retain(|(_, state)| !state.is_empty());
            store.compact(number, through, &entries)?;
            Restored::JoinState(entries)
        }
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
