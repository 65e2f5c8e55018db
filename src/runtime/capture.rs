//! Capturing a dataflow's output on the leader: updates are moved into a buffer the leader
//! reads once the probe shows their epoch complete.

use std::cell::RefCell;
use std::rc::Rc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

/// Updates `(data, epoch, diff)` captured on the leader, shared between the dataflow operator
/// that fills the buffer and the driver that empties it.
pub(crate) type Captured<D> = Rc<RefCell<Vec<(D, u64, isize)>>>;

/// Moves every update of `updates`, from every worker, into `buffer` on worker 0 (each
/// container whole, see [`to_leader`](tidewater_operators::to_leader)), and returns a stream
/// with no data whose frontier is the input's: a probe on it passes a time only once the
/// time's updates are all in the buffer, since updates not yet taken hold the frontier back.
pub(crate) fn capture<'s, D: timely::ExchangeData>(
    updates: StreamVec<'s, u64, (D, u64, isize)>,
    buffer: Captured<D>,
) -> StreamVec<'s, u64, ()> {
    updates.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        tidewater_operators::to_leader(),
        "Capture",
        move |_initial, _info| {
            move |(input, _frontier), _output| {
                input.for_each_stamp(|_cap, containers| {
                    let mut buffer = buffer.borrow_mut();
                    for container in containers {
                        buffer.append(container);
                    }
                });
            }
        },
    )
}

/// Moves the updates of epochs up to and including `epoch` out of `buffer` and appends them
/// to `into`, leaving later epochs' updates, which may already be in, for later. When
/// all of the buffer is due, the two vectors swap, so that neither regrows from empty each
/// epoch.
pub(crate) fn take_through<D>(buffer: &Captured<D>, epoch: u64, into: &mut Vec<(D, u64, isize)>) {
    let mut buffer = buffer.borrow_mut();
    if into.is_empty() && buffer.iter().all(|(_, t, _)| *t <= epoch) {
        std::mem::swap(&mut *buffer, into);
        return;
    }
    let (now, later): (Vec<_>, Vec<_>) = buffer.drain(..).partition(|(_, t, _)| *t <= epoch);
    *buffer = later;
    into.extend(now);
}
