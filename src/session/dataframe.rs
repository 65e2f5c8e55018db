//! [`DataFrame`] and [`GroupedData`]: the structured API's query builder.

use std::fmt;
use std::sync::Arc;

use super::{DataStreamWriter, Session};
use crate::data::Schema;
use crate::error::Result;
use crate::expr::{col, count, Expr};
use crate::plan::LogicalPlan;

/// A streaming query under construction, like Spark's `DataFrame`: each call returns a new
/// DataFrame and checks its columns and types at once.
#[derive(Clone)]
pub struct DataFrame {
    session: Session,
    plan: Arc<LogicalPlan>,
}

impl fmt::Debug for DataFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataFrame[{}]", self.plan.schema().names().join(", "))
    }
}

impl DataFrame {
    pub(crate) fn new(session: Session, plan: LogicalPlan) -> Self {
        DataFrame {
            session,
            plan: Arc::new(plan),
        }
    }

    fn with_plan(&self, plan: LogicalPlan) -> Self {
        DataFrame::new(self.session.clone(), plan)
    }

    /// The session this DataFrame belongs to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The logical plan.
    pub fn plan(&self) -> &Arc<LogicalPlan> {
        &self.plan
    }

    /// The output schema.
    pub fn schema(&self) -> &Schema {
        self.plan.schema()
    }

    /// Always true: every DataFrame here is a stream.
    pub fn is_streaming(&self) -> bool {
        true
    }

    /// The schema as Spark's `printSchema()` tree.
    pub fn print_schema(&self) {
        print!("{}", self.schema());
    }

    /// The logical plan and the dataflow every worker runs for it, as text (Spark's
    /// `explain()`; the same text as `tidewater explain`). The operators are those of a query
    /// started in the writer's default output mode, append; in complete mode a windowed
    /// aggregation keeps the windows it would otherwise forget.
    pub fn explain(&self) -> String {
        let settings = crate::compile::Settings {
            output_mode: crate::plan::OutputMode::Append,
            broadcast_threshold: self.session.broadcast_threshold(),
        };
        crate::compile::explain(&self.plan, settings)
    }

    /// Computes new columns: `select([explode(split(col("value"), " ")).alias("word")])`.
    pub fn select(&self, exprs: impl IntoIterator<Item = Expr>) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::project(
            self.plan.clone(),
            exprs.into_iter().collect(),
        )?))
    }

    /// Keeps the rows for which `condition` is true.
    pub fn filter(&self, condition: Expr) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::filter(self.plan.clone(), condition)?))
    }

    /// Declares `event_time` (a timestamp column) the stream's event time, whose events may
    /// arrive up to `delay` late (`"10 seconds"`; Spark's `withWatermark`). The watermark of an
    /// epoch is the greatest event time seen before it, less `delay`. An aggregation over the
    /// result drops rows at or below the watermark, and one grouped by
    /// `window(col(event_time), ..)` can run in append mode: each window is written once, when
    /// the watermark passes its end.
    pub fn with_watermark(&self, event_time: &str, delay: &str) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::watermark(self.plan.clone(), event_time, delay)?))
    }

    /// Same as [`filter`](Self::filter) (Spark's `where`).
    pub fn where_(&self, condition: Expr) -> Result<DataFrame> {
        self.filter(condition)
    }

    /// Adds a column, or replaces the one with the same name.
    pub fn with_column(&self, name: &str, expr: Expr) -> Result<DataFrame> {
        let mut exprs: Vec<Expr> = Vec::with_capacity(self.schema().len() + 1);
        let mut replaced = false;
        for field in self.schema().fields() {
            if field.name.eq_ignore_ascii_case(name) {
                exprs.push(expr.clone().alias(name));
                replaced = true;
            } else {
                exprs.push(col(&field.name));
            }
        }
        if !replaced {
            exprs.push(expr.alias(name));
        }
        self.select(exprs)
    }

    /// Groups by the given expressions; aggregate with [`GroupedData::count`] or
    /// [`GroupedData::agg`]. An empty key list aggregates all rows into one.
    pub fn group_by(&self, keys: impl IntoIterator<Item = Expr>) -> GroupedData {
        GroupedData {
            df: self.clone(),
            keys: keys.into_iter().collect(),
        }
    }

    /// Aggregates all rows into one (Spark's `df.agg(..)`).
    pub fn agg(&self, aggs: impl IntoIterator<Item = Expr>) -> Result<DataFrame> {
        self.group_by([]).agg(aggs)
    }

    /// Registers this DataFrame for `spark.sql(..)` as `name` (Spark's
    /// `createOrReplaceTempView`).
    pub fn create_or_replace_temp_view(&self, name: &str) {
        self.session.register_view(name, self);
    }

    /// Joins with `other` on equal columns of the same names (SQL's `USING`), `how` being
    /// `inner` or `left`: `events.join(&users, &["user_id"], "left")`. The key columns appear
    /// once, from this side.
    pub fn join(&self, other: &DataFrame, columns: &[&str], how: &str) -> Result<DataFrame> {
        let pairs = columns.iter().map(|c| (col(c), col(c))).collect();
        let plan = LogicalPlan::join(self.plan.clone(), other.plan.clone(), how.parse()?, pairs, true)?;
        Ok(self.with_plan(plan))
    }

    /// Joins with `other` where each `(left, right)` pair of expressions is equal, `how` being
    /// `inner` or `left`. All columns of both sides are kept; a name on both sides resolves
    /// to this side's column afterwards, so rename one first if both are needed.
    pub fn join_on(
        &self,
        other: &DataFrame,
        pairs: impl IntoIterator<Item = (Expr, Expr)>,
        how: &str,
    ) -> Result<DataFrame> {
        let pairs = pairs.into_iter().collect();
        let plan = LogicalPlan::join(self.plan.clone(), other.plan.clone(), how.parse()?, pairs, false)?;
        Ok(self.with_plan(plan))
    }

    /// This stream as a table whose rows change while the query runs: the latest row of each
    /// value of the primary key `keys`, for enriching another stream with
    /// [`join`](Self::join) (the table on the right). Within an epoch the row the source read
    /// last wins; a row whose other columns are all null deletes its key. Join results are
    /// corrected when a table row changes, so such queries run in update or complete mode:
    ///
    /// ```no_run
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// # let schema = Schema::new([Field::new("airport", DataType::String)]);
    /// # let (flights, weather) = (MemoryStream::new(schema.clone()), MemoryStream::new(schema));
    /// let weather = spark.read_stream().memory(&weather).as_upsert_table(&["airport"])?;
    /// let enriched = spark.read_stream().memory(&flights).join(&weather, &["airport"], "left")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn as_upsert_table(&self, keys: &[&str]) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::upsert_table(self.plan.clone(), keys)?))
    }

    /// Starts describing how to write the stream.
    pub fn write_stream(&self) -> DataStreamWriter {
        DataStreamWriter::new(self.clone())
    }
}

/// A DataFrame grouped by keys, waiting for its aggregates (Spark's `GroupedData`).
#[derive(Clone, Debug)]
pub struct GroupedData {
    df: DataFrame,
    keys: Vec<Expr>,
}

impl GroupedData {
    /// The number of rows per group, in a column named `count`.
    pub fn count(&self) -> Result<DataFrame> {
        self.agg([count(col("*")).alias("count")])
    }

    /// The given aggregates per group: `agg([sum(col("x")), avg(col("x")).alias("mean")])`.
    pub fn agg(&self, aggs: impl IntoIterator<Item = Expr>) -> Result<DataFrame> {
        let plan = LogicalPlan::aggregate(
            self.df.plan.clone(),
            self.keys.clone(),
            aggs.into_iter().collect(),
        )?;
        Ok(self.df.with_plan(plan))
    }
}
