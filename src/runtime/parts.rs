//! Writing an epoch on every worker (see [`Sink::part_writer`]; append mode, and update mode
//! when its output has no retraction): each worker
//! streams the rows it computed into its own part as they come, so that no row crosses to
//! worker 0 and an epoch is never held whole anywhere. When the epoch is complete on a
//! worker, its part is made durable and reported to worker 0, which commits the epoch once
//! the probe shows every worker done.
//!
//! [`Sink::part_writer`]: crate::connectors::Sink::part_writer

use std::collections::BTreeMap;
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::connectors::{PartFile, PartWriter, SourceEvent};
use crate::data::{Row, Schema};

/// A part being written at one time, or why it cannot be.
type Part = Result<(Box<dyn PartFile>, u64), String>;

/// Writes the rows of `rows` (inserted rows only: append mode has no others, nor has update
/// mode's output when it is written in parts, see `parts_written_by_workers`) with `writer` on
/// the worker that computed them, one part per epoch and worker, and returns, per epoch, the part
/// written ([`SourceEvent::PartWritten`]) or the failure ([`SourceEvent::PartFailed`]).
pub(super) fn write_parts<'s>(
    rows: StreamVec<'s, u64, (Row, u64, isize)>,
    writer: Arc<dyn PartWriter>,
    schema: Schema,
) -> StreamVec<'s, u64, (SourceEvent, u64, isize)> {
    let worker = rows.scope().index();
    rows.unary_frontier::<CapacityContainerBuilder<Vec<(SourceEvent, u64, isize)>>, _, _, _>(
        Pipeline,
        "Write parts",
        move |_initial, _info| {
            // `_initial` is dropped at once: a capability is taken for each epoch with rows,
            // and released when its part is reported.
            let mut open: BTreeMap<u64, (Capability<u64>, Part)> = BTreeMap::new();
            move |(input, frontier), output| {
                let port = output.output_index();
                input.for_each_stamp(|cap, containers| {
                    for container in containers {
                        for (row, time, diff) in container.drain(..) {
                            if diff <= 0 {
                                continue;
                            }
                            let (_, part) = open.entry(time).or_insert_with(|| {
                                let part =
                                    writer
                                        .open(&schema, time, worker)
                                        .map(|file| (file, 0))
                                        .map_err(|e| {
                                            format!("cannot open worker {worker}'s part of batch {time}: {e}")
                                        });
                                (cap.delayed(&time, port), part)
                            });
                            let failed = match part {
                                Ok((file, written)) => (0..diff).find_map(|_| {
                                    *written += 1;
                                    file.write(&row).err()
                                }),
                                Err(_) => None,
                            };
                            if let Some(e) = failed {
                                *part = Err(format!(
                                    "cannot write worker {worker}'s part of batch {time}: {e}"
                                ));
                            }
                        }
                    }
                });
                while let Some(entry) = open.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (time, (cap, part)) = entry.remove_entry();
                    let event = match part {
                        Ok((file, rows)) => match file.finish() {
                            Ok(name) => SourceEvent::PartWritten { name, rows },
                            Err(e) => SourceEvent::PartFailed {
                                message: format!("cannot finish worker {worker}'s part of batch {time}: {e}"),
                            },
                        },
                        Err(message) => SourceEvent::PartFailed { message },
                    };
                    output.session(&cap).give((event, time, 1));
                }
            }
        },
    )
}
