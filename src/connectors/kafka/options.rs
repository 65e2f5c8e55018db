//! The Kafka options, in Spark's spelling, checked once when the source or sink is built.

use std::time::Duration;

use regex::Regex;

use super::offsets::{OffsetSpec, TopicPartition};
use crate::connectors::Options;
use crate::error::{Error, Result};

/// Which partitions a source reads.
#[derive(Clone, Debug)]
pub enum Subscription {
    /// `subscribe`: these topics, all their partitions (new partitions included).
    Topics(Vec<String>),
    /// `subscribePattern`: every topic whose whole name matches, new ones included.
    Pattern(Regex),
    /// `assign`: exactly these partitions.
    Assign(Vec<TopicPartition>),
}

impl Subscription {
    /// Whether the source reads `topic`'s `partition`.
    pub fn wants(&self, topic: &str, partition: i32) -> bool {
        match self {
            Subscription::Topics(topics) => topics.iter().any(|t| t == topic),
            Subscription::Pattern(regex) => regex.is_match(topic),
            Subscription::Assign(partitions) => partitions.iter().any(|(t, p)| t == topic && *p == partition),
        }
    }

    /// As progress reports show it, after Spark: `Subscribe[a,b]`.
    pub fn describe(&self) -> String {
        match self {
            Subscription::Topics(topics) => format!("Subscribe[{}]", topics.join(",")),
            Subscription::Pattern(regex) => format!("SubscribePattern[{}]", regex.as_str()),
            Subscription::Assign(partitions) => {
                let parts: Vec<String> = partitions.iter().map(|(t, p)| format!("{t}-{p}")).collect();
                format!("Assign[{}]", parts.join(","))
            }
        }
    }
}

/// What the client needs, from `kafka.bootstrap.servers` and the other `kafka.*` options.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientSettings {
    /// `host:port` of each bootstrap broker.
    pub bootstrap: Vec<String>,
    /// `kafka.client.id`.
    pub client_id: Option<String>,
    /// How long a request is retried (with backoff) before the query fails:
    /// `kafka.request.timeout.ms` (default 30 s).
    pub retry_deadline: Duration,
}

/// The `kafka.*` options the client understands; every other one gets a warning.
const CLIENT_OPTIONS: [&str; 5] = [
    "kafka.bootstrap.servers",
    "kafka.client.id",
    "kafka.request.timeout.ms",
    "kafka.max.partition.fetch.bytes",
    "kafka.security.protocol",
];

impl ClientSettings {
    /// Reads the client options, warning about each `kafka.*` option the client cannot honour
    /// (`what`: "source" or "sink").
    pub fn from_options(options: &Options, what: &str) -> Result<Self> {
        let bootstrap: Vec<String> = options
            .required("kafka.bootstrap.servers", &format!("the kafka {what}"))?
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if bootstrap.is_empty() {
            return Err(Error::InvalidOption(
                "option `kafka.bootstrap.servers` names no broker: give host:port[,host:port...]".into(),
            ));
        }
        if let Some(protocol) = options.get("kafka.security.protocol") {
            if !protocol.trim().eq_ignore_ascii_case("PLAINTEXT") {
                return Err(Error::InvalidOption(format!(
                    "option `kafka.security.protocol` = `{protocol}` is not supported: the kafka {what} speaks PLAINTEXT"
                )));
            }
        }
        for key in options.keys().filter(|k| k.starts_with("kafka.")) {
            if !CLIENT_OPTIONS.contains(&key) {
                tracing::warn!(
                    option = key,
                    "option `{key}` is not supported by the kafka {what}'s client and is ignored; supported: {}",
                    CLIENT_OPTIONS.join(", ")
                );
            }
        }
        let timeout_ms: u64 = options.parse_or("kafka.request.timeout.ms", 30_000)?;
        Ok(ClientSettings {
            bootstrap,
            client_id: options.get("kafka.client.id").map(String::from),
            retry_deadline: Duration::from_millis(timeout_ms.max(1)),
        })
    }
}

/// A source's options.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// The client's settings.
    pub client: ClientSettings,
    /// Which partitions.
    pub subscription: Subscription,
    /// Where a query without a checkpoint starts.
    pub starting: OffsetSpec,
    /// Where the source ends, if it does (`endingOffsets`).
    pub ending: Option<OffsetSpec>,
    /// `maxOffsetsPerTrigger`.
    pub max_offsets_per_trigger: Option<u64>,
    /// `failOnDataLoss`.
    pub fail_on_data_loss: bool,
    /// `includeHeaders`.
    pub include_headers: bool,
    /// Bytes one fetch asks for (`kafka.max.partition.fetch.bytes`, default 1 MiB).
    pub fetch_bytes: i32,
}

impl SourceOptions {
    /// Reads and checks a source's options.
    pub fn from_options(options: &Options) -> Result<Self> {
        let client = ClientSettings::from_options(options, "source")?;
        let given: Vec<&str> = ["subscribe", "subscribePattern", "assign"]
            .into_iter()
            .filter(|k| options.get(k).is_some())
            .collect();
        if given.len() != 1 {
            return Err(Error::InvalidOption(format!(
                "the kafka source needs exactly one of `subscribe`, `subscribePattern` or `assign`; given: {}",
                if given.is_empty() { "none".to_string() } else { given.join(", ") }
            )));
        }
        let subscription = if let Some(topics) = options.get("subscribe") {
            let topics: Vec<String> = topics
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect();
            if topics.is_empty() {
                return Err(Error::InvalidOption("option `subscribe` names no topic".into()));
            }
            Subscription::Topics(topics)
        } else if let Some(pattern) = options.get("subscribePattern") {
            // Java's `Pattern.matcher(topic).matches()`: the whole name must match.
            let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                Error::InvalidOption(format!(
                    "option `subscribePattern` = `{pattern}` is not a regex: {e}"
                ))
            })?;
            Subscription::Pattern(regex)
        } else {
            let text = options.get("assign").unwrap_or_default();
            Subscription::Assign(parse_assign(text)?)
        };
        let starting = match options.get("startingOffsets") {
            Some(text) => OffsetSpec::parse("startingOffsets", text)?,
            None => OffsetSpec::Latest,
        };
        let ending = match options.get("endingOffsets") {
            Some(text) => match OffsetSpec::parse("endingOffsets", text)? {
                OffsetSpec::Earliest => {
                    return Err(Error::InvalidOption(
                        "option `endingOffsets` = `earliest` is not allowed: use latest or JSON offsets"
                            .into(),
                    ))
                }
                spec => Some(spec),
            },
            None => None,
        };
        let max_offsets_per_trigger = match options.get("maxOffsetsPerTrigger") {
            Some(_) => Some(options.parse_or("maxOffsetsPerTrigger", 1u64)?.max(1)),
            None => None,
        };
        Ok(SourceOptions {
            client,
            subscription,
            starting,
            ending,
            max_offsets_per_trigger,
            fail_on_data_loss: options.bool_or("failOnDataLoss", true)?,
            include_headers: options.bool_or("includeHeaders", false)?,
            fetch_bytes: options
                .parse_or("kafka.max.partition.fetch.bytes", 1_048_576i32)?
                .max(1024),
        })
    }
}

/// `{"t":[0,1],"u":[2]}` as a list of partitions.
fn parse_assign(text: &str) -> Result<Vec<TopicPartition>> {
    let bad = |reason: &str| {
        Error::InvalidOption(format!(
            "option `assign` = `{text}` is not valid: {reason}; use JSON such as {{\"topic\":[0,1]}}"
        ))
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
    let topics = value.as_object().ok_or_else(|| bad("expected an object"))?;
    let mut partitions = Vec::new();
    for (topic, list) in topics {
        for p in list
            .as_array()
            .ok_or_else(|| bad("expected a list of partitions"))?
        {
            let p = p
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .filter(|p| *p >= 0)
                .ok_or_else(|| bad("a partition is not a number"))?;
            partitions.push((topic.clone(), p));
        }
    }
    if partitions.is_empty() {
        return Err(bad("it names no partition"));
    }
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Options {
        let mut options = Options::default();
        for (k, v) in pairs {
            options.set(k, v);
        }
        options
    }

    #[test]
    fn a_source_needs_a_broker_and_exactly_one_way_to_pick_partitions() {
        let ok = SourceOptions::from_options(&options(&[
            ("kafka.bootstrap.servers", "a:1, b:2"),
            ("assign", r#"{"t":[0,2]}"#),
            ("maxOffsetsPerTrigger", "7"),
        ]))
        .expect("valid");
        assert_eq!(ok.client.bootstrap, ["a:1", "b:2"]);
        assert!(ok.subscription.wants("t", 2) && !ok.subscription.wants("t", 1));
        assert_eq!(ok.max_offsets_per_trigger, Some(7));
        assert!(ok.fail_on_data_loss && !ok.include_headers);
        assert_eq!(ok.starting, OffsetSpec::Latest);
        for bad in [
            vec![("subscribe", "t")],
            vec![("kafka.bootstrap.servers", "a:1")],
            vec![
                ("kafka.bootstrap.servers", "a:1"),
                ("subscribe", "t"),
                ("assign", "{\"t\":[0]}"),
            ],
            vec![("kafka.bootstrap.servers", "a:1"), ("subscribePattern", "(")],
            vec![
                ("kafka.bootstrap.servers", "a:1"),
                ("subscribe", "t"),
                ("endingOffsets", "earliest"),
            ],
        ] {
            assert!(SourceOptions::from_options(&options(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_pattern_matches_whole_topic_names() {
        let o = SourceOptions::from_options(&options(&[
            ("kafka.bootstrap.servers", "a:1"),
            ("subscribePattern", "events-.*"),
        ]))
        .expect("valid");
        assert!(o.subscription.wants("events-1", 0));
        assert!(!o.subscription.wants("old-events-1", 0));
    }
}
