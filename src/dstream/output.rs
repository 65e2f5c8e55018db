//! Output operations: `print`, `save_as_text_files`, `foreach_rdd`.
//!
//! Every output gathers its stream's changes on worker 0. When an epoch is complete, the driver
//! calls the output's [`Emitter`], which brings its copy of the batch up to date and, on the
//! stream's slide boundaries, hands the batch (sorted, so the same whatever the workers) to the
//! output's action.

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use timely::dataflow::operators::Probe;

use super::graph::{BuildCtx, BuildFn, Built, Data};
use super::show::Show;
use crate::connectors::SinkError;
use crate::runtime::capture;

/// A batch's time: the end of its interval, in milliseconds since the Unix epoch (Spark's
/// `Time`, printed as `1700000000000 ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    /// Milliseconds since the Unix epoch.
    pub fn milliseconds(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// What an output does with a batch: its elements, sorted, and the batch's time.
pub(crate) type Action<T> = Arc<Mutex<dyn FnMut(&[T], Time) -> Result<(), SinkError> + Send>>;

/// An output as the graph records it: built on every worker.
pub(crate) trait OutputSpec: Send + Sync {
    fn build(&self, cx: &mut BuildCtx<'_>);
}

/// Called by the driver on the leader once per finished epoch.
pub(crate) trait Emitter {
    fn emit(&mut self, epoch: u64, time: Time) -> Result<(), SinkError>;
}

/// An output of a stream of `T`.
pub(crate) struct Output<T: Data> {
    pub(crate) build: BuildFn<T>,
    /// In batches: the action runs at epochs `e` with `(e + 1) % slide == 0`.
    pub(crate) slide: u64,
    pub(crate) action: Action<T>,
}

impl<T: Data> OutputSpec for Output<T> {
    fn build(&self, cx: &mut BuildCtx<'_>) {
        let changes: Rc<RefCell<Vec<(T, u64, isize)>>> = Rc::new(RefCell::new(Vec::new()));
        // A stream whose elements live one batch is captured as its arrivals: its batch is
        // exactly what arrived at it, so the retraction of every element of the batch before
        // (a second record per element, through a `delay` and the capture) would only be
        // taken back out of the batch again.
        let (captured, fresh_each_batch) = match (self.build)(cx).one_batch_arrivals() {
            Ok(arrivals) if self.slide == 1 => (arrivals, true),
            Ok(arrivals) => (Built::arrivals(arrivals).contents(), false),
            Err(other) => (other.contents(), false),
        };
        // Moved to worker 0 whole, container by container, never cloned.
        capture(captured.inner, changes.clone()).probe_with(&cx.probe);
        cx.emitters.push(Box::new(OutputEmitter {
            changes,
            batch: Default::default(),
            fresh_each_batch,
            slide: self.slide,
            action: self.action.clone(),
        }));
    }
}

struct OutputEmitter<T> {
    changes: Rc<RefCell<Vec<(T, u64, isize)>>>,
    /// The stream's current batch with multiplicities. Hashed, not kept in order: most of a
    /// batch changes from one epoch to the next (each element of the last batch is retracted,
    /// each of the new one inserted), so ordering every change would cost more than sorting
    /// the batch once when an action reads it.
    batch: foldhash::HashMap<T, isize>,
    /// The changes are the batch's arrivals alone, so the batch is made from them each epoch
    /// and `batch` stays empty.
    fresh_each_batch: bool,
    slide: u64,
    action: Action<T>,
}

impl<T: Data> Emitter for OutputEmitter<T> {
    fn emit(&mut self, epoch: u64, time: Time) -> Result<(), SinkError> {
        let now: Vec<(T, u64, isize)> = {
            let mut changes = self.changes.borrow_mut();
            let (now, later) = changes.drain(..).partition(|(_, t, _)| *t <= epoch);
            *changes = later;
            now
        };
        let elements = if self.fresh_each_batch {
            batch_of_arrivals(now)
        } else {
            // The elements move in rather than being cloned.
            for (x, _, d) in now {
                crate::runtime::add_count_hashed(&mut self.batch, x, d);
            }
            if !(epoch + 1).is_multiple_of(self.slide) {
                return Ok(());
            }
            let mut sorted: Vec<(&T, isize)> = self.batch.iter().map(|(x, n)| (x, *n)).collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            sorted
                .into_iter()
                .flat_map(|(x, n)| std::iter::repeat_n(x, n.max(0) as usize).cloned())
                .collect()
        };
        let mut action = self.action.lock().unwrap_or_else(|p| p.into_inner());
        // The action may be user code: a panic fails the context instead of killing worker 0.
        let done = std::panic::catch_unwind(AssertUnwindSafe(|| (*action)(&elements, time))).unwrap_or_else(
            |panic| {
                Err(SinkError::UserFunction {
                    batch_id: epoch,
                    reason: format!("panicked: {}", crate::runtime::panic_message(panic.as_ref())),
                })
            },
        );
        // For recovery tests: one output has taken the batch, the others have not.
        crate::crash::crash_point("in-sink", epoch);
        done
    }
}

/// A batch made of its arrivals alone, sorted: each element as many times as it arrived. The
/// elements are moved, and cloned only to repeat one.
fn batch_of_arrivals<T: Data>(arrivals: Vec<(T, u64, isize)>) -> Vec<T> {
    let mut counted: Vec<(T, isize)> = arrivals.into_iter().map(|(x, _, d)| (x, d)).collect();
    differential_dataflow::consolidation::consolidate(&mut counted);
    let mut elements = Vec::with_capacity(counted.len());
    for (x, n) in counted {
        if n > 1 {
            elements.extend(std::iter::repeat_n(x.clone(), n as usize - 1));
        }
        if n > 0 {
            elements.push(x);
        }
    }
    elements
}

/// `print(num)`: Spark's format, to standard output.
pub(crate) fn print_action<T: Show>(num: usize) -> impl FnMut(&[T], Time) -> Result<(), SinkError> + Send {
    move |elements, time| {
        let text = format_batch(elements, time, num);
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) ends the output, not the program.
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        Ok(())
    }
}

/// A batch as `print` shows it: a header with the time between dashed lines, the first `num`
/// elements, `...` if there are more, and an empty line.
pub fn format_batch<T: Show>(elements: &[T], time: Time, num: usize) -> String {
    let rule = "-------------------------------------------";
    let mut text = format!("{rule}\nTime: {time}\n{rule}\n");
    for element in elements.iter().take(num) {
        element.show_into(&mut text);
        text.push('\n');
    }
    if elements.len() > num {
        text.push_str("...\n");
    }
    text.push('\n');
    text
}

/// `save_as_text_files(prefix, suffix)`: each batch into the directory
/// `prefix-<time ms>[.suffix]`, one element per line in `part-00000`, then `_SUCCESS`.
pub(crate) fn save_action<T: Show>(
    prefix: String,
    suffix: String,
) -> impl FnMut(&[T], Time) -> Result<(), SinkError> + Send {
    move |elements, time| {
        let mut name = format!("{prefix}-{}", time.milliseconds());
        if !suffix.is_empty() {
            name = format!("{name}.{suffix}");
        }
        let dir = PathBuf::from(name);
        let fail = |what: &str, e: std::io::Error| SinkError::Write {
            sink_name: "saveAsTextFiles".into(),
            batch_id: time.milliseconds(),
            reason: format!("{what} {}: {e}", dir.display()),
        };
        std::fs::create_dir_all(&dir).map_err(|e| fail("cannot create", e))?;
        let mut text = String::new();
        for element in elements {
            element.show_into(&mut text);
            text.push('\n');
        }
        // Written beside its final name and renamed, so a reader never sees half a file.
        let part = dir.join("part-00000");
        let temp = dir.join(".part-00000.tmp");
        std::fs::write(&temp, text).map_err(|e| fail("cannot write to", e))?;
        std::fs::rename(&temp, &part).map_err(|e| fail("cannot rename into", e))?;
        std::fs::write(dir.join("_SUCCESS"), "").map_err(|e| fail("cannot finish", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{batch_of_arrivals, format_batch, Time};

    /// Against the plain reading: every arrival repeated its count of times, then sorted.
    #[test]
    fn a_batch_of_arrivals_is_each_arrival_counted_and_sorted() {
        let words = ["b", "a", "b", "c", "a", "a", "d"];
        let arrivals: Vec<(String, u64, isize)> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), 4, 1 + (i % 3) as isize))
            .collect();
        let mut expected: Vec<String> = arrivals
            .iter()
            .flat_map(|(w, _, n)| std::iter::repeat_n(w.clone(), *n as usize))
            .collect();
        expected.sort();
        assert_eq!(batch_of_arrivals(arrivals), expected);
        assert!(batch_of_arrivals(Vec::<(u64, u64, isize)>::new()).is_empty());
    }

    #[test]
    fn print_shows_the_first_elements_and_an_ellipsis() {
        let elements = vec![("a".to_string(), 1u64), ("b".to_string(), 2)];
        assert_eq!(
            format_batch(&elements, Time(2000), 1),
            "-------------------------------------------\nTime: 2000 ms\n\
             -------------------------------------------\n(a,1)\n...\n\n"
        );
        assert_eq!(
            format_batch::<u64>(&[], Time(3000), 10),
            "-------------------------------------------\nTime: 3000 ms\n\
             -------------------------------------------\n\n"
        );
    }
}
