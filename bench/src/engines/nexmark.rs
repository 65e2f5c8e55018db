//! The `nexmark` workload: Nexmark's queries over the events of [`mod@crate::nexmark`], written
//! once as JSON-lines files (`person/`, `auction/`, `bid/`, one file per `--epoch-records`
//! events).
//!
//! - `tidewater`: the three folders read with `read_stream().schema(..).json(..)` and
//!   `maxFilesPerTrigger` 1 (one file of each kind an epoch), the event time `ts` =
//!   `timestamp_millis(dateTime)` with a one-second watermark (but for a query whose result
//!   changes rows, which runs in complete mode), registered as the views `person`, `auction`
//!   and `bid`; the query is the SQL text of `bench/nexmark/tidewater/`, run with
//!   `spark.sql(..)` as a user would. One run into the `noop` sink is timed; a second run into
//!   a `foreach_batch` sink gives the digest (of the last batch, in complete mode).
//! - `flink`: `bench/flink/nexmark.py` with the query of `bench/nexmark/flink/`.
//!
//! The digest is that of the multiset of result rows, in any order: each row's fields in a
//! canonical text (integers, doubles in Rust's shortest form, decimals as the double nearest
//! their text, text, and timestamps as ms), so
//! that Flink's CSV and Tidewater's values meet. A windowed query's rows are compared for the
//! windows both engines close: Tidewater, as Spark, leaves the windows still open when the input
//! ends; Flink's bounded source closes them all with its final watermark.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context};
use tidewater::prelude::*;

use super::EngineRun;
use crate::nexmark::KINDS;

/// The watermark's delay in Tidewater, seconds (the events are in order; nothing is late).
pub const DELAY_S: i64 = 1;

/// One Nexmark query.
#[derive(Clone, Copy, Debug)]
pub struct Query {
    /// `q0` to `q8`.
    pub name: &'static str,
    /// What it does.
    pub title: &'static str,
    /// Tidewater's SQL, or why the query waits.
    pub tidewater: Result<&'static str, &'static str>,
    /// Flink's SQL.
    pub flink: &'static str,
    /// The result's columns, as Flink SQL DDL (for Flink's digest sink).
    pub columns: &'static str,
    /// For a windowed query: the column of a row's window (its start, or an event time inside
    /// it) and the window's length, ms, so that the rows of windows not closed by both engines
    /// are left out.
    pub window: Option<(usize, i64)>,
    /// For a query whose two forms differ only on ties (Tidewater's `max_by` keeps one row a
    /// window, Nexmark's join back keeps every bid that ties): the columns compared, each
    /// distinct combination once, beside the window's start. `None` compares whole rows.
    pub distinct_on: Option<&'static [usize]>,
    /// Flink's published figure, events/s per core, where there is one.
    pub flink_published: Option<u64>,
    /// Whether the query's result changes rows it has written (an aggregation over an
    /// aggregation, a join of aggregations): Tidewater runs it in complete mode, whose last
    /// batch is the result, and Flink writes its changelog, whose final rows are.
    pub complete: bool,
}

/// The queries, q0 to q8.
pub const QUERIES: [Query; 9] = [
    Query {
        name: "q0",
        title: "pass-through",
        tidewater: Ok(include_str!("../../nexmark/tidewater/q0.sql")),
        flink: include_str!("../../nexmark/flink/q0.sql"),
        columns: "auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` BIGINT, extra STRING",
        window: None,
        distinct_on: None,
        flink_published: Some(155_000),
        complete: false,
    },
    Query {
        name: "q1",
        title: "currency conversion",
        tidewater: Ok(include_str!("../../nexmark/tidewater/q1.sql")),
        flink: include_str!("../../nexmark/flink/q1.sql"),
        columns: "auction BIGINT, bidder BIGINT, price DECIMAL(22, 3), `dateTime` BIGINT, extra STRING",
        window: None,
        distinct_on: None,
        flink_published: Some(158_000),
        complete: false,
    },
    Query {
        name: "q2",
        title: "selection",
        tidewater: Ok(include_str!("../../nexmark/tidewater/q2.sql")),
        flink: include_str!("../../nexmark/flink/q2.sql"),
        columns: "auction BIGINT, price BIGINT",
        window: None,
        distinct_on: None,
        flink_published: Some(175_000),
        complete: false,
    },
    Query {
        name: "q3",
        title: "local item suggestion (a join of persons and auctions)",
        tidewater: Ok(include_str!("../../nexmark/tidewater/q3.sql")),
        flink: include_str!("../../nexmark/flink/q3.sql"),
        columns: "name STRING, city STRING, state STRING, id BIGINT",
        window: None,
        distinct_on: None,
        flink_published: Some(152_000),
        complete: false,
    },
    Query {
        name: "q4",
        title: "average closing price per category",
        tidewater: Ok(include_str!("../../nexmark/tidewater/q4.sql")),
        flink: include_str!("../../nexmark/flink/q4.sql"),
        columns: "category BIGINT, avg_final DOUBLE",
        window: None,
        distinct_on: None,
        flink_published: Some(34_000),
        complete: true,
    },
    Query {
        name: "q5",
        title: "hot items (the most bid auctions of each sliding window)",
        tidewater: Ok(include_str!("../../nexmark/tidewater/q5.sql")),
        flink: include_str!("../../nexmark/flink/q5.sql"),
        columns: "auction BIGINT, num BIGINT, starttime TIMESTAMP(3)",
        // Complete mode writes every window, as Flink's final watermark closes them all.
        window: None,
        distinct_on: None,
        flink_published: Some(22_000),
        complete: true,
    },
    Query {
        name: "q6",
        title: "average selling price by seller",
        tidewater: Err("an OVER window (the last 10 closing prices per seller) over an \
                        aggregation: OVER windows are not in Tidewater's SQL"),
        flink: "",
        columns: "",
        window: None,
        distinct_on: None,
        flink_published: None,
        complete: false,
    },
    Query {
        name: "q7",
        title: "highest bid per 10-second window",
        tidewater: Ok(include_str!("../../nexmark/tidewater/q7.sql")),
        flink: include_str!("../../nexmark/flink/q7.sql"),
        columns: "auction BIGINT, price BIGINT, bidder BIGINT, `dateTime` BIGINT",
        window: Some((3, 10_000)),
        // Each closed window's highest price: the bid of a tie is not compared.
        distinct_on: Some(&[1]),
        flink_published: Some(12_000),
        complete: false,
    },
    Query {
        name: "q8",
        title: "new users (a windowed join of persons and auctions)",
        tidewater: Ok(include_str!("../../nexmark/tidewater/q8.sql")),
        flink: include_str!("../../nexmark/flink/q8.sql"),
        columns: "id BIGINT, name STRING, starttime TIMESTAMP(3)",
        window: Some((2, 10_000)),
        distinct_on: None,
        flink_published: Some(146_000),
        complete: false,
    },
];

/// The query named `name`.
pub fn query(name: &str) -> anyhow::Result<&'static Query> {
    QUERIES
        .iter()
        .find(|q| q.name == name)
        .with_context(|| format!("unknown Nexmark query `{name}`; known: q0 to q8"))
}

/// The schemas of the three kinds, as Spark DDL.
fn schema(kind: &str) -> &'static str {
    match kind {
        "person" => {
            "id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, \
             state STRING, dateTime BIGINT, extra STRING"
        }
        "auction" => {
            "id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT, \
             dateTime BIGINT, expires BIGINT, seller BIGINT, category BIGINT, extra STRING"
        }
        _ => {
            "auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, \
             dateTime BIGINT, extra STRING"
        }
    }
}

/// A field in canonical text (see the module's doc).
fn canonical_value(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Int(i) => i.to_string(),
        // Through the text form, as Flink's fields go: a whole double compares as an integer.
        Value::Float(f) => canonical_text(&format!("{f:?}")),
        Value::Str(s) => s.to_string(),
        Value::Timestamp(micros) => (micros / 1000).to_string(),
        Value::Bool(b) => b.to_string(),
        // As Flink's CSV writes a DECIMAL: its digits with the type's scale (`908.000`).
        Value::Decimal(d) => canonical_text(&d.to_string()),
        other => format!("{other:?}"),
    }
}

/// A field of Flink's CSV in canonical text: an integer, a double, a timestamp
/// (`yyyy-MM-dd HH:mm:ss[.SSS][Z]`, as ms) or text.
pub fn canonical_text(field: &str) -> String {
    if field.parse::<i64>().is_ok() {
        return field.to_string();
    }
    if let Some(whole) = whole_number(field) {
        return whole;
    }
    if field.bytes().any(|b| b.is_ascii_digit()) {
        if let Ok(f) = field.parse::<f64>() {
            let text = format!("{f:?}");
            return whole_number(&text).unwrap_or(text);
        }
        if let Some(ms) = timestamp_ms(field) {
            return ms.to_string();
        }
    }
    field.to_string()
}

/// A number of whole value written with a fraction of zeros, as an integer: Tidewater writes a
/// DECIMAL with its scale's zeros (`908.000`), Flink's CSV without (`908`), and a double's text
/// may end in `.0`.
fn whole_number(text: &str) -> Option<String> {
    let (whole, fraction) = text.split_once('.')?;
    let whole: i64 = whole.parse().ok()?;
    fraction.bytes().all(|b| b == b'0').then(|| whole.to_string())
}

/// `yyyy-MM-dd HH:mm:ss[.SSS]` (or with `T`, and a trailing `Z`) in UTC, as ms since the epoch.
fn timestamp_ms(text: &str) -> Option<i64> {
    let text = text.trim_end_matches('Z');
    let (date, time) = text.split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let ms: i64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    // Days from the civil date (proleptic Gregorian).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + min) * 60_000 + s * 1000 + ms)
}

/// The multiset digest of rows of canonical fields, in any order: the row count, and the
/// wrapping sum and the xor of the rows' hashes.
#[derive(Debug, Default)]
pub struct RowsDigest {
    rows: u64,
    sum: u64,
    xor: u64,
}

impl RowsDigest {
    /// Adds a row.
    pub fn add<S: AsRef<str>>(&mut self, fields: &[S]) {
        let mut hasher = DefaultHasher::new();
        for field in fields {
            field.as_ref().hash(&mut hasher);
        }
        let h = hasher.finish();
        self.rows += 1;
        self.sum = self.sum.wrapping_add(h);
        self.xor ^= h.rotate_left(17);
    }

    /// The digest value.
    pub fn value(&self) -> String {
        format!("rows:{:016x}{:016x}/{}", self.sum, self.xor, self.rows)
    }
}

/// The rows of one engine's result that are compared: those of closed windows (see
/// [`closed`]), whole, or for a query with [`Query::distinct_on`] each distinct combination of
/// those columns once, beside its window's start.
pub(crate) struct Compared {
    query: Query,
    watermark_ms: i64,
    digest: RowsDigest,
    distinct: std::collections::BTreeSet<Vec<String>>,
}

impl Compared {
    /// The comparison of `query`'s rows for the windows closed by `watermark_ms`.
    pub(crate) fn new(query: Query, watermark_ms: i64) -> Self {
        Compared {
            query,
            watermark_ms,
            digest: RowsDigest::default(),
            distinct: Default::default(),
        }
    }

    /// Takes a result row of canonical fields.
    pub(crate) fn add(&mut self, fields: Vec<String>) {
        if !closed(&self.query, &fields, self.watermark_ms) {
            return;
        }
        match self.query.distinct_on {
            None => self.digest.add(&fields),
            Some(columns) => {
                let mut key: Vec<String> = self
                    .query
                    .window
                    .and_then(|(column, length)| {
                        let time: i64 = fields.get(column)?.parse().ok()?;
                        Some((time - time.rem_euclid(length)).to_string())
                    })
                    .into_iter()
                    .collect();
                key.extend(
                    columns
                        .iter()
                        .map(|&c| fields.get(c).cloned().unwrap_or_default()),
                );
                self.distinct.insert(key);
            }
        }
    }

    /// The digest of what was compared.
    pub(crate) fn value(mut self) -> String {
        for key in std::mem::take(&mut self.distinct) {
            self.digest.add(&key);
        }
        self.digest.value()
    }
}

/// Whether a row whose window column holds `field` (canonical) is in a window that closes by
/// the final watermark `watermark_ms`.
fn closed(query: &Query, fields: &[String], watermark_ms: i64) -> bool {
    let Some((column, length)) = query.window else {
        return true;
    };
    let time: i64 = fields
        .get(column)
        .and_then(|f| f.parse().ok())
        .unwrap_or(i64::MAX);
    time - time.rem_euclid(length) + length <= watermark_ms
}

/// The final watermark of Tidewater's run: the greatest event time of the streams less the
/// delay (the streams end together: their last events are a few ms apart, the least of them
/// counts).
pub fn final_watermark(last_times: [i64; 3]) -> i64 {
    last_times.iter().copied().min().unwrap_or(i64::MIN) - DELAY_S * 1000
}

/// Runs `query` on Tidewater with `workers` workers over the folders under `dir`; the digest
/// keeps the windows closed by `watermark_ms`.
pub fn tidewater(dir: &Path, query: &Query, workers: usize, watermark_ms: i64) -> anyhow::Result<EngineRun> {
    let sql = match query.tidewater {
        Ok(sql) => sql,
        Err(why) => bail!("{} does not run on Tidewater: {why}", query.name),
    };
    let spark = Session::builder()
        .app_name("bench-nexmark")
        .workers(workers)
        .get_or_create()?;
    for kind in KINDS {
        let path = dir.join(kind);
        let path = path.to_str().context("the data's path is not UTF-8")?;
        let events = spark
            .read_stream()
            .schema(schema(kind))
            .option("maxFilesPerTrigger", 1)
            .json(path)?
            .with_column("ts", expr("timestamp_millis(dateTime)")?)?;
        // Complete mode keeps every group, so a watermark would close nothing there; it would
        // only refuse a join of two streams (Spark's rule: a watermarked join runs in append
        // mode alone).
        let events = if query.complete {
            events
        } else {
            events.with_watermark("ts", &format!("{DELAY_S} seconds"))?
        };
        events.create_or_replace_temp_view(kind);
    }
    let result = spark.sql(sql)?;
    // Append, for a query that writes each row once; complete, for one whose rows change.
    let mode = if query.complete { "complete" } else { "append" };
    let started = Instant::now();
    let timed = result
        .write_stream()
        .output_mode(mode)
        .format("noop")
        .trigger(Trigger::available_now())
        .start()?;
    timed.await_termination()?;
    let seconds = started.elapsed().as_secs_f64();
    let epoch_ms = timed
        .recent_progress()
        .iter()
        .map(|p| p.duration_ms.get("triggerExecution").copied().unwrap_or(0) as f64)
        .collect();

    let digest = Arc::new(Mutex::new(Compared::new(*query, watermark_ms)));
    let sink = digest.clone();
    let query = *query;
    let checked = result
        .write_stream()
        .output_mode(mode)
        .trigger(Trigger::available_now())
        .foreach_batch(move |batch: &Batch<'_>| -> anyhow::Result<()> {
            let mut digest = sink.lock().map_err(|_| anyhow::anyhow!("digest lock"))?;
            if query.complete {
                // Each batch is the whole result: the last one is compared.
                *digest = Compared::new(query, watermark_ms);
            }
            for row in batch.rows.iter() {
                digest.add(row.iter().map(canonical_value).collect());
            }
            Ok(())
        })
        .start()?;
    checked.await_termination()?;
    let digest = Arc::try_unwrap(digest)
        .map_err(|_| anyhow::anyhow!("the digest is still shared"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("digest lock"))?
        .value();
    Ok(EngineRun::measured(seconds, epoch_ms, digest))
}

/// Runs `query` on Flink over the folders under `dir`, with a watermark delay beyond the
/// data's span (see `bench/flink/nexmark.py`); the digest keeps the windows closed by
/// `watermark_ms`.
pub fn flink(
    dir: &Path,
    query: &Query,
    config: super::flink::FlinkConfig,
    span_s: i64,
    watermark_ms: i64,
) -> anyhow::Result<EngineRun> {
    if query.flink.is_empty() {
        bail!("{} is not written for Flink here", query.name);
    }
    let lines = super::flink::nexmark(dir, query, span_s + 60, config)?;
    let mut digest = Compared::new(*query, watermark_ms);
    if query.complete {
        for row in changelog_result(&lines.1, &column_names(query.columns))? {
            digest.add(row);
        }
    } else {
        for line in &lines.1 {
            digest.add(line.split('\t').map(canonical_text).collect());
        }
    }
    let mut run = lines.0;
    run.digest = digest.value();
    Ok(run)
}

/// The names of the columns of a Flink SQL column list (`a BIGINT, b DECIMAL(22, 3)`).
fn column_names(columns: &str) -> Vec<String> {
    let mut names = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in columns.char_indices().chain([(columns.len(), ',')]) {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                let column = columns[start..i].trim();
                let name = column.split_whitespace().next().unwrap_or_default();
                names.push(name.trim_matches('`').to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    names
}

/// The result a Debezium JSON changelog (`{"before", "after", "op"}` lines) leaves: each row
/// `after` counts +1, each row `before` -1, in any order, and each row is in the result as
/// many times as its count. The fields named `columns` of each row, in canonical text.
pub fn changelog_result(lines: &[String], columns: &[String]) -> anyhow::Result<Vec<Vec<String>>> {
    let mut counts: std::collections::HashMap<Vec<String>, i64> = Default::default();
    for (row, weight) in super::flink::changelog_changes(lines)? {
        let fields = columns
            .iter()
            .map(|c| match &row[c.as_str()] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(text) => canonical_text(text),
                other => canonical_text(&other.to_string()),
            })
            .collect();
        *counts.entry(fields).or_insert(0) += weight;
    }
    let mut rows = Vec::new();
    for (row, count) in counts {
        if count < 0 {
            bail!("the changelog retracts {row:?} more often than it adds it");
        }
        rows.extend(std::iter::repeat_n(row, count as usize));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_fields_meet() {
        assert_eq!(canonical_text("42"), canonical_value(&Value::Int(42)));
        assert_eq!(
            canonical_text("1120.472"),
            canonical_value(&Value::Float(1120.472))
        );
        assert_eq!(canonical_text("1.0E7"), canonical_value(&Value::Float(1e7)));
        assert_eq!(canonical_text("908.0"), canonical_value(&Value::Float(908.0)));
        assert_eq!(canonical_text("908"), canonical_value(&Value::Float(908.0)));
        // Flink's CSV writes a DECIMAL of whole value without its zeros.
        assert_eq!(
            canonical_text("20532377"),
            canonical_value(&Value::Decimal(tidewater::data::Decimal::new(20_532_377_000, 3)))
        );
        assert_eq!(
            canonical_text("2755.78"),
            canonical_value(&Value::Decimal(tidewater::data::Decimal::new(2_755_780, 3)))
        );
        // q1's `0.908 * price`, a DECIMAL of scale 3 in both engines.
        assert_eq!(
            canonical_text("908.000"),
            canonical_value(&Value::Decimal(tidewater::data::Decimal::new(908_000, 3)))
        );
        assert_eq!(
            canonical_text("1120.472"),
            canonical_value(&Value::Decimal(tidewater::data::Decimal::new(1_120_472, 3)))
        );
        assert_eq!(canonical_text("Kate Smith"), "Kate Smith");
        assert_eq!(canonical_text("nan"), "nan");
        // 2026-01-01 00:00:10.5 UTC.
        let micros = (crate::nexmark::BASE_TIME_MS + 10_500) * 1000;
        assert_eq!(
            canonical_text("2026-01-01 00:00:10.500"),
            canonical_value(&Value::Timestamp(micros))
        );
        assert_eq!(
            canonical_text("2026-01-01T00:00:10.5Z"),
            canonical_value(&Value::Timestamp(micros))
        );
    }

    #[test]
    fn the_rows_digest_is_of_a_multiset() {
        let mut a = RowsDigest::default();
        a.add(&["1", "x"]);
        a.add(&["2", "y"]);
        a.add(&["2", "y"]);
        let mut b = RowsDigest::default();
        b.add(&["2", "y"]);
        b.add(&["1", "x"]);
        b.add(&["2", "y"]);
        assert_eq!(a.value(), b.value());
        let mut c = RowsDigest::default();
        c.add(&["1", "x"]);
        c.add(&["2", "y"]);
        assert_ne!(a.value(), c.value());
        c.add(&["1", "x"]);
        assert_ne!(a.value(), c.value(), "the same count, another multiset");
    }

    #[test]
    fn q7_compares_each_windows_highest_price_whatever_bid_wins_a_tie() {
        let q7 = *query("q7").unwrap();
        let row = |auction: &str, price: &str, time: &str| {
            vec![
                auction.to_string(),
                price.to_string(),
                "7".to_string(),
                time.to_string(),
            ]
        };
        // Nexmark's form: both bids that tie at 99 in the window [0 s, 10 s).
        let mut both = Compared::new(q7, 20_000);
        both.add(row("1", "99", "3000"));
        both.add(row("2", "99", "3000"));
        both.add(row("5", "40", "12000"));
        // `max_by`'s form: one of them.
        let mut one = Compared::new(q7, 20_000);
        one.add(row("2", "99", "3000"));
        one.add(row("5", "40", "12000"));
        let one = one.value();
        assert_eq!(both.value(), one);
        // Another highest price is another result.
        let mut other = Compared::new(q7, 20_000);
        other.add(row("2", "98", "3000"));
        other.add(row("5", "40", "12000"));
        assert_ne!(one, other.value());
    }

    /// The events of the generator, parsed.
    fn parsed(events: u64, seed: u64) -> Vec<serde_json::Value> {
        (0..events)
            .map(|n| {
                let mut line = String::new();
                crate::nexmark::event(seed, n, &mut line);
                serde_json::from_str(&line).unwrap()
            })
            .collect()
    }

    #[test]
    fn tidewater_answers_the_queries_as_a_direct_computation_does() {
        // 120,000 events: 12 s of event time, so the window [0 s, 10 s) closes.
        let (events, seed) = (120_000, 3);
        let dir = tempfile::tempdir().unwrap();
        crate::nexmark::write(dir.path(), events, 30_000, seed).unwrap();
        let watermark = final_watermark(crate::nexmark::last_times(events));
        let all = parsed(events, seed);
        let int = |v: &serde_json::Value, f: &str| v[f].as_i64().unwrap();
        let bids: Vec<_> = all.iter().filter(|e| e.get("bidder").is_some()).collect();

        // q1: every bid, its price times 0.908 exactly (scale 3), written as Flink's CSV
        // writes a DECIMAL(22, 3).
        let text = |v: &serde_json::Value, f: &str| v[f].as_str().unwrap_or_default().to_string();
        let mut q1 = RowsDigest::default();
        for b in &bids {
            let thousandths = i128::from(int(b, "price")) * 908;
            let sign = if thousandths < 0 { "-" } else { "" };
            let euros = format!(
                "{sign}{}.{:03}",
                thousandths.abs() / 1000,
                thousandths.abs() % 1000
            );
            q1.add(&[
                int(b, "auction").to_string(),
                int(b, "bidder").to_string(),
                canonical_text(&euros),
                int(b, "dateTime").to_string(),
                text(b, "extra"),
            ]);
        }
        // q2: the bids of every 123rd auction.
        let mut q2 = RowsDigest::default();
        for b in &bids {
            if int(b, "auction") % 123 == 0 {
                q2.add(&[int(b, "auction").to_string(), int(b, "price").to_string()]);
            }
        }
        // q3: sellers in OR, ID or CA of auctions in category 10.
        let persons: std::collections::HashMap<i64, &serde_json::Value> = all
            .iter()
            .filter(|e| e.get("emailAddress").is_some())
            .map(|p| (int(p, "id"), p))
            .collect();
        let mut q3 = RowsDigest::default();
        for a in all.iter().filter(|e| e.get("seller").is_some()) {
            let Some(p) = persons.get(&int(a, "seller")) else {
                continue;
            };
            let state = p["state"].as_str().unwrap();
            if int(a, "category") == 10 && ["OR", "ID", "CA"].contains(&state) {
                let text = |f: &str| p[f].as_str().unwrap().to_string();
                q3.add(&[
                    text("name"),
                    text("city"),
                    text("state"),
                    int(a, "id").to_string(),
                ]);
            }
        }
        // q7: the highest bid of each closed 10-second window.
        let mut best: std::collections::BTreeMap<i64, &serde_json::Value> = Default::default();
        for b in &bids {
            let t = int(b, "dateTime");
            let slot = best.entry(t - t.rem_euclid(10_000)).or_insert(b);
            if int(b, "price") > int(slot, "price") {
                *slot = b;
            }
        }
        // Compared as each closed window's start and highest price (`Query::distinct_on`).
        let mut q7 = RowsDigest::default();
        for (start, b) in &best {
            if start + 10_000 <= watermark {
                q7.add(&[start.to_string(), int(b, "price").to_string()]);
            }
        }
        assert!(q7.value().ends_with("/1"), "one closed window: {}", q7.value());

        // q4: the highest bid of each auction among those made while it was open, then the
        // average of those per category.
        let auctions: std::collections::HashMap<i64, &serde_json::Value> = all
            .iter()
            .filter(|e| e.get("seller").is_some())
            .map(|a| (int(a, "id"), a))
            .collect();
        let mut closing: std::collections::HashMap<i64, (i64, i64)> = Default::default();
        for b in &bids {
            let Some(a) = auctions.get(&int(b, "auction")) else {
                continue;
            };
            let t = int(b, "dateTime");
            if int(a, "dateTime") <= t && t <= int(a, "expires") {
                let slot = closing
                    .entry(int(a, "id"))
                    .or_insert((int(a, "category"), i64::MIN));
                slot.1 = slot.1.max(int(b, "price"));
            }
        }
        let mut by_category: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        for (category, price) in closing.values() {
            let slot = by_category.entry(*category).or_default();
            *slot = (slot.0 + price, slot.1 + 1);
        }
        let mut q4 = RowsDigest::default();
        for (category, (sum, n)) in &by_category {
            let average = *sum as f64 / *n as f64;
            q4.add(&[category.to_string(), canonical_text(&format!("{average:?}"))]);
        }
        assert!(q4.value().ends_with("/5"), "five categories: {}", q4.value());
        // q5: each 10-second window sliding by 2 seconds, the auctions with the most bids in it.
        let mut counts: std::collections::HashMap<(i64, i64), i64> = Default::default();
        for b in &bids {
            let t = int(b, "dateTime");
            let last = t - t.rem_euclid(2_000);
            for start in (0..5).map(|k| last - k * 2_000) {
                *counts.entry((start, int(b, "auction"))).or_default() += 1;
            }
        }
        let mut most: std::collections::HashMap<i64, i64> = Default::default();
        for ((start, _), n) in &counts {
            let slot = most.entry(*start).or_default();
            *slot = (*slot).max(*n);
        }
        let mut q5 = RowsDigest::default();
        for ((start, auction), n) in &counts {
            if *n == most[start] {
                q5.add(&[auction.to_string(), n.to_string(), start.to_string()]);
            }
        }

        for (name, expected) in [
            ("q1", q1),
            ("q2", q2),
            ("q3", q3),
            ("q4", q4),
            ("q5", q5),
            ("q7", q7),
        ] {
            for workers in [1, 2] {
                let run = tidewater(dir.path(), query(name).unwrap(), workers, watermark).unwrap();
                assert_eq!(run.digest, expected.value(), "{name} on {workers} workers");
            }
        }
    }

    #[test]
    fn a_changelog_leaves_its_final_rows() {
        let columns = column_names("category BIGINT, total DECIMAL(22, 3), `dateTime` TIMESTAMP(3)");
        assert_eq!(columns, ["category", "total", "dateTime"]);
        let lines: Vec<String> = [
            r#"{"before":null,"after":{"category":10,"total":1.5,"dateTime":"2026-01-01 00:00:10"},"op":"c"}"#,
            r#"{"before":null,"after":{"category":11,"total":2,"dateTime":null},"op":"c"}"#,
            // Retracted later in the file than it is replaced: order does not matter.
            r#"{"before":null,"after":{"category":10,"total":3.25,"dateTime":"2026-01-01 00:00:10"},"op":"c"}"#,
            r#"{"before":{"category":10,"total":1.5,"dateTime":"2026-01-01 00:00:10"},"after":null,"op":"d"}"#,
            // Two equal rows are two rows.
            r#"{"before":null,"after":{"category":11,"total":2,"dateTime":null},"op":"c"}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut rows = changelog_result(&lines, &columns).unwrap();
        rows.sort();
        let ten_s = (crate::nexmark::BASE_TIME_MS + 10_000).to_string();
        assert_eq!(
            rows,
            [
                vec!["10".to_string(), "3.25".to_string(), ten_s],
                vec!["11".to_string(), "2".to_string(), String::new()],
                vec!["11".to_string(), "2".to_string(), String::new()],
            ]
        );
        assert!(
            changelog_result(&lines[3..4], &columns).is_err(),
            "a retraction alone"
        );
        assert!(changelog_result(&["[".to_string()], &columns).is_err());
    }

    #[test]
    fn windows_both_engines_close() {
        let q7 = query("q7").unwrap();
        let row = |t: i64| vec!["1".into(), "2".into(), "3".into(), t.to_string()];
        // The window [10 s, 20 s) closes at a watermark of 20 s, not before.
        assert!(closed(q7, &row(19_999), 20_000));
        assert!(!closed(q7, &row(19_999), 19_999));
        assert!(!closed(q7, &row(20_000), 20_000));
        assert!(closed(query("q0").unwrap(), &row(i64::MAX), 0));
    }
}
