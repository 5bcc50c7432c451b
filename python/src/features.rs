//! Derived customer tables (`segmenter features rfm|events`) from a log file: the table's
//! CSV text, its rejects and what the derivation did.

use crate::errors::{detached, to_py};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use segmenter::error::ParamError;
use segmenter::features::events::EventFlags;
use segmenter::features::rfm::RfmFlags;
use segmenter::features::{parse_as_of, TimeOptions};
use segmenter::io::SourceOptions;
use segmenter::pipeline::derive::{Derivation, FeatureKind};
use std::path::PathBuf;

const RFM: [&str; 6] = ["customer", "date", "amount", "quantity", "price", "invoice"];
const EVENTS: [&str; 12] = [
    "user",
    "time",
    "type",
    "session",
    "product",
    "category",
    "brand",
    "price",
    "threads",
    "view_events",
    "cart_events",
    "purchase_events",
];
const COMMON: [&str; 6] = [
    "as_of",
    "dayfirst",
    "date_format",
    "table",
    "query",
    "sheet",
];

/// The names of the options of a derivation of `kind` ("rfm" or "events").
pub fn option_names(kind: &str) -> Vec<&'static str> {
    let columns: &[&'static str] = if kind == "rfm" { &RFM } else { &EVENTS };
    columns.iter().chain(COMMON.iter()).copied().collect()
}

/// The derivation `segmenter features KIND` runs with these column and time `options`
/// (`caller` names the function in a `TypeError` for an unknown option).
pub fn derivation(kind: &str, options: &Bound<'_, PyDict>, caller: &str) -> PyResult<Derivation> {
    let columns: &[&str] = if kind == "rfm" { &RFM } else { &EVENTS };
    let mut get = std::collections::HashMap::new();
    for (k, v) in options.iter() {
        let k: String = k.extract()?;
        if !columns.contains(&k.as_str()) && !COMMON.contains(&k.as_str()) {
            return Err(PyTypeError::new_err(format!(
                "{caller}() got an unexpected keyword argument '{k}' (options: {}, {})",
                columns.join(", "),
                COMMON.join(", ")
            )));
        }
        if !v.is_none() {
            get.insert(k, v);
        }
    }
    let text = |name: &str| -> PyResult<Option<String>> {
        get.get(name)
            .map(|v| v.str().map(|s| s.to_string()))
            .transpose()
    };
    // A list of event types, or one comma-separated string as the CLI takes it.
    let words = |name: &str| -> PyResult<Vec<String>> {
        match get.get(name) {
            None => Ok(Vec::new()),
            Some(v) => match v.extract::<String>() {
                Ok(s) => Ok(s.split(',').map(|w| w.trim().to_string()).collect()),
                Err(_) => v.extract::<Vec<String>>(),
            },
        }
    };
    let dayfirst = match get.get("dayfirst") {
        Some(v) => v.is_truthy()?,
        None => false,
    };
    let as_of = text("as_of")?
        .map(|v| parse_as_of(&v, dayfirst))
        .transpose()
        .map_err(to_py)?;
    let threads = match get.get("threads") {
        Some(v) => Some(v.extract::<usize>()?),
        None => None,
    };
    if threads == Some(0) {
        return Err(to_py(ParamError::ThreadsZero.into()));
    }
    let kind = match kind {
        "rfm" => FeatureKind::Rfm(RfmFlags {
            customer: text("customer")?,
            date: text("date")?,
            amount: text("amount")?,
            quantity: text("quantity")?,
            price: text("price")?,
            invoice: text("invoice")?,
        }),
        _ => FeatureKind::Events(EventFlags {
            user: text("user")?,
            time: text("time")?,
            kind: text("type")?,
            session: text("session")?,
            product: text("product")?,
            category: text("category")?,
            brand: text("brand")?,
            price: text("price")?,
            view_events: words("view_events")?,
            cart_events: words("cart_events")?,
            purchase_events: words("purchase_events")?,
        }),
    };
    Ok(Derivation {
        kind,
        source: SourceOptions {
            table: text("table")?,
            query: text("query")?,
            sheet: text("sheet")?,
            decimal: None,
            dates: segmenter::io::dates::DateStyle {
                dayfirst,
                format: text("date_format")?,
            },
        },
        time: TimeOptions {
            as_of,
            dayfirst,
            format: text("date_format")?,
        },
        threads,
    })
}

/// Derives `kind` ("rfm" or "events") from the log at `path` with the column and time
/// `options` of `segmenter features`; returns (table CSV, rejects CSV, summary dict).
#[pyfunction]
pub fn derive<'py>(
    py: Python<'py>,
    kind: &str,
    path: PathBuf,
    options: &Bound<'py, PyDict>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyDict>)> {
    let d = derivation(kind, options, kind)?;
    let (derived, rejects) = detached(py, || {
        let mut rejects = Vec::new();
        let derived = d.derive(&path, &mut rejects)?;
        Ok((derived, rejects))
    })?;
    let s = &derived.summary;
    let summary = PyDict::new(py);
    summary.set_item("lines_read", s.lines_read)?;
    summary.set_item("lines_used", s.lines_used)?;
    summary.set_item("customers", s.customers)?;
    summary.set_item("as_of", &s.as_of)?;
    summary.set_item("columns", &s.columns)?;
    summary.set_item("rejects", s.rejects.clone())?;
    Ok((
        PyBytes::new(py, &derived.csv),
        PyBytes::new(py, &rejects),
        summary,
    ))
}

/// Writes a generated table to `path` as `segmenter generate KIND` does: "customers" and
/// "mixed" with `rows` rows, "transactions" with `rows` customers.
#[pyfunction]
pub fn generate(py: Python<'_>, kind: &str, path: PathBuf, rows: u64, seed: u64) -> PyResult<()> {
    use segmenter::synth::{
        generate_customers, generate_mixed, generate_transactions, CustomersSpec, TransactionsSpec,
    };
    let kind = kind.to_string();
    detached(py, move || match kind.as_str() {
        "customers" => generate_customers(&CustomersSpec { rows, seed }, &path, None),
        "mixed" => generate_mixed(&CustomersSpec { rows, seed }, &path, None),
        "transactions" => generate_transactions(
            &TransactionsSpec {
                customers: rows,
                seed,
            },
            &path,
            None,
        ),
        other => Err(segmenter::Error::Data(format!(
            "unknown table {other:?}: expected customers, mixed or transactions"
        ))),
    })
}
