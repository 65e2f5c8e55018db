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

/// Distinct countries of the `join` workload's users table.
pub const COUNTRIES: u64 = 50;

/// A transaction of the `join` workload: `(user_id, amount)`.
pub type Transaction = (i64, i64);

/// `records` transactions: `user_id` drawn from a Zipf(1.0) distribution over the users
/// `1..=vocabulary`, `amount` uniform in `1..=1000`.
pub fn transactions(seed: u64, records: usize, vocabulary: usize) -> Vec<Transaction> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(vocabulary as f64, 1.0).expect("at least one user");
    (0..records)
        .map(|_| {
            let user_id = zipf.sample(&mut rng) as i64;
            let amount = rng.random_range(1..=1000);
            (user_id, amount)
        })
        .collect()
}

/// The country of a user, `c00` to `c49`: a fixed scramble of the id, so that popular users
/// (small ids) spread over the countries.
pub fn country_of(user_id: i64) -> String {
    let mixed = (user_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    format!("c{:02}", mixed % COUNTRIES)
}

/// The users table of the `join` workload: every user `1..=vocabulary` with its country.
pub fn users(vocabulary: usize) -> Vec<(i64, String)> {
    (1..=vocabulary as i64).map(|id| (id, country_of(id))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_data_is_deterministic_and_in_range() {
        let a = transactions(7, 1000, 100);
        assert_eq!(a, transactions(7, 1000, 100));
        assert!(a
            .iter()
            .all(|&(u, x)| (1..=100).contains(&u) && (1..=1000).contains(&x)));
        let users = users(10_000);
        let countries: std::collections::BTreeSet<&str> = users.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(countries.len(), COUNTRIES as usize);
        assert_eq!(country_of(3), users[2].1);
    }
}
