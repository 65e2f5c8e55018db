//! A per-user state machine with an event-time timeout: Spark's `flatMapGroupsWithState`
//! sessionization, in Rust.
//!
//! ```text
//! cargo run --release --example state_machine                 # generated data; ends by itself
//! cargo run --release --example state_machine -- --workers 2
//! ```
//!
//! Each user's actions (`view`, `cart`, `buy`) move a small state machine: browsing, then a
//! filled cart, then bought. A user idle for 30 s of event time (the watermark, 10 s behind
//! the latest action, passes their last action plus 30 s) ends their visit: the timeout writes
//! one row, how the visit ended (`bought`, `abandoned cart` or `browsed`) and its actions, and
//! removes the state. Visits end in epochs without new actions too, as the watermark moves.

use clap::Parser;
use serde::{Deserialize, Serialize};
use tidewater::prelude::*;

/// Runs the state machine over generated actions.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Epochs of generated data.
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Generated data: the seed.
    #[arg(long, default_value_t = 5)]
    seed: u64,
}

/// A small deterministic generator (SplitMix64), so every run prints the same batches.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

const SECOND: i64 = 1_000_000;

/// Where a user's visit stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
enum Stage {
    Browsing,
    Cart,
    Bought,
}

/// A user's visit so far: the state kept per user.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Visit {
    stage: Stage,
    actions: i64,
    last: i64,
}

/// One call per user and epoch: actions move the machine; a timeout ends the visit.
fn step(user: &Row, actions: Vec<Row>, state: &mut GroupState<Visit>) -> Vec<Row> {
    let user = user.first().cloned().unwrap_or(Value::Null);
    if state.has_timed_out() {
        let Some(visit) = state.get().cloned() else {
            return Vec::new();
        };
        state.remove();
        let ended = match visit.stage {
            Stage::Bought => "bought",
            Stage::Cart => "abandoned cart",
            Stage::Browsing => "browsed",
        };
        return vec![Row::from(vec![
            user,
            Value::from(ended),
            Value::Int(visit.actions),
        ])];
    }
    let mut visit = state.get().cloned().unwrap_or(Visit {
        stage: Stage::Browsing,
        actions: 0,
        last: i64::MIN,
    });
    for action in actions {
        let (Some(Value::Str(kind)), Some(Value::Timestamp(ts))) = (action.get(1), action.get(2)) else {
            continue;
        };
        visit.actions += 1;
        visit.last = visit.last.max(*ts);
        visit.stage = match (visit.stage, kind.as_str()) {
            (Stage::Bought, _) => Stage::Bought,
            (_, "buy") => Stage::Bought,
            (_, "cart") => Stage::Cart,
            (stage, _) => stage,
        };
    }
    let idle_until_ms = (visit.last + 30 * SECOND) / 1000;
    state.update(visit);
    if let Err(e) = state.set_timeout_timestamp(idle_until_ms) {
        eprintln!("a visit's timeout was refused: {e}");
    }
    Vec::new()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spark = Session::builder()
        .app_name("StateMachine")
        .cluster(args.cluster.config())
        .get_or_create()?;
    let actions_in = MemoryStream::new(Schema::new([
        Field::new("user", DataType::String),
        Field::new("action", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]));
    let visits = spark
        .read_stream()
        .memory(&actions_in)
        .with_watermark("ts", "10 seconds")?
        .group_by_key([col("user")])
        .flat_map_groups_with_state(
            OutputMode::Append,
            GroupStateTimeout::EventTime,
            step,
            Schema::new([
                Field::new("user", DataType::String),
                Field::new("ended", DataType::String),
                Field::new("actions", DataType::Int64),
            ]),
        )?;
    let query = visits
        .write_stream()
        .output_mode("append")
        .format("console")
        .option("truncate", "false")
        .start()?;
    let mut rng = Seeded(args.seed);
    // Event time moves 20 s an epoch; each epoch a few of six users act.
    for round in 0..args.rounds as i64 {
        let base = 1_767_225_600 * SECOND + round * 20 * SECOND;
        let actions: Vec<Row> = (0..4)
            .map(|_| {
                let user = format!("u{}", rng.below(6));
                let action = ["view", "view", "cart", "buy"][rng.below(4) as usize];
                row![
                    user.as_str(),
                    action,
                    Value::Timestamp(base + rng.below(20) as i64 * SECOND)
                ]
            })
            .collect();
        actions_in.add_data(actions);
        query.process_all_available()?;
    }
    actions_in.end();
    query.await_termination()?;
    if let Some(progress) = query.last_progress() {
        for operator in &progress.state_operators {
            println!(
                "{}: {} users with an open visit",
                operator.operator_name, operator.num_rows_total
            );
        }
    }
    Ok(())
}
