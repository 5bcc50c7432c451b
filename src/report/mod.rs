//! Writing results: atomic files, label tables.

pub mod atomic;

pub use atomic::{write_atomic, write_labels, AtomicFile};
