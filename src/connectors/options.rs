//! Source and sink options: Spark's string key/value pairs, with typed, checked accessors.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Options given with `.option(key, value)`. Keys match Spark's, ignoring case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    values: BTreeMap<String, String>,
}

impl Options {
    /// Sets `key` (stored lower-case) to `value`.
    pub fn set(&mut self, key: &str, value: impl ToString) {
        self.values.insert(key.to_ascii_lowercase(), value.to_string());
    }

    /// The raw value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(&key.to_ascii_lowercase()).map(String::as_str)
    }

    /// The keys given, lower-cased (as they are kept): what the format registry checks against
    /// the options a format knows.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The value of `key` parsed as `T`, or `default` when absent; a clear error when malformed.
    pub fn parse_or<T>(&self, key: &str, default: T) -> Result<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| Error::InvalidOption(format!("option `{key}` = `{raw}` is not valid: {e}"))),
        }
    }

    /// The value of a required option.
    pub fn required(&self, key: &str, what: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| Error::InvalidOption(format!("{what} needs option `{key}`")))
    }

    /// A boolean option (`true`/`false`, any case).
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(Error::InvalidOption(format!(
                "option `{key}` = `{v}` is not valid: expected true or false"
            ))),
        }
    }
}
