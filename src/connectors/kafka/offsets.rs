//! Partition offsets in Spark's JSON form (`{"topic":{"0":23,"1":-2}}`), and the planning rule
//! that turns where each partition stands into one epoch's offset ranges.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// A topic's partition, as the leader plans it.
pub type TopicPartition = (String, i32);

/// An offset per partition.
pub type PartitionOffsets = BTreeMap<TopicPartition, i64>;

/// Spark's sentinel offsets in JSON: `-2` is the earliest offset, `-1` the latest.
pub const EARLIEST: i64 = -2;
/// See [`EARLIEST`].
pub const LATEST: i64 = -1;

/// Where a query starts (`startingOffsets`) or stops (`endingOffsets`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    /// Each partition's earliest offset.
    Earliest,
    /// Each partition's end (high watermark) when the query first sees it.
    Latest,
    /// Given per partition; [`EARLIEST`] and [`LATEST`] stand for those.
    Given(PartitionOffsets),
}

impl OffsetSpec {
    /// Parses `earliest`, `latest` or Spark's JSON; `option` names the option in errors.
    pub fn parse(option: &str, text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "earliest" => return Ok(OffsetSpec::Earliest),
            "latest" => return Ok(OffsetSpec::Latest),
            _ => {}
        }
        parse_json(text).map(OffsetSpec::Given).map_err(|reason| {
            Error::InvalidOption(format!(
                "option `{option}` = `{text}` is not valid: {reason}; use earliest, latest, or JSON such as \
                     {{\"topic\":{{\"0\":23,\"1\":-2}}}} (-2: earliest, -1: latest)"
            ))
        })
    }

    /// The offset this spec names for `partition`, whose log spans `earliest..end` (`end` is the
    /// high watermark); `None` when the JSON does not name the partition.
    pub fn resolve(&self, partition: &TopicPartition, earliest: i64, end: i64) -> Option<i64> {
        let given = match self {
            OffsetSpec::Earliest => EARLIEST,
            OffsetSpec::Latest => LATEST,
            OffsetSpec::Given(offsets) => *offsets.get(partition)?,
        };
        Some(match given {
            EARLIEST => earliest,
            LATEST => end,
            offset => offset,
        })
    }
}

/// Parses `{"topic":{"0":23}}` into offsets per partition.
fn parse_json(text: &str) -> std::result::Result<PartitionOffsets, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let topics = value.as_object().ok_or("expected an object of topics")?;
    let mut offsets = PartitionOffsets::new();
    for (topic, partitions) in topics {
        let partitions = partitions
            .as_object()
            .ok_or_else(|| format!("topic `{topic}`: expected an object of partitions"))?;
        for (partition, offset) in partitions {
            let partition: i32 = partition
                .parse()
                .map_err(|_| format!("topic `{topic}`: `{partition}` is not a partition number"))?;
            let offset = offset.as_i64().filter(|o| *o >= EARLIEST).ok_or_else(|| {
                format!("topic `{topic}` partition {partition}: `{offset}` is not an offset")
            })?;
            offsets.insert((topic.clone(), partition), offset);
        }
    }
    Ok(offsets)
}

/// Offsets per partition in Spark's JSON form: `{"topic":{"0":23,"1":45}}`. It is what
/// `offsets/<epoch>` logs as the source's position.
pub fn to_json(offsets: &PartitionOffsets) -> serde_json::Value {
    let mut topics = serde_json::Map::new();
    for ((topic, partition), offset) in offsets {
        let entry = topics
            .entry(topic.clone())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let serde_json::Value::Object(partitions) = entry {
            partitions.insert(partition.to_string(), serde_json::Value::from(*offset));
        }
    }
    serde_json::Value::Object(topics)
}

/// Reads what [`to_json`] wrote; `None` if it is not that shape.
pub fn from_json(value: &serde_json::Value) -> Option<PartitionOffsets> {
    parse_json(&value.to_string()).ok()
}

/// The ends of one epoch's ranges: each partition reads `next[p]..end[p]`, where `latest[p]`
/// is what is there now. Without `max` every partition reads to `latest`. With `max`
/// (`maxOffsetsPerTrigger`), the epoch reads at most about `max` offsets in all, shared out in
/// proportion to how far each partition is behind (Spark's rule): a partition's share is
/// rounded down, or up when it is below one so that no partition starves.
pub fn plan_ends(next: &PartitionOffsets, latest: &PartitionOffsets, max: Option<u64>) -> PartitionOffsets {
    let behind: Vec<(&TopicPartition, i64, i64)> = next
        .iter()
        .filter_map(|(p, &from)| latest.get(p).map(|&to| (p, from, to.max(from))))
        .collect();
    let total: u64 = behind.iter().map(|(_, from, to)| (to - from) as u64).sum();
    behind
        .into_iter()
        .map(|(p, from, to)| {
            let end = match max {
                Some(max) if total > max => {
                    let share = max as f64 * ((to - from) as f64 / total as f64);
                    let share = if share < 1.0 { share.ceil() } else { share.floor() };
                    (from.saturating_add(share as i64)).min(to)
                }
                _ => to,
            };
            (p.clone(), end)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        (topic.to_string(), partition)
    }

    #[test]
    fn sparks_offset_json_reads_and_writes_with_its_sentinels() {
        let spec = OffsetSpec::parse("startingOffsets", r#"{"t":{"0":5,"1":-2,"2":-1}}"#).expect("parses");
        assert_eq!(spec.resolve(&tp("t", 0), 3, 10), Some(5));
        assert_eq!(spec.resolve(&tp("t", 1), 3, 10), Some(3));
        assert_eq!(spec.resolve(&tp("t", 2), 3, 10), Some(10));
        assert_eq!(spec.resolve(&tp("u", 0), 3, 10), None);
        assert_eq!(
            OffsetSpec::parse("startingOffsets", " Latest ").expect("parses"),
            OffsetSpec::Latest
        );
        for bad in [
            "",
            "{\"t\":[1]}",
            "{\"t\":{\"x\":1}}",
            "{\"t\":{\"0\":-3}}",
            "soon",
        ] {
            let error = OffsetSpec::parse("startingOffsets", bad).expect_err(bad);
            assert!(error.to_string().contains("startingOffsets"), "{error}");
        }
        let offsets = PartitionOffsets::from([(tp("a", 0), 1), (tp("a", 1), 2), (tp("b", 0), 3)]);
        let json = to_json(&offsets);
        assert_eq!(json.to_string(), r#"{"a":{"0":1,"1":2},"b":{"0":3}}"#);
        assert_eq!(from_json(&json), Some(offsets));
    }

    #[test]
    fn a_rate_limit_is_shared_in_proportion_and_never_starves_a_partition() {
        let next = PartitionOffsets::from([(tp("t", 0), 0), (tp("t", 1), 10), (tp("t", 2), 5)]);
        let latest = PartitionOffsets::from([(tp("t", 0), 90), (tp("t", 1), 19), (tp("t", 2), 6)]);
        // Without a limit every partition reads to its end.
        assert_eq!(plan_ends(&next, &latest, None), latest);
        // 100 behind in all, 10 allowed: shares 9 (90/100*10), 0.9 -> 1 and 0.1 -> 1.
        let ends = plan_ends(&next, &latest, Some(10));
        assert_eq!(
            ends,
            PartitionOffsets::from([(tp("t", 0), 9), (tp("t", 1), 11), (tp("t", 2), 6)])
        );
        // A limit above what is there changes nothing.
        assert_eq!(plan_ends(&next, &latest, Some(1000)), latest);
    }
}
