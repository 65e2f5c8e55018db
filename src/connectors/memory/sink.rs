//! [`MemorySink`]: keeps a query's output in memory, readable from code.

use std::sync::{Arc, Mutex};

use crate::connectors::{Batch, Sink, SinkError};
use crate::data::{OutputMode, Row};

/// The table a memory sink fills: in complete mode the latest whole result, otherwise every
/// row of every batch in order (as Spark's memory sink). Also keeps each batch separately.
#[derive(Clone, Debug, Default)]
pub struct MemoryTable {
    inner: Arc<Mutex<TableState>>,
}

#[derive(Debug, Default)]
struct TableState {
    rows: Vec<Row>,
    batches: Vec<(u64, Vec<Row>)>,
}

impl MemoryTable {
    /// The table's rows now.
    pub fn rows(&self) -> Vec<Row> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).rows.clone()
    }

    /// Every batch received, as `(batch id, rows)`.
    pub fn batches(&self) -> Vec<(u64, Vec<Row>)> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .batches
            .clone()
    }
}

/// `format("memory")`: writes into a [`MemoryTable`].
#[derive(Debug)]
pub struct MemorySink {
    name: String,
    table: MemoryTable,
}

impl MemorySink {
    /// A sink filling `table`, described by `name` (the query name).
    pub fn new(name: &str, table: MemoryTable) -> Self {
        MemorySink {
            name: name.to_string(),
            table,
        }
    }
}

impl Sink for MemorySink {
    fn description(&self) -> String {
        format!("MemorySink[{}]", self.name)
    }

    fn add_batch(&mut self, batch: &Batch<'_>) -> Result<(), SinkError> {
        let mut state = self.table.inner.lock().unwrap_or_else(|p| p.into_inner());
        // An epoch run again after a restart replaces what its first attempt wrote (and any
        // later epoch of that attempt), so the table holds each epoch once.
        if state.batches.iter().any(|(id, _)| *id >= batch.id) {
            state.batches.retain(|(id, _)| *id < batch.id);
            state.rows = match batch.mode {
                OutputMode::Complete => Vec::new(),
                _ => state
                    .batches
                    .iter()
                    .flat_map(|(_, rows)| rows.iter().cloned())
                    .collect(),
            };
        }
        if batch.mode == OutputMode::Complete {
            state.rows = batch.rows.to_vec();
        } else {
            state.rows.extend_from_slice(batch.rows);
        }
        state.batches.push((batch.id, batch.rows.to_vec()));
        Ok(())
    }
}
