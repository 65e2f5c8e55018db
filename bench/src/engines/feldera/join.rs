//! The `join` workload: transactions joined with the static users table, counted and summed
//! per country.
//!
//! Both sides are inputs of the circuit, indexed by user: the users table, read from the CSV
//! file every engine reads (inside the timed run), is fed once, in the first epoch's
//! transaction; the transactions are fed one transaction per epoch. dbsp's incremental `join`
//! maps each transaction to `(country, amount)`, and the linear aggregate
//! `aggregate_linear` sums `(1, amount)` per country into `(count, sum)`. dbsp has no
//! stream-static join: its join keeps both sides' integrals, the transactions' too, although
//! only the first epoch needs them (the users change only then).

use dbsp::utils::Tup2;
use dbsp::{IndexedZSetHandle, ZWeight};

use super::driver::{inserted, Changes, Driver};
use crate::data::Transaction;
use crate::digest::Digest;
use crate::engines::EngineRun;

/// A country's `(count, sum of amounts)`.
type Totals = Tup2<i64, i64>;

/// The circuit's handles: the users `(user_id → country)` and the transactions
/// `(user_id → amount)` in, the per-country totals' changes out.
struct Handles {
    users: IndexedZSetHandle<i64, String>,
    transactions: IndexedZSetHandle<i64, i64>,
    totals: Changes<String, Totals>,
}

/// Runs the workload over `transactions`, `per_epoch` an epoch, joined with the users table
/// read from `users_csv`, on `workers` dbsp worker threads.
pub(super) fn run(
    transactions: &[Transaction],
    users_csv: &std::path::Path,
    per_epoch: usize,
    workers: usize,
) -> anyhow::Result<EngineRun> {
    let mut epochs: Vec<Vec<Tup2<i64, Tup2<i64, ZWeight>>>> = transactions
        .chunks(per_epoch.max(1))
        .map(|chunk| {
            chunk
                .iter()
                .map(|&(user, amount)| Tup2(user, Tup2(amount, 1)))
                .collect()
        })
        .collect();
    let (mut driver, handles) = Driver::start(workers, |circuit| {
        let (users, users_input) = circuit.add_input_indexed_zset::<i64, String>();
        let (transactions, transactions_input) = circuit.add_input_indexed_zset::<i64, i64>();
        let totals = transactions
            .join_index(&users, |_user, amount, country| {
                std::iter::once((country.clone(), *amount))
            })
            .aggregate_linear(|amount: &i64| Tup2(1i64, *amount));
        Ok(Handles {
            users: users_input,
            transactions: transactions_input,
            totals: totals.accumulate_output(),
        })
    })?;
    let mut users = Some(users_table(users_csv)?);
    let mut digest = Digest::default();
    driver.epochs(
        epochs.iter_mut(),
        |batch| {
            if let Some(mut users) = users.take() {
                handles.users.append(&mut users);
            }
            handles.transactions.append(batch);
            Ok(())
        },
        |epoch| {
            // Sorted by country again, so the digest does not depend on dbsp's key order.
            let mut rows = inserted(&handles.totals);
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            digest.epoch_sums(
                epoch,
                rows.iter()
                    .map(|(country, Tup2(count, sum))| (country.as_str(), *count, *sum)),
            );
            Ok(())
        },
    )?;
    driver.finish(&digest)
}

/// The users table as the circuit's input: read from the CSV file as the other engines read
/// it, one `(user_id, country)` row each.
fn users_table(users_csv: &std::path::Path) -> anyhow::Result<Vec<Tup2<i64, Tup2<String, ZWeight>>>> {
    let users = crate::data::read_users_csv(users_csv)?;
    Ok(users
        .into_iter()
        .map(|(user, country)| Tup2(user, Tup2(country, 1)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::hashmap_loop;

    #[test]
    fn join_agrees_with_the_loop_on_1_and_2_workers() {
        let join = hashmap_loop::SmallJoin::new();
        for workers in [1, 2] {
            let run = run(&join.transactions, &join.users, join.per_epoch, workers).expect("runs");
            assert_eq!(run.digest, join.expected, "{workers} workers");
        }
    }
}
