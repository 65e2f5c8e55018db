//! The word count: lines in, split into words and counted inside the circuit.

use dbsp::utils::Tup2;
use dbsp::{ZSetHandle, ZWeight};

use super::driver::{inserted, Changes, Driver};
use crate::digest::Digest;
use crate::engines::EngineRun;

/// The circuit's handles: the lines in, the counts' changes out.
type Handles = (ZSetHandle<String>, Changes<String, ZWeight>);

/// Runs the word count over `lines`, `lines_per_epoch` lines an epoch, on `workers` threads.
pub(super) fn run(lines: &[String], lines_per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    let mut epochs: Vec<Vec<Tup2<String, ZWeight>>> = lines
        .chunks(lines_per_epoch.max(1))
        .map(|chunk| chunk.iter().map(|line| Tup2(line.clone(), 1)).collect())
        .collect();
    let (mut driver, (input, output)) = Driver::start(workers, |circuit| {
        let (lines, input) = circuit.add_input_zset::<String>();
        let counts = lines
            .flat_map(|line: &String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
            .weighted_count();
        Ok::<Handles, _>((input, counts.accumulate_output()))
    })?;
    let mut digest = Digest::default();
    driver.epochs(
        epochs.iter_mut(),
        |batch| {
            input.append(batch);
            Ok(())
        },
        |epoch| {
            // The rows come sorted by word already; sorting again costs a scan and keeps the
            // digest independent of how dbsp orders its keys.
            let mut rows = inserted(&output);
            rows.sort_unstable();
            digest.epoch(epoch, rows);
            Ok(())
        },
    )?;
    driver.finish(&digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::hashmap_loop;

    #[test]
    fn word_count_agrees_with_the_loop_on_1_2_and_4_workers() {
        let lines = crate::data::zipf_lines(7, 20_000, 300);
        let expected = hashmap_loop::word_count(&lines, 97).digest;
        for workers in [1, 2, 4] {
            assert_eq!(
                run(&lines, 97, workers).expect("runs").digest,
                expected,
                "{workers} workers"
            );
        }
    }

    #[test]
    fn an_epoch_writes_only_its_changed_words_with_their_new_counts() {
        // By hand: epoch 0 sees a×2, b×1; epoch 1 sees b×1, c×1; epoch 2 sees a×1.
        let lines: Vec<String> = ["a b a", "b c", "a"].iter().map(|s| s.to_string()).collect();
        let mut expected = Digest::default();
        expected.epoch(0, [("a", 2), ("b", 1)]);
        expected.epoch(1, [("b", 2), ("c", 1)]);
        expected.epoch(2, [("a", 3)]);
        for workers in [1, 2] {
            assert_eq!(run(&lines, 1, workers).expect("runs").digest, expected.value());
        }
    }
}
