//! Deterministic workload data: the same seed gives the same records in every engine.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};

/// Words per generated line.
pub const WORDS_PER_LINE: usize = 10;

/// Lines of `WORDS_PER_LINE` words drawn from a Zipf(1.0) distribution over `vocabulary`
/// words named `w<rank>`, enough lines for `words` words in total.
pub fn zipf_lines(seed: u64, words: usize, vocabulary: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(vocabulary as f64, 1.0).expect("a vocabulary of at least one word");
    let lines = words.div_ceil(WORDS_PER_LINE);
    (0..lines)
        .map(|_| {
            let mut line = String::with_capacity(WORDS_PER_LINE * 7);
            for i in 0..WORDS_PER_LINE {
                if i > 0 {
                    line.push(' ');
                }
                let rank = zipf.sample(&mut rng) as usize;
                line.push('w');
                line.push_str(&rank.to_string());
            }
            // Keep the generator's state independent of formatting choices above.
            let _: u8 = rng.random();
            line
        })
        .collect()
}
