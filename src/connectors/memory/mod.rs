//! `memory`: rows pushed from code ([`MemoryStream`], a source) and result tables read from code
//! ([`MemorySink`]), for tests and embedding.

mod sink;
mod stream;

pub use sink::{MemorySink, MemoryTable};
pub use stream::MemoryStream;
