//! [`DataFrame`] and [`GroupedData`]: the structured API's query builder.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{DataStreamWriter, Session};
use crate::data::Schema;
use crate::data::{OutputMode, Row};
use crate::error::Result;
use crate::expr::{col, count, Expr, SortOrder};
use crate::plan::processor::{StatefulProcessor, TimeMode};
use crate::plan::{GroupState, GroupStateTimeout, LogicalPlan, StateApi, StateFunction};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A streaming query under construction, like Spark's `DataFrame`: each call returns a new
/// DataFrame and checks its columns and types at once, so a misspelt column fails where it is
/// written, not when the query starts.
///
/// Nothing runs until [`write_stream`](Self::write_stream)`().start()`. Every batch's rows come
/// sorted, so a query's output does not depend on how many workers ran it:
///
/// ```
/// # use tidewater::prelude::*;
/// # fn main() -> tidewater::Result<()> {
/// # let spark = Session::builder().get_or_create()?;
/// let input = MemoryStream::new(Schema::new([
///     Field::new("shop", DataType::String),
///     Field::new("amount", DataType::Int64),
/// ]));
/// let sales = spark.read_stream().memory(&input);
/// assert_eq!(sales.select([col("price")]).unwrap_err().code(), "UNRESOLVED_COLUMN");
///
/// let doubled = sales.filter(col("amount").gt(1))?.with_column("amount", col("amount") * 2)?;
/// input.add_data([row!["y", 3], row!["x", 1], row!["x", 4]]);
/// input.end(); // the query ends once it has read every row
/// let query = doubled.write_stream().format("memory").query_name("doubled").start()?;
/// query.await_termination()?;
/// let table = spark.memory_table("doubled").expect("the memory sink registers its table");
/// assert_eq!(table.rows(), [row!["x", 8], row!["y", 6]]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DataFrame {
    session: Session,
    plan: Arc<LogicalPlan>,
    /// This DataFrame's own id, which its output columns carry (see [`DataFrame::col`]).
    id: u64,
}

impl fmt::Debug for DataFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataFrame[{}]", self.plan.schema().names().join(", "))
    }
}

impl DataFrame {
    pub(crate) fn new(session: Session, plan: LogicalPlan) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        DataFrame {
            session,
            plan: Arc::new(plan).of_dataset(id),
            id,
        }
    }

    /// This DataFrame's column `name` (Spark's `df.col("c")`, PySpark's `df.c` or `df["c"]`):
    /// in a query built from this DataFrame, it is this DataFrame's column even where another
    /// has a column of the same name, as both sides of a join may. A column that no longer
    /// comes from this DataFrame (a projection computed it) is found by its name.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let schema = |other: &str| {
    ///     Schema::new([Field::new("id", DataType::Int64), Field::new(other, DataType::String)])
    /// };
    /// let (orders, users) = (MemoryStream::new(schema("item")), MemoryStream::new(schema("name")));
    /// let orders = spark.read_stream().memory(&orders);
    /// let users = spark.read_stream().memory(&users);
    /// let joined = orders.join_expr(&users, orders.col("id").eq(users.col("id")), "inner")?;
    /// // Both sides have `id`: each DataFrame's `col("id")` is its own.
    /// let both = joined.select([orders.col("id"), users.col("id").alias("user_id")])?;
    /// assert_eq!(both.schema().names(), ["id", "user_id"]);
    /// assert_eq!(joined.drop_column(&users.col("id"))?.schema().names(), ["id", "item", "name"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn col(&self, name: &str) -> Expr {
        if name == "*" || self.schema().index_in_dataset(self.id, name).is_none() {
            // `*`, a struct's field (`s.f`) or a relation's column (`a.c`): by the name.
            return col(name);
        }
        Expr::Column(crate::data::dataset_column(self.id, name))
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

    /// True for a stream; false when every source is a static table (`spark.read`), as
    /// Spark's `isStreaming`.
    pub fn is_streaming(&self) -> bool {
        !self.plan.is_static()
    }

    /// The rows of a static DataFrame (one read with `spark.read`), computed now: Spark's
    /// `collect()`. An aggregation gives its final groups. The rows come sorted, or in the
    /// order of an [`order_by`](Self::order_by). A stream has no end to collect at, so, as
    /// in Spark, it is refused: run it with [`write_stream`](Self::write_stream).
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # use tidewater::functions::{col, count};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spark = Session::builder().get_or_create()?;
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("sales.csv");
    /// std::fs::write(&path, "shop,amount\ny,3\nx,1\nx,4\n")?;
    /// let sales = spark.read().option("header", true).option("inferSchema", true)
    ///     .csv(path.to_str().unwrap())?;
    /// assert!(!sales.is_streaming());
    /// let per_shop = sales.group_by([col("shop")]).agg([count(col("*")).alias("n")])?;
    /// assert_eq!(per_shop.collect()?, [row!["x", 2], row!["y", 1]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn collect(&self) -> Result<Vec<Row>> {
        if self.is_streaming() {
            return Err(crate::Error::InvalidPlan(
                "Queries with streaming sources must be executed with writeStream.start()".into(),
            ));
        }
        // Complete mode gives an aggregation's whole result at each epoch; the last is final.
        let complete = self.plan.has_aggregation();
        let collected = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = collected.clone();
        let query = self
            .write_stream()
            .unlisted()
            .output_mode(if complete { "complete" } else { "append" })
            .trigger(crate::runtime::Trigger::AvailableNow)
            .foreach_batch(move |batch: &crate::connectors::Batch<'_>| {
                let mut rows = sink.lock().map_err(|_| "the collected rows' lock is poisoned")?;
                if complete {
                    rows.clear();
                }
                rows.extend_from_slice(batch.rows);
                Ok::<(), &str>(())
            })
            .start()?;
        query.await_termination()?;
        let rows = std::mem::take(
            &mut *collected
                .lock()
                .map_err(|_| crate::Error::Runtime("the collected rows' lock is poisoned".into()))?,
        );
        Ok(rows)
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
            // As a new query runs it (one resumed from an older checkpoint may keep an
            // arranged join).
            join_state_format: Default::default(),
        };
        crate::compile::explain(&self.plan, settings)
    }

    /// Computes new columns, Spark's `select`. A generator such as `explode` turns one row into
    /// several, which is how a line becomes its words:
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let lines = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    /// let words = spark.read_stream().memory(&lines)
    ///     .select([explode(split(col("value"), " ")).alias("word")])?;
    /// lines.add_data([row!["to be"], row!["or not"]]);
    /// lines.end();
    /// let query = words.write_stream().format("memory").query_name("words").start()?;
    /// query.await_termination()?;
    /// let table = spark.memory_table("words").expect("the memory sink registers its table");
    /// assert_eq!(table.rows(), [row!["be"], row!["not"], row!["or"], row!["to"]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn select(&self, exprs: impl IntoIterator<Item = Expr>) -> Result<DataFrame> {
        let exprs = exprs.into_iter().collect();
        let plan = self
            .session
            .binding(|| LogicalPlan::project(self.plan.clone(), exprs))?;
        Ok(self.with_plan(plan))
    }

    /// Computes new columns from SQL expressions (Spark's `selectExpr`): each item is what a
    /// SELECT list holds, with an optional alias.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let lines = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    /// let words = spark.read_stream().memory(&lines)
    ///     .select_expr(["explode(split(value, ' ')) AS word"])?
    ///     .select_expr(["word", "length(word) * 10 AS score"])?;
    /// assert_eq!(words.schema().names(), ["word", "score"]);
    /// lines.add_data([row!["to be"]]);
    /// lines.end();
    /// let query = words.write_stream().format("memory").query_name("scored").start()?;
    /// query.await_termination()?;
    /// let table = spark.memory_table("scored").expect("the memory sink registers its table");
    /// assert_eq!(table.rows(), [row!["be", 20], row!["to", 20]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn select_expr<S: AsRef<str>>(&self, exprs: impl IntoIterator<Item = S>) -> Result<DataFrame> {
        let exprs = exprs
            .into_iter()
            .map(|e| crate::plan::sql::expr_with(e.as_ref(), self.session.escaped_string_literals()))
            .collect::<Result<Vec<_>>>()?;
        self.select(exprs)
    }

    /// Every column but `columns` (Spark's `drop`); a name the DataFrame does not have is
    /// ignored, as in Spark.
    pub fn drop(&self, columns: &[&str]) -> Result<DataFrame> {
        let schema = self.schema();
        // A name drops every column so called, as Spark's `drop("c")` does; a DataFrame's
        // column (`df.col("c")`) only that one.
        let dropped = |i: usize| {
            columns
                .iter()
                .any(|c| match crate::data::dataset_column_parts(c) {
                    Some(_) => schema.index_of(c) == Some(i),
                    None => c.eq_ignore_ascii_case(&schema.fields()[i].name),
                })
        };
        let kept: Vec<usize> = (0..schema.len()).filter(|&i| !dropped(i)).collect();
        Ok(self.with_plan(LogicalPlan::select_columns(self.plan.clone(), &kept)))
    }

    /// The same columns under the names `names`, by position (Spark's `toDF(names)`); as many
    /// names as columns.
    pub fn to_df(&self, names: &[&str]) -> Result<DataFrame> {
        let plan = LogicalPlan::renamed_columns(self.plan.clone(), names)?;
        Ok(self.with_plan(plan))
    }

    /// Without the column `column` (Spark's `drop(col: Column)`): a DataFrame's own column
    /// ([`col`](Self::col)) drops that column alone where a join holds two of its name, a
    /// column by name (`col("c")`) every column so called. Any other expression drops nothing,
    /// as in Spark.
    pub fn drop_column(&self, column: &Expr) -> Result<DataFrame> {
        match column {
            Expr::Column(name) => self.drop(&[name]),
            _ => Ok(self.clone()),
        }
    }

    /// The column `existing` renamed to `new` (Spark's `withColumnRenamed`); nothing changes if
    /// there is no such column, as in Spark.
    pub fn with_column_renamed(&self, existing: &str, new: &str) -> Result<DataFrame> {
        if self.schema().index_of(existing).is_none() {
            return Ok(self.clone());
        }
        let columns = self
            .schema()
            .names()
            .into_iter()
            .map(|n| {
                if n.eq_ignore_ascii_case(existing) {
                    col(&n).alias(new)
                } else {
                    col(&n)
                }
            })
            .collect::<Vec<_>>();
        self.select(columns)
    }

    /// The rows of this stream and of `other` (Spark's `union`, SQL's `UNION ALL`): columns
    /// matched by position, named as this side's, each of their common type (a BIGINT and a
    /// DOUBLE give a DOUBLE). Duplicates stay; [`distinct`](Self::distinct) removes them.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let schema = Schema::new([Field::new("user", DataType::String), Field::new("n", DataType::Int64)]);
    /// let (web, app) = (MemoryStream::new(schema.clone()), MemoryStream::new(schema));
    /// let all = spark.read_stream().memory(&web).union(&spark.read_stream().memory(&app))?;
    /// web.add_data([row!["ann", 1], row!["bob", 2]]);
    /// app.add_data([row!["ann", 1]]);
    /// web.end();
    /// app.end();
    /// let query = all.write_stream().format("memory").query_name("all_events").start()?;
    /// query.await_termination()?;
    /// let table = spark.memory_table("all_events").expect("the memory sink registers its table");
    /// assert_eq!(table.rows(), [row!["ann", 1], row!["ann", 1], row!["bob", 2]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn union(&self, other: &DataFrame) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::union(self.plan.clone(), other.plan.clone())?))
    }

    /// Same as [`union`](Self::union) (Spark's `unionAll`).
    pub fn union_all(&self, other: &DataFrame) -> Result<DataFrame> {
        self.union(other)
    }

    /// As [`union`](Self::union), `other`'s columns matched to this side's by name (Spark's
    /// `unionByName`). With `allow_missing_columns`, a column only one side has is null on the
    /// other, and `other`'s extra columns come last; without it the names must be the same.
    pub fn union_by_name(&self, other: &DataFrame, allow_missing_columns: bool) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::union_by_name(
            self.plan.clone(),
            other.plan.clone(),
            allow_missing_columns,
        )?))
    }

    /// Keeps the rows for which `condition` is true; a row where it is null is dropped, as in
    /// SQL's `WHERE`.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let input = MemoryStream::new(Schema::new([
    ///     Field::new("shop", DataType::String),
    ///     Field::new("amount", DataType::Int64),
    /// ]));
    /// let big = spark.read_stream().memory(&input).filter(col("amount").gt_eq(10))?;
    /// input.add_data([row!["x", 5], row!["y", 10], row!["x", 12], row!["z", Value::Null]]);
    /// input.end();
    /// let query = big.write_stream().format("memory").query_name("big").start()?;
    /// query.await_termination()?;
    /// let table = spark.memory_table("big").expect("the memory sink registers its table");
    /// assert_eq!(table.rows(), [row!["x", 12], row!["y", 10]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter(&self, condition: Expr) -> Result<DataFrame> {
        let plan = self
            .session
            .binding(|| LogicalPlan::filter(self.plan.clone(), condition))?;
        Ok(self.with_plan(plan))
    }

    /// Declares `event_time` (a timestamp column) the stream's event time, whose events may
    /// arrive up to `delay` late (`"10 seconds"`; Spark's `withWatermark`). The watermark of an
    /// epoch is the greatest event time seen before it, less `delay`. An aggregation over the
    /// result drops rows at or below the watermark, and one grouped by
    /// `window(col(event_time), ..)` can run in append mode: each window is written once, when
    /// the watermark passes its end.
    ///
    /// Below, the first epoch sees events up to 12 s, so the second runs under the watermark
    /// 12 - 5 = 7 s; it sees 30 s, and the batch without data that follows runs under 25 s,
    /// which closes the windows [0, 10) and [10, 20). [30, 40) stays open: no later event moves
    /// the watermark past 40 s.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let at = |seconds: i64| Value::Timestamp(seconds * 1_000_000); // microseconds
    /// let input = MemoryStream::new(Schema::new([
    ///     Field::new("word", DataType::String),
    ///     Field::new("ts", DataType::Timestamp),
    /// ]));
    /// let counts = spark.read_stream().memory(&input).with_watermark("ts", "5 seconds")?
    ///     .group_by([window(col("ts"), "10 seconds"), col("word")]).count()?;
    /// let query = counts.write_stream().output_mode("append")
    ///     .format("memory").query_name("windows").start()?;
    /// input.add_data([row!["a", at(1)], row!["a", at(4)], row!["b", at(12)]]);
    /// query.process_all_available()?;
    /// input.add_data([row!["b", at(30)]]);
    /// query.process_all_available()?;
    /// input.end();
    /// query.await_termination()?;
    /// let window = |start| Value::Struct(vec![at(start), at(start + 10)].into());
    /// let table = spark.memory_table("windows").expect("the memory sink registers its table");
    /// assert_eq!(table.rows(), [row![window(0), "a", 2], row![window(10), "b", 1]]);
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// An aggregation is maintained across epochs: in `update` mode each epoch writes the
    /// groups it changed, with their new values, and `complete` writes every group each time.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let input = MemoryStream::new(Schema::new([Field::new("word", DataType::String)]));
    /// let counts = spark.read_stream().memory(&input).group_by([col("word")]).count()?;
    /// let query = counts.write_stream().output_mode("update")
    ///     .format("memory").query_name("counts").start()?;
    /// input.add_data([row!["a"], row!["b"], row!["a"]]);
    /// query.process_all_available()?; // epoch 0
    /// input.add_data([row!["b"]]);
    /// query.process_all_available()?; // epoch 1: only `b` changed
    /// input.end();
    /// query.await_termination()?;
    /// let table = spark.memory_table("counts").expect("the memory sink registers its table");
    /// assert_eq!(
    ///     table.batches(),
    ///     [(0, vec![row!["a", 2], row!["b", 1]]), (1, vec![row!["b", 2]])]
    /// );
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// The right side is usually a static table (`spark.read()`) or an
    /// [upsert table](Self::as_upsert_table); two streams join too, inner, each row meeting the
    /// other side's rows of every epoch so far:
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let id = || Field::new("user_id", DataType::Int64);
    /// let orders = MemoryStream::new(Schema::new([id(), Field::new("amount", DataType::Int64)]));
    /// let users = MemoryStream::new(Schema::new([id(), Field::new("name", DataType::String)]));
    /// let joined = spark.read_stream().memory(&orders)
    ///     .join(&spark.read_stream().memory(&users), &["user_id"], "inner")?;
    /// orders.add_data([row![1, 30], row![2, 5], row![1, 7], row![3, 9]]);
    /// users.add_data([row![1, "ann"], row![2, "bob"]]);
    /// orders.end();
    /// users.end();
    /// let query = joined.write_stream().format("memory").query_name("joined").start()?;
    /// query.await_termination()?;
    /// let table = spark.memory_table("joined").expect("the memory sink registers its table");
    /// // User 3 is unknown: an inner join drops the order.
    /// assert_eq!(table.rows(), [row![1, 7, "ann"], row![1, 30, "ann"], row![2, 5, "bob"]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&self, other: &DataFrame, columns: &[&str], how: &str) -> Result<DataFrame> {
        let pairs = columns.iter().map(|c| (col(c), col(c))).collect();
        let kind = how.parse()?;
        let plan = self
            .session
            .binding(|| LogicalPlan::join(self.plan.clone(), other.plan.clone(), kind, pairs, true))?;
        Ok(self.with_plan(plan))
    }

    /// This DataFrame under the name `alias` (Spark's `df.alias("a")`): `col("a.c")` is then
    /// its column `c`, which tells its `c` from another's after a join where both sides have
    /// one. The column keeps its own name in the output.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # use tidewater::functions::col;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let schema = Schema::new([Field::new("id", DataType::Int64), Field::new("name", DataType::String)]);
    /// let (a, b) = (MemoryStream::new(schema.clone()), MemoryStream::new(schema));
    /// let left = spark.read_stream().memory(&a).alias("a");
    /// let right = spark.read_stream().memory(&b).alias("b");
    /// let joined = left
    ///     .join_expr(&right, col("a.id").eq(col("b.id")), "inner")?
    ///     .select([col("a.name"), col("b.name").alias("other")])?;
    /// assert_eq!(joined.schema().names(), ["name", "other"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn alias(&self, alias: &str) -> DataFrame {
        self.with_plan(self.plan.qualified(alias).as_ref().clone())
    }

    /// Joins with `other` where each `(left, right)` pair of expressions is equal, `how` being
    /// `inner` or `left`. All columns of both sides are kept; a name on both sides resolves
    /// to this side's column afterwards. Each side's [`col`](Self::col), or
    /// [`alias`](Self::alias)ed names, tell the two apart.
    pub fn join_on(
        &self,
        other: &DataFrame,
        pairs: impl IntoIterator<Item = (Expr, Expr)>,
        how: &str,
    ) -> Result<DataFrame> {
        let pairs = pairs.into_iter().collect();
        let kind = how.parse()?;
        let plan = self
            .session
            .binding(|| LogicalPlan::join(self.plan.clone(), other.plan.clone(), kind, pairs, false))?;
        Ok(self.with_plan(plan))
    }

    /// Joins with `other` on `condition` (Spark's `df.join(other, joinExprs, joinType)`):
    /// equalities of this side's and `other`'s expressions, for two streams comparisons of
    /// their event-time columns, and other parts that decide which pairs match (see
    /// [`LogicalPlan::join_on`]), joined by AND. `how` is `inner`, `left`, `right`, `full` or
    /// `left_semi`. With watermarks on both streams and a time range between their event
    /// times, each side forgets its rows once the watermark shows nothing can match them, and
    /// outer joins write a row that never matched, padded with nulls, at that moment:
    ///
    /// ```no_run
    /// # use tidewater::prelude::*;
    /// # use tidewater::functions::{col, interval};
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// # let ts = |name: &str| Field::new(name, DataType::Timestamp);
    /// # let imps = MemoryStream::new(Schema::new([Field::new("ad", DataType::Int64), ts("imp_ts")]));
    /// # let clicks = MemoryStream::new(Schema::new([Field::new("click_ad", DataType::Int64), ts("click_ts")]));
    /// let impressions = spark.read_stream().memory(&imps).with_watermark("imp_ts", "2 minutes")?;
    /// let clicks = spark.read_stream().memory(&clicks).with_watermark("click_ts", "3 minutes")?;
    /// let attributed = impressions.join_expr(
    ///     &clicks,
    ///     col("ad").eq(col("click_ad"))
    ///         .and(col("click_ts").gt_eq(col("imp_ts")))
    ///         .and(col("click_ts").lt_eq(col("imp_ts") + interval("1 minute"))),
    ///     "left",
    /// )?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_expr(&self, other: &DataFrame, condition: Expr, how: &str) -> Result<DataFrame> {
        let split = crate::plan::split_join_condition(&condition, &self.plan, &other.plan);
        let plan = LogicalPlan::join_on(self.plan.clone(), other.plan.clone(), how.parse()?, split)?;
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

    /// Spark's `dropDuplicates(cols)`: the first row of each combination of `columns` (every
    /// column when empty), first in the order the sources read them, whatever the number of
    /// workers. Over a stream every key is remembered, so state grows with the distinct keys;
    /// under a watermark, rows at or before it are late and dropped, and when `columns` holds
    /// the event-time column a key is forgotten once the watermark passes it, as in Spark.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let schema = Schema::new([Field::new("user", DataType::String), Field::new("page", DataType::String)]);
    /// let visits = MemoryStream::new(schema);
    /// let first = spark.read_stream().memory(&visits).drop_duplicates(&["user"])?;
    /// let query = first.write_stream().format("memory").query_name("first_visits").start()?;
    /// visits.add_data(vec![row!["ann", "home"], row!["bob", "shop"], row!["ann", "shop"]]);
    /// query.process_all_available()?;
    /// visits.add_data(vec![row!["ann", "cart"], row!["cy", "home"]]);
    /// query.process_all_available()?;
    /// let table = spark.memory_table("first_visits").expect("a memory table");
    /// assert_eq!(table.rows(), [row!["ann", "home"], row!["bob", "shop"], row!["cy", "home"]]);
    /// # query.stop()
    /// # }
    /// ```
    pub fn drop_duplicates(&self, columns: &[&str]) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::deduplicate(self.plan.clone(), columns, false)?))
    }

    /// Spark's `distinct()`: [`drop_duplicates`](Self::drop_duplicates) on every column.
    pub fn distinct(&self) -> Result<DataFrame> {
        self.drop_duplicates(&[])
    }

    /// Spark 3.5's `dropDuplicatesWithinWatermark(cols)`: as
    /// [`drop_duplicates`](Self::drop_duplicates), but a key is remembered only until the
    /// watermark passes its first row's event time plus the watermark's delay; a copy after
    /// that comes out again. It needs a watermark ([`with_watermark`](Self::with_watermark)).
    pub fn drop_duplicates_within_watermark(&self, columns: &[&str]) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::deduplicate(self.plan.clone(), columns, true)?))
    }

    /// Sorts the result by `order` (Spark's `orderBy`): `col("count").desc()`, or a bare
    /// expression for ascending. A stream has no order, so, as in Spark, only the result of an
    /// aggregation written whole (complete mode) can be sorted; the sort runs on each epoch's
    /// result, and rows equal on every key keep the result's order (sorted by their values,
    /// strings by the bytes of their UTF-8). With [`limit`](Self::limit), the top of a count:
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let input = MemoryStream::new(Schema::new([Field::new("word", DataType::String)]));
    /// let top = spark.read_stream().memory(&input).group_by([col("word")]).count()?
    ///     .order_by([col("count").desc()])?.limit(2)?;
    /// input.add_data([row!["b"], row!["a"], row!["c"], row!["c"], row!["b"], row!["c"]]);
    /// input.end();
    /// let query = top.write_stream().output_mode("complete")
    ///     .format("memory").query_name("top").start()?;
    /// query.await_termination()?;
    /// let table = spark.memory_table("top").expect("the memory sink registers its table");
    /// assert_eq!(table.rows(), [row!["c", 3], row!["b", 2]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn order_by<O: Into<SortOrder>>(&self, order: impl IntoIterator<Item = O>) -> Result<DataFrame> {
        let order = order.into_iter().map(Into::into).collect();
        Ok(self.with_plan(LogicalPlan::sort(self.plan.clone(), order)?))
    }

    /// Same as [`order_by`](Self::order_by) (Spark's `sort`).
    pub fn sort<O: Into<SortOrder>>(&self, order: impl IntoIterator<Item = O>) -> Result<DataFrame> {
        self.order_by(order)
    }

    /// At most `n` rows (Spark's `limit`): in complete mode the first `n` rows of each epoch's
    /// result (after [`order_by`](Self::order_by), the top `n`); in append mode the first `n`
    /// rows written over the whole run, after which the query writes nothing more, as Spark's
    /// streaming limit. Update mode refuses a limit, as Spark does.
    pub fn limit(&self, n: usize) -> Result<DataFrame> {
        Ok(self.with_plan(LogicalPlan::limit(self.plan.clone(), n)?))
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
    /// The number of rows per group, in a column named `count` (an example is on
    /// [`DataFrame::group_by`]).
    pub fn count(&self) -> Result<DataFrame> {
        self.agg([count(col("*")).alias("count")])
    }

    /// The given aggregates per group: `agg([sum(col("x")), avg(col("x")).alias("mean")])`.
    /// An aggregate without an alias is named as Spark names it, `sum(x)`.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let input = MemoryStream::new(Schema::new([
    ///     Field::new("shop", DataType::String),
    ///     Field::new("amount", DataType::Int64),
    /// ]));
    /// let stats = spark.read_stream().memory(&input).group_by([col("shop")])
    ///     .agg([sum(col("amount")), avg(col("amount")).alias("mean")])?;
    /// assert_eq!(stats.schema().names(), ["shop", "sum(amount)", "mean"]);
    /// input.add_data([row!["x", 5], row!["y", 10], row!["x", 12]]);
    /// input.end();
    /// let query = stats.write_stream().output_mode("complete")
    ///     .format("memory").query_name("stats").start()?;
    /// query.await_termination()?;
    /// let table = spark.memory_table("stats").expect("the memory sink registers its table");
    /// assert_eq!(table.rows(), [row!["x", 17, 8.5], row!["y", 10, 10.0]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn agg(&self, aggs: impl IntoIterator<Item = Expr>) -> Result<DataFrame> {
        let aggs = aggs.into_iter().collect();
        let plan = self
            .df
            .session
            .binding(|| LogicalPlan::aggregate(self.df.plan.clone(), self.keys.clone(), aggs))?;
        Ok(self.df.with_plan(plan))
    }
}

/// A DataFrame grouped by key columns for a function with state per key (Spark's
/// `KeyValueGroupedDataset`, from `groupByKey`), made by [`DataFrame::group_by_key`].
#[derive(Clone, Debug)]
pub struct KeyedDataFrame {
    df: DataFrame,
    keys: Vec<Expr>,
}

impl DataFrame {
    /// Groups rows by the key columns `keys` for a function with state per key (Spark's
    /// `groupByKey`): see [`KeyedDataFrame::flat_map_groups_with_state`]. Keys are columns,
    /// not computed expressions (select a computed key first).
    pub fn group_by_key(&self, keys: impl IntoIterator<Item = Expr>) -> KeyedDataFrame {
        KeyedDataFrame {
            df: self.clone(),
            keys: keys.into_iter().collect(),
        }
    }
}

impl KeyedDataFrame {
    /// Spark's `flatMapGroupsWithState(outputMode, timeoutConf)(func)`: calls `function` once
    /// per key and epoch with the key's columns, the key's rows of the epoch in the order the
    /// source read them, and its [`GroupState`](crate::plan::GroupState) of the user's type
    /// `S` (any serde type: the engine keeps it serialized per key); the rows it returns, of
    /// `output_schema`, are the query's output. A key whose timeout passes (see
    /// [`GroupStateTimeout`](crate::plan::GroupStateTimeout)) is called with no rows and
    /// `has_timed_out()` true, in epochs without rows too. `output_mode` must be the query's:
    /// append or update.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let input = MemoryStream::new(Schema::new([Field::new("user", DataType::String)]));
    /// let schema = Schema::new([Field::new("user", DataType::String), Field::new("seen", DataType::Int64)]);
    /// let counts = spark.read_stream().memory(&input).group_by_key([col("user")])
    ///     .flat_map_groups_with_state(OutputMode::Update, GroupStateTimeout::None,
    ///         |key: &Row, rows: Vec<Row>, state: &mut GroupState<i64>| {
    ///             let seen = state.get().copied().unwrap_or(0) + rows.len() as i64;
    ///             state.update(seen);
    ///             vec![Row::from(vec![key.first().cloned().unwrap_or(Value::Null), Value::Int(seen)])]
    ///         }, schema)?;
    /// input.add_data([row!["ann"], row!["bob"], row!["ann"]]);
    /// input.end();
    /// let query = counts.write_stream().output_mode("update").format("memory").query_name("seen").start()?;
    /// query.await_termination()?;
    /// let mut rows = spark.memory_table("seen").expect("registered").rows();
    /// rows.sort_by_key(|r| format!("{r:?}"));
    /// assert_eq!(rows, [row!["ann", 2i64], row!["bob", 1i64]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn flat_map_groups_with_state<S, F>(
        &self,
        output_mode: OutputMode,
        timeout: GroupStateTimeout,
        function: F,
        output_schema: Schema,
    ) -> Result<DataFrame>
    where
        S: Serialize + DeserializeOwned + 'static,
        F: Fn(&Row, Vec<Row>, &mut GroupState<S>) -> Vec<Row> + Send + Sync + 'static,
    {
        let keys = self.key_columns()?;
        let erased = move |key: &Row, rows: Vec<Row>, state: &mut GroupState<Vec<u8>>| {
            let value = match state
                .get()
                .map(|bytes| bincode::deserialize::<S>(bytes))
                .transpose()
            {
                Ok(value) => value,
                Err(e) => {
                    tracing::error!("a key's state could not be read back, so it starts anew: {e}");
                    None
                }
            };
            let mut typed = state.with_value(value);
            let out = function(key, rows, &mut typed);
            state.absorb(typed, |value| match bincode::serialize(&value) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    tracing::error!("a key's state could not be serialized, so it is dropped: {e}");
                    None
                }
            });
            out
        };
        let plan = LogicalPlan::groups_with_state(
            self.df.plan.clone(),
            &keys,
            StateFunction(Arc::new(erased), StateApi::FlatMapGroupsWithState),
            output_mode,
            timeout,
            output_schema,
        )?;
        Ok(self.df.with_plan(plan))
    }

    /// Spark 4's `transformWithState(statefulProcessor, timeMode, outputMode)`: runs
    /// `processor` per key (see [`processor`](crate::plan::processor)) — its `init` once now,
    /// then [`handle_input_rows`](crate::plan::processor::StatefulProcessor::handle_input_rows)
    /// per key and epoch with rows, and
    /// [`handle_expired_timer`](crate::plan::processor::StatefulProcessor::handle_expired_timer)
    /// per timer that expires, in epochs without rows too. The rows they return, of
    /// `output_schema`, are the query's output; `output_mode` must be the query's: append or
    /// update. [`TimeMode::EventTime`](crate::plan::processor::TimeMode::EventTime) needs a
    /// watermark on the stream.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// /// Counts each user's rows in a value state.
    /// struct Counter(Option<ValueState<i64>>);
    /// impl StatefulProcessor for Counter {
    ///     fn init(&mut self, handle: &mut ProcessorHandle) {
    ///         self.0 = Some(handle.get_value_state("count", None));
    ///     }
    ///     fn handle_input_rows(&self, key: &Row, rows: Vec<Row>, _: &TimerValues,
    ///         ctx: &mut KeyContext) -> Vec<Row> {
    ///         let Some(count) = &self.0 else { return Vec::new() };
    ///         let seen = count.get(ctx).unwrap_or(0) + rows.len() as i64;
    ///         count.update(ctx, &seen);
    ///         vec![Row::from(vec![key.first().cloned().unwrap_or(Value::Null), Value::Int(seen)])]
    ///     }
    /// }
    /// let input = MemoryStream::new(Schema::new([Field::new("user", DataType::String)]));
    /// let schema = Schema::new([Field::new("user", DataType::String), Field::new("seen", DataType::Int64)]);
    /// let counts = spark.read_stream().memory(&input).group_by_key([col("user")])
    ///     .transform_with_state(Counter(None), TimeMode::None, OutputMode::Update, schema)?;
    /// input.add_data([row!["ann"], row!["bob"], row!["ann"]]);
    /// input.end();
    /// let query = counts.write_stream().output_mode("update").format("memory").query_name("counted").start()?;
    /// query.await_termination()?;
    /// let mut rows = spark.memory_table("counted").expect("registered").rows();
    /// rows.sort_by_key(|r| format!("{r:?}"));
    /// assert_eq!(rows, [row!["ann", 2i64], row!["bob", 1i64]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn transform_with_state<P: StatefulProcessor>(
        &self,
        processor: P,
        time_mode: TimeMode,
        output_mode: OutputMode,
        output_schema: Schema,
    ) -> Result<DataFrame> {
        let keys = self.key_columns()?;
        let plan = LogicalPlan::transform_with_state(
            self.df.plan.clone(),
            &keys,
            processor,
            time_mode,
            output_mode,
            output_schema,
            None,
        )?;
        Ok(self.df.with_plan(plan))
    }

    /// Spark 4's `transformWithState(statefulProcessor, eventTimeColumnName, outputMode)`: as
    /// [`transform_with_state`](Self::transform_with_state) under
    /// [`TimeMode::EventTime`], with the output's timestamp column `event_time_column`
    /// carrying the input's watermark on. A windowed aggregation over it closes its windows
    /// by that watermark, the one the processor's timers fire by (Spark's chained stateful
    /// operators); an output row whose window the watermark had already closed is dropped
    /// by the aggregation as late.
    pub fn transform_with_state_event_time<P: StatefulProcessor>(
        &self,
        processor: P,
        event_time_column: &str,
        output_mode: OutputMode,
        output_schema: Schema,
    ) -> Result<DataFrame> {
        let keys = self.key_columns()?;
        let plan = LogicalPlan::transform_with_state(
            self.df.plan.clone(),
            &keys,
            processor,
            TimeMode::EventTime,
            output_mode,
            output_schema,
            Some(event_time_column),
        )?;
        Ok(self.df.with_plan(plan))
    }

    /// The key columns' names: keys are columns, not computed expressions.
    fn key_columns(&self) -> Result<Vec<&str>> {
        self.keys
            .iter()
            .map(|key| match key.unaliased() {
                Expr::Column(name) => Ok(name.as_str()),
                other => Err(crate::Error::InvalidPlan(format!(
                    "group_by_key takes columns; select {other:?} as a column first"
                ))),
            })
            .collect()
    }

    /// Spark's `mapGroupsWithState(timeoutConf)(func)`: as
    /// [`flat_map_groups_with_state`](Self::flat_map_groups_with_state) with one row per call,
    /// in update mode (the only mode Spark allows it).
    pub fn map_groups_with_state<S, F>(
        &self,
        timeout: GroupStateTimeout,
        function: F,
        output_schema: Schema,
    ) -> Result<DataFrame>
    where
        S: Serialize + DeserializeOwned + 'static,
        F: Fn(&Row, Vec<Row>, &mut GroupState<S>) -> Row + Send + Sync + 'static,
    {
        self.flat_map_groups_with_state(
            OutputMode::Update,
            timeout,
            move |key: &Row, rows: Vec<Row>, state: &mut GroupState<S>| vec![function(key, rows, state)],
            output_schema,
        )
    }
}
