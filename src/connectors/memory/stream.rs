//! [`MemoryStream`]: a source fed from code, like Spark's `MemoryStream`.

use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use smallvec::SmallVec;

use crate::connectors::{LocalRows, ReadStatus, Source, SourceError, SourceReader, Wake};
use crate::data::{Row, Schema};

/// A trailing segment smaller than this takes the next rows added, instead of a new segment
/// starting: rows added one at a time do not make a segment each.
const SMALL_SEGMENT: usize = 4096;

/// Rows added together, from offset `start` on. Segments never change once readers may hold
/// them: workers copy rows out of a segment without holding the stream's lock.
#[derive(Debug)]
struct Segment {
    start: u64,
    rows: Arc<Vec<Row>>,
}

impl Segment {
    fn end(&self) -> u64 {
        self.start + self.rows.len() as u64
    }
}

/// Part of a segment: its rows, and the positions in it wanted.
type SegmentSlice = (Arc<Vec<Row>>, Range<usize>);

#[derive(Debug, Default)]
struct Shared {
    segments: Vec<Segment>,
    ended: bool,
    wakers: Vec<Wake>,
}

impl Shared {
    /// Rows added so far: the offset of the next row.
    fn len(&self) -> u64 {
        self.segments.last().map_or(0, Segment::end)
    }
}

/// A stream of rows added from code with [`MemoryStream::add_data`]; [`MemoryStream::end`]
/// exhausts it, after which a query reading it finishes.
///
/// ```
/// use tidewater::prelude::*;
/// let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
/// input.add_data([row!["a b"], row!["b"]]);
/// input.end();
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStream {
    schema: Schema,
    shared: Arc<Mutex<Shared>>,
}

impl MemoryStream {
    /// An empty stream of rows of `schema`.
    pub fn new(schema: Schema) -> Self {
        MemoryStream {
            schema,
            shared: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A poisoned lock only means another thread panicked mid-push; the rows are still valid.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends rows; running queries see them in a later epoch.
    pub fn add_data(&self, rows: impl IntoIterator<Item = Row>) {
        // Collected before the lock is taken: a `Vec` handed over whole keeps its buffer, so
        // a large batch is not copied.
        let rows: Vec<Row> = rows.into_iter().collect();
        let mut shared = self.lock();
        let start = shared.len();
        let small_tail = shared
            .segments
            .last_mut()
            .filter(|last| last.rows.len() < SMALL_SEGMENT)
            .and_then(|last| Arc::get_mut(&mut last.rows));
        match small_tail {
            Some(tail) => tail.extend(rows),
            None if !rows.is_empty() => shared.segments.push(Segment {
                start,
                rows: Arc::new(rows),
            }),
            None => {}
        }
        shared.wakers.iter().for_each(Wake::wake);
    }

    /// Ends the stream: queries finish once they have processed every row.
    pub fn end(&self) {
        let mut shared = self.lock();
        shared.ended = true;
        shared.wakers.iter().for_each(Wake::wake);
    }

    /// The schema of the rows.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl LocalRows for MemoryStream {
    fn for_each_slice(&self, range: Range<u64>, f: &mut dyn FnMut(&[Row])) {
        if range.is_empty() {
            return;
        }
        // The segments are taken under the lock and read after it is released, so workers
        // copying their shares at once do not wait for each other.
        let parts: SmallVec<[SegmentSlice; 2]> = {
            let shared = self.lock();
            let first = shared.segments.partition_point(|s| s.end() <= range.start);
            shared.segments[first..]
                .iter()
                .take_while(|s| s.start < range.end)
                .map(|s| {
                    let from = range.start.saturating_sub(s.start) as usize;
                    let to = (range.end.min(s.end()) - s.start) as usize;
                    (s.rows.clone(), from..to)
                })
                .collect()
        };
        for (rows, within) in &parts {
            f(&rows[within.clone()]);
        }
    }
}

impl Source for MemoryStream {
    fn description(&self) -> String {
        format!("MemoryStream[{}]", self.schema.names().join(","))
    }

    fn schema(&self) -> Schema {
        self.schema.clone()
    }

    fn open(&self, wake: Wake) -> Result<Box<dyn SourceReader>, SourceError> {
        self.lock().wakers.push(wake);
        Ok(Box::new(MemoryReader {
            stream: self.clone(),
            position: 0,
            limit: None,
        }))
    }

    fn local_rows(&self) -> Option<Arc<dyn LocalRows>> {
        Some(Arc::new(self.clone()))
    }
}

/// A query's position in a [`MemoryStream`].
struct MemoryReader {
    stream: MemoryStream,
    /// The offset of the next row to claim.
    position: u64,
    /// `Trigger::AvailableNow`: the offset the query ends at.
    limit: Option<u64>,
}

impl SourceReader for MemoryReader {
    fn poll(&mut self, out: &mut Vec<Row>, max: usize) -> Result<ReadStatus, SourceError> {
        let from = self.position;
        let (claimed, status) = self.claim(max)?;
        self.stream
            .for_each_slice(from..from + claimed as u64, &mut |rows| {
                out.extend_from_slice(rows)
            });
        Ok(status)
    }

    fn claim(&mut self, max: usize) -> Result<(usize, ReadStatus), SourceError> {
        let shared = self.stream.lock();
        let len = shared.len();
        let end = self.limit.unwrap_or(len).min(len);
        let claimed = (end - self.position).min(max as u64);
        self.position += claimed;
        let done = self.position == end && (shared.ended || self.limit.is_some());
        let status = if done {
            ReadStatus::Exhausted
        } else {
            ReadStatus::Open
        };
        Ok((claimed as usize, status))
    }

    fn end_at_available_now(&mut self) {
        self.limit = Some(self.stream.lock().len());
    }

    fn resume(&mut self, consumed: u64, _records: &[Row], _position: Option<&serde_json::Value>) {
        self.position = consumed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row;

    fn offsets(stream: &MemoryStream, range: Range<u64>) -> Vec<i64> {
        let mut seen = Vec::new();
        stream.for_each_slice(range, &mut |rows| {
            seen.extend(rows.iter().map(|r| r[0].as_i64().expect("an integer")))
        });
        seen
    }

    #[test]
    fn rows_are_read_by_offset_across_segments() {
        let stream = MemoryStream::new(Schema::new([crate::data::Field::new(
            "n",
            crate::data::DataType::Int64,
        )]));
        // A large batch makes a segment of its own; small ones then share the next segment.
        stream.add_data((0..5000).map(|n| row![n as i64]));
        stream.add_data([row![5000i64]]);
        stream.add_data([row![5001i64], row![5002i64]]);
        assert_eq!(stream.lock().segments.len(), 2);
        assert_eq!(offsets(&stream, 4998..5003), vec![4998, 4999, 5000, 5001, 5002]);
        assert_eq!(
            offsets(&stream, 5001..9000),
            vec![5001, 5002],
            "past the end is left out"
        );
        assert_eq!(offsets(&stream, 0..3), vec![0, 1, 2]);
        assert!(offsets(&stream, 7000..8000).is_empty());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 4999..4998;
        assert!(
            offsets(&stream, backwards).is_empty(),
            "an empty range reads nothing"
        );
    }

    #[test]
    fn a_reader_claims_what_is_there_and_ends_with_the_stream() {
        let stream = MemoryStream::new(Schema::new([crate::data::Field::new(
            "n",
            crate::data::DataType::Int64,
        )]));
        let mut reader = stream.open(Wake::current()).expect("opens");
        stream.add_data((0..10).map(|n| row![n as i64]));
        assert_eq!(reader.claim(4).expect("claims"), (4, ReadStatus::Open));
        let mut rows = Vec::new();
        assert_eq!(reader.poll(&mut rows, 100).expect("polls"), ReadStatus::Open);
        assert_eq!(rows.len(), 6);
        assert_eq!(
            rows[0][0].as_i64(),
            Some(4),
            "polling goes on where claiming stopped"
        );
        stream.end();
        assert_eq!(reader.claim(4).expect("claims"), (0, ReadStatus::Exhausted));
    }
}
