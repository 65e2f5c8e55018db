//! Generic timely/differential operators used by Tidewater.
//!
//! Nothing here knows about rows, schemas or SQL: every operator is generic over its keys,
//! values and accumulators, so it can be tested on integers and reused by any layer above.
//! Each operator lives in its own module, named after it.

pub mod aggregate;
mod as_of_table;
pub mod deduplicate;
pub mod epoch_reduce;
pub mod gather;
pub mod group_state;
pub mod keyed_epochs;
pub mod logged_collection;
pub mod lookup_aggregate;
pub mod lookup_join;
pub mod sessions;
mod split;
pub mod symmetric_join;
pub mod upsert;
pub mod watermark;

pub use aggregate::{
    aggregate_append_only_counted, aggregate_append_only_durable, aggregate_append_only_expiring,
    aggregate_append_only_expiring_durable, aggregate_append_only_flat, aggregate_append_only_into,
    AggregateAppendOnly, Aggregation, Changes, Count, Counted, Durable, Emit, Expiry, KeyFigures, KeyPrefix,
    Max, PartialStates, StateLog, Sum,
};
pub use as_of_table::TableRows;
pub use deduplicate::{deduplicate, Dedup, Figures, Remember};
pub use epoch_reduce::epoch_reduce;
pub use gather::{gather_sorted, gather_sorted_map, to_leader, WholeToLeader};
pub use group_state::{groups_with_state, GroupState, GroupsWithState, StateFigures, Timeout, TimeoutError};
pub use keyed_epochs::{keyed_epochs, EpochInput, EpochSchedule};
pub use logged_collection::logged_collection;
pub use lookup_aggregate::{lookup_aggregate_durable, lookup_aggregate_into, Table};
pub use lookup_join::lookup_join;
pub use sessions::{sessions, Session, SessionLog, SessionWatermark};
pub use symmetric_join::{
    min_watermark, symmetric_hash_join, JoinFigures, JoinLogic, JoinWatermark, KeyState,
};
pub use upsert::{upsert, upsert_logged};
pub use watermark::{
    drop_late, drop_late_after, drop_late_given, event_time_maxima, event_time_stats, EventTimeStats,
    WatermarkClock,
};
