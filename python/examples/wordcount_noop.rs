//! The Rust side of the Python package's benchmark (python/bench): Spark's word count over the
//! text files of a folder into the `noop` sink, the same query `python/bench/wordcount_noop.py`
//! writes in Python, so that the two differ only in the language that built the query.
//!
//! ```text
//! cargo run --release -p tidewater-python --example wordcount_noop -- FOLDER WORKERS
//! ```
//!
//! Prints the seconds from `start()` to the query's end, and the rows it read.

use std::time::Instant;

use tidewater::prelude::*;

/// The allocator the Python module uses, so that the two programs differ only in language.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> tidewater::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(folder), Some(workers)) = (args.next(), args.next()) else {
        eprintln!("usage: wordcount_noop FOLDER WORKERS");
        std::process::exit(2);
    };
    let spark = Session::builder()
        .app_name("wordcount_noop")
        .master(&format!("local[{workers}]"))
        .get_or_create()?;
    let lines = spark.read_stream().text(&folder)?;
    let words = lines.select([explode(split(col("value"), " ")).alias("word")])?;
    let counts = words.group_by([col("word")]).count()?;
    let started = Instant::now();
    let query = counts
        .write_stream()
        .output_mode("update")
        .format("noop")
        .trigger(Trigger::AvailableNow)
        .start()?;
    query.await_termination()?;
    let seconds = started.elapsed().as_secs_f64();
    let rows: u64 = query.recent_progress().iter().map(|p| p.num_input_rows).sum();
    println!("{{\"seconds\": {seconds}, \"rows\": {rows}}}");
    Ok(())
}
