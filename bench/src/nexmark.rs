//! The Nexmark benchmark's data: a generator that follows the Nexmark specification (the event
//! mix, the ids, the hot auctions, bidders and sellers and the prices of the reference
//! generator), written once as JSON-lines files for every engine to read.
//!
//! Events are numbered from 0. Of every 50 events, 1 is a new person, 3 are new auctions and 46
//! are bids (Person : Auction : Bid = 1 : 3 : 46). Event `n` happens at `BASE_TIME_MS + n / 10`
//! ms (10,000 events a second of event time, the specification's first rate), so `dateTime`
//! never goes back and nothing is late under any watermark. Ids:
//! - persons are numbered from 1,000 in order; a bid's bidder or an auction's seller is one of
//!   the last 1,000 people (and up to 10 not yet created), or, for 3 bids or auctions in 4, a
//!   hot person (a multiple of 100, plus one for bidders);
//! - auctions are numbered from 1,000 in order; a bid is for one of the last 100 auctions (and
//!   up to 10 not yet created), or, one bid in 2, for a hot auction (a multiple of 100);
//! - categories are 10 to 14; prices are `round(10^(6 u) * 100)` cents for `u` uniform in
//!   `[0, 1)`; an auction's `reserve` is its `initialBid` plus another price, and it `expires`
//!   within twice the time 100 auctions take to be created.
//!
//! Each event's fields come from a random generator seeded by the event's number and the run's
//! seed, so any event can be made alone, and the same seed gives the same files.
//! `extra` pads a record to the specification's average sizes (person 200 bytes, auction 500);
//! a bid is already longer than its 100 bytes (about 130), so its `extra` is empty.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Event time of event 0: 2026-01-01 00:00:00 UTC, in ms (fixed, so runs are reproducible).
pub const BASE_TIME_MS: i64 = crate::data::EVENTS_START_MS;
/// Events per second of event time.
pub const EVENTS_PER_SECOND: i64 = 10_000;

const PERSON_PROPORTION: u64 = 1;
const AUCTION_PROPORTION: u64 = 3;
const BID_PROPORTION: u64 = 46;
const TOTAL_PROPORTION: u64 = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
const FIRST_PERSON_ID: u64 = 1000;
const FIRST_AUCTION_ID: u64 = 1000;
const FIRST_CATEGORY_ID: u64 = 10;
const CATEGORIES: u64 = 5;
const ACTIVE_PEOPLE: u64 = 1000;
const IN_FLIGHT_AUCTIONS: u64 = 100;
const PERSON_ID_LEAD: u64 = 10;
const AUCTION_ID_LEAD: u64 = 10;
const HOT_AUCTION_RATIO: u64 = 100;
const HOT_AUCTIONS: u64 = 2;
const HOT_BIDDERS: u64 = 4;
const HOT_SELLERS: u64 = 4;

const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// The three kinds of event, each written to a folder of its own.
pub const KINDS: [&str; 3] = ["person", "auction", "bid"];

/// A small, fast generator (SplitMix64): the events need reproducible, not secure, numbers.
struct Random(u64);

impl Random {
    fn for_event(seed: u64, event: u64) -> Self {
        let mut random = Random(seed ^ event.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        random.next();
        random
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.below(of.len() as u64) as usize]
    }

    /// `len` lowercase letters.
    fn letters(&mut self, len: usize, into: &mut String) {
        for _ in 0..len {
            into.push((b'a' + self.below(26) as u8) as char);
        }
    }
}

/// The event time of event `n`, ms.
pub fn time_of(event: u64) -> i64 {
    BASE_TIME_MS + (event as i64 * 1000) / EVENTS_PER_SECOND
}

/// The 0-based number of the last person created at or before event `n`.
fn last_person(event: u64) -> u64 {
    let epoch = event / TOTAL_PROPORTION;
    let offset = event % TOTAL_PROPORTION;
    // Past the round's persons, the round's last one.
    let offset = if offset >= PERSON_PROPORTION {
        PERSON_PROPORTION - 1
    } else {
        offset
    };
    epoch * PERSON_PROPORTION + offset
}

/// The 0-based number of the last auction created at or before event `n` (0 before the first).
fn last_auction(event: u64) -> u64 {
    let mut epoch = event / TOTAL_PROPORTION;
    let mut offset = event % TOTAL_PROPORTION;
    if offset < PERSON_PROPORTION {
        // No auction yet in this round: the last one of the round before.
        epoch = epoch.saturating_sub(1);
        offset = AUCTION_PROPORTION - 1;
    } else if offset >= PERSON_PROPORTION + AUCTION_PROPORTION {
        offset = AUCTION_PROPORTION - 1;
    } else {
        offset -= PERSON_PROPORTION;
    }
    epoch * AUCTION_PROPORTION + offset
}

/// One of the active people (or one about to be created), 0-based.
fn some_person(event: u64, random: &mut Random) -> u64 {
    let people = last_person(event) + 1;
    let active = people.min(ACTIVE_PEOPLE);
    people - active + random.below(active + PERSON_ID_LEAD)
}

/// One of the auctions in flight (or one about to be created), 0-based.
fn some_auction(event: u64, random: &mut Random) -> u64 {
    let last = last_auction(event);
    let first = last.saturating_sub(IN_FLIGHT_AUCTIONS);
    first + random.below(last - first + 1 + AUCTION_ID_LEAD)
}

/// A price in cents: `round(10^(6 u) * 100)`.
fn price(random: &mut Random) -> i64 {
    (10f64.powf(random.unit() * 6.0) * 100.0).round() as i64
}

/// Pads `line` (a JSON object still open, without its `extra`) towards `size` bytes.
fn close_with_extra(line: &mut String, size: usize, random: &mut Random) {
    line.push_str(",\"extra\":\"");
    let have = line.len() + 3;
    if have < size {
        random.letters(size - have, line);
    }
    line.push_str("\"}\n");
}

/// Appends event `n`'s JSON line to `line`, and says which kind it is (an index into
/// [`KINDS`]).
pub fn event(seed: u64, n: u64, line: &mut String) -> usize {
    let mut random = Random::for_event(seed, n);
    let time = time_of(n);
    let offset = n % TOTAL_PROPORTION;
    if offset < PERSON_PROPORTION {
        let id = last_person(n) + FIRST_PERSON_ID;
        let first = random.pick(&FIRST_NAMES);
        let last = random.pick(&LAST_NAMES);
        let _ = write!(
            line,
            "{{\"id\":{id},\"name\":\"{first} {last}\",\"emailAddress\":\""
        );
        random.letters(7, line);
        line.push_str("@example.com\",\"creditCard\":\"");
        for group in 0..4 {
            if group > 0 {
                line.push(' ');
            }
            let _ = write!(line, "{:04}", random.below(10_000));
        }
        let city = random.pick(&US_CITIES);
        let state = random.pick(&US_STATES);
        let _ = write!(
            line,
            "\",\"city\":\"{city}\",\"state\":\"{state}\",\"dateTime\":{time}"
        );
        close_with_extra(line, 200, &mut random);
        0
    } else if offset < PERSON_PROPORTION + AUCTION_PROPORTION {
        let id = last_auction(n) + FIRST_AUCTION_ID;
        let seller = if random.below(HOT_SELLERS) > 0 {
            (last_person(n) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
        } else {
            some_person(n, &mut random)
        } + FIRST_PERSON_ID;
        let category = FIRST_CATEGORY_ID + random.below(CATEGORIES);
        let initial = price(&mut random);
        let reserve = initial + price(&mut random);
        // Expiry: within twice the event time that 100 more auctions take.
        let horizon = time_of(n + IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION / AUCTION_PROPORTION) - time;
        let expires = time + 1 + random.below((horizon * 2).max(1) as u64) as i64;
        let _ = write!(line, "{{\"id\":{id},\"itemName\":\"");
        random.letters(8, line);
        line.push_str("\",\"description\":\"");
        random.letters(20, line);
        let _ = write!(
            line,
            "\",\"initialBid\":{initial},\"reserve\":{reserve},\"dateTime\":{time},\
             \"expires\":{expires},\"seller\":{seller},\"category\":{category}"
        );
        close_with_extra(line, 500, &mut random);
        1
    } else {
        let auction = if random.below(HOT_AUCTIONS) > 0 {
            (last_auction(n) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
        } else {
            some_auction(n, &mut random)
        } + FIRST_AUCTION_ID;
        let bidder = if random.below(HOT_BIDDERS) > 0 {
            (last_person(n) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO + 1
        } else {
            some_person(n, &mut random)
        } + FIRST_PERSON_ID;
        let price = price(&mut random);
        let channel = random.pick(&CHANNELS);
        let _ = write!(
            line,
            "{{\"auction\":{auction},\"bidder\":{bidder},\"price\":{price},\
             \"channel\":\"{channel}\",\"url\":\"https://www.nexmark.com/item.htm?query=1\",\
             \"dateTime\":{time}"
        );
        close_with_extra(line, 100, &mut random);
        2
    }
}

/// The event time of the last event of each kind among the first `events`, ms (that of the
/// last event of all where a kind has none).
pub fn last_times(events: u64) -> [i64; 3] {
    let mut times = [None; 3];
    let mut n = events;
    while n > 0 && times.iter().any(Option::is_none) && events - n < TOTAL_PROPORTION {
        n -= 1;
        let offset = n % TOTAL_PROPORTION;
        let kind = if offset < PERSON_PROPORTION {
            0
        } else if offset < PERSON_PROPORTION + AUCTION_PROPORTION {
            1
        } else {
            2
        };
        times[kind] = times[kind].or(Some(time_of(n)));
    }
    let last = time_of(events.saturating_sub(1));
    times.map(|t| t.unwrap_or(last))
}

/// The span of event time of `events` events, whole seconds rounded up.
pub fn span_s(events: u64) -> i64 {
    (time_of(events) - BASE_TIME_MS) / 1000 + 1
}

/// The folder of `events` events with `seed`, under the system's temporary directory.
pub fn data_dir(events: u64, seed: u64) -> PathBuf {
    std::env::temp_dir().join(format!("tidewater-nexmark-{events}-{seed}"))
}

/// Writes `events` events as JSON lines under `dir`: `person/`, `auction/` and `bid/`, each a
/// file for every `per_file` events (`part-NNNNNN.json`, all kinds of a file covering the same
/// events, modification times in order), unless `dir` already holds them (a `_DONE` marker is
/// written last). Returns the number of events of each kind.
pub fn write(dir: &Path, events: u64, per_file: u64, seed: u64) -> anyhow::Result<[u64; 3]> {
    let done = dir.join("_DONE");
    if let Ok(text) = fs::read_to_string(&done) {
        let counts: Vec<u64> = text.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        if let [p, a, b] = counts[..] {
            return Ok([p, a, b]);
        }
    }
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    for kind in KINDS {
        fs::create_dir_all(dir.join(kind))?;
    }
    let per_file = per_file.max(1);
    let files = events.div_ceil(per_file);
    let first = std::time::SystemTime::now() - std::time::Duration::from_secs(files + 60);
    let mut counts = [0u64; 3];
    let mut line = String::new();
    for file in 0..files {
        let name = format!("part-{file:06}.json");
        let mut writers = Vec::new();
        for kind in KINDS {
            let path = dir.join(kind).join(&name);
            let out = fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            writers.push((path, BufWriter::with_capacity(1 << 20, out)));
        }
        for n in file * per_file..((file + 1) * per_file).min(events) {
            line.clear();
            let kind = event(seed, n, &mut line);
            writers[kind].1.write_all(line.as_bytes())?;
            counts[kind] += 1;
        }
        for (path, writer) in writers {
            let out = writer.into_inner().map_err(|e| e.into_error())?;
            out.set_modified(first + std::time::Duration::from_secs(file))
                .with_context(|| format!("dating {}", path.display()))?;
        }
    }
    fs::write(&done, format!("{} {} {}", counts[0], counts[1], counts[2]))?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(n: u64) -> Vec<serde_json::Value> {
        (0..n)
            .map(|i| {
                let mut line = String::new();
                event(7, i, &mut line);
                serde_json::from_str(&line).unwrap()
            })
            .collect()
    }

    #[test]
    fn the_mix_ids_and_times_follow_the_specification() {
        let all = events(50_000);
        let persons: Vec<_> = all.iter().filter(|e| e.get("emailAddress").is_some()).collect();
        let auctions: Vec<_> = all.iter().filter(|e| e.get("seller").is_some()).collect();
        let bids: Vec<_> = all.iter().filter(|e| e.get("bidder").is_some()).collect();
        assert_eq!((persons.len(), auctions.len(), bids.len()), (1000, 3000, 46_000));
        // Persons and auctions are numbered in order from 1000.
        let ids: Vec<i64> = persons.iter().map(|p| p["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, (1000..2000).collect::<Vec<i64>>());
        let ids: Vec<i64> = auctions.iter().map(|a| a["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, (1000..4000).collect::<Vec<i64>>());
        // Event time never goes back, 10,000 events a second.
        let times: Vec<i64> = all.iter().map(|e| e["dateTime"].as_i64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(times[49_999] - times[0], 4999);
        // Half the bids go to hot auctions (multiples of 100), and no bid is for an auction
        // more than 10 ahead of the last one created.
        let hot = bids
            .iter()
            .filter(|b| b["auction"].as_i64().unwrap() % 100 == 0)
            .count();
        assert!((20_000..27_000).contains(&hot), "{hot}");
        let mut last_auction = 999;
        let mut last_person = 999;
        for e in &all {
            if e.get("seller").is_some() {
                last_auction = e["id"].as_i64().unwrap();
                assert!(e["seller"].as_i64().unwrap() <= last_person + 10);
                let category = e["category"].as_i64().unwrap();
                assert!((10..15).contains(&category));
                assert!(e["expires"].as_i64().unwrap() > e["dateTime"].as_i64().unwrap());
                assert!(e["reserve"].as_i64().unwrap() > e["initialBid"].as_i64().unwrap());
            } else if e.get("bidder").is_some() {
                assert!(e["auction"].as_i64().unwrap() <= last_auction + 10);
                assert!(e["bidder"].as_i64().unwrap() <= last_person + 10);
                let price = e["price"].as_i64().unwrap();
                assert!((100..=100_000_000).contains(&price), "{price}");
            } else {
                last_person = e["id"].as_i64().unwrap();
                assert!(US_STATES.contains(&e["state"].as_str().unwrap()));
            }
        }
        // An auction is padded to 500 bytes and a person to 200 (with the newline); a bid is
        // longer than 100 without padding, so its `extra` stays empty.
        for (n, size) in [(1, 500), (50, 200)] {
            let mut line = String::new();
            event(7, n, &mut line);
            assert_eq!(line.len(), size, "{line}");
        }
        assert_eq!(bids[0]["extra"], "");
    }

    #[test]
    fn the_last_event_of_each_kind() {
        // Events 0..=99: persons at 0 and 50, auctions 1-3 and 51-53, bids after.
        assert_eq!(last_times(100), [time_of(50), time_of(53), time_of(99)]);
        assert_eq!(last_times(52), [time_of(50), time_of(51), time_of(49)]);
        assert_eq!(span_s(10_000), 2);
    }

    #[test]
    fn files_are_written_once_and_deterministically() {
        let dir = tempfile::tempdir().unwrap();
        let counts = write(dir.path(), 1000, 300, 7).unwrap();
        assert_eq!(counts, [20, 60, 920]);
        let text = fs::read_to_string(dir.path().join("bid/part-000001.json")).unwrap();
        let again = {
            let other = tempfile::tempdir().unwrap();
            write(other.path(), 1000, 300, 7).unwrap();
            fs::read_to_string(other.path().join("bid/part-000001.json")).unwrap()
        };
        assert_eq!(text, again);
        assert_eq!(fs::read_dir(dir.path().join("auction")).unwrap().count(), 4);
        // A second call finds the files and returns the counts without writing.
        fs::write(dir.path().join("bid/part-000000.json"), "").unwrap();
        assert_eq!(write(dir.path(), 1000, 300, 7).unwrap(), counts);
        assert_eq!(
            fs::read_to_string(dir.path().join("bid/part-000000.json")).unwrap(),
            ""
        );
    }
}
