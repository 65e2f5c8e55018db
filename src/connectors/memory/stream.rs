//! [`MemoryStream`]: a source fed from code, like Spark's `MemoryStream`.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::connectors::{ReadStatus, Source, SourceError, SourceReader, Wake};
use crate::data::{Row, Schema};

#[derive(Debug, Default)]
struct Shared {
    rows: Vec<Row>,
    ended: bool,
    wakers: Vec<Wake>,
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
        let mut shared = self.lock();
        if shared.rows.is_empty() {
            // A `Vec` handed over whole keeps its buffer: no copy of a large first batch.
            shared.rows = rows.into_iter().collect();
        } else {
            shared.rows.extend(rows);
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
}

struct MemoryReader {
    stream: MemoryStream,
    position: usize,
    limit: Option<usize>,
}

impl SourceReader for MemoryReader {
    fn poll(&mut self, out: &mut Vec<Row>, max: usize) -> Result<ReadStatus, SourceError> {
        let shared = self.stream.lock();
        let end = self.limit.unwrap_or(shared.rows.len()).min(shared.rows.len());
        let take_to = end.min(self.position.saturating_add(max));
        out.extend_from_slice(&shared.rows[self.position..take_to]);
        self.position = take_to;
        let done = self.position == end && (shared.ended || self.limit.is_some());
        Ok(if done {
            ReadStatus::Exhausted
        } else {
            ReadStatus::Open
        })
    }

    fn end_at_available_now(&mut self) {
        self.limit = Some(self.stream.lock().rows.len());
    }
}
