//! Recovery of the state differential keeps: upsert tables, joins of two changing inputs, and
//! aggregations over them or over another aggregation. A query killed at any point of an epoch
//! resumes on any number of workers, and its output equals, epoch by epoch, what the same
//! query writes when nothing interrupts it, which in turn is checked against answers computed
//! from the input directly. Input files are deleted as their epochs commit, so a restart that
//! started over, or that lost the state, could not pass.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use common::*;

const AIRPORTS: [&str; 5] = ["JFK", "LHR", "OSL", "CDG", "SFO"];
const CONDITIONS: [&str; 4] = ["clear", "rain", "fog", "storm"];

/// `files` epochs of input: per epoch, a file of flights `(flight, airport, delay)` and a file
/// of weather upserts `(airport, condition)`, one directory each.
struct Input {
    flights: Vec<Vec<(String, String, i64)>>,
    weather: Vec<Vec<(String, String)>>,
}

impl Input {
    fn new(files: usize, seed: u64) -> Self {
        let mut random = Seeded::new(seed);
        let mut pick = |choices: &[&str]| choices[random.below(choices.len() as u64) as usize].to_string();
        let mut flights = Vec::new();
        let mut weather = Vec::new();
        for f in 0..files {
            flights.push(
                (0..6)
                    .map(|i| {
                        (
                            format!("F{f}{i}"),
                            pick(&AIRPORTS),
                            (i as i64 * 17 + f as i64 * 5) % 60,
                        )
                    })
                    .collect(),
            );
            // SFO never gets weather: its flights join with nothing.
            weather.push(
                (0..3)
                    .map(|_| (pick(&AIRPORTS[..4]), pick(&CONDITIONS)))
                    .collect(),
            );
        }
        Input { flights, weather }
    }

    fn job(&self, script: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary directory");
        fs::write(dir.path().join("job.sql"), script).expect("script");
        for name in ["flights", "weather"] {
            fs::create_dir(dir.path().join(name)).expect("input directory");
        }
        for (f, rows) in self.flights.iter().enumerate() {
            let text: String = rows.iter().map(|(id, a, d)| format!("{id},{a},{d}\n")).collect();
            fs::write(dir.path().join("flights").join(format!("f{f:02}.csv")), text).expect("input");
        }
        for (f, rows) in self.weather.iter().enumerate() {
            let text: String = rows.iter().map(|(a, c)| format!("{a},{c}\n")).collect();
            fs::write(dir.path().join("weather").join(format!("w{f:02}.csv")), text).expect("input");
        }
        dir
    }

    /// The weather table after epoch `epoch`: within a file, the row read last wins.
    fn table_after(&self, epoch: usize) -> BTreeMap<String, String> {
        self.weather[..=epoch].iter().flatten().cloned().collect()
    }

    /// The flights read by epoch `epoch`.
    fn flights_through(&self, epoch: usize) -> impl Iterator<Item = &(String, String, i64)> {
        self.flights[..=epoch].iter().flatten()
    }
}

const SOURCES: &str = "
CREATE STREAM flights (flight STRING, airport STRING, delay BIGINT)
  USING csv OPTIONS (path 'flights', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE STREAMING TABLE weather (airport STRING, condition STRING, PRIMARY KEY (airport))
  USING csv OPTIONS (path 'weather', maxFilesPerTrigger '1', cleanSource 'delete');
";

/// The flights, and the weather rows read as a stream of crews `(airport, crew)`.
const FLIGHTS_AND_CREWS: &str = "
CREATE STREAM flights (flight STRING, airport STRING, delay BIGINT)
  USING csv OPTIONS (path 'flights', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE STREAM crews (airport STRING, crew STRING)
  USING csv OPTIONS (path 'weather', maxFilesPerTrigger '1', cleanSource 'delete');
";

/// The job in `dir` run once on one worker, which must succeed: its progress reports, one a
/// line.
fn progress_of_a_run(dir: &std::path::Path) -> String {
    let run = run_checkpointed_with(dir, &["--workers", "1", "--progress", "json"], None);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stderr).to_string()
}

/// Parses the CSV rows of an epoch into their fields (an empty field is a null).
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| line.split(',').map(|f| f.trim_matches('"').to_string()).collect())
        .collect()
}

/// Kills `script` over `input` at every crash point of epochs 1 and 3, resumes it on the other
/// worker count, and checks every resumed run against the uninterrupted one, which `check`
/// checks against the input.
fn killed_runs_match(input: &Input, script: &str, check: impl Fn(&[(u64, String)])) {
    let uninterrupted = input.job(script);
    let expected = uninterrupted_epochs(uninterrupted.path());
    check(&expected);
    kill_and_resume_everywhere(
        &STATEFUL_CRASH_POINTS,
        || input.job(script),
        &[1, 3],
        &expected,
        |dir| {
            assert!(
                fs::read_dir(dir.join("flights")).expect("input").next().is_none(),
                "every flight file was read and deleted"
            );
        },
    );
}

/// Delayed flights per weather condition over a LEFT join with the streaming table: the
/// table's restored rows, the logged flights and the counts must all come back.
#[test]
fn an_aggregation_over_a_join_with_a_streaming_table_resumes_in_complete_mode() {
    let input = Input::new(5, 11);
    let script = format!(
        "{SOURCES}
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'complete');
INSERT INTO out SELECT condition, count(*) AS delayed
  FROM flights LEFT JOIN weather USING (airport) WHERE delay >= 20 GROUP BY condition;
"
    );
    killed_runs_match(&input, &script, |epochs| {
        assert_eq!(epochs.len(), 5);
        for (epoch, text) in epochs {
            let table = input.table_after(*epoch as usize);
            let mut expected: BTreeMap<String, i64> = BTreeMap::new();
            for (_, airport, delay) in input.flights_through(*epoch as usize) {
                if *delay >= 20 {
                    let condition = table.get(airport).cloned().unwrap_or_default();
                    *expected.entry(condition).or_default() += 1;
                }
            }
            let got: BTreeMap<String, i64> = rows(text)
                .into_iter()
                .map(|r| (r[0].clone(), r[1].parse().expect("count")))
                .collect();
            assert_eq!(got, expected, "epoch {epoch}");
        }
    });
}

/// The same join without an aggregation, in update mode: each epoch writes the joined rows
/// that appeared; a flight whose airport's weather changed comes again with the new one.
#[test]
fn a_join_with_a_streaming_table_resumes_in_update_mode() {
    let input = Input::new(5, 23);
    let script = format!(
        "{SOURCES}
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'update');
INSERT INTO out SELECT flight, condition FROM flights JOIN weather USING (airport);
"
    );
    killed_runs_match(&input, &script, |epochs| {
        let mut before: BTreeSet<(String, String)> = BTreeSet::new();
        for (epoch, text) in epochs {
            let table = input.table_after(*epoch as usize);
            let now: BTreeSet<(String, String)> = input
                .flights_through(*epoch as usize)
                .filter_map(|(id, airport, _)| table.get(airport).map(|c| (id.clone(), c.clone())))
                .collect();
            let appeared: BTreeSet<(String, String)> = now.difference(&before).cloned().collect();
            let got: BTreeSet<(String, String)> = rows(text)
                .into_iter()
                .map(|r| (r[0].clone(), r[1].clone()))
                .collect();
            assert_eq!(got, appeared, "epoch {epoch}");
            before = now;
        }
    });
}

/// A join of two streams keeps both arranged: both sides are logged, and after a restart a
/// flight still meets the crew rows that arrived before it.
#[test]
fn a_join_of_two_streams_resumes_in_append_mode() {
    let input = Input::new(5, 37);
    let script = format!(
        "{FLIGHTS_AND_CREWS}
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'append');
INSERT INTO out SELECT flight, crew FROM flights JOIN crews USING (airport);
"
    );
    killed_runs_match(&input, &script, |epochs| {
        // Every (flight, crew) pair with the same airport, written in the epoch its later side
        // arrived (a crew row here is a weather row of the input, read as a stream).
        let mut expected: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
        for (fe, flights) in input.flights.iter().enumerate() {
            for (ce, crews) in input.weather.iter().enumerate() {
                for (id, airport, _) in flights {
                    for (crew_airport, crew) in crews {
                        if airport == crew_airport {
                            let epoch = fe.max(ce) as u64;
                            expected
                                .entry(epoch)
                                .or_default()
                                .push((id.clone(), crew.clone()));
                        }
                    }
                }
            }
        }
        let got: BTreeMap<u64, Vec<(String, String)>> = epochs
            .iter()
            .map(|(epoch, text)| {
                let mut pairs: Vec<(String, String)> = rows(text)
                    .into_iter()
                    .map(|r| (r[0].clone(), r[1].clone()))
                    .collect();
                pairs.sort();
                (*epoch, pairs)
            })
            .filter(|(_, pairs)| !pairs.is_empty())
            .collect();
        for pairs in expected.values_mut() {
            pairs.sort();
        }
        assert_eq!(got, expected);
    });
}

/// A join of a join of two streams with a third, all of which only insert: both are hash
/// joins, each restoring the rows it keeps (the lower one gives no pair again, so the upper
/// one keeps its side's rows itself). Killed anywhere and resumed on the other worker count,
/// the output is the same, and equals the nested loop over the three.
#[test]
fn a_join_of_a_join_resumes_in_append_mode() {
    let input = Input::new(4, 61);
    let script = format!(
        "{FLIGHTS_AND_CREWS}
CREATE STREAM gates (gate_airport STRING, gate STRING)
  USING csv OPTIONS (path 'gates', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'append');
INSERT INTO out SELECT flight, crew, gate FROM flights JOIN crews USING (airport)
  JOIN gates ON airport = gate_airport;
"
    );
    // The gates are the weather rows again, in a folder of their own.
    let job = || {
        let dir = input.job(&script);
        fs::create_dir(dir.path().join("gates")).expect("gates");
        for entry in fs::read_dir(dir.path().join("weather")).expect("weather") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_owned();
            fs::copy(&path, dir.path().join("gates").join(name)).expect("copy");
        }
        dir
    };
    let uninterrupted = job();
    let progress = progress_of_a_run(uninterrupted.path());
    assert_eq!(
        progress
            .lines()
            .last()
            .map(|l| l.matches("symmetricHashJoin").count()),
        Some(2),
        "two hash joins: {progress}"
    );
    let expected = sink_epochs(&uninterrupted.path().join("out"));
    // Every (flight, crew, gate) of one airport, once, whichever epoch it came in.
    let mut want: Vec<String> = Vec::new();
    for (flight, airport, _) in input.flights.iter().flatten() {
        for (crew_airport, crew) in input.weather.iter().flatten() {
            for (gate_airport, gate) in input.weather.iter().flatten() {
                if airport == crew_airport && airport == gate_airport {
                    want.push(format!("{flight},{crew},{gate}"));
                }
            }
        }
    }
    assert!(want.len() > 10, "the input makes triples: {}", want.len());
    let mut got: Vec<String> = expected
        .iter()
        .flat_map(|(_, text)| rows(text))
        .map(|r| r.join(","))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    kill_and_resume_everywhere(&STATEFUL_CRASH_POINTS, job, &[1, 2], &expected, |_| {});
}

/// A checkpoint written before the join state format was recorded in its `metadata` holds an
/// arranged join's state: the query resumes with the arranged join (its state read as such),
/// killed anywhere, on either worker count; the metadata stays as it was. A new checkpoint
/// records version 2, the hash join, whose progress names its state operator. A version this
/// build does not have is refused.
#[test]
fn a_checkpoint_without_a_join_state_format_keeps_the_arranged_join() {
    let input = Input::new(4, 53);
    let script = format!(
        "{FLIGHTS_AND_CREWS}
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'append');
INSERT INTO out SELECT flight, crew FROM flights JOIN crews USING (airport);
"
    );
    let fresh = input.job(&script);
    let progress = progress_of_a_run(fresh.path());
    assert!(progress.contains("symmetricHashJoin"), "{progress}");
    let expected = sink_epochs(&fresh.path().join("out"));
    assert!(!expected.is_empty());
    let metadata = fs::read_to_string(fresh.path().join("ck/out/metadata")).expect("metadata");
    assert!(metadata.contains(r#""joinStateFormatVersion":2"#), "{metadata}");
    // The metadata as a build that did not record the format wrote it.
    let older = metadata.replace(r#","joinStateFormatVersion":2"#, "");
    assert_ne!(older, metadata);
    let job = || {
        let dir = input.job(&script);
        fs::create_dir_all(dir.path().join("ck/out")).expect("checkpoint directory");
        fs::write(dir.path().join("ck/out/metadata"), &older).expect("metadata");
        dir
    };
    let arranged = job();
    let progress = progress_of_a_run(arranged.path());
    assert!(!progress.contains("symmetricHashJoin"), "{progress}");
    assert_eq!(sink_epochs(&arranged.path().join("out")), expected);
    kill_and_resume_everywhere(&STATEFUL_CRASH_POINTS, job, &[1, 2], &expected, |dir| {
        let kept = fs::read_to_string(dir.join("ck/out/metadata")).expect("metadata");
        assert_eq!(kept, older, "the recorded format is kept");
    });
    // A format this build does not have is refused as it starts, saying which.
    let unknown = input.job(&script);
    fs::create_dir_all(unknown.path().join("ck/out")).expect("checkpoint directory");
    let future = metadata.replace(r#""joinStateFormatVersion":2"#, r#""joinStateFormatVersion":9"#);
    fs::write(unknown.path().join("ck/out/metadata"), future).expect("metadata");
    let refused = run_checkpointed(unknown.path(), 1, None);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("joinStateFormatVersion 9 is not one this build reads"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!unknown.path().join("out").exists() || sink_epochs(&unknown.path().join("out")).is_empty());
}

/// An aggregation over an aggregation (how many airports have each number of flights): the
/// inner counts are restored and the outer `reduce` rebuilds from them.
#[test]
fn an_aggregation_over_an_aggregation_resumes_in_complete_mode() {
    let input = Input::new(5, 41);
    let script = "
CREATE STREAM flights (flight STRING, airport STRING, delay BIGINT)
  USING csv OPTIONS (path 'flights', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'complete');
INSERT INTO out SELECT n, count(*) AS airports
  FROM (SELECT airport, count(*) AS n FROM flights GROUP BY airport) t GROUP BY n;
";
    killed_runs_match(&input, script, |epochs| {
        assert_eq!(epochs.len(), 5);
        for (epoch, text) in epochs {
            let mut per_airport: BTreeMap<&str, i64> = BTreeMap::new();
            for (_, airport, _) in input.flights_through(*epoch as usize) {
                *per_airport.entry(airport).or_default() += 1;
            }
            let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
            for n in per_airport.values() {
                *expected.entry(*n).or_default() += 1;
            }
            let got: BTreeMap<i64, i64> = rows(text)
                .into_iter()
                .map(|r| (r[0].parse().expect("n"), r[1].parse().expect("airports")))
                .collect();
            assert_eq!(got, expected, "epoch {epoch}");
        }
    });
}

/// Aggregations over a stream joined with a small static table fuse the join into the fold;
/// each fused shape keeps its totals, and the table is read again on the restart.
#[test]
fn fused_table_join_aggregations_resume_in_complete_mode() {
    let input = Input::new(5, 53);
    let countries: BTreeMap<&str, &str> = [
        ("JFK", "us"),
        ("LHR", "uk"),
        ("OSL", "no"),
        ("CDG", "fr"),
        ("SFO", "us"),
    ]
    .into();
    let table: String = countries.iter().map(|(a, c)| format!("{a},{c}\n")).collect();
    // (grouping, its value for a flight): a table column, a stream column, two columns, and an
    // expression, which fold grouped by the table, by one column, by a row and by joined rows.
    type Group = fn(&str, &str) -> String;
    let shapes: [(&str, Group); 4] = [
        ("country", |_, country| country.to_string()),
        ("airport", |airport, _| airport.to_string()),
        ("airport, country", |airport, country| {
            format!("{airport}|{country}")
        }),
        ("upper(country)", |_, country| country.to_uppercase()),
    ];
    for (grouping, group_of) in shapes {
        let script = format!(
            "
CREATE STREAM flights (flight STRING, airport STRING, delay BIGINT)
  USING csv OPTIONS (path 'flights', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE TABLE airports (airport STRING, country STRING) USING csv OPTIONS (path 'airports.csv');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'complete');
INSERT INTO out SELECT {grouping}, count(*) AS n, sum(delay) AS total
  FROM flights JOIN airports USING (airport) GROUP BY {grouping};
"
        );
        let job = || {
            let dir = input.job(&script);
            fs::write(dir.path().join("airports.csv"), &table).expect("table");
            dir
        };
        let uninterrupted = job();
        let expected = uninterrupted_epochs(uninterrupted.path());
        assert_eq!(expected.len(), 5, "{grouping}");
        for (epoch, text) in &expected {
            let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
            for (_, airport, delay) in input.flights_through(*epoch as usize) {
                let Some(country) = countries.get(airport.as_str()) else {
                    continue;
                };
                let entry = totals.entry(group_of(airport, country)).or_default();
                entry.0 += 1;
                entry.1 += delay;
            }
            let got: BTreeMap<String, (i64, i64)> = rows(text)
                .into_iter()
                .map(|r| {
                    let (key, values) = r.split_at(r.len() - 2);
                    let n = values[0].parse().expect("n");
                    (key.join("|"), (n, values[1].parse().expect("total")))
                })
                .collect();
            assert_eq!(got, totals, "{grouping}, epoch {epoch}");
        }
        kill_and_resume_everywhere(&STATEFUL_CRASH_POINTS, job, &[1, 3], &expected, |_| {});
    }
}

/// A LEFT OUTER join of two streams under watermarks keeps each side's rows until the
/// watermark expires them, and writes an impression without a click once its minute is over:
/// killed anywhere, the rows held (and whether each matched) come back, on either worker count.
#[test]
fn a_stream_stream_outer_join_under_watermarks_resumes() {
    // Per epoch, impressions `(ad, seconds)` and clicks `(ad, seconds)`: times move 30 s an
    // epoch, clicks come 0 to 70 s after an impression of their ad (70 s is too late).
    let files = 6;
    let mut random = Seeded::new(41);
    let mut imps: Vec<Vec<(i64, i64)>> = Vec::new();
    let mut clicks: Vec<Vec<(i64, i64)>> = Vec::new();
    for f in 0..files {
        let base = f as i64 * 30;
        let epoch_imps: Vec<(i64, i64)> = (0..3).map(|i| (random.below(3) as i64, base + i * 7)).collect();
        let mut epoch_clicks = Vec::new();
        for &(ad, t) in &epoch_imps {
            if random.below(3) > 0 {
                epoch_clicks.push((ad, t + [0, 30, 60, 70][random.below(4) as usize]));
            }
        }
        imps.push(epoch_imps);
        clicks.push(epoch_clicks);
    }
    let clock = |s: i64| format!("1970-01-01 00:{:02}:{:02}", s / 60, s % 60);
    // How the CSV sink writes a time: Spark's default timestampFormat, in UTC.
    let written_time = |s: i64| format!("1970-01-01T00:{:02}:{:02}.000Z", s / 60, s % 60);
    let job = || {
        let dir = tempfile::tempdir().expect("temporary directory");
        for (name, epochs) in [("imps", &imps), ("clicks", &clicks)] {
            fs::create_dir(dir.path().join(name)).expect("input directory");
            for (f, rows) in epochs.iter().enumerate() {
                let text: String = rows
                    .iter()
                    .map(|(ad, t)| format!("{ad},{}\n", clock(*t)))
                    .collect();
                fs::write(dir.path().join(name).join(format!("f{f:02}.csv")), text).expect("input");
            }
        }
        fs::write(
            dir.path().join("job.sql"),
            "
CREATE STREAM imps (ad BIGINT, imp_ts TIMESTAMP, WATERMARK FOR imp_ts AS imp_ts - INTERVAL '10 seconds')
  USING csv OPTIONS (path 'imps', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE STREAM clicks (click_ad BIGINT, click_ts TIMESTAMP, WATERMARK FOR click_ts AS click_ts - INTERVAL '10 seconds')
  USING csv OPTIONS (path 'clicks', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'append');
INSERT INTO out SELECT i.ad, i.imp_ts, c.click_ts FROM imps i LEFT OUTER JOIN clicks c
  ON i.ad = c.click_ad AND c.click_ts BETWEEN i.imp_ts AND i.imp_ts + INTERVAL 1 MINUTE;
",
        )
        .expect("script");
        dir
    };
    let uninterrupted = job();
    let expected = uninterrupted_epochs(uninterrupted.path());
    // No row is late (each epoch's times are past the watermark), so the reference is the
    // nested loop; the last watermark is min(maxima) - 10 s, and an unmatched impression is
    // written once imp_ts + 60 s is below it.
    let last = (files as i64 - 1) * 30 + 14;
    let last_click = clicks.iter().flatten().map(|c| c.1).max().unwrap_or(0);
    let watermark = last.min(last_click) - 10;
    let mut reference: Vec<String> = Vec::new();
    for &(ad, t) in imps.iter().flatten() {
        let matched: Vec<i64> = clicks
            .iter()
            .flatten()
            .filter(|&&(c_ad, ct)| c_ad == ad && t <= ct && ct <= t + 60)
            .map(|c| c.1)
            .collect();
        for ct in &matched {
            reference.push(format!("{ad},{},{}", written_time(t), written_time(*ct)));
        }
        if matched.is_empty() && t + 60 < watermark {
            reference.push(format!("{ad},{},", written_time(t)));
        }
    }
    reference.sort();
    assert!(
        reference.iter().any(|r| r.ends_with(',')),
        "an impression is written padded"
    );
    let mut written: Vec<String> = expected
        .iter()
        .flat_map(|(_, text)| text.lines().map(|l| l.replace('"', "")).collect::<Vec<_>>())
        .collect();
    written.sort();
    assert_eq!(written, reference);
    kill_and_resume_everywhere(&STATEFUL_CRASH_POINTS, job, &[1, 3], &expected, |_| {});
}
