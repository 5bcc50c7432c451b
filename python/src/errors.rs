//! Library errors as Python exceptions, in one place, and the one way Rust work runs: with
//! the GIL released and a panic caught, so neither a long fit nor a bug can freeze or crash
//! the interpreter.

use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyIsADirectoryError, PyNotADirectoryError, PyOSError,
    PyPermissionError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use segmenter::error::ErrorKind;
use std::io::ErrorKind as IoKind;
use std::panic::{catch_unwind, AssertUnwindSafe};

pyo3::create_exception!(
    _segmenter,
    PanicError,
    PyRuntimeError,
    "A bug in segmenter (a Rust panic), raised instead of crashing the interpreter."
);

/// The Python exception for a library error, with the message the CLI prints: bad
/// parameters and data are `ValueError`, files `OSError`, GPU and unsupported requests
/// `RuntimeError`.
pub fn to_py(e: segmenter::Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::Param | ErrorKind::Data | ErrorKind::Model => PyValueError::new_err(msg),
        ErrorKind::Io => {
            let errno = match &e {
                segmenter::Error::Read { source, .. }
                | segmenter::Error::Write { source, .. }
                | segmenter::Error::OutDir { source, .. } => source.raw_os_error(),
                _ => None,
            };
            // The OSError subclass Python would raise for the errno, with the CLI's message
            // as it is (OSError(errno, msg) would prefix "[Errno n]").
            match errno
                .map(std::io::Error::from_raw_os_error)
                .map(|e| e.kind())
            {
                Some(IoKind::NotFound) => PyFileNotFoundError::new_err(msg),
                Some(IoKind::PermissionDenied) => PyPermissionError::new_err(msg),
                Some(IoKind::AlreadyExists) => PyFileExistsError::new_err(msg),
                Some(IoKind::IsADirectory) => PyIsADirectoryError::new_err(msg),
                Some(IoKind::NotADirectory) => PyNotADirectoryError::new_err(msg),
                _ => PyOSError::new_err(msg),
            }
        }
        ErrorKind::Gpu | ErrorKind::Unsupported => PyRuntimeError::new_err(msg),
    }
}

/// Runs `f` with the GIL released, on rayon's pool ([`segmenter::on_pool`]); a library error
/// becomes its exception, a panic a [`PanicError`].
pub fn detached<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> segmenter::Result<T> + Send,
{
    match py.detach(|| segmenter::on_pool(|| catch_unwind(AssertUnwindSafe(f)))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(e)),
        Err(payload) => Err(panic_error(payload)),
    }
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into());
    PanicError::new_err(format!(
        "internal error in segmenter (please report it): {what}"
    ))
}

/// Panics inside [`detached`]: lets the test suite prove that a panic becomes an exception.
#[pyfunction]
pub fn panic_for_test(py: Python<'_>) -> PyResult<()> {
    detached(py, || -> segmenter::Result<()> {
        panic!("deliberate panic for the test suite")
    })
}
