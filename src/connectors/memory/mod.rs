//! `memory`: rows pushed from code ([`MemoryStream`], a source), static tables given from code
//! ([`LocalRows`]), and result tables read from code ([`MemorySink`]), for tests and embedding.

mod rows;
mod sink;
mod stream;

pub use rows::LocalRows;
pub use sink::{MemorySink, MemoryTable};
pub use stream::MemoryStream;
