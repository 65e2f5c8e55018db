//! `transform_with_state`: Spark 4's `transformWithState` in Rust. A [`StatefulProcessor`]
//! declares named state in [`init`](StatefulProcessor::init) — [`ValueState`], [`ListState`],
//! [`MapState`], each with an optional time to live — and is called per key with the epoch's
//! rows ([`handle_input_rows`](StatefulProcessor::handle_input_rows)) and per timer that
//! expires ([`handle_expired_timer`](StatefulProcessor::handle_expired_timer)).
//!
//! The processor runs on the engine of `flat_map_groups_with_state`: all of a key's state
//! (every variable, every entry's expiry, its timers) is one serialized value kept per key,
//! exchanged by the key's hash and checkpointed with it; the key's timeout is set to its next
//! timer or expiry, so the engine calls it again when that passes, in epochs without rows too.
//!
//! As in Spark:
//! - a processing-time timer fires once an epoch's batch time reaches it, an event-time one
//!   once the watermark does (`timer <= time`); a key's timers fire after its rows, earliest
//!   first, each once;
//! - a state entry with a time to live expires at the batch time of the epoch that wrote it
//!   plus the TTL, and is neither read nor kept from the first epoch whose batch time reaches
//!   that (each list element and map entry on its own);
//! - a key whose variables are all empty and which has no timer holds no state.
//!
//! Under [`TimeMode::EventTime`] a key wakes at its timers (the watermark) and, when it has
//! entries with a TTL, at their expiry (processing time) too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::stateful::{GroupState, GroupStateTimeout, StateApi, StateFunction, TimeoutError};
use crate::data::Row;

/// Which clock a processor's timers run on (Spark's `TimeMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeMode {
    /// No timers (`TimeMode.None()`).
    None,
    /// Timers on each epoch's batch time (`TimeMode.ProcessingTime()`).
    ProcessingTime,
    /// Timers on the watermark (`TimeMode.EventTime()`); the stream needs one.
    EventTime,
}

/// Why a timer call was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerError {
    /// The processor runs under [`TimeMode::None`], which has no timers (Spark refuses them
    /// too).
    NoTimeMode,
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimerError::NoTimeMode => f.write_str("timers need a time mode: processing time or event time"),
        }
    }
}

impl std::error::Error for TimerError {}

/// The times a call sees (Spark's `TimerValues`), in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerValues {
    processing_time_ms: i64,
    watermark_ms: Option<i64>,
}

impl TimerValues {
    /// The epoch's batch time (Spark's `getCurrentProcessingTimeInMs`).
    pub fn current_processing_time_ms(&self) -> i64 {
        self.processing_time_ms
    }

    /// The epoch's watermark, `None` before any event time or without a watermark (Spark's
    /// `getCurrentWatermarkInMs`).
    pub fn current_watermark_ms(&self) -> Option<i64> {
        self.watermark_ms
    }
}

/// The timer that fired (Spark's `ExpiredTimerInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiredTimerInfo {
    expiry_time_ms: i64,
}

impl ExpiredTimerInfo {
    /// The time the timer was registered for, in milliseconds (Spark's `getExpiryTimeInMs`).
    pub fn expiry_time_ms(&self) -> i64 {
        self.expiry_time_ms
    }
}

/// A serialized value and the batch time (ms) from which it has expired, if it has a TTL.
type Entry = (Vec<u8>, Option<i64>);

/// Everything kept for one key: its variables by name, and its timers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct KeyStore {
    values: BTreeMap<String, Entry>,
    lists: BTreeMap<String, Vec<Entry>>,
    maps: BTreeMap<String, BTreeMap<Vec<u8>, Entry>>,
    timers: BTreeSet<i64>,
}

fn live(entry: &Entry, now_ms: i64) -> bool {
    entry.1.is_none_or(|expires| now_ms < expires)
}

impl KeyStore {
    /// Drops the entries expired at `now_ms`; true if any was.
    fn evict(&mut self, now_ms: i64) -> bool {
        let before = self.size();
        self.values.retain(|_, entry| live(entry, now_ms));
        for list in self.lists.values_mut() {
            list.retain(|entry| live(entry, now_ms));
        }
        self.lists.retain(|_, list| !list.is_empty());
        for map in self.maps.values_mut() {
            map.retain(|_, entry| live(entry, now_ms));
        }
        self.maps.retain(|_, map| !map.is_empty());
        self.size() != before
    }

    fn size(&self) -> usize {
        self.values.len()
            + self.lists.values().map(Vec::len).sum::<usize>()
            + self.maps.values().map(BTreeMap::len).sum::<usize>()
    }

    fn is_empty(&self) -> bool {
        self.size() == 0 && self.timers.is_empty()
    }

    /// The earliest expiry of an entry, in batch time.
    fn next_expiry(&self) -> Option<i64> {
        let values = self.values.values().filter_map(|e| e.1);
        let lists = self.lists.values().flatten().filter_map(|e| e.1);
        let maps = self.maps.values().flat_map(BTreeMap::values).filter_map(|e| e.1);
        values.chain(lists).chain(maps).min()
    }
}

/// One key's state during a call: what the state variables read and write, and its timers
/// (Spark's `StatefulProcessorHandle` as seen under the implicit grouping key).
#[derive(Debug)]
pub struct KeyContext {
    store: KeyStore,
    now_ms: i64,
    time_mode: TimeMode,
    changed: bool,
}

impl KeyContext {
    /// Calls this key again through
    /// [`handle_expired_timer`](StatefulProcessor::handle_expired_timer) once the clock of
    /// the time mode reaches `expiry_ms` (Spark's `registerTimer`); registering a time twice
    /// keeps one timer.
    pub fn register_timer(&mut self, expiry_ms: i64) -> Result<(), TimerError> {
        if self.time_mode == TimeMode::None {
            return Err(TimerError::NoTimeMode);
        }
        self.changed |= self.store.timers.insert(expiry_ms);
        Ok(())
    }

    /// Removes the timer at `expiry_ms`, if there is one (Spark's `deleteTimer`).
    pub fn delete_timer(&mut self, expiry_ms: i64) -> Result<(), TimerError> {
        if self.time_mode == TimeMode::None {
            return Err(TimerError::NoTimeMode);
        }
        self.changed |= self.store.timers.remove(&expiry_ms);
        Ok(())
    }

    /// The key's timers, earliest first (Spark's `listTimers`).
    pub fn list_timers(&self) -> Vec<i64> {
        self.store.timers.iter().copied().collect()
    }

    /// When an entry written now expires.
    fn expiry(&self, ttl_ms: Option<i64>) -> Option<i64> {
        ttl_ms.map(|ttl| self.now_ms.saturating_add(ttl))
    }
}

fn encode<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    match bincode::serialize(value) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::error!("a state value could not be serialized, so it is not kept: {e}");
            None
        }
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match bincode::deserialize(bytes) {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::error!("a state value could not be read back, so it reads as absent: {e}");
            None
        }
    }
}

/// A single value per key (Spark's `ValueState[T]`), made by
/// [`ProcessorHandle::get_value_state`]. It names the variable; the key's value lives in the
/// [`KeyContext`] each call is given.
#[derive(Debug)]
pub struct ValueState<T> {
    name: String,
    ttl_ms: Option<i64>,
    _type: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> ValueState<T> {
    /// Whether the key has a value (Spark's `exists`).
    pub fn exists(&self, ctx: &KeyContext) -> bool {
        ctx.store
            .values
            .get(&self.name)
            .is_some_and(|e| live(e, ctx.now_ms))
    }

    /// The key's value (Spark's `get`, `None` where Spark answers null).
    pub fn get(&self, ctx: &KeyContext) -> Option<T> {
        let entry = ctx.store.values.get(&self.name).filter(|e| live(e, ctx.now_ms))?;
        decode(&entry.0)
    }

    /// Sets the key's value, its time to live starting now (Spark's `update`).
    pub fn update(&self, ctx: &mut KeyContext, value: &T) {
        if let Some(bytes) = encode(value) {
            let expiry = ctx.expiry(self.ttl_ms);
            ctx.store.values.insert(self.name.clone(), (bytes, expiry));
            ctx.changed = true;
        }
    }

    /// Removes the key's value (Spark's `clear`).
    pub fn clear(&self, ctx: &mut KeyContext) {
        ctx.changed |= ctx.store.values.remove(&self.name).is_some();
    }
}

/// A list of values per key (Spark's `ListState[T]`), made by
/// [`ProcessorHandle::get_list_state`]; each element has its own time to live.
#[derive(Debug)]
pub struct ListState<T> {
    name: String,
    ttl_ms: Option<i64>,
    _type: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> ListState<T> {
    /// Whether the key's list has an element (Spark's `exists`).
    pub fn exists(&self, ctx: &KeyContext) -> bool {
        ctx.store
            .lists
            .get(&self.name)
            .is_some_and(|list| list.iter().any(|e| live(e, ctx.now_ms)))
    }

    /// The key's list, in the order it was written (Spark's `get`).
    pub fn get(&self, ctx: &KeyContext) -> Vec<T> {
        ctx.store
            .lists
            .get(&self.name)
            .into_iter()
            .flatten()
            .filter(|e| live(e, ctx.now_ms))
            .filter_map(|e| decode(&e.0))
            .collect()
    }

    /// Replaces the key's list (Spark's `put`).
    pub fn put(&self, ctx: &mut KeyContext, values: &[T]) {
        self.clear(ctx);
        self.append_list(ctx, values);
    }

    /// Adds one element at the end (Spark's `appendValue`).
    pub fn append_value(&self, ctx: &mut KeyContext, value: &T) {
        self.append_list(ctx, std::slice::from_ref(value));
    }

    /// Adds elements at the end, in order (Spark's `appendList`).
    pub fn append_list(&self, ctx: &mut KeyContext, values: &[T]) {
        let expiry = ctx.expiry(self.ttl_ms);
        let entries: Vec<Entry> = values.iter().filter_map(encode).map(|b| (b, expiry)).collect();
        if !entries.is_empty() {
            ctx.store
                .lists
                .entry(self.name.clone())
                .or_default()
                .extend(entries);
            ctx.changed = true;
        }
    }

    /// Removes the key's list (Spark's `clear`).
    pub fn clear(&self, ctx: &mut KeyContext) {
        ctx.changed |= ctx.store.lists.remove(&self.name).is_some();
    }
}

/// A map per key (Spark's `MapState[K, V]`), made by [`ProcessorHandle::get_map_state`]; each
/// entry has its own time to live. Entries are kept in the order of their serialized keys.
#[derive(Debug)]
pub struct MapState<K, V> {
    name: String,
    ttl_ms: Option<i64>,
    _type: PhantomData<fn() -> (K, V)>,
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> MapState<K, V> {
    fn entries<'c>(&self, ctx: &'c KeyContext) -> impl Iterator<Item = (&'c Vec<u8>, &'c Entry)> + 'c {
        let now = ctx.now_ms;
        ctx.store
            .maps
            .get(&self.name)
            .into_iter()
            .flatten()
            .filter(move |(_, e)| live(e, now))
    }

    /// Whether the key's map has an entry (Spark's `exists`).
    pub fn exists(&self, ctx: &KeyContext) -> bool {
        self.entries(ctx).next().is_some()
    }

    /// The value at `key` (Spark's `getValue`).
    pub fn get_value(&self, ctx: &KeyContext, key: &K) -> Option<V> {
        let bytes = encode(key)?;
        let entry = ctx.store.maps.get(&self.name)?.get(&bytes)?;
        live(entry, ctx.now_ms).then(|| decode(&entry.0)).flatten()
    }

    /// Whether the map holds `key` (Spark's `containsKey`).
    pub fn contains_key(&self, ctx: &KeyContext, key: &K) -> bool {
        let Some(bytes) = encode(key) else {
            return false;
        };
        ctx.store
            .maps
            .get(&self.name)
            .and_then(|map| map.get(&bytes))
            .is_some_and(|e| live(e, ctx.now_ms))
    }

    /// Sets the value at `key`, its time to live starting now (Spark's `updateValue`).
    pub fn update_value(&self, ctx: &mut KeyContext, key: &K, value: &V) {
        let (Some(key), Some(value)) = (encode(key), encode(value)) else {
            return;
        };
        let expiry = ctx.expiry(self.ttl_ms);
        ctx.store
            .maps
            .entry(self.name.clone())
            .or_default()
            .insert(key, (value, expiry));
        ctx.changed = true;
    }

    /// The map's entries (Spark's `iterator`).
    pub fn iter(&self, ctx: &KeyContext) -> Vec<(K, V)> {
        self.entries(ctx)
            .filter_map(|(k, e)| Some((decode(k)?, decode(&e.0)?)))
            .collect()
    }

    /// The map's keys (Spark's `keys`).
    pub fn keys(&self, ctx: &KeyContext) -> Vec<K> {
        self.entries(ctx).filter_map(|(k, _)| decode(k)).collect()
    }

    /// The map's values (Spark's `values`).
    pub fn values(&self, ctx: &KeyContext) -> Vec<V> {
        self.entries(ctx).filter_map(|(_, e)| decode(&e.0)).collect()
    }

    /// Removes the entry at `key` (Spark's `removeKey`).
    pub fn remove_key(&self, ctx: &mut KeyContext, key: &K) {
        let Some(bytes) = encode(key) else {
            return;
        };
        if let Some(map) = ctx.store.maps.get_mut(&self.name) {
            ctx.changed |= map.remove(&bytes).is_some();
            if map.is_empty() {
                ctx.store.maps.remove(&self.name);
            }
        }
    }

    /// Removes the whole map (Spark's `clear`).
    pub fn clear(&self, ctx: &mut KeyContext) {
        ctx.changed |= ctx.store.maps.remove(&self.name).is_some();
    }
}

/// What a processor's [`init`](StatefulProcessor::init) declares its state with (Spark's
/// `StatefulProcessorHandle` at `init`): each variable by a name unique in the processor, and
/// its time to live (`None`: kept until cleared).
#[derive(Debug)]
pub struct ProcessorHandle {
    time_mode: TimeMode,
    names: BTreeSet<String>,
    duplicates: Vec<String>,
    any_ttl: bool,
}

impl ProcessorHandle {
    fn declare(&mut self, name: &str, ttl: Option<Duration>) -> Option<i64> {
        if !self.names.insert(name.to_string()) {
            self.duplicates.push(name.to_string());
        }
        self.any_ttl |= ttl.is_some();
        ttl.map(|ttl| i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
    }

    /// The query's time mode.
    pub fn time_mode(&self) -> TimeMode {
        self.time_mode
    }

    /// Declares a [`ValueState`] (Spark's `getValueState`).
    pub fn get_value_state<T>(&mut self, name: &str, ttl: Option<Duration>) -> ValueState<T> {
        ValueState {
            ttl_ms: self.declare(name, ttl),
            name: name.to_string(),
            _type: PhantomData,
        }
    }

    /// Declares a [`ListState`] (Spark's `getListState`).
    pub fn get_list_state<T>(&mut self, name: &str, ttl: Option<Duration>) -> ListState<T> {
        ListState {
            ttl_ms: self.declare(name, ttl),
            name: name.to_string(),
            _type: PhantomData,
        }
    }

    /// Declares a [`MapState`] (Spark's `getMapState`).
    pub fn get_map_state<K, V>(&mut self, name: &str, ttl: Option<Duration>) -> MapState<K, V> {
        MapState {
            ttl_ms: self.declare(name, ttl),
            name: name.to_string(),
            _type: PhantomData,
        }
    }
}

/// A user's stateful processor (Spark 4's `StatefulProcessor`): rows in, rows out, with
/// named state per key and timers. One instance serves every worker, so calls take `&self`;
/// whatever changes per key belongs in its state.
pub trait StatefulProcessor: Send + Sync + 'static {
    /// Declares the state variables, once, before the query runs (Spark's `init`): keep the
    /// handles it returns in `self`.
    fn init(&mut self, handle: &mut ProcessorHandle);

    /// Called once per key and epoch with the key's rows of the epoch, in the order the source
    /// read them (Spark's `handleInputRows`); returns rows of the output schema.
    fn handle_input_rows(
        &self,
        key: &Row,
        rows: Vec<Row>,
        timer_values: &TimerValues,
        ctx: &mut KeyContext,
    ) -> Vec<Row>;

    /// Called once per timer of the key that expires, after its rows if it had any (Spark's
    /// `handleExpiredTimer`); the timer is gone by then. Does nothing unless overridden.
    fn handle_expired_timer(
        &self,
        key: &Row,
        timer_values: &TimerValues,
        expired_timer_info: &ExpiredTimerInfo,
        ctx: &mut KeyContext,
    ) -> Vec<Row> {
        let _ = (key, timer_values, expired_timer_info, ctx);
        Vec::new()
    }

    /// Called once when the last plan holding the processor is dropped (Spark's `close`).
    fn close(&self) {}
}

/// Calls the processor's `close` when the last copy of the function that runs it goes.
struct Closing<P: StatefulProcessor>(P);

impl<P: StatefulProcessor> Drop for Closing<P> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A processor made ready to run: its function on serialized state, and the timeout the
/// engine must wake its keys by.
pub(crate) struct Prepared {
    /// The function the engine calls per key.
    pub(crate) function: StateFunction,
    /// The engine's timeouts: the time mode's, or processing time for TTLs without one.
    pub(crate) timeout: GroupStateTimeout,
    /// State names declared twice in `init`.
    pub(crate) duplicates: Vec<String>,
}

/// Runs `processor`'s `init` and wraps it into a function on one serialized [`KeyStore`] per
/// key (see the [module documentation](self)).
pub(crate) fn prepare<P: StatefulProcessor>(mut processor: P, time_mode: TimeMode) -> Prepared {
    let mut handle = ProcessorHandle {
        time_mode,
        names: BTreeSet::new(),
        duplicates: Vec::new(),
        any_ttl: false,
    };
    processor.init(&mut handle);
    let timeout = match time_mode {
        TimeMode::EventTime => GroupStateTimeout::EventTime,
        TimeMode::ProcessingTime => GroupStateTimeout::ProcessingTime,
        // Entries with a TTL expire on processing time: keys wake for it.
        TimeMode::None if handle.any_ttl => GroupStateTimeout::ProcessingTime,
        TimeMode::None => GroupStateTimeout::None,
    };
    let processor = Closing(processor);
    let function = move |key: &Row, rows: Vec<Row>, state: &mut GroupState<Vec<u8>>| {
        call(&processor.0, time_mode, timeout, key, rows, state)
    };
    Prepared {
        function: StateFunction(
            Arc::new(function),
            StateApi::TransformWithState {
                ttl_wakes: handle.any_ttl && timeout == GroupStateTimeout::EventTime,
            },
        ),
        timeout,
        duplicates: handle.duplicates,
    }
}

/// When a key's serialized store asks to be called again on processing time: just before its
/// first entry expires (the engine calls a key once the batch time is past this, and an entry
/// expires once the batch time reaches its expiry).
pub(crate) fn ttl_deadline(bytes: &[u8]) -> Option<i64> {
    let store: KeyStore = decode(bytes)?;
    store.next_expiry().map(|expiry| expiry.saturating_sub(1))
}

/// One call of the engine for `key`: its rows (unless its timeout fired), then its expired
/// timers; the key's store is kept, or removed once empty, and its timeout set to what comes
/// next.
fn call<P: StatefulProcessor>(
    processor: &P,
    time_mode: TimeMode,
    timeout: GroupStateTimeout,
    key: &Row,
    rows: Vec<Row>,
    state: &mut GroupState<Vec<u8>>,
) -> Vec<Row> {
    let now_ms = state.get_current_processing_time_ms();
    let watermark_ms = state.get_current_watermark_ms();
    let existed = state.exists();
    let store: KeyStore = state.get().and_then(|bytes| decode(bytes)).unwrap_or_default();
    let mut ctx = KeyContext {
        store,
        now_ms,
        time_mode,
        changed: false,
    };
    ctx.changed |= ctx.store.evict(now_ms);
    let timer_values = TimerValues {
        processing_time_ms: now_ms,
        watermark_ms: match time_mode {
            TimeMode::EventTime => watermark_ms,
            _ => None,
        },
    };
    let mut out = Vec::new();
    if !state.has_timed_out() {
        out = processor.handle_input_rows(key, rows, &timer_values, &mut ctx);
    }
    let fire_by = match time_mode {
        TimeMode::None => None,
        TimeMode::ProcessingTime => Some(now_ms),
        TimeMode::EventTime => watermark_ms,
    };
    if let Some(fire_by) = fire_by {
        let due: Vec<i64> = ctx.store.timers.range(..=fire_by).copied().collect();
        for expiry_time_ms in due {
            ctx.store.timers.remove(&expiry_time_ms);
            ctx.changed = true;
            let info = ExpiredTimerInfo { expiry_time_ms };
            out.extend(processor.handle_expired_timer(key, &timer_values, &info, &mut ctx));
        }
    }
    if ctx.store.is_empty() {
        if existed {
            state.remove();
        }
        return out;
    }
    if ctx.changed || !existed {
        if let Some(bytes) = encode(&ctx.store) {
            state.update(bytes);
        }
    }
    // Wake the key when its next timer or expiry comes: the engine calls a key once its
    // timeout is passed (`at < time`), a timer fires once reached (`at <= time`).
    let set = match timeout {
        GroupStateTimeout::None => Ok(()),
        GroupStateTimeout::ProcessingTime => {
            let timers = match time_mode {
                TimeMode::ProcessingTime => ctx.store.timers.first().copied(),
                _ => None,
            };
            match timers.into_iter().chain(ctx.store.next_expiry()).min() {
                Some(at) => state.set_timeout_duration(at.saturating_sub(1).saturating_sub(now_ms).max(0)),
                None => Ok(()),
            }
        }
        GroupStateTimeout::EventTime => match ctx.store.timers.first() {
            Some(&at) => match state.set_timeout_timestamp(at.saturating_sub(1)) {
                // A timer already due (registered by a handler) fires once the watermark
                // moves on.
                Err(TimeoutError::BeforeWatermark { watermark_ms, .. }) => {
                    state.set_timeout_timestamp(watermark_ms.saturating_add(1))
                }
                other => other,
            },
            None => Ok(()),
        },
    };
    if let Err(e) = set {
        tracing::error!("a key's next timer could not be set: {e}");
    }
    out
}
