//! What every `feldera` circuit shares: building it on dbsp's worker threads with the clock
//! started, one `transaction()` per epoch with the epoch's time taken, reading a
//! transaction's output rows, and the run's report at the end.

use std::time::Instant;

use dbsp::typed_batch::{IndexedZSetReader, SpineSnapshot};
use dbsp::{DBData, DBSPHandle, OrdIndexedZSet, OrdZSet, OutputHandle, RootCircuit, Runtime, ZWeight};

use crate::digest::Digest;
use crate::engines::EngineRun;

/// The output handle of a stream of changes to an indexed Z-set, read through
/// `accumulate_output()` so that every internal step of a transaction is kept.
pub(super) type Changes<K, V> = OutputHandle<SpineSnapshot<OrdIndexedZSet<K, V>>>;

/// A circuit being run epoch by epoch, with the run's clock and each epoch's time.
pub(super) struct Driver {
    circuit: DBSPHandle,
    started: Instant,
    epoch_ms: Vec<f64>,
}

impl Driver {
    /// Starts the clock and builds the circuit on `workers` dbsp worker threads (the clock
    /// starts with the circuit, as Tidewater's starts with its query); `build` returns the
    /// circuit's input and output handles.
    pub(super) fn start<T, F>(workers: usize, build: F) -> anyhow::Result<(Driver, T)>
    where
        F: FnOnce(&mut RootCircuit) -> anyhow::Result<T> + Clone + Send + 'static,
        T: Send + 'static,
    {
        let started = Instant::now();
        let (circuit, handles) =
            Runtime::init_circuit(workers.max(1), build).map_err(|e| anyhow::anyhow!("dbsp circuit: {e}"))?;
        let driver = Driver {
            circuit,
            started,
            epoch_ms: Vec::new(),
        };
        Ok((driver, handles))
    }

    /// Runs epoch `epoch` as one transaction: `feed` hands the epoch's batches to the input
    /// handles (reading them first where the run reads its input), and `read` digests the
    /// transaction's output; the whole is the epoch's time.
    fn epoch(
        &mut self,
        epoch: u64,
        feed: impl FnOnce() -> anyhow::Result<()>,
        read: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let epoch_started = Instant::now();
        feed()?;
        self.transaction(epoch)?;
        read()?;
        self.epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
        Ok(())
    }

    /// Runs one epoch (see [`epoch`](Self::epoch)) per item of `batches`, in order, numbered
    /// from 0: `feed` hands an epoch's item to the input handles, `read(epoch)` digests the
    /// epoch's output.
    pub(super) fn epochs<B>(
        &mut self,
        batches: impl IntoIterator<Item = B>,
        mut feed: impl FnMut(B) -> anyhow::Result<()>,
        mut read: impl FnMut(u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        for (epoch, batch) in batches.into_iter().enumerate() {
            let epoch = epoch as u64;
            self.epoch(epoch, || feed(batch), || read(epoch))?;
        }
        Ok(())
    }

    /// Runs one transaction with whatever the inputs hold (nothing, for an epoch without data),
    /// counted in the run's time but not as an epoch of its own.
    pub(super) fn transaction(&mut self, epoch: u64) -> anyhow::Result<()> {
        self.circuit
            .transaction()
            .map_err(|e| anyhow::anyhow!("dbsp transaction {epoch}: {e}"))
    }

    /// Stops the clock, shuts the workers down and reports the run with `digest`'s value and
    /// the process's peak memory.
    pub(super) fn finish(self, digest: &Digest) -> anyhow::Result<EngineRun> {
        self.finish_with(digest.value())
    }

    /// Stops the clock, shuts the workers down and reports the run with the digest `digest`
    /// (for a run whose digest is computed elsewhere, outside the clock).
    pub(super) fn finish_with(self, digest: String) -> anyhow::Result<EngineRun> {
        let seconds = self.started.elapsed().as_secs_f64();
        self.circuit
            .kill()
            .map_err(|_| anyhow::anyhow!("a dbsp worker panicked"))?;
        Ok(EngineRun::measured(seconds, self.epoch_ms, digest))
    }
}

/// The rows a transaction inserted into an indexed Z-set, in dbsp's key order: a changed row
/// is retracted with its old value and inserted with its new one, and the insertions are the
/// epoch's changed rows. The batches of all workers and internal steps are concatenated and
/// consolidated first, so that a retraction and an insertion of the same row cancel.
pub(super) fn inserted<K: DBData, V: DBData>(output: &Changes<K, V>) -> Vec<(K, V)> {
    output
        .concat()
        .consolidate()
        .iter()
        .filter(|(_, _, weight)| *weight > 0)
        .map(|(key, value, _)| (key, value))
        .collect()
}

/// Every row whose weight a transaction changed, with the change: for the output of a query
/// whose rows are retracted as well as inserted (the sum of every transaction's changes is the
/// result).
pub(super) fn changed_rows<K: DBData>(output: &OutputHandle<SpineSnapshot<OrdZSet<K>>>) -> Vec<(K, ZWeight)> {
    output
        .concat()
        .consolidate()
        .iter()
        .map(|(row, (), weight)| (row, weight))
        .collect()
}

/// The rows a transaction inserted into a Z-set, each with its weight (how many times it was
/// inserted), in dbsp's order; as [`inserted`], retractions are left out.
pub(super) fn inserted_rows<K: DBData>(
    output: &OutputHandle<SpineSnapshot<OrdZSet<K>>>,
) -> Vec<(K, ZWeight)> {
    let mut rows = changed_rows(output);
    rows.retain(|(_, weight)| *weight > 0);
    rows
}
