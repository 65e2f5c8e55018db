//! The entries of `offsets/<epoch>` and `commits/<epoch>`, in Spark's text format: a version
//! line, then one JSON document per line.
//!
//! `offsets/<epoch>` holds the epoch's metadata (the watermark it runs under, its batch
//! timestamp, the settings a restart must keep) and then, one per line, what each source
//! contributed to the epoch (`-` for a source with nothing to record). `commits/<epoch>`
//! holds the watermark of the next epoch.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::CheckpointError;

/// The version line of offset and commit entries.
const ENTRY_VERSION: &str = "v1";

/// The metadata line of an `offsets/<epoch>` entry (Spark's `OffsetSeqMetadata`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EpochMetadata {
    /// The watermark the epoch runs under, ms (0 without one), as Spark writes it.
    pub(crate) batch_watermark_ms: i64,
    /// The same watermark in microseconds, the engine's own unit; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) batch_watermark_micros: Option<i64>,
    /// When the epoch was triggered, ms since the Unix epoch.
    pub(crate) batch_timestamp_ms: i64,
    /// Settings that must not change across a restart.
    #[serde(default)]
    pub(crate) conf: BTreeMap<String, String>,
}

/// One `offsets/<epoch>` entry: the metadata and each source's part.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct OffsetEntry {
    /// The epoch's metadata.
    pub(crate) metadata: EpochMetadata,
    /// Each source's part of the epoch, in the plan's source order.
    pub(crate) sources: Vec<Option<serde_json::Value>>,
}

impl OffsetEntry {
    /// The entry as it is written.
    pub(crate) fn to_text(&self) -> String {
        let mut text = format!("{ENTRY_VERSION}\n");
        text.push_str(&serde_json::to_string(&self.metadata).unwrap_or_default());
        for source in &self.sources {
            text.push('\n');
            match source {
                Some(value) => text.push_str(&value.to_string()),
                None => text.push('-'),
            }
        }
        text
    }

    /// Reads an entry written by [`to_text`](Self::to_text); `path` names it in errors.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, CheckpointError> {
        let corrupt = |reason: String| CheckpointError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let mut lines = text.lines();
        check_version(lines.next(), path)?;
        let metadata = lines
            .next()
            .ok_or_else(|| corrupt("the metadata line is missing".into()))?;
        let metadata =
            serde_json::from_str(metadata).map_err(|e| corrupt(format!("bad metadata line: {e}")))?;
        let sources = lines
            .map(|line| match line {
                "-" => Ok(None),
                json => serde_json::from_str(json)
                    .map(Some)
                    .map_err(|e| corrupt(format!("bad source offset `{json}`: {e}"))),
            })
            .collect::<Result<_, _>>()?;
        Ok(OffsetEntry { metadata, sources })
    }
}

/// One `commits/<epoch>` entry (Spark's `CommitMetadata`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitEntry {
    /// The watermark of the next epoch, ms (0 without one).
    pub(crate) next_batch_watermark_ms: i64,
    /// The same watermark in microseconds, the engine's own unit; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_batch_watermark_micros: Option<i64>,
    /// How many rows each limit of an append-mode query has let through, over all epochs up to
    /// this one (Spark keeps this count in its state store): a restarted query writes only what
    /// is left. Empty without such a limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) rows_through_limits: Vec<u64>,
}

impl CommitEntry {
    /// The entry as it is written.
    pub(crate) fn to_text(&self) -> String {
        format!(
            "{ENTRY_VERSION}\n{}",
            serde_json::to_string(self).unwrap_or_default()
        )
    }

    /// Reads an entry written by [`to_text`](Self::to_text).
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, CheckpointError> {
        let mut lines = text.lines();
        check_version(lines.next(), path)?;
        let line = lines.next().ok_or_else(|| CheckpointError::Corrupt {
            path: path.display().to_string(),
            reason: "the commit line is missing".into(),
        })?;
        serde_json::from_str(line).map_err(|e| CheckpointError::Corrupt {
            path: path.display().to_string(),
            reason: format!("bad commit line: {e}"),
        })
    }
}

fn check_version(line: Option<&str>, path: &Path) -> Result<(), CheckpointError> {
    match line {
        Some(ENTRY_VERSION) => Ok(()),
        Some(other) if other.starts_with('v') && other[1..].parse::<u32>().is_ok() => {
            Err(CheckpointError::UnknownVersion {
                path: path.display().to_string(),
                found: other.to_string(),
                supported: 1,
            })
        }
        Some(other) => Err(CheckpointError::Corrupt {
            path: path.display().to_string(),
            reason: format!("expected the version line `{ENTRY_VERSION}`, found `{other}`"),
        }),
        None => Err(CheckpointError::Corrupt {
            path: path.display().to_string(),
            reason: "the file is empty".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_entry_reads_back_as_written_in_sparks_layout() {
        let entry = OffsetEntry {
            metadata: EpochMetadata {
                batch_watermark_ms: 5,
                batch_watermark_micros: Some(5_000),
                batch_timestamp_ms: 1_700_000_000_000,
                conf: BTreeMap::from([("spark.sql.shuffle.partitions".into(), "2".into())]),
            },
            sources: vec![Some(serde_json::json!({"start": 0, "end": 3})), None],
        };
        let text = entry.to_text();
        assert_eq!(
            text,
            "v1\n{\"batchWatermarkMs\":5,\"batchWatermarkMicros\":5000,\"batchTimestampMs\":1700000000000,\
             \"conf\":{\"spark.sql.shuffle.partitions\":\"2\"}}\n{\"end\":3,\"start\":0}\n-"
        );
        assert_eq!(
            OffsetEntry::parse(Path::new("offsets/0"), &text).expect("parse"),
            entry
        );
    }

    #[test]
    fn damaged_entries_are_refused_with_their_reason() {
        let path = Path::new("offsets/7");
        let truncated = OffsetEntry::parse(path, "v1\n{\"batchWatermarkMs\":0,\"batchTim");
        assert!(
            matches!(truncated, Err(CheckpointError::Corrupt { .. })),
            "{truncated:?}"
        );
        let future = OffsetEntry::parse(path, "v9\n{}");
        assert!(
            matches!(future, Err(CheckpointError::UnknownVersion { .. })),
            "{future:?}"
        );
        let empty = CommitEntry::parse(path, "");
        assert!(matches!(empty, Err(CheckpointError::Corrupt { .. })), "{empty:?}");
        let commit = CommitEntry {
            next_batch_watermark_ms: 9,
            next_batch_watermark_micros: Some(9_001),
            rows_through_limits: vec![3],
        };
        assert_eq!(
            CommitEntry::parse(path, &commit.to_text()).expect("parse"),
            commit
        );
    }
}
