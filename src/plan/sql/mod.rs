//! SQL: scripts of `CREATE STREAM`, `CREATE TABLE`, `CREATE SINK`, `INSERT INTO ... SELECT` and
//! bare `SELECT`s, parsed with `sqlparser` and translated into the same logical plans the
//! DataFrame calls build.

mod expr;
mod fragment;
mod literals;
mod query;
mod script;

pub use fragment::{expr, expr_with};
pub use literals::{unescape, ESCAPED_STRING_LITERALS};
pub use query::{plan_query, Catalog};
pub use script::{parse_script, parse_script_with, Statement};
