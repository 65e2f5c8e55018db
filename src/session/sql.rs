//! SQL on a session: `spark.sql(query)` over temporary views, and whole scripts of
//! `CREATE STREAM/TABLE/SINK`, `INSERT INTO` and `SELECT` (what `tidewater run` executes).

use std::collections::HashMap;
use std::sync::Arc;

use super::{DataFrame, Session};
use crate::compile::{explain, Settings};
use crate::connectors::registry::{OUTPUT_MODE, TRIGGER};
use crate::error::{Error, Result};
use crate::plan::sql::{parse_script_with, plan_query, Catalog, Statement, ESCAPED_STRING_LITERALS};
use crate::plan::LogicalPlan;
use crate::runtime::{launch, StreamingQuery, Trigger};

/// Defaults for sinks that do not set their own (the CLI's `--output-mode` and `--trigger`).
#[derive(Clone, Debug, Default)]
pub struct ScriptDefaults {
    /// `append`, `update` or `complete`; without it, complete for aggregations, else append.
    pub output_mode: Option<String>,
    /// The trigger; without it, the default trigger.
    pub trigger: Option<Trigger>,
}

/// A sink declared with `CREATE SINK`.
struct SinkDecl {
    format: String,
    options: Vec<(String, String)>,
}

struct SessionCatalog<'a>(&'a Session);

impl Catalog for SessionCatalog<'_> {
    fn relation(&self, name: &str) -> Option<Arc<LogicalPlan>> {
        self.0.view(name).map(|df| df.plan().clone())
    }
}

/// One query of a script, ready to start, and how to describe it.
struct PlannedQuery {
    title: String,
    writer: super::DataStreamWriter,
    /// Where the query's statement names its sink (or starts): errors of `prepare` point here.
    at: sqlparser::tokenizer::Location,
}

impl PlannedQuery {
    fn prepare(self) -> Result<crate::runtime::QuerySpec> {
        let at = self.at;
        self.writer.prepare().map_err(|e| e.at(at.line, at.column, None))
    }
}

impl Session {
    /// Registers `df` under `name` for SQL (Spark's `createOrReplaceTempView`).
    pub fn register_view(&self, name: &str, df: &DataFrame) {
        self.inner
            .views
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_ascii_lowercase(), df.clone());
    }

    /// Spark's `spark.sql.parser.escapedStringLiterals`: string literals keep their
    /// backslashes as written (default false: `\n`, `\t`, `\u0041`, ... are escapes).
    pub(crate) fn escaped_string_literals(&self) -> bool {
        self.conf(ESCAPED_STRING_LITERALS)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    fn view(&self, name: &str) -> Option<DataFrame> {
        self.inner
            .views
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    /// A DataFrame from one SQL query over the registered views (Spark's `spark.sql`).
    pub fn sql(&self, query: &str) -> Result<DataFrame> {
        let statements = parse_script_with(query, self.escaped_string_literals())?;
        match statements.as_slice() {
            [Statement::Select { query, .. }] => Ok(DataFrame::new(
                self.clone(),
                self.binding(|| plan_query(query, &SessionCatalog(self)))?,
            )),
            _ => Err(Error::InvalidPlan(
                "sql() takes one SELECT query; run scripts with run_script()".into(),
            )),
        }
    }

    fn plan_script(&self, script: &str, defaults: &ScriptDefaults) -> Result<Vec<PlannedQuery>> {
        let mut sinks: HashMap<String, SinkDecl> = HashMap::new();
        let mut planned = Vec::new();
        for statement in parse_script_with(script, self.escaped_string_literals())? {
            match statement {
                Statement::CreateSource {
                    name,
                    schema,
                    format,
                    options,
                    table,
                    primary_key,
                    watermark,
                    computed,
                    at,
                } => {
                    let mut reader = if table { self.read() } else { self.read_stream() };
                    reader = reader.format(&format).options(options);
                    if let Some(schema) = schema {
                        reader = reader.schema(schema);
                    }
                    let mut df = reader.load().map_err(|e| e.at(at.line, at.column, None))?;
                    for (expr, at) in computed {
                        let name = expr.output_name();
                        df = df
                            .with_column(&name, expr)
                            .map_err(|e| e.at(at.line, at.column, None))?;
                    }
                    if let Some((column, delay, at)) = watermark {
                        df = df
                            .with_watermark(&column, &delay)
                            .map_err(|e| e.at(at.line, at.column, None))?;
                    }
                    if !primary_key.is_empty() {
                        df = upsert_table(&df, &primary_key, at)?;
                    }
                    self.register_view(&name, &df);
                }
                Statement::CreateSink {
                    name,
                    format,
                    options,
                    ..
                } => {
                    sinks.insert(name.to_ascii_lowercase(), SinkDecl { format, options });
                }
                Statement::Insert { sink, query, at } => {
                    let decl = sinks.get(&sink.to_ascii_lowercase()).ok_or_else(|| {
                        Error::UnknownRelation(format!("no sink named `{sink}`")).at(
                            at.line,
                            at.column,
                            Some("declare it first with CREATE SINK"),
                        )
                    })?;
                    let df = DataFrame::new(
                        self.clone(),
                        self.binding(|| plan_query(&query, &SessionCatalog(self)))?,
                    );
                    let mut writer = df.write_stream().format(&decl.format).query_name(&sink);
                    let mut mode = None;
                    let mut trigger = None;
                    // The script's own sink options (registry::SCRIPT_SINK_OPTIONS) set the
                    // writer; the others are the sink's.
                    for (key, value) in &decl.options {
                        if key.eq_ignore_ascii_case(OUTPUT_MODE.name) {
                            mode = Some(value.clone());
                        } else if key.eq_ignore_ascii_case(TRIGGER.name) {
                            trigger =
                                Some(Trigger::parse(value).map_err(|e| e.at(at.line, at.column, None))?);
                        } else {
                            writer = writer.option(key, value);
                        }
                    }
                    let mode = mode.or_else(|| defaults.output_mode.clone());
                    planned.push(PlannedQuery {
                        title: format!("INSERT INTO {sink} (line {})", at.line),
                        writer: finish_writer(writer, &df, mode, trigger.or(defaults.trigger)),
                        at,
                    });
                }
                Statement::Select { query, at } => {
                    let df = DataFrame::new(
                        self.clone(),
                        self.binding(|| plan_query(&query, &SessionCatalog(self)))?,
                    );
                    // Named by its line, so that a checkpoint root gives it a place of its own
                    // that the same script finds again.
                    let writer = df
                        .write_stream()
                        .format("console")
                        .query_name(&format!("select_line_{}", at.line));
                    planned.push(PlannedQuery {
                        title: format!("SELECT (line {})", at.line),
                        writer: finish_writer(writer, &df, defaults.output_mode.clone(), defaults.trigger),
                        at,
                    });
                }
            }
        }
        Ok(planned)
    }

    /// Runs a script: declarations take effect in order, then every query (each `INSERT` and
    /// bare `SELECT`) starts, all on the same workers. Nothing starts if any statement fails
    /// to parse or plan.
    pub fn run_script(&self, script: &str, defaults: &ScriptDefaults) -> Result<Vec<StreamingQuery>> {
        let planned = self.plan_script(script, defaults)?;
        let specs = planned
            .into_iter()
            .map(|q| q.prepare().map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        for spec in &specs {
            self.streams().attach(&spec.shared);
        }
        let shared: Vec<_> = specs.iter().map(|s| s.shared.clone()).collect();
        // Queries that could not start have ended, as far as the manager's listeners know.
        launch(self.cluster(), specs).inspect_err(|_| shared.iter().for_each(|s| s.terminate()))
    }

    /// Describes each query of a script: its logical plan and the dataflow it compiles to.
    pub fn explain_script(&self, script: &str, defaults: &ScriptDefaults) -> Result<String> {
        let mut out = String::new();
        for query in self.plan_script(script, defaults)? {
            let plan = query.writer.plan().clone();
            let title = query.title.clone();
            let spec = query.prepare()?;
            let settings = Settings {
                output_mode: spec.mode,
                broadcast_threshold: spec.broadcast_threshold,
                join_state_format: Default::default(),
            };
            out.push_str(&format!(
                "== {} ==\noutput mode: {}, trigger: {}\n\n{}\n",
                title,
                spec.mode,
                spec.trigger,
                explain(&plan, settings)
            ));
        }
        Ok(out)
    }
}

/// The upsert table of a `CREATE STREAMING TABLE`; an error about a key column points at it.
fn upsert_table(
    df: &DataFrame,
    primary_key: &[(String, sqlparser::tokenizer::Location)],
    at: sqlparser::tokenizer::Location,
) -> Result<DataFrame> {
    let names: Vec<&str> = primary_key.iter().map(|(n, _)| n.as_str()).collect();
    df.as_upsert_table(&names).map_err(|e| {
        let place = match &e {
            Error::UnresolvedColumn { name, .. } => primary_key
                .iter()
                .find(|(n, _)| n == name)
                .map_or(at, |(_, place)| *place),
            _ => at,
        };
        e.at(place.line, place.column, None)
    })
}

/// Applies the output mode (complete for aggregations, update for queries that read an upsert
/// table, append otherwise, unless given) and
/// the trigger.
fn finish_writer(
    writer: super::DataStreamWriter,
    df: &DataFrame,
    mode: Option<String>,
    trigger: Option<Trigger>,
) -> super::DataStreamWriter {
    let mode = mode.unwrap_or_else(|| {
        if df.plan().has_aggregation() {
            "complete"
        } else if df.plan().correction_reason().is_some() {
            // Rows corrected by a changing table cannot be appended.
            "update"
        } else {
            "append"
        }
        .into()
    });
    let writer = writer.output_mode(&mode);
    match trigger {
        Some(t) => writer.trigger(t),
        None => writer,
    }
}

#[cfg(test)]
mod tests;
