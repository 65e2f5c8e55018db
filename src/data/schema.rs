//! [`DataType`], [`Field`] and [`Schema`]: what a row's columns are called and hold.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The type of a column, named as Spark SQL names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// The type of a bare NULL literal (Spark's `void`); fits wherever any type does.
    Null,
    /// BOOLEAN
    Boolean,
    /// BIGINT
    Int64,
    /// DOUBLE
    Float64,
    /// STRING
    String,
    /// TIMESTAMP
    Timestamp,
    /// DATE: a calendar day.
    Date,
    /// `ARRAY<element>`
    Array(Box<DataType>),
    /// BINARY: bytes (a Kafka record's key and value).
    Binary,
    /// `STRUCT<name: type, ...>`, e.g. the `window` of a windowed aggregation.
    Struct(Vec<Field>),
    /// `DECIMAL(precision, scale)`: an exact number of up to 38 digits, `scale` of them after
    /// the point (money, and anything a double would round). Last, so that the serialized tags
    /// of the other variants stay as they were.
    Decimal {
        /// The number of digits, 1 to 38.
        precision: u8,
        /// The digits after the point, 0 to `precision`.
        scale: u8,
    },
}

impl DataType {
    /// True for BIGINT, DOUBLE and DECIMAL.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            DataType::Int64 | DataType::Float64 | DataType::Decimal { .. }
        )
    }

    /// The precision and scale of a DECIMAL, and of the DECIMAL that a BIGINT widens to in
    /// arithmetic and comparisons with one (Spark's DECIMAL(20, 0)); `None` for other types.
    pub fn decimal_parts(&self) -> Option<(u8, u8)> {
        match self {
            DataType::Decimal { precision, scale } => Some((*precision, *scale)),
            DataType::Int64 => Some((20, 0)),
            _ => None,
        }
    }

    /// The type that values of `self` and `other` both fit in, if any: equal types, the wider
    /// DECIMAL for decimals and integers (Spark's `widerDecimalType`: the larger whole part and
    /// the larger scale), a double for other mixed numbers, and anything for `Null`.
    pub fn common(&self, other: &DataType) -> Option<DataType> {
        match (self, other) {
            (a, b) if a == b => Some(a.clone()),
            (DataType::Null, t) | (t, DataType::Null) => Some(t.clone()),
            (DataType::Decimal { .. }, DataType::Int64 | DataType::Decimal { .. })
            | (DataType::Int64, DataType::Decimal { .. }) => {
                let ((p1, s1), (p2, s2)) = (self.decimal_parts()?, other.decimal_parts()?);
                let scale = s1.max(s2);
                let whole = (p1 - s1).max(p2 - s2);
                let (precision, scale) =
                    super::decimal::bounded(i32::from(whole) + i32::from(scale), i32::from(scale));
                Some(DataType::Decimal { precision, scale })
            }
            (a, b) if a.is_numeric() && b.is_numeric() => Some(DataType::Float64),
            _ => None,
        }
    }

    /// The SQL name of the type, as Spark prints it (`bigint`, `array<string>`).
    pub fn sql_name(&self) -> String {
        match self {
            DataType::Null => "void".into(),
            DataType::Boolean => "boolean".into(),
            DataType::Int64 => "bigint".into(),
            DataType::Float64 => "double".into(),
            DataType::String => "string".into(),
            DataType::Timestamp => "timestamp".into(),
            DataType::Date => "date".into(),
            DataType::Binary => "binary".into(),
            DataType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            DataType::Array(e) => format!("array<{}>", e.sql_name()),
            DataType::Struct(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{}:{}", f.name, f.data_type.sql_name()))
                    .collect();
                format!("struct<{}>", fields.join(","))
            }
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql_name())
    }
}

/// A named, typed column.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Column type.
    pub data_type: DataType,
    /// Whether the column may hold nulls.
    pub nullable: bool,
    /// The relation the column comes from in a SQL query's FROM with joins (its alias, or its
    /// name): `p.id` finds the `id` of relation `p` where both sides of a join have an `id`, as
    /// Spark's qualified attributes do. It is not part of the column's identity: two fields that
    /// differ only here are equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<String>,
    /// The DataFrames whose output this column is, by their ids: `df["c"]` (PySpark's
    /// `df.c`, [`DataFrame::col`](crate::session::DataFrame::col)) finds this column, and not
    /// another `c`, where a join put both sides' `c` together, as Spark resolves a Dataset's
    /// column by its attribute. Kept while a plan is built, never stored, and not part of the
    /// column's identity.
    #[serde(skip)]
    pub datasets: Vec<u64>,
}

impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.data_type, self.nullable) == (&other.name, &other.data_type, other.nullable)
    }
}

impl Eq for Field {}

impl std::hash::Hash for Field {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.name, &self.data_type, self.nullable).hash(state)
    }
}

impl Field {
    /// A nullable field.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Field {
            name: name.into(),
            data_type,
            nullable: true,
            qualifier: None,
            datasets: Vec::new(),
        }
    }

    /// Whether this column comes from relation `relation` (see [`Field::qualifier`]).
    pub fn comes_from(&self, relation: &str) -> bool {
        self.qualifier
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case(relation))
    }

    /// The same field, declared non-nullable.
    pub fn not_null(mut self) -> Self {
        self.nullable = false;
        self
    }
}

/// The ordered columns of a row. Cheap to clone (shared).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Schema {
    fields: Arc<[Field]>,
}

impl Schema {
    /// A schema of these fields, in order.
    pub fn new(fields: impl IntoIterator<Item = Field>) -> Self {
        Schema {
            fields: fields.into_iter().collect(),
        }
    }

    /// The fields in order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The position of the column called `name`. Like Spark (by default) the match ignores
    /// ASCII case; an exact match wins over a case-insensitive one. A name `r.c` that is no
    /// column's finds column `c` among the columns of relation `r` (see [`Field::qualifier`]).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        if let Some((dataset, column)) = dataset_column_parts(name) {
            return self
                .index_in_dataset(dataset, column)
                .or_else(|| self.index_of(column));
        }
        position_named(self.fields.iter().enumerate(), name).or_else(|| {
            let (relation, column) = name.split_once('.')?;
            let of_relation = self
                .fields
                .iter()
                .enumerate()
                .filter(move |(_, f)| f.comes_from(relation));
            position_named(of_relation, column)
        })
    }

    /// The position of the column called `column` among those of the DataFrame `dataset` (see
    /// [`Field::datasets`]); the first such where a self-join holds two.
    pub fn index_in_dataset(&self, dataset: u64, column: &str) -> Option<usize> {
        let of_dataset = self
            .fields
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.datasets.contains(&dataset));
        position_named(of_dataset, column)
    }

    /// The same columns, each marked as an output of the DataFrame `dataset` (see
    /// [`Field::datasets`]).
    pub fn of_dataset(&self, dataset: u64) -> Schema {
        Schema::new(self.fields.iter().map(|f| {
            let mut field = f.clone();
            if !field.datasets.contains(&dataset) {
                field.datasets.push(dataset);
            }
            field
        }))
    }

    /// The positions of the columns that come from relation `relation` (see
    /// [`Field::qualifier`]).
    pub fn positions_of(&self, relation: &str) -> Vec<usize> {
        (0..self.fields.len())
            .filter(|&i| self.fields[i].comes_from(relation))
            .collect()
    }

    /// Whether any column carries a relation (see [`Field::qualifier`]).
    pub fn is_qualified(&self) -> bool {
        self.fields.iter().any(|f| f.qualifier.is_some())
    }

    /// The same columns, each marked as coming from relation `relation`.
    pub fn qualified(&self, relation: &str) -> Schema {
        Schema::new(self.fields.iter().map(|f| Field {
            qualifier: Some(relation.to_string()),
            ..f.clone()
        }))
    }

    /// The field called `name` (see [`Schema::index_of`]).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.index_of(name).map(|i| &self.fields[i])
    }

    /// The column names in order.
    pub fn names(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.clone()).collect()
    }
}

/// Starts the name of a DataFrame's column (see [`dataset_column`]): a character no SQL
/// identifier or column name a user writes holds.
const DATASET_MARK: char = '\u{1}';

/// The name under which an expression refers to column `column` of the DataFrame `dataset`
/// (see [`Field::datasets`]). [`Schema::index_of`] resolves it to that DataFrame's column if
/// the schema holds it, otherwise to `column` as a plain name.
pub fn dataset_column(dataset: u64, column: &str) -> String {
    format!("{DATASET_MARK}{dataset}.{column}")
}

/// The DataFrame and the column of a [`dataset_column`] name, or `None` for any other name.
pub fn dataset_column_parts(name: &str) -> Option<(u64, &str)> {
    let (dataset, column) = name.strip_prefix(DATASET_MARK)?.split_once('.')?;
    Some((dataset.parse().ok()?, column))
}

/// The column name as its user wrote it: a DataFrame's column (see [`dataset_column`]) is its
/// plain name, any other name itself.
pub fn written_column_name(name: &str) -> &str {
    dataset_column_parts(name).map_or(name, |(_, column)| column)
}

/// The position of the field called `name` among `fields`: an exact match first, then one that
/// ignores ASCII case.
fn position_named<'a>(fields: impl Iterator<Item = (usize, &'a Field)> + Clone, name: &str) -> Option<usize> {
    let mut exact = fields.clone();
    exact
        .find(|(_, f)| f.name == name)
        .or_else(|| fields.clone().find(|(_, f)| f.name.eq_ignore_ascii_case(name)))
        .map(|(i, _)| i)
}

/// Prints Spark's `printSchema()` tree: `root`, then ` |-- name: type (nullable = true)`.
impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "root")?;
        for field in self.fields.iter() {
            writeln!(
                f,
                " |-- {}: {} (nullable = {})",
                field.name, field.data_type, field.nullable
            )?;
        }
        Ok(())
    }
}
