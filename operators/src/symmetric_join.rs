//! `symmetric_hash_join`: a join of two streams that keeps each side's records by key, joins
//! every new record with the other side's, and forgets a record once the event-time watermark
//! shows that no future record of the other side can match it (Spark's streaming symmetric hash
//! join).
//!
//! Each epoch runs in Spark's order: records at or below the previous epoch's watermark are late
//! on a side that has one and are dropped; the left records are joined with the right state and
//! kept; the right records are joined with the left state (this epoch's records included, so a
//! pair is found once) and kept; then the records the epoch's watermark has expired are removed,
//! and an outer join emits, padded, the ones that never matched. The operator runs at every
//! epoch in which the watermark moves too, so padded records come out in epochs without data.
//! What is late, what matches and what has expired are the [`JoinLogic`]'s to say.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{Operator, OutputBuilder};
use timely::dataflow::operators::vec::Map as _;
use timely::dataflow::operators::{Capability, Concat};

use crate::watermark::WatermarkClock;
use crate::Durable;

/// What a [`symmetric_hash_join`] keeps for one key: each side's records, with whether each has
/// matched a record of the other side yet (an outer join pads only those that never did).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyState<L, R> {
    /// The left records held, each with its matched flag.
    pub left: Vec<(L, bool)>,
    /// The right records held, each with its matched flag.
    pub right: Vec<(R, bool)>,
}

impl<L, R> Default for KeyState<L, R> {
    fn default() -> Self {
        KeyState {
            left: Vec::new(),
            right: Vec::new(),
        }
    }
}

impl<L, R> KeyState<L, R> {
    /// True when the key holds nothing (a checkpoint then forgets it).
    pub fn is_empty(&self) -> bool {
        self.left.is_empty() && self.right.is_empty()
    }

    /// How many records the key holds.
    pub fn len(&self) -> usize {
        self.left.len() + self.right.len()
    }
}

/// The join's rules, given records of both sides and watermarks.
pub trait JoinLogic<K, L, R>: 'static {
    /// An output record.
    type Output;
    /// Whether `left` is late under `watermark` (the previous epoch's): it is dropped.
    fn left_late(&self, left: &L, watermark: i64) -> bool;
    /// Whether `right` is late under `watermark`.
    fn right_late(&self, right: &R, watermark: i64) -> bool;
    /// Whether two records of the same key match (the condition beyond the key's equality).
    fn matches(&self, key: &K, left: &L, right: &R) -> bool;
    /// Whether no future right record can match `left` once the watermark is `watermark`.
    fn left_expired(&self, key: &K, left: &L, watermark: i64) -> bool;
    /// Whether no future left record can match `right` once the watermark is `watermark`.
    fn right_expired(&self, key: &K, right: &R, watermark: i64) -> bool;
    /// The output of a matching pair.
    fn pair(&self, left: &L, right: &R) -> Self::Output;
    /// The output of a left record that never matched, if the join keeps those (LEFT and FULL).
    fn left_alone(&self, left: &L) -> Option<Self::Output>;
    /// The output of a right record that never matched, if the join keeps those (RIGHT, FULL).
    fn right_alone(&self, right: &R) -> Option<Self::Output>;
    /// True for a LEFT SEMI join: a left record comes out once, on its first match, alone.
    fn semi(&self) -> bool;
    /// The output of a left record that matched, in a LEFT SEMI join.
    fn left_matched(&self, left: &L) -> Self::Output;
}

/// What a [`symmetric_hash_join`] did on one worker in one epoch (Spark's state operator
/// figures): records held after the epoch, added, removed, and dropped as late.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JoinFigures {
    /// Records held on both sides after the epoch (`numRowsTotal`).
    pub held: u64,
    /// Records added to the state in the epoch (`numRowsUpdated`).
    pub added: u64,
    /// Records removed from the state in the epoch (`numRowsRemoved`).
    pub removed: u64,
    /// Input records dropped as late (`numRowsDroppedByWatermark`).
    pub dropped: u64,
}

/// The watermark the join runs under: the greatest of `candidates` before an epoch, less
/// `delay` (as [`WatermarkClock`] reads event-time maxima), going on from `seen`, the
/// candidates of epochs before this run.
pub struct JoinWatermark<'scope> {
    /// Watermark candidates per epoch, every worker's own full copy (not exchanged again).
    pub candidates: VecCollection<'scope, u64, i64, isize>,
    /// Subtracted from the greatest candidate.
    pub delay: i64,
    /// Candidates of epochs before this run, `(candidate, epoch)`.
    pub seen: Vec<(i64, u64)>,
}

/// A record entering the join: from either side, or a key's state restored from a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Entry<K, L, R> {
    Left(K, L),
    Right(K, R),
    Restored(K, KeyState<L, R>),
}

impl<K: Hash, L, R> Entry<K, L, R> {
    fn key(&self) -> &K {
        match self {
            Entry::Left(k, _) | Entry::Right(k, _) | Entry::Restored(k, _) => k,
        }
    }
}

/// An epoch's entries waiting for it to complete, with their multiplicities.
type Entries<K, L, R> = Vec<(Entry<K, L, R>, isize)>;

/// What the join gives: its output records, and each worker's [`JoinFigures`] per epoch (for
/// an epoch in which the worker held or changed something).
pub type Joined<'scope, O> = (
    VecCollection<'scope, u64, O, isize>,
    VecCollection<'scope, u64, JoinFigures, isize>,
);

/// Joins `left` and `right` (insert-only collections of `(key, record)`) as Spark's streaming
/// symmetric hash join does, under `logic` and the `watermark` (see the module's header).
/// With `durable`, each epoch's changed keys and their state go to its log, and the restored
/// state enters before the first new epoch without output.
///
/// # Examples
///
/// Keys `1`, records are event times; a pair matches when the right time is within 10 of the
/// left one, and a left record expires once the watermark passes it by more than 10 (a LEFT
/// join pads it then).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::symmetric_join::{symmetric_hash_join, JoinLogic, JoinWatermark};
///
/// struct Within10;
/// impl JoinLogic<u8, i64, i64> for Within10 {
///     type Output = (i64, Option<i64>);
///     fn left_late(&self, l: &i64, w: i64) -> bool { *l <= w }
///     fn right_late(&self, r: &i64, w: i64) -> bool { *r <= w }
///     fn matches(&self, _k: &u8, l: &i64, r: &i64) -> bool { *l <= *r && *r <= l + 10 }
///     fn left_expired(&self, _k: &u8, l: &i64, w: i64) -> bool { l + 10 < w }
///     fn right_expired(&self, _k: &u8, r: &i64, w: i64) -> bool { *r < w }
///     fn pair(&self, l: &i64, r: &i64) -> (i64, Option<i64>) { (*l, Some(*r)) }
///     fn left_alone(&self, l: &i64) -> Option<(i64, Option<i64>)> { Some((*l, None)) }
///     fn right_alone(&self, _r: &i64) -> Option<(i64, Option<i64>)> { None }
///     fn semi(&self) -> bool { false }
///     fn left_matched(&self, l: &i64) -> (i64, Option<i64>) { (*l, None) }
/// }
///
/// let out = Arc::new(Mutex::new(Vec::new()));
/// let sink = out.clone();
/// timely::execute_directly(move |worker| {
///     let (mut left, mut right, mut marks, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (left_in, left) = scope.new_collection::<(u8, i64), isize>();
///         let (right_in, right) = scope.new_collection::<(u8, i64), isize>();
///         let (marks_in, marks) = scope.new_collection::<i64, isize>();
///         let watermark = JoinWatermark { candidates: marks, delay: 0, seen: Vec::new() };
///         let (joined, _figures) = symmetric_hash_join(left, right, watermark, Within10, None);
///         let (probe, _) = joined.inspect(move |x| sink.lock().unwrap().push(*x)).probe();
///         (left_in, right_in, marks_in, probe)
///     });
///     left.insert((1, 100));
///     left.insert((1, 200));
///     marks.insert(100);
///     for epoch in 1..4 {
///         left.advance_to(epoch); right.advance_to(epoch); marks.advance_to(epoch);
///         // Epoch 1: 105 matches 100. Epoch 2 runs under watermark 150: 100 expired, matched.
///         if epoch == 1 { right.insert((1, 105)); marks.insert(150); }
///         // Epoch 3 runs under 300: 200 expires unmatched and comes out padded.
///         if epoch == 2 { marks.insert(300); }
///     }
///     left.advance_to(4); right.advance_to(4); marks.advance_to(4);
///     left.flush(); right.flush(); marks.flush();
///     worker.step_while(|| probe.less_than(left.time()));
/// });
/// let mut out = out.lock().unwrap().clone();
/// out.sort_by_key(|(_, t, _)| *t);
/// assert_eq!(out, vec![((100, Some(105)), 1, 1), ((200, None), 3, 1)]);
/// ```
pub fn symmetric_hash_join<'scope, K, L, R, J>(
    left: VecCollection<'scope, u64, (K, L), isize>,
    right: VecCollection<'scope, u64, (K, R), isize>,
    watermark: JoinWatermark<'scope>,
    logic: J,
    durable: Option<Durable<'scope, u64, K, KeyState<L, R>>>,
) -> Joined<'scope, J::Output>
where
    K: ExchangeData + Hash,
    L: ExchangeData,
    R: ExchangeData,
    J: JoinLogic<K, L, R>,
    J::Output: ExchangeData,
{
    let mut entries = left
        .inner
        .map(|((k, l), t, d)| (Entry::Left(k, l), t, d))
        .concat(right.inner.map(|((k, r), t, d)| (Entry::Right(k, r), t, d)));
    let mut log = None;
    let mut first_new = 0;
    if let Some(durable) = durable {
        if let Some(restored) = durable.restored {
            entries = entries.concat(restored.map(|(k, t, s)| (Entry::Restored(k, s), t, 1)));
        }
        log = Some(durable.log);
        first_new = durable.first_new;
    }
    let by_key = Exchange::new(|(entry, _, _): &(Entry<K, L, R>, u64, isize)| entry.key().hashed());
    let JoinWatermark {
        candidates,
        delay,
        seen,
    } = watermark;
    // One operator with an output for rows and one for figures: a single stream read by two
    // would have every output row cloned for the first reader.
    let mut builder = OperatorBuilder::new("SymmetricHashJoin".to_owned(), entries.scope());
    let mut input = builder.new_input(entries, by_key);
    let mut marks = builder.new_input(candidates.inner, Pipeline);
    let (rows_output, rows) = builder.new_output::<Vec<(J::Output, u64, isize)>>();
    let (figures_output, figures) = builder.new_output::<Vec<(JoinFigures, u64, isize)>>();
    let mut rows_output = OutputBuilder::<u64, CapacityContainerBuilder<_>>::from(rows_output);
    let mut figures_output = OutputBuilder::<u64, CapacityContainerBuilder<_>>::from(figures_output);
    builder.build(move |initial| {
        // The capabilities of the two outputs, rows then figures, moved on together.
        let mut held = Some(initial);
        let mut clock = WatermarkClock::resumed(seen);
        let mut pending: BTreeMap<u64, Entries<K, L, R>> = BTreeMap::new();
        // Epochs at which the watermark may move: one after each epoch with a candidate.
        let mut moves: BTreeSet<u64> = BTreeSet::new();
        let mut state = JoinState::<K, L, R> {
            keys: HashMap::default(),
            held: 0,
        };
        let mut last_watermark: Option<i64> = None;
        move |frontiers| {
            let (input_frontier, marks_frontier) = (&frontiers[0], &frontiers[1]);
            marks.for_each_stamp(|_cap, containers| {
                for container in containers {
                    for (candidate, epoch, _) in container.drain(..) {
                        clock.saw(candidate, epoch);
                        moves.insert(epoch + 1);
                    }
                }
            });
            input.for_each_stamp(|_cap, containers| {
                for container in containers {
                    let room = container.len();
                    for (entry, time, diff) in container.drain(..) {
                        let arrived = pending.entry(time).or_default();
                        if arrived.capacity() == arrived.len() {
                            // An epoch's entries come in containers: room for this one's at once.
                            arrived.reserve(room);
                        }
                        arrived.push((entry, diff));
                    }
                }
            });
            // An epoch can run once its records are all in and the watermark candidates of
            // every earlier epoch are (so its watermark and the previous one are known).
            let records_before = input_frontier.frontier().iter().copied().min();
            let marks_before = marks_frontier.frontier().iter().copied().min();
            let (mut rows_out, mut figures_out) = (rows_output.activate(), figures_output.activate());
            loop {
                let next = match (pending.keys().next(), moves.iter().next()) {
                    (Some(&a), Some(&b)) => a.min(b),
                    (Some(&a), None) => a,
                    (None, Some(&b)) => b,
                    (None, None) => break,
                };
                if records_before.is_some_and(|f| f <= next) || marks_before.is_some_and(|f| f < next) {
                    break;
                }
                let Some(caps) = held.as_mut() else { break };
                for cap in caps.iter_mut().filter(|cap| *cap.time() < next) {
                    cap.downgrade(&next);
                }
                let entries = pending.remove(&next).unwrap_or_default();
                moves.remove(&next);
                let (late_watermark, watermark) = clock.watermarks_of(next, delay);
                let moved = watermark != last_watermark;
                last_watermark = watermark;
                let restoring = next < first_new;
                let mut session = rows_out.session(&caps[0]);
                // The changed keys are read by the log, and by the expiry of an epoch whose
                // watermark did not move: without either, they are not noted.
                let mut changed = ChangedKeys {
                    keys: HashMap::default(),
                    noting: log.is_some() || watermark.is_some(),
                };
                let figures = state.run_epoch(
                    &logic,
                    entries,
                    (late_watermark, watermark, moved),
                    &mut changed,
                    &mut |out| session.give((out, next, 1)),
                );
                if figures.held > 0 || figures.added > 0 || figures.removed > 0 || figures.dropped > 0 {
                    figures_out.session(&caps[1]).give((figures, next, 1));
                }
                if let (Some(log), false) = (log.as_mut(), restoring) {
                    let entries: Vec<(K, KeyState<L, R>)> = changed
                        .keys
                        .into_keys()
                        .map(|key| {
                            let kept = state.keys.get(&key).cloned().unwrap_or_default();
                            (key, kept)
                        })
                        .collect();
                    if !entries.is_empty() {
                        log(&next, entries);
                    }
                }
            }
            // Hold the capability where output may still come: at the first epoch not yet
            // complete, or one after an epoch whose candidates are not all in.
            let earliest = [
                records_before,
                marks_before.map(|m| m + 1),
                pending.keys().next().copied(),
                moves.iter().next().copied(),
            ]
            .into_iter()
            .flatten()
            .min();
            match (earliest, held.as_mut()) {
                (None, _) => held = None,
                (Some(at), Some(caps)) => {
                    for cap in caps.iter_mut().filter(|cap| *cap.time() < at) {
                        cap.downgrade(&at);
                    }
                }
                _ => {}
            }
        }
    });
    (rows.as_collection(), figures.as_collection())
}

/// The join's maps, keyed by rows: foldhash, as the other keyed operators use (std's SipHash
/// was a tenth of a join's instructions).
type HashMap<K, V> = foldhash::HashMap<K, V>;

/// The keys whose state an epoch changed, when something reads them (`noting`).
struct ChangedKeys<K> {
    keys: HashMap<K, ()>,
    noting: bool,
}

impl<K: Eq + Hash> ChangedKeys<K> {
    fn note(&mut self, key: K) {
        if self.noting {
            self.keys.insert(key, ());
        }
    }
}

/// One worker's join state: each key's records of both sides.
struct JoinState<K, L, R> {
    keys: HashMap<K, KeyState<L, R>>,
    /// Records held, over all keys.
    held: u64,
}

impl<K, L, R> JoinState<K, L, R>
where
    K: Clone + Eq + Hash,
    L: Clone,
    R: Clone,
{
    /// Runs one epoch's entries under its watermarks `(late, eviction, moved)`, noting the
    /// keys whose state changed in `changed`; returns the epoch's figures.
    fn run_epoch<J: JoinLogic<K, L, R>>(
        &mut self,
        logic: &J,
        entries: Entries<K, L, R>,
        (late, watermark, moved): (Option<i64>, Option<i64>, bool),
        changed: &mut ChangedKeys<K>,
        emit: &mut impl FnMut(J::Output),
    ) -> JoinFigures {
        let mut figures = JoinFigures::default();
        // Room for every entry on either side: the vectors live for this epoch only.
        let (mut lefts, mut rights) = (
            Vec::with_capacity(entries.len()),
            Vec::with_capacity(entries.len()),
        );
        for (entry, diff) in entries {
            match entry {
                Entry::Restored(key, kept) => {
                    self.held += kept.len() as u64;
                    let slot = self.keys.entry(key).or_default();
                    slot.left.extend(kept.left);
                    slot.right.extend(kept.right);
                }
                // Streams only insert; a record inserted n times is n records.
                Entry::Left(key, l) => push_copies(&mut lefts, (key, l), diff),
                Entry::Right(key, r) => push_copies(&mut rights, (key, r), diff),
            }
        }
        for (key, l) in lefts {
            if late.is_some_and(|w| logic.left_late(&l, w)) {
                figures.dropped += 1;
                continue;
            }
            // One lookup: a slot made here is left empty only by a semi join's match, which
            // needs right records, so a new slot always receives this record.
            let slot = self.keys.entry(key.clone()).or_default();
            let mut matched = false;
            for (r, r_matched) in slot.right.iter_mut() {
                if logic.matches(&key, &l, r) {
                    matched = true;
                    if logic.semi() {
                        break;
                    }
                    emit(logic.pair(&l, r));
                    *r_matched = true;
                }
            }
            if logic.semi() && matched {
                // A matched left record of a semi join comes out now and is never needed again.
                emit(logic.left_matched(&l));
                continue;
            }
            slot.left.push((l, matched));
            self.held += 1;
            figures.added += 1;
            changed.note(key);
        }
        for (key, r) in rights {
            if late.is_some_and(|w| logic.right_late(&r, w)) {
                figures.dropped += 1;
                continue;
            }
            let slot = self.keys.entry(key.clone()).or_default();
            let mut matched = false;
            for (l, l_matched) in slot.left.iter_mut() {
                if logic.semi() && *l_matched {
                    continue;
                }
                if logic.matches(&key, l, &r) {
                    if logic.semi() {
                        emit(logic.left_matched(l));
                    } else {
                        emit(logic.pair(l, &r));
                    }
                    matched = true;
                    *l_matched = true;
                }
            }
            slot.right.push((r, matched));
            self.held += 1;
            figures.added += 1;
            changed.note(key);
        }
        if let Some(w) = watermark {
            // A moved watermark may expire any key; otherwise only the keys that just gained
            // records (one may arrive already expired).
            let keys: Vec<K> = if moved {
                self.keys.keys().cloned().collect()
            } else {
                changed.keys.keys().cloned().collect()
            };
            for key in keys {
                let Some(slot) = self.keys.get_mut(&key) else {
                    continue;
                };
                let before = slot.len();
                slot.left.retain(|(l, matched)| {
                    if !logic.left_expired(&key, l, w) {
                        return true;
                    }
                    if !matched {
                        if let Some(out) = logic.left_alone(l) {
                            emit(out);
                        }
                    }
                    false
                });
                slot.right.retain(|(r, matched)| {
                    if !logic.right_expired(&key, r, w) {
                        return true;
                    }
                    if !matched {
                        if let Some(out) = logic.right_alone(r) {
                            emit(out);
                        }
                    }
                    false
                });
                let removed = (before - slot.len()) as u64;
                if removed > 0 {
                    figures.removed += removed;
                    self.held -= removed;
                    changed.note(key.clone());
                }
                if slot.is_empty() {
                    self.keys.remove(&key);
                }
            }
        }
        figures.held = self.held;
        figures
    }
}

/// Pushes `diff` copies of `item` (none for a retraction), moving it into the last: a record
/// is almost always inserted once.
fn push_copies<T: Clone>(into: &mut Vec<T>, item: T, diff: isize) {
    if diff <= 0 {
        return;
    }
    for _ in 1..diff {
        into.push(item.clone());
    }
    into.push(item);
}

/// Spark's global watermark over several event-time columns (its default `min` policy): each
/// watermarked input's watermark is its greatest event time so far less its own delay, and the
/// global one is the least of them, never falling; none until every input has seen an event.
/// `sides` are each input's per-worker event-time maxima (see
/// [`event_time_maxima`](crate::event_time_maxima)) and delay; `floor` the watermark before this
/// run. Returns, on every worker, for each epoch `t` in which some maximum arrived, the global
/// watermark that follows `t` plus `shift`, at `t`: read as event-time maxima with delay
/// `shift` (the greatest of them before an epoch, less `shift`), these give that epoch's
/// watermark, so a [`WatermarkClock`] and whatever reads maxima read the global watermark.
pub fn min_watermark<'scope>(
    sides: Vec<(VecCollection<'scope, u64, i64, isize>, i64)>,
    floor: Option<i64>,
    shift: i64,
) -> VecCollection<'scope, u64, i64, isize> {
    use timely::dataflow::operators::vec::Broadcast;
    let delays: Vec<i64> = sides.iter().map(|(_, delay)| *delay).collect();
    let mut tagged = None;
    for (index, (maxima, _)) in sides.into_iter().enumerate() {
        let side = maxima.inner.map(move |(max, t, d)| ((index, max), t, d));
        tagged = Some(match tagged {
            None => side,
            Some(all) => side.concat(all),
        });
    }
    let Some(tagged) = tagged else {
        panic!("min_watermark needs at least one watermarked input");
    };
    tagged
        .broadcast()
        .unary_frontier::<CapacityContainerBuilder<Vec<(i64, u64, isize)>>, _, _, _>(
            Pipeline,
            "MinWatermark",
            move |_initial, _info| {
                let mut clocks: Vec<WatermarkClock> =
                    delays.iter().map(|_| WatermarkClock::default()).collect();
                let mut waiting: BTreeMap<u64, Capability<u64>> = BTreeMap::new();
                let mut global = floor;
                move |(input, frontier), output| {
                    let port = output.output_index();
                    input.for_each_stamp(|cap, containers| {
                        for container in containers {
                            for ((index, max), time, _) in container.drain(..) {
                                if let Some(clock) = clocks.get_mut(index) {
                                    clock.saw(max, time);
                                }
                                waiting.entry(time).or_insert_with(|| cap.delayed(&time, port));
                            }
                        }
                    });
                    while let Some(time) = waiting.keys().next().copied() {
                        if frontier.less_equal(&time) {
                            break;
                        }
                        let Some(cap) = waiting.remove(&time) else { break };
                        let sides: Option<Vec<i64>> = clocks
                            .iter_mut()
                            .zip(&delays)
                            .map(|(clock, delay)| clock.watermark_of(time + 1, *delay))
                            .collect();
                        if let Some(least) = sides.and_then(|s| s.into_iter().min()) {
                            global = Some(global.map_or(least, |g| g.max(least)));
                        }
                        if let Some(global) = global {
                            output.session(&cap).give((global + shift, time, 1));
                        }
                    }
                }
            },
        )
        .as_collection()
}
