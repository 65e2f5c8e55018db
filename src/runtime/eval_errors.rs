//! Reporting the errors expressions raise under ANSI mode (see `expr::ansi`).
//!
//! An expression that fails keeps its error in a slot of the worker thread that evaluated it
//! and gives null. This operator watches the output of the query's dataflow on its worker: it
//! holds a capability at the epoch the output has not yet passed, and when the output's
//! frontier moves past that epoch (so every operator above it on this worker has finished the
//! epoch), it takes the worker's pending error, if any, and sends it as an event of that epoch
//! before letting go. The event reaches the leader under the same probe as the output, so the
//! leader sees it before it writes the epoch, and stops the query instead.

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

use crate::connectors::SourceEvent;
use crate::data::Row;
use crate::expr::FailureSlot;

/// The evaluation errors of the query, one event per epoch that had one.
pub(super) fn report<'s>(
    rows: StreamVec<'s, u64, (Row, u64, isize)>,
    slot: FailureSlot,
) -> StreamVec<'s, u64, (SourceEvent, u64, isize)> {
    rows.unary_frontier::<CapacityContainerBuilder<Vec<(SourceEvent, u64, isize)>>, _, _, _>(
        Pipeline,
        "Report evaluation errors",
        move |initial, _info| {
            let mut held = Some(initial);
            move |(input, frontier), output| {
                // Only the frontier matters here, not the rows.
                input.for_each_stamp(|_, _| {});
                let Some(cap) = held.as_mut() else {
                    return;
                };
                let next = frontier.frontier().iter().min().copied();
                if next.is_some_and(|t| t <= *cap.time()) {
                    return;
                }
                if let Some(error) = slot.take() {
                    let time = *cap.time();
                    output
                        .session(&*cap)
                        .give((SourceEvent::EvalFailed { error }, time, 1));
                }
                match next {
                    Some(t) => cap.downgrade(&t),
                    None => held = None,
                }
            }
        },
    )
}
