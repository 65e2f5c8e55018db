//! The `nexmark` workload: the Nexmark queries that Tidewater runs (q0 to q5, q7, q8), each a
//! dbsp circuit, over the JSON-lines files of `crate::nexmark`.
//!
//! Input, as Tidewater reads it: one file of each kind the query uses an epoch (Tidewater's
//! `maxFilesPerTrigger` 1), read and parsed with serde_json into typed records inside the
//! epoch, a share of the lines on each of `--workers` threads (as Tidewater's workers each
//! read a share; dbsp's workers wait for their input meanwhile), then fed to the circuit's input Z-sets in one `transaction()`. A record has every
//! field of the schema Tidewater declares, as Tidewater decodes every declared column; the
//! circuit's rows keep the fields the queries use. The three inputs are
//! Z-sets of tuples whose first field is `dateTime`, so that a batch's last row holds its
//! greatest event time (what `waterline_monotonic` reads).
//!
//! The circuits (inside them, all the per-event work):
//!
//! - q0: the bids stream is the output.
//! - q1: `map` to the price in thousandths (`0.908 * price` is an exact DECIMAL of scale 3 in
//!   Tidewater, as in Spark; `908 * price` thousandths is the same number, written with three
//!   decimals for the digest).
//! - q2: `filter` on `auction % 123 = 0`, then `map` to `(auction, price)`.
//! - q3: the persons of OR, ID and CA indexed by id, the auctions of category 10 by seller, and
//!   the incremental `join`; both sides are kept whole, as in Tidewater.
//! - q4: auctions indexed by id and bids by auction, joined (both sides kept whole, as in
//!   Tidewater), the bids made while their auction was open kept, the highest per auction by
//!   `aggregate(Max)`, then each category's sum and count of those by `aggregate_linear`; the
//!   average is their quotient, taken when the row is written. Its rows are retracted as well
//!   as inserted (an auction's maximum rises): the result compared is the sum of every
//!   transaction's changes, as Tidewater's complete mode writes it.
//! - q5: each bid in its five sliding windows (10 s every 2 s), counted per window and auction
//!   by `weighted_count`, the greatest count per window by `aggregate(Max)`, joined back to the
//!   counts, and the counts that reach it kept; every window is kept, and the result is the
//!   sum of the changes, as for q4.
//! - q7: the watermark of the bids (1 s) and Spark's epoch rules as the `windowed` circuit has
//!   them (`windowed.rs`): late bids dropped by `controlled_key_filter`, each 10 s window's
//!   highest `(price, auction, bidder, dateTime)` kept by `chain_aggregate` (the bids are
//!   append-only, so the maximum needs one value a window, not the bids' integral), and the
//!   `window` operator writes each window once, as the watermark closes it.
//! - q8: the watermark is the least of the persons' and the auctions' (Spark's global
//!   watermark), late events are dropped, persons are indexed by `(id, window start)` and
//!   auctions by `(seller, window start)`, joined, and `distinct` gives one row per person and
//!   window (the SQL's `GROUP BY`). A row is written when its join first matches and is never
//!   retracted, so it is written before its window closes, where Tidewater writes it as the
//!   window closes: the comparison keeps the windows both close, and the rows are the same. The
//!   join and the `distinct` keep their state for every window.
//!
//! Windowed queries end with a transaction without data, which applies the last epoch's
//! watermark (Spark's last batch without data).
//!
//! The clock: as Tidewater's timed run, it covers one run from building the circuit to the
//! last transaction, with every epoch's listing, reading and parsing of the files, the
//! transaction, and the output read off the circuit (consolidated, and its inserted rows
//! copied out and dropped: a sink that writes nothing, as Tidewater's `noop`). The digest comes
//! from a second, untimed run, whose rows are written in canonical text and compared as
//! Tidewater's are (`engines/nexmark.rs`).

use std::path::Path;

use anyhow::{bail, Context};
use dbsp::operator::Max;
use dbsp::typed_batch::SpineSnapshot;
use dbsp::utils::{Tup2, Tup3, Tup4, Tup5};
use dbsp::{DBData, OrdZSet, OutputHandle, RootCircuit, Stream, TypedBox, ZSetHandle, ZWeight};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::driver::{changed_rows, inserted_rows, Driver};
use super::windowed::{closing_range, ended_by, epoch_watermarks, Watermark, NO_WATERMARK};
use crate::engines::nexmark::{canonical_text, Compared, Query, DELAY_S};
use crate::engines::EngineRun;

/// Nexmark's tumbling windows, ms.
const WINDOW_MS: i64 = 10_000;

/// The watermark's delay, ms (Tidewater's).
const DELAY_MS: i64 = DELAY_S * 1000;

// The records as read from their JSON lines: every field of the schema Tidewater declares
// (`engines/nexmark.rs`), as Tidewater decodes every declared column, so that parsing does the
// same work in both. The fields named with a leading `_` are parsed, and read by no query.

/// A person as read from its JSON line.
#[derive(Deserialize)]
struct Person {
    id: i64,
    name: String,
    #[serde(rename = "emailAddress")]
    _email_address: String,
    #[serde(rename = "creditCard")]
    _credit_card: String,
    city: String,
    state: String,
    #[serde(rename = "dateTime")]
    date_time: i64,
    #[serde(rename = "extra")]
    _extra: String,
}

/// An auction as read from its JSON line.
#[derive(Deserialize)]
struct Auction {
    id: i64,
    #[serde(rename = "itemName")]
    _item_name: String,
    #[serde(rename = "description")]
    _description: String,
    #[serde(rename = "initialBid")]
    _initial_bid: i64,
    #[serde(rename = "reserve")]
    _reserve: i64,
    #[serde(rename = "dateTime")]
    date_time: i64,
    expires: i64,
    seller: i64,
    category: i64,
    #[serde(rename = "extra")]
    _extra: String,
}

/// A bid as read from its JSON line.
#[derive(Deserialize)]
struct Bid {
    auction: i64,
    bidder: i64,
    price: i64,
    #[serde(rename = "channel")]
    _channel: String,
    #[serde(rename = "url")]
    _url: String,
    #[serde(rename = "dateTime")]
    date_time: i64,
    extra: String,
}

/// A person in the circuit: `(dateTime, id, name, city, state)`.
type PersonRow = Tup5<i64, i64, String, String, String>;
/// An auction in the circuit: `(dateTime, id, seller, category, expires)`.
type AuctionRow = Tup5<i64, i64, i64, i64, i64>;
/// A bid in the circuit: `(dateTime, auction, bidder, price, extra)`.
type BidRow = Tup5<i64, i64, i64, i64, String>;

/// A stream of the circuit.
type Rows<T> = Stream<RootCircuit, OrdZSet<T>>;

/// The circuit's three inputs, as streams.
struct Inputs {
    persons: Rows<PersonRow>,
    auctions: Rows<AuctionRow>,
    bids: Rows<BidRow>,
}

/// The circuit's handles: the three inputs in, the query's rows out.
struct Handles<R: DBData> {
    persons: ZSetHandle<PersonRow>,
    auctions: ZSetHandle<AuctionRow>,
    bids: ZSetHandle<BidRow>,
    output: OutputHandle<SpineSnapshot<OrdZSet<R>>>,
}

/// One query as the engine runs it, its rows of type `R`.
struct Plan<R> {
    /// The kinds of event it reads (folders of the data).
    kinds: &'static [&'static str],
    /// Builds its circuit over the inputs.
    circuit: fn(&Inputs) -> Rows<R>,
    /// A row's fields in canonical text, in the columns of the query's SQL.
    fields: fn(&R) -> Vec<String>,
    /// Whether it is windowed (and ends with a transaction without data).
    windowed: bool,
    /// Whether its rows are retracted as well as inserted (Tidewater runs it in complete
    /// mode): the result is the sum of every transaction's changes.
    complete: bool,
}

/// The queries the engine runs.
pub(crate) const QUERIES: [&str; 8] = ["q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8"];

/// Runs `query` over the folders under `dir` on `workers` dbsp worker threads; the digest keeps
/// the windows closed by `watermark_ms`, as Tidewater's does.
pub(super) fn run(dir: &Path, query: &Query, workers: usize, watermark_ms: i64) -> anyhow::Result<EngineRun> {
    match query.name {
        "q0" => measure(dir, query, workers, watermark_ms, &Q0),
        "q1" => measure(dir, query, workers, watermark_ms, &Q1),
        "q2" => measure(dir, query, workers, watermark_ms, &Q2),
        "q3" => measure(dir, query, workers, watermark_ms, &Q3),
        "q4" => measure(dir, query, workers, watermark_ms, &Q4),
        "q5" => measure(dir, query, workers, watermark_ms, &Q5),
        "q7" => measure(dir, query, workers, watermark_ms, &Q7),
        "q8" => measure(dir, query, workers, watermark_ms, &Q8),
        other => bail!(
            "{other} is not written for the feldera engine; it runs {}",
            QUERIES.join(", ")
        ),
    }
}

/// One timed run whose output goes nowhere, then an untimed run for the digest.
fn measure<R: DBData>(
    dir: &Path,
    query: &Query,
    workers: usize,
    watermark_ms: i64,
    plan: &Plan<R>,
) -> anyhow::Result<EngineRun> {
    let mut run = run_once(dir, workers, plan, drop)?;
    let mut compared = Compared::new(*query, watermark_ms);
    // A Z-set holds equal rows once with their count as weight (two identical bids), where
    // the other engines write each: a weight of n is n rows.
    let mut add = |row: &R, weight: ZWeight| {
        let fields = (plan.fields)(row);
        for _ in 0..weight {
            compared.add(fields.clone());
        }
    };
    if plan.complete {
        let mut result: std::collections::BTreeMap<R, ZWeight> = Default::default();
        run_once(dir, workers, plan, |rows| {
            for (row, weight) in rows {
                *result.entry(row).or_default() += weight;
            }
        })?;
        for (row, weight) in &result {
            if *weight < 0 {
                bail!("the result retracts a row more often than it inserts it");
            }
            add(row, *weight);
        }
    } else {
        run_once(dir, workers, plan, |rows| {
            for (row, weight) in rows {
                add(&row, weight);
            }
        })?;
    }
    run.digest = compared.value();
    Ok(run)
}

/// Runs `plan` once, epoch by epoch, handing each transaction's inserted rows (with their
/// weights; for a [`complete`](Plan::complete) query, every change) to `sink`.
fn run_once<R: DBData>(
    dir: &Path,
    workers: usize,
    plan: &Plan<R>,
    mut sink: impl FnMut(Vec<(R, ZWeight)>),
) -> anyhow::Result<EngineRun> {
    let circuit = plan.circuit;
    let (mut driver, handles) = Driver::start(workers, move |root| Ok(build(root, circuit)))?;
    let parts = parts(dir, plan.kinds)?;
    driver.epochs(
        parts.iter(),
        |part| feed(dir, part, plan.kinds, workers, &handles),
        |_| {
            sink(if plan.complete {
                changed_rows(&handles.output)
            } else {
                inserted_rows(&handles.output)
            });
            Ok(())
        },
    )?;
    if plan.windowed {
        driver.transaction(parts.len() as u64)?;
        sink(inserted_rows(&handles.output));
    }
    driver.finish_with(String::new())
}

/// Builds the inputs and the query's circuit over them.
fn build<R: DBData>(root: &mut RootCircuit, circuit: fn(&Inputs) -> Rows<R>) -> Handles<R> {
    let (persons, persons_in) = root.add_input_zset::<PersonRow>();
    let (auctions, auctions_in) = root.add_input_zset::<AuctionRow>();
    let (bids, bids_in) = root.add_input_zset::<BidRow>();
    let output = circuit(&Inputs {
        persons,
        auctions,
        bids,
    });
    Handles {
        persons: persons_in,
        auctions: auctions_in,
        bids: bids_in,
        output: output.accumulate_output(),
    }
}

/// The files of the epochs, in order (`part-NNNNNN.json`; each kind has one of each name).
fn parts(dir: &Path, kinds: &[&str]) -> anyhow::Result<Vec<String>> {
    let kind = kinds.first().context("a query reads no kind of event")?;
    let folder = dir.join(kind);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&folder).with_context(|| format!("listing {}", folder.display()))? {
        let name = entry
            .with_context(|| format!("listing {}", folder.display()))?
            .file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".json") {
            names.push(name.into_owned());
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// Reads and parses the epoch's file of each kind, on `threads` threads, and hands its
/// records to the inputs.
fn feed<R: DBData>(
    dir: &Path,
    part: &str,
    kinds: &[&str],
    threads: usize,
    handles: &Handles<R>,
) -> anyhow::Result<()> {
    for &kind in kinds {
        let path = dir.join(kind).join(part);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let parsed = |what| format!("parsing a {what} of {}", path.display());
        match kind {
            "person" => {
                for mut rows in parse(&text, threads, person_row).with_context(|| parsed("person"))? {
                    handles.persons.append(&mut rows);
                }
            }
            "auction" => {
                for mut rows in parse(&text, threads, auction_row).with_context(|| parsed("auction"))? {
                    handles.auctions.append(&mut rows);
                }
            }
            "bid" => {
                for mut rows in parse(&text, threads, bid_row).with_context(|| parsed("bid"))? {
                    handles.bids.append(&mut rows);
                }
            }
            other => bail!("unknown kind of event `{other}`"),
        }
    }
    Ok(())
}

/// The JSON lines of `text` as rows of weight 1, parsed on `threads` threads, a share of the
/// lines each: the run has `threads` cores, and Tidewater's workers each read a share, whereas
/// dbsp's workers wait for their input while it is parsed.
fn parse<T: DeserializeOwned, Row: Send>(
    text: &str,
    threads: usize,
    row: fn(T) -> Row,
) -> anyhow::Result<Vec<Vec<Tup2<Row, ZWeight>>>> {
    let shares = line_shares(text, threads);
    if shares.len() == 1 {
        return Ok(vec![parse_lines(text, row)?]);
    }
    std::thread::scope(|scope| {
        let parsing: Vec<_> = shares
            .into_iter()
            .map(|share| scope.spawn(move || parse_lines(share, row)))
            .collect();
        parsing
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .map_err(|_| anyhow::anyhow!("a parsing thread panicked"))?
            })
            .collect()
    })
}

/// `text` cut into at most `shares` runs of whole lines of about the same length.
fn line_shares(text: &str, shares: usize) -> Vec<&str> {
    let mut cut = Vec::new();
    let mut rest = text;
    for left in (1..shares.max(1)).rev() {
        let target = rest.len() / (left + 1);
        let Some(newline) = rest.as_bytes()[target..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let (share, after) = rest.split_at(target + newline + 1);
        cut.push(share);
        rest = after;
    }
    cut.push(rest);
    cut
}

/// The JSON lines of `text` as records of type `T`, each as a row of weight 1.
fn parse_lines<T: DeserializeOwned, Row>(
    text: &str,
    row: fn(T) -> Row,
) -> anyhow::Result<Vec<Tup2<Row, ZWeight>>> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<T>()
        .map(|record| Ok(Tup2(row(record?), 1)))
        .collect()
}

/// A parsed person as the circuit's row.
fn person_row(p: Person) -> PersonRow {
    Tup5(p.date_time, p.id, p.name, p.city, p.state)
}

/// A parsed auction as the circuit's row.
fn auction_row(a: Auction) -> AuctionRow {
    Tup5(a.date_time, a.id, a.seller, a.category, a.expires)
}

/// A parsed bid as the circuit's row.
fn bid_row(b: Bid) -> BidRow {
    Tup5(b.date_time, b.auction, b.bidder, b.price, b.extra)
}

/// The start of the window holding `time`.
fn window_start(time: i64) -> i64 {
    time - time.rem_euclid(WINDOW_MS)
}

/// An integer field in canonical text.
fn int(value: i64) -> String {
    value.to_string()
}

/// q0, pass-through: `SELECT auction, bidder, price, dateTime, extra FROM bid`.
const Q0: Plan<BidRow> = Plan {
    kinds: &["bid"],
    circuit: |inputs| inputs.bids.clone(),
    fields: |Tup5(time, auction, bidder, price, extra)| {
        vec![
            int(*auction),
            int(*bidder),
            int(*price),
            int(*time),
            extra.clone(),
        ]
    },
    windowed: false,
    complete: false,
};

/// q1, currency conversion: `0.908 * price`, kept as thousandths.
const Q1: Plan<BidRow> = Plan {
    kinds: &["bid"],
    circuit: |inputs| {
        inputs
            .bids
            .map(|Tup5(time, auction, bidder, price, extra): &BidRow| {
                Tup5(*time, *auction, *bidder, price * 908, extra.clone())
            })
    },
    fields: |Tup5(time, auction, bidder, thousandths, extra)| {
        vec![
            int(*auction),
            int(*bidder),
            canonical_text(&decimal_3(*thousandths)),
            int(*time),
            extra.clone(),
        ]
    },
    windowed: false,
    complete: false,
};

/// `thousandths` / 1000 as a DECIMAL of scale 3 writes it.
fn decimal_3(thousandths: i64) -> String {
    let sign = if thousandths < 0 { "-" } else { "" };
    let abs = thousandths.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

/// q2, selection: `SELECT auction, price FROM bid WHERE auction % 123 = 0`.
const Q2: Plan<Tup2<i64, i64>> = Plan {
    kinds: &["bid"],
    circuit: |inputs| {
        inputs
            .bids
            .filter(|bid: &BidRow| bid.1 % 123 == 0)
            .map(|bid: &BidRow| Tup2(bid.1, bid.3))
    },
    fields: |Tup2(auction, price)| vec![int(*auction), int(*price)],
    windowed: false,
    complete: false,
};

/// q3's row: `(name, city, state, auction id)`.
type Q3Row = Tup4<String, String, String, i64>;

/// q3, local item suggestion: the sellers in OR, ID or CA of auctions in category 10.
const Q3: Plan<Q3Row> = Plan {
    kinds: &["person", "auction"],
    circuit: |inputs| {
        let sellers = inputs
            .persons
            .filter(|p: &PersonRow| matches!(p.4.as_str(), "OR" | "ID" | "CA"))
            .map_index(|p: &PersonRow| (p.1, Tup3(p.2.clone(), p.3.clone(), p.4.clone())));
        let auctions = inputs
            .auctions
            .filter(|a: &AuctionRow| a.3 == 10)
            .map_index(|a: &AuctionRow| (a.2, a.1));
        sellers.join(&auctions, |_seller, Tup3(name, city, state), id| {
            Tup4(name.clone(), city.clone(), state.clone(), *id)
        })
    },
    fields: |Tup4(name, city, state, id)| vec![name.clone(), city.clone(), state.clone(), int(*id)],
    windowed: false,
    complete: false,
};

/// q4's row: `(category, sum of the closing prices, auctions)`; the average is their quotient.
type Q4Row = Tup3<i64, i64, i64>;

/// q4, average closing price per category.
const Q4: Plan<Q4Row> = Plan {
    kinds: &["auction", "bid"],
    circuit: q4,
    fields: |Tup3(category, sum, auctions)| {
        let average = *sum as f64 / *auctions as f64;
        vec![int(*category), canonical_text(&format!("{average:?}"))]
    },
    windowed: false,
    complete: true,
};

/// q4's circuit: each auction's bids made while it was open (a join, both sides kept whole,
/// as in Tidewater), the highest per auction (`aggregate(Max)`, which retracts the old
/// maximum when a higher bid comes), then per category the sum and count of those
/// (`aggregate_linear`).
fn q4(inputs: &Inputs) -> Rows<Q4Row> {
    let auctions = inputs
        .auctions
        .map_index(|a: &AuctionRow| (a.1, Tup3(a.0, a.4, a.3)));
    let bids = inputs.bids.map_index(|b: &BidRow| (b.1, Tup2(b.0, b.3)));
    auctions
        .join_index(&bids, |id, Tup3(opened, expires, category), Tup2(time, price)| {
            (opened <= time && time <= expires).then_some((Tup2(*id, *category), *price))
        })
        .aggregate(Max)
        .map_index(|(Tup2(_, category), price)| (*category, *price))
        .aggregate_linear(|price: &i64| Tup2(*price, 1i64))
        .map(|(category, Tup2(sum, auctions))| Tup3(*category, *sum, *auctions))
}

/// q5's sliding windows: 10 s long, every 2 s, ms.
const Q5_SIZE_MS: i64 = 10_000;
const Q5_SLIDE_MS: i64 = 2_000;

/// q5's row: `(auction, bids, window start)`.
type Q5Row = Tup3<i64, i64, i64>;

/// q5, hot items: the auctions with the most bids of each sliding window.
const Q5: Plan<Q5Row> = Plan {
    kinds: &["bid"],
    circuit: q5,
    fields: |Tup3(auction, bids, start)| vec![int(*auction), int(*bids), int(*start)],
    windowed: false,
    complete: true,
};

/// q5's circuit: each bid in its five windows, counted per `(window start, auction)`
/// (`weighted_count`), the greatest count per window (`aggregate(Max)`), joined back to the
/// counts, and the counts that reach it kept. Every window is kept, as in Tidewater's complete
/// mode.
fn q5(inputs: &Inputs) -> Rows<Q5Row> {
    let counts = inputs
        .bids
        .flat_map(|b: &BidRow| {
            let (time, auction) = (b.0, b.1);
            let last = time - time.rem_euclid(Q5_SLIDE_MS);
            (0..Q5_SIZE_MS / Q5_SLIDE_MS)
                .map(move |k| last - k * Q5_SLIDE_MS)
                .filter(move |start| time < start + Q5_SIZE_MS)
                .map(move |start| Tup2(start, auction))
        })
        .weighted_count();
    let by_window = counts.map_index(|(Tup2(start, auction), bids)| (*start, Tup2(*auction, *bids)));
    let most = counts
        .map_index(|(Tup2(start, _), bids)| (*start, *bids))
        .aggregate(Max);
    by_window
        .join(&most, |start, Tup2(auction, bids), most| {
            Tup4(*auction, *bids, *start, *most)
        })
        .filter(|Tup4(_, bids, _, most)| bids >= most)
        .map(|Tup4(auction, bids, start, _)| Tup3(*auction, *bids, *start))
}

/// q7's row: `(auction, price, bidder, dateTime)`.
type Q7Row = Tup4<i64, i64, i64, i64>;

/// q7, highest bid: each closed 10 s window's bid of the highest price.
const Q7: Plan<Q7Row> = Plan {
    kinds: &["bid"],
    circuit: q7,
    fields: |Tup4(auction, price, bidder, time)| vec![int(*auction), int(*price), int(*bidder), int(*time)],
    windowed: true,
    complete: false,
};

/// q7's circuit (see the module's docs).
fn q7(inputs: &Inputs) -> Rows<Q7Row> {
    let seen = waterline(&inputs.bids, |bid| bid.0);
    let (previous, current) = epoch_watermarks(&seen);
    let bids = on_time(&inputs.bids, &previous, |bid| bid.0);
    // Per window, `(price, auction, bidder, dateTime)`: the greatest is a bid of the highest
    // price (of a tie, the greatest auction; the comparison keeps the price only).
    let highest = bids
        .map_index(|b: &BidRow| (window_start(b.0), Tup4(b.3, b.1, b.2, b.0)))
        .chain_aggregate(
            |bid: &Q7Row, _| *bid,
            |best: Q7Row, bid: &Q7Row, _| best.max(*bid),
        );
    highest
        .window((false, true), &closing_range(&previous, &current, WINDOW_MS))
        .map(|(_, Tup4(price, auction, bidder, time))| Tup4(*auction, *price, *bidder, *time))
}

/// q8's row: `(person id, name, window start)`.
type Q8Row = Tup3<i64, String, i64>;

/// q8, new users: the persons who created an auction in the 10 s window they registered in.
const Q8: Plan<Q8Row> = Plan {
    kinds: &["person", "auction"],
    circuit: q8,
    fields: |Tup3(id, name, start)| vec![int(*id), name.clone(), int(*start)],
    windowed: true,
    complete: false,
};

/// q8's circuit (see the module's docs).
fn q8(inputs: &Inputs) -> Rows<Q8Row> {
    let persons_seen = waterline(&inputs.persons, |p| p.0);
    let auctions_seen = waterline(&inputs.auctions, |a| a.0);
    // Spark's global watermark of a query over several streams: the least of theirs.
    let seen = persons_seen.apply2(&auctions_seen, |p: &Watermark, a: &Watermark| {
        TypedBox::new((**p).min(**a))
    });
    let (previous, _) = epoch_watermarks(&seen);
    let persons = on_time(&inputs.persons, &previous, |p| p.0)
        .map_index(|p: &PersonRow| (Tup2(p.1, window_start(p.0)), p.2.clone()));
    let sellers = on_time(&inputs.auctions, &previous, |a| a.0)
        .map_index(|a: &AuctionRow| (Tup2(a.2, window_start(a.0)), ()));
    persons
        .join(&sellers, |Tup2(id, start), name, ()| {
            Tup3(*id, name.clone(), *start)
        })
        .distinct()
}

/// The greatest event time seen less the delay, by `time` of a row whose order is its time's.
fn waterline<T: DBData>(rows: &Rows<T>, time: fn(&T) -> i64) -> Stream<RootCircuit, Watermark> {
    rows.waterline_monotonic(|| NO_WATERMARK, move |row: &T| time(row).saturating_sub(DELAY_MS))
}

/// The rows not late: those whose window had not ended by the previous epoch's watermark
/// (Spark's rule for late events).
fn on_time<T: DBData>(
    rows: &Rows<T>,
    previous: &Stream<RootCircuit, Watermark>,
    time: fn(&T) -> i64,
) -> Rows<T> {
    let (kept, _late) = rows.controlled_key_filter(
        previous,
        move |bound: &i64, row: &T| !ended_by(window_start(time(row)), WINDOW_MS, *bound),
        move |_, row: &T, _, _| time(row),
    );
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::nexmark::{final_watermark, query, tidewater};

    #[test]
    fn the_queries_agree_with_tidewater_on_1_and_2_workers() {
        // 250,000 events in 10 epochs of 2.5 s of event time: the windows [0 s, 10 s) and
        // [10 s, 20 s) are closed by the watermarks of epochs 5 and 9, within the data, and
        // [20 s, 30 s) stays open.
        let (events, seed) = (250_000, 5);
        let dir = tempfile::tempdir().expect("temporary directory");
        crate::nexmark::write(dir.path(), events, 25_000, seed).expect("data written");
        let watermark = final_watermark(crate::nexmark::last_times(events));
        for name in QUERIES {
            let query = query(name).expect("a known query");
            let expected = tidewater(dir.path(), query, 1, watermark)
                .expect("tidewater runs")
                .digest;
            assert!(
                !expected.ends_with("/0"),
                "{name} has rows to compare: {expected}"
            );
            for workers in [1, 2] {
                let run = run(dir.path(), query, workers, watermark).expect("runs");
                assert_eq!(run.digest, expected, "{name} on {workers} workers");
                assert_eq!(run.epoch_ms.len(), 10, "{name}: an epoch a file");
            }
        }
    }

    #[test]
    fn lines_are_shared_whole_and_in_order() {
        let text = "{\"a\":1}\n{\"a\":22}\n{\"a\":333}\n{\"a\":4}\n";
        for shares in [1, 2, 3, 4, 9] {
            let cut = line_shares(text, shares);
            assert!(cut.len() <= shares.max(1), "{shares}: {cut:?}");
            assert_eq!(cut.concat(), text, "{shares}");
            assert!(cut.iter().all(|s| s.is_empty() || s.ends_with('\n')), "{cut:?}");
        }
        assert_eq!(line_shares("", 2).concat(), "");
        assert_eq!(line_shares("{}", 2), vec!["{}"]);
    }

    #[test]
    fn q1_writes_the_price_as_a_decimal_of_scale_3() {
        assert_eq!(decimal_3(1_120_472), "1120.472");
        assert_eq!(decimal_3(908_000), "908.000");
        assert_eq!(decimal_3(-5), "-0.005");
    }
}
