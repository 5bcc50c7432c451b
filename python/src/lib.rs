//! The Python binding of segmenter (`segmenter._segmenter`): a thin PyO3 layer over the
//! library. It turns Python values into library parameters and tables, runs the library with
//! the GIL released, and turns results into NumPy arrays and plain Python values; the
//! pure-Python package around it builds DataFrames, estimators and the notebook display.

mod columns;
mod errors;
mod estimators;
mod features;
mod options;
mod partition;
mod segment;

use pyo3::prelude::*;

/// The extension module: every class and function the Python package wraps.
#[pymodule]
fn _segmenter(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Messages name parameters as Python keywords (`min_samples`, `backend="cpu"`).
    segmenter::error::use_names(&segmenter::error::LibraryNames);
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PanicError", m.py().get_type::<errors::PanicError>())?;
    // The options of each derivation, for segment(from_=...) to tell them from its own.
    m.add("RFM_OPTIONS", features::option_names("rfm"))?;
    m.add("EVENTS_OPTIONS", features::option_names("events"))?;
    m.add_class::<columns::PyTable>()?;
    m.add_class::<segment::PySegmentation>()?;
    m.add_class::<segment::PyModel>()?;
    m.add_function(wrap_pyfunction!(columns::table_from_columns, m)?)?;
    m.add_function(wrap_pyfunction!(columns::table_from_path, m)?)?;
    m.add_function(wrap_pyfunction!(columns::table_from_csv, m)?)?;
    m.add_function(wrap_pyfunction!(columns::csv_from_columns, m)?)?;
    m.add_function(wrap_pyfunction!(segment::fit, m)?)?;
    m.add_function(wrap_pyfunction!(segment::fit_derived, m)?)?;
    m.add_function(wrap_pyfunction!(segment::load_model, m)?)?;
    m.add_function(wrap_pyfunction!(segment::model_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(features::derive, m)?)?;
    m.add_function(wrap_pyfunction!(features::generate, m)?)?;
    m.add_function(wrap_pyfunction!(estimators::kmeans_fit, m)?)?;
    m.add_function(wrap_pyfunction!(estimators::nearest_centroid, m)?)?;
    m.add_function(wrap_pyfunction!(estimators::centroid_distances, m)?)?;
    m.add_function(wrap_pyfunction!(estimators::partial_sums, m)?)?;
    m.add_function(wrap_pyfunction!(estimators::dbscan_fit, m)?)?;
    m.add_function(wrap_pyfunction!(estimators::ward_fit, m)?)?;
    m.add_function(wrap_pyfunction!(estimators::kprototypes_fit, m)?)?;
    m.add_function(wrap_pyfunction!(estimators::kprototypes_predict, m)?)?;
    m.add_function(wrap_pyfunction!(partition::row_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(partition::row_numbers, m)?)?;
    m.add_function(wrap_pyfunction!(partition::parse_fields, m)?)?;
    m.add_function(wrap_pyfunction!(partition::transform_rows, m)?)?;
    m.add_function(wrap_pyfunction!(partition::profile_csv, m)?)?;
    m.add_function(wrap_pyfunction!(errors::panic_for_test, m)?)?;
    Ok(())
}
