//! The registry's checks: its error lists, its options, its warning.

use std::io;
use std::sync::{Arc, Mutex};

use super::*;

fn options(pairs: &[(&str, &str)]) -> Options {
    let mut options = Options::default();
    for (k, v) in pairs {
        options.set(k, v);
    }
    options
}

#[test]
fn unknown_formats_list_the_registered_ones() {
    let message = |e: Error| e.to_string();
    assert_eq!(
        message(source_format("kafkaa", false).unwrap_err()),
        "[UNKNOWN_FORMAT] unknown source format `kafkaa`; known formats: socket, rate, text, csv, json, kafka"
    );
    assert_eq!(
        message(source_format("socket", true).unwrap_err()),
        "[UNKNOWN_FORMAT] unknown table format `socket`; known formats: text, csv, json"
    );
    assert_eq!(
        message(sink_format("parquet").unwrap_err()),
        "[UNKNOWN_FORMAT] unknown sink format `parquet`; known formats: console, memory, noop, csv, json, kafka, foreach_batch"
    );
    assert_eq!(source_format("CSV", true).unwrap().name, "csv");
    assert_eq!(sink_format("Console").unwrap().name, "console");
}

#[test]
fn names_are_unique_and_options_documented() {
    for (i, f) in SOURCE_FORMATS.iter().enumerate() {
        assert!(SOURCE_FORMATS[..i].iter().all(|g| g.name != f.name), "{}", f.name);
    }
    for (i, f) in SINK_FORMATS.iter().enumerate() {
        assert!(SINK_FORMATS[..i].iter().all(|g| g.name != f.name), "{}", f.name);
    }
    let specs = SOURCE_FORMATS
        .iter()
        .flat_map(|f| f.options)
        .chain(SINK_FORMATS.iter().flat_map(|f| f.options))
        .chain(SINK_OPTIONS)
        .chain(SCRIPT_SINK_OPTIONS);
    for spec in specs {
        assert!(!spec.doc.is_empty(), "{}", spec.name);
    }
}

#[test]
fn unknown_options_are_those_no_one_reads() {
    let socket = source_format("socket", false).unwrap();
    let given = options(&[
        ("host", "h"),
        ("PORT", "1"),
        ("prot", "2"),
        ("includeTimestamps", "true"),
    ]);
    assert_eq!(socket.unknown_options(&given), ["includetimestamps", "prot"]);

    let console = sink_format("console").unwrap();
    let given = options(&[
        ("numRows", "5"),
        ("checkpointLocation", "/tmp/c"),
        ("maxRowsPerTrigger", "10"),
        ("numRow", "5"),
    ]);
    assert_eq!(console.unknown_options(&given), ["numrow"]);
    // `header` is a csv option, not a json one.
    let json = sink_format("json").unwrap();
    assert_eq!(
        json.unknown_options(&options(&[("path", "p"), ("header", "true")])),
        ["header"]
    );
}

fn default_of(options: &[OptionSpec], name: &str) -> &'static str {
    match options.iter().find(|o| o.name == name).map(|o| o.default) {
        Some(OptionDefault::Value(v)) => v,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn documented_defaults_are_the_ones_the_connectors_use() {
    let none = Options::default();
    let console = sink_format("console").unwrap();
    let cx = SinkContext {
        options: &none,
        query_name: None,
        console: Some(Box::new(io::sink())),
        foreach_batch: None,
        memory_table: &|_| MemoryTable::default(),
        checkpoint: None,
        conf: &|_| None,
    };
    assert_eq!(
        console.build(cx).unwrap().description(),
        format!(
            "ConsoleSink[numRows: {}, truncate: {}]",
            default_of(console.options, "numRows"),
            default_of(console.options, "truncate")
        )
    );
    let rate = source_format("rate", false).unwrap();
    let cx = SourceContext {
        options: &none,
        schema: None,
        once: false,
        conf: &|_| None,
    };
    assert_eq!(
        rate.build(cx).unwrap().description(),
        format!(
            "RateStreamV2[rowsPerSecond={}, numRows=None]",
            default_of(rate.options, "rowsPerSecond")
        )
    );
}

/// A writer the test subscriber prints into.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_unknown_option_is_a_warning_naming_the_known_ones() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let sink = tracing::subscriber::with_default(subscriber, || {
        let cx = SinkContext {
            options: &options(&[("numRowz", "5")]),
            query_name: None,
            console: Some(Box::new(io::sink())),
            foreach_batch: None,
            memory_table: &|_| MemoryTable::default(),
            checkpoint: None,
            conf: &|_| None,
        };
        sink_format("console").unwrap().build(cx)
    });
    assert!(sink.is_ok());
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("WARN"), "{log}");
    assert!(
        log.contains(
            "option `numrowz` is not an option of the console sink and is ignored; its options are: \
             numRows, truncate, checkpointLocation, maxRowsPerTrigger"
        ),
        "{log}"
    );
    // A known option gives no warning.
    let quiet = Buffer::default();
    let writer = quiet.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let given = options(&[("rowsPerSecond", "5")]);
        let cx = SourceContext {
            options: &given,
            schema: None,
            once: false,
            conf: &|_| None,
        };
        source_format("rate", false).unwrap().build(cx)
    })
    .unwrap();
    assert!(quiet.0.lock().unwrap().is_empty());
}
