//! `feldera`: the word count written in the API of Feldera's incremental engine, the `dbsp`
//! crate, used as a library, so Tidewater can be compared with the fastest incremental engine
//! users would pick instead. Built only with `--features feldera` (dbsp is a heavy build);
//! without it the engine is skipped with that reason, as `spark` is when not installed.
//!
//! The circuit follows dbsp's tutorial and benches: the lines are an input Z-set, split into
//! words inside the circuit (the fair comparison: every other engine splits too), counted by
//! the incremental `weighted_count`; each epoch is one `transaction()`. The output goes through
//! `accumulate_output()` and `concat().consolidate()`, which gather every internal step of the
//! transaction (a plain `output()` keeps only the last one and gives wrong counts). A
//! transaction's change to the counts retracts each changed word's old count and inserts its
//! new one: the insertions are the epoch's changed rows, as every engine digests them.

use super::EngineRun;

/// Why the engine is skipped when the crate is built without it.
const NOT_BUILT: &str =
    "built without the `feldera` feature (cargo build --release -p tidewater-bench --features feldera)";

/// Whether the engine is built in: `Err` with the reason it is skipped otherwise.
pub fn available() -> Result<(), String> {
    if cfg!(feature = "feldera") {
        Ok(())
    } else {
        Err(NOT_BUILT.to_string())
    }
}

/// Runs the word count over `lines`, `lines_per_epoch` lines an epoch, on a dbsp circuit of
/// `workers` worker threads. The clock starts as the circuit is built (as Tidewater's starts
/// with its query) and stops after the last epoch's output is digested; the input batches are
/// prepared before it, as Tidewater's rows are.
#[cfg(feature = "feldera")]
pub fn word_count(lines: &[String], lines_per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    use std::time::Instant;

    use dbsp::typed_batch::IndexedZSetReader;
    use dbsp::utils::Tup2;
    use dbsp::{Runtime, ZWeight};

    use crate::digest::Digest;

    let mut epochs: Vec<Vec<Tup2<String, ZWeight>>> = lines
        .chunks(lines_per_epoch.max(1))
        .map(|chunk| chunk.iter().map(|line| Tup2(line.clone(), 1)).collect())
        .collect();
    let started = Instant::now();
    let (mut circuit, (input, output)) = Runtime::init_circuit(workers.max(1), |circuit| {
        let (lines, input) = circuit.add_input_zset::<String>();
        let counts = lines
            .flat_map(|line: &String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
            .weighted_count();
        Ok((input, counts.accumulate_output()))
    })
    .map_err(|e| anyhow::anyhow!("dbsp circuit: {e}"))?;
    let mut digest = Digest::default();
    let mut epoch_ms = Vec::with_capacity(epochs.len());
    for (epoch, batch) in epochs.iter_mut().enumerate() {
        let epoch_started = Instant::now();
        input.append(batch);
        circuit
            .transaction()
            .map_err(|e| anyhow::anyhow!("dbsp transaction {epoch}: {e}"))?;
        let changes = output.concat().consolidate();
        // The consolidated batch is sorted by word already; sorting again costs a scan and
        // keeps the digest independent of how dbsp orders its keys.
        let mut rows: Vec<(String, i64)> = changes
            .iter()
            .filter(|(_, _, weight)| *weight > 0)
            .map(|(word, count, _)| (word, count))
            .collect();
        rows.sort_unstable();
        digest.epoch(epoch as u64, rows);
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
    }
    let seconds = started.elapsed().as_secs_f64();
    circuit
        .kill()
        .map_err(|_| anyhow::anyhow!("a dbsp worker panicked"))?;
    Ok(EngineRun::measured(seconds, epoch_ms, digest.value()))
}

/// Without the `feldera` feature the engine is not built: fails with the reason.
#[cfg(not(feature = "feldera"))]
pub fn word_count(_lines: &[String], _lines_per_epoch: usize, _workers: usize) -> anyhow::Result<EngineRun> {
    anyhow::bail!("the feldera engine is not built: {NOT_BUILT}")
}

#[cfg(all(test, feature = "feldera"))]
mod tests {
    use super::*;
    use crate::engines::hashmap_loop;

    #[test]
    fn word_count_agrees_with_the_loop_on_1_2_and_4_workers() {
        let lines = crate::data::zipf_lines(7, 20_000, 300);
        let expected = hashmap_loop::word_count(&lines, 97).digest;
        for workers in [1, 2, 4] {
            assert_eq!(
                word_count(&lines, 97, workers).expect("runs").digest,
                expected,
                "{workers} workers"
            );
        }
    }

    #[test]
    fn an_epoch_writes_only_its_changed_words_with_their_new_counts() {
        // By hand: epoch 0 sees a×2, b×1; epoch 1 sees b×1, c×1; epoch 2 sees a×1.
        let lines: Vec<String> = ["a b a", "b c", "a"].iter().map(|s| s.to_string()).collect();
        let mut expected = crate::digest::Digest::default();
        expected.epoch(0, [("a", 2), ("b", 1)]);
        expected.epoch(1, [("b", 2), ("c", 1)]);
        expected.epoch(2, [("a", 3)]);
        for workers in [1, 2] {
            assert_eq!(
                word_count(&lines, 1, workers).expect("runs").digest,
                expected.value()
            );
        }
    }
}
