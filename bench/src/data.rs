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

/// The users table as every engine reads it: a CSV file with a `user_id,country` header.
pub fn users_csv(users: &[(i64, String)]) -> String {
    let mut csv = String::from("user_id,country\n");
    for (id, country) in users {
        csv.push_str(&format!("{id},{country}\n"));
    }
    csv
}

/// Reads a users CSV file (see [`users_csv`]) into a map from user to country, as a
/// hand-written program would: line by line, split at the comma. The baselines read the table
/// from the same file as Tidewater, so loading it is part of every engine's run.
pub fn read_users_csv(path: &std::path::Path) -> anyhow::Result<foldhash::HashMap<i64, String>> {
    let text = std::fs::read_to_string(path)?;
    let mut users = foldhash::HashMap::default();
    for (number, line) in text.lines().enumerate().skip(1) {
        let parsed = line
            .split_once(',')
            .and_then(|(id, country)| Some((id.parse().ok()?, country.to_string())));
        let Some((id, country)) = parsed else {
            anyhow::bail!("{}:{}: not a `user_id,country` line", path.display(), number + 1);
        };
        users.insert(id, country);
    }
    Ok(users)
}

/// An event of the `windowed` workload: `(key, event time in ms since the Unix epoch)`.
pub type Event = (String, i64);

/// Event time of the first event of the `windowed` workload: 2026-01-01 00:00:00 UTC, in ms.
pub const EVENTS_START_MS: i64 = 1_767_225_600_000;

/// `records` events in arrival order: keys drawn from a Zipf(1.0) distribution over
/// `vocabulary` keys named `k<rank>`; the `i`-th event happened at `EVENTS_START_MS + i` ms
/// less a delay uniform in `0..=max_delay_ms`. Event times advance with arrival, out of order,
/// and the disorder is bounded: no event is more than `max_delay_ms` older than any event that
/// arrived before it, so a watermark of that delay finds no late event.
pub fn events(seed: u64, records: usize, vocabulary: usize, max_delay_ms: i64) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(vocabulary as f64, 1.0).expect("a vocabulary of at least one key");
    (0..records)
        .map(|i| {
            let key = format!("k{}", zipf.sample(&mut rng) as usize);
            let delay = rng.random_range(0..=max_delay_ms.max(0));
            (key, EVENTS_START_MS + i as i64 - delay)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_deterministic_and_their_disorder_is_bounded() {
        let a = events(5, 20_000, 100, 2000);
        assert_eq!(a, events(5, 20_000, 100, 2000));
        let mut newest = i64::MIN;
        let mut out_of_order = 0;
        for (key, time) in &a {
            assert!(key.starts_with('k'));
            assert!(
                *time + 2000 > newest,
                "an event more than 2 s older than one before it"
            );
            out_of_order += usize::from(*time < newest);
            newest = newest.max(*time);
        }
        assert!(out_of_order > 1000, "events arrive out of order: {out_of_order}");
    }

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
