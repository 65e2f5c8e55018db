//! Shopping visits with Spark 4's `transformWithState`, in Rust: a `StatefulProcessor` with a
//! value, a list and a map per user, a time to live, and event-time timers.
//!
//! ```text
//! cargo run --release --example transform_with_state                 # generated data; ends by itself
//! cargo run --release --example transform_with_state -- --workers 2
//! ```
//!
//! Each user's actions (`view <page>`, `cart <item>`, `buy`) are kept per user: the pages
//! viewed and how often (a map), the items in the cart (a list, each item kept for an hour of
//! processing time), and the last action's time (a value). A timer 30 s of event time after
//! the last action ends the visit once the watermark (10 s behind the latest action) reaches
//! it: it writes one row (how the visit ended, the pages seen, the items left in the cart)
//! and clears the user's state. Visits end in epochs without new actions too.

use std::time::Duration;

use clap::Parser;
use tidewater::prelude::*;

/// Runs the visits over generated actions.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Epochs of generated data.
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Generated data: the seed.
    #[arg(long, default_value_t = 7)]
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
/// How long a user may be idle, in milliseconds of event time.
const IDLE_MS: i64 = 30_000;

/// The state variables, declared in `init`.
struct Variables {
    /// The last action's event time, in milliseconds.
    last: ValueState<i64>,
    /// The items in the cart, in the order they were put there.
    cart: ListState<String>,
    /// How often each page was viewed.
    views: MapState<String, i64>,
    /// Whether the user bought.
    bought: ValueState<bool>,
}

/// The processor: one instance serves every worker.
struct Visits(Option<Variables>);

impl StatefulProcessor for Visits {
    fn init(&mut self, handle: &mut ProcessorHandle) {
        self.0 = Some(Variables {
            last: handle.get_value_state("last", None),
            cart: handle.get_list_state("cart", Some(Duration::from_secs(3600))),
            views: handle.get_map_state("views", None),
            bought: handle.get_value_state("bought", None),
        });
    }

    fn handle_input_rows(
        &self,
        _: &Row,
        actions: Vec<Row>,
        _: &TimerValues,
        ctx: &mut KeyContext,
    ) -> Vec<Row> {
        let Some(v) = &self.0 else {
            return Vec::new();
        };
        let previous = v.last.get(ctx);
        let mut last = previous.unwrap_or(i64::MIN);
        for action in actions {
            let (Some(Value::Str(kind)), Some(Value::Str(what)), Some(Value::Timestamp(ts))) =
                (action.get(1), action.get(2), action.get(3))
            else {
                continue;
            };
            last = last.max(ts.div_euclid(1000));
            let what = what.to_string();
            match kind.as_str() {
                "view" => {
                    let seen = v.views.get_value(ctx, &what).unwrap_or(0);
                    v.views.update_value(ctx, &what, &(seen + 1));
                }
                "cart" => v.cart.append_value(ctx, &what),
                _ => v.bought.update(ctx, &true),
            }
        }
        // One timer per user: the idle time after the last action.
        if let Some(previous) = previous {
            if let Err(e) = ctx.delete_timer(previous + IDLE_MS) {
                eprintln!("a timer could not be deleted: {e}");
            }
        }
        v.last.update(ctx, &last);
        if let Err(e) = ctx.register_timer(last + IDLE_MS) {
            eprintln!("a timer could not be registered: {e}");
        }
        Vec::new()
    }

    fn handle_expired_timer(
        &self,
        user: &Row,
        _: &TimerValues,
        _: &ExpiredTimerInfo,
        ctx: &mut KeyContext,
    ) -> Vec<Row> {
        let Some(v) = &self.0 else {
            return Vec::new();
        };
        let cart = v.cart.get(ctx);
        let ended = match (v.bought.get(ctx).unwrap_or(false), cart.is_empty()) {
            (true, _) => "bought",
            (false, false) => "abandoned cart",
            (false, true) => "browsed",
        };
        let pages: i64 = v.views.values(ctx).into_iter().sum();
        v.last.clear(ctx);
        v.cart.clear(ctx);
        v.views.clear(ctx);
        v.bought.clear(ctx);
        vec![Row::from(vec![
            user.first().cloned().unwrap_or(Value::Null),
            Value::from(ended),
            Value::Int(pages),
            Value::from(cart.join(",")),
        ])]
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spark = Session::builder()
        .app_name("TransformWithState")
        .cluster(args.cluster.config())
        .get_or_create()?;
    let actions_in = MemoryStream::new(Schema::new([
        Field::new("user", DataType::String),
        Field::new("action", DataType::String),
        Field::new("what", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]));
    let visits = spark
        .read_stream()
        .memory(&actions_in)
        .with_watermark("ts", "10 seconds")?
        .group_by_key([col("user")])
        .transform_with_state(
            Visits(None),
            TimeMode::EventTime,
            OutputMode::Append,
            Schema::new([
                Field::new("user", DataType::String),
                Field::new("ended", DataType::String),
                Field::new("page_views", DataType::Int64),
                Field::new("left_in_cart", DataType::String),
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
                let (action, what) = match rng.below(4) {
                    0 | 1 => ("view", ["home", "shoes", "hats"][rng.below(3) as usize]),
                    2 => ("cart", ["boots", "cap"][rng.below(2) as usize]),
                    _ => ("buy", ""),
                };
                row![
                    user.as_str(),
                    action,
                    what,
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
