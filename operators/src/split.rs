//! One stream of timestamped records split in two, each record moved to its side.
//!
//! An operator that emits two kinds of record (rows and figures, say) down one output, read by
//! two `flat_map`s, has every container cloned for the first reader. Partitioned first, each
//! side is read once, and its records move.

use timely::dataflow::operators::vec::Partition as _;
use timely::dataflow::StreamVec;

/// Timestamped records `(record, epoch, diff)`.
type Records<'scope, D> = StreamVec<'scope, u64, (D, u64, isize)>;

/// `stream` split by `second`: the records for which it holds, then the others, as
/// `(others, those)`.
pub(crate) fn split_in_two<'scope, D: 'static>(
    stream: Records<'scope, D>,
    second: impl Fn(&D) -> bool + 'static,
) -> (Records<'scope, D>, Records<'scope, D>) {
    let mut parts = stream.partition(2, move |record| (u64::from(second(&record.0)), record));
    let those = parts.pop().expect("a partition into two makes two streams");
    let others = parts.pop().expect("a partition into two makes two streams");
    (others, those)
}
