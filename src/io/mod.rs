//! Tables in and out: reading CSV (plain or gzip), Parquet and SQLite into a [`Table`] or as a
//! stream of rows; parsing fields (numbers, booleans, dates); atomic output files; number
//! formatting; the one fast hasher. Everything above reads and writes through here.

pub mod atomic;
pub mod dates;
pub mod format;
pub mod hash;
pub mod source;
pub mod stream_out;
pub mod table;
pub mod values;

pub use atomic::{write_atomic, write_atomic_bytes, write_labels, AtomicFile};
pub use source::{Source, SourceKind, SourceOptions};
pub use table::{read_table, Table, TableBuilder};
