//! Tables from Python: a DataFrame's columns (NumPy arrays and Arrow string buffers, borrowed
//! without a copy) become the CSV text a file of them would hold, parsed by the library
//! exactly as that file would be; or a file read by the library itself.

use crate::errors::detached;
use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use rayon::prelude::*;
use segmenter::io::format::push_csv_field;
use segmenter::io::{SourceOptions, Table};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A table the library reads: from a DataFrame or a file.
#[pyclass(name = "Table", frozen, module = "segmenter._segmenter")]
pub struct PyTable {
    pub table: Arc<Table>,
}

#[pymethods]
impl PyTable {
    /// Well-formed data rows.
    #[getter]
    fn n_rows(&self) -> usize {
        self.table.n_rows()
    }

    /// Header names.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.table.columns.clone()
    }

    /// The name messages use for the table.
    #[getter]
    fn name(&self) -> String {
        self.table.path.display().to_string()
    }
}

/// One column's values, borrowed from NumPy arrays.
enum Col<'a> {
    /// NaN is a missing value.
    F64(&'a [f64]),
    /// NaN is a missing value.
    F32(&'a [f32]),
    /// Integers with an optional null mask.
    I64(&'a [i64], Option<&'a [bool]>),
    /// Arrow-style strings: n + 1 offsets into `data`, an optional null mask.
    Str(&'a [i64], &'a [u8], Option<&'a [bool]>),
}

/// The arrays of one column, held while the table is built.
enum Held<'py> {
    F64(PyReadonlyArray1<'py, f64>),
    F32(PyReadonlyArray1<'py, f32>),
    I64(
        PyReadonlyArray1<'py, i64>,
        Option<PyReadonlyArray1<'py, bool>>,
    ),
    Str(
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, u8>,
        Option<PyReadonlyArray1<'py, bool>>,
    ),
}

fn slice<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>, what: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{what}: the array must be contiguous")))
}

impl<'py> Held<'py> {
    fn extract(name: &str, spec: &Bound<'py, PyTuple>) -> PyResult<Held<'py>> {
        let kind: String = spec.get_item(0)?.extract()?;
        let mask = |i: usize| -> PyResult<Option<PyReadonlyArray1<'py, bool>>> {
            let m = spec.get_item(i)?;
            if m.is_none() {
                Ok(None)
            } else {
                Ok(Some(m.extract()?))
            }
        };
        Ok(match kind.as_str() {
            "f64" => Held::F64(spec.get_item(1)?.extract()?),
            "f32" => Held::F32(spec.get_item(1)?.extract()?),
            "i64" => Held::I64(spec.get_item(1)?.extract()?, mask(2)?),
            "str" => Held::Str(
                spec.get_item(1)?.extract()?,
                spec.get_item(2)?.extract()?,
                mask(3)?,
            ),
            other => {
                return Err(PyValueError::new_err(format!(
                    "column '{name}': unknown column kind {other:?}"
                )))
            }
        })
    }

    fn len(&self) -> usize {
        match self {
            Held::F64(a) => a.len(),
            Held::F32(a) => a.len(),
            Held::I64(a, _) => a.len(),
            Held::Str(o, _, _) => o.len().saturating_sub(1),
        }
    }

    fn view(&self, name: &str) -> PyResult<Col<'_>> {
        let n = self.len();
        let check_mask = |m: &Option<PyReadonlyArray1<'_, bool>>| -> PyResult<()> {
            match m {
                Some(m) if m.len() != n => Err(PyValueError::new_err(format!(
                    "column '{name}': the null mask has {} entries for {n} values",
                    m.len()
                ))),
                _ => Ok(()),
            }
        };
        Ok(match self {
            Held::F64(a) => Col::F64(slice(a, name)?),
            Held::F32(a) => Col::F32(slice(a, name)?),
            Held::I64(a, m) => {
                check_mask(m)?;
                Col::I64(
                    slice(a, name)?,
                    m.as_ref().map(|m| slice(m, name)).transpose()?,
                )
            }
            Held::Str(o, d, m) => {
                check_mask(m)?;
                let (offsets, data) = (slice(o, name)?, slice(d, name)?);
                // Offsets come from Arrow: still check them, so a bad buffer is an error and
                // never an out-of-bounds read.
                let ok = offsets.first().is_none_or(|&f| f >= 0)
                    && offsets.windows(2).all(|w| w[0] <= w[1])
                    && offsets.last().is_none_or(|&l| l as usize <= data.len());
                if !ok {
                    return Err(PyValueError::new_err(format!(
                        "column '{name}': string offsets are not increasing within the data buffer"
                    )));
                }
                Col::Str(
                    offsets,
                    data,
                    m.as_ref().map(|m| slice(m, name)).transpose()?,
                )
            }
        })
    }
}

/// Rows formatted per parallel task.
const ROWS_PER_TASK: usize = 8192;

/// Appends the shortest text that reads back as `v` (Ryū), without a trailing ".0" so that
/// whole numbers read as a CSV export writes them; NaN is a missing value (an empty field).
fn push_float<F: ryu::Float + Into<f64> + Copy>(out: &mut Vec<u8>, v: F) {
    let wide: f64 = v.into();
    if wide.is_nan() {
        return;
    }
    if wide.is_infinite() {
        out.extend_from_slice(if wide > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v).as_bytes();
    out.extend_from_slice(s.strip_suffix(b".0").unwrap_or(s));
}

/// Appends field `i` of `col` as CSV; a missing value is an empty field.
fn push_field(out: &mut Vec<u8>, col: &Col<'_>, i: usize) {
    match *col {
        Col::F64(v) => push_float(out, v[i]),
        Col::F32(v) => push_float(out, v[i]),
        Col::I64(v, m) => {
            if !m.is_some_and(|m| m[i]) {
                out.extend_from_slice(itoa::Buffer::new().format(v[i]).as_bytes());
            }
        }
        Col::Str(o, d, m) => {
            if !m.is_some_and(|m| m[i]) {
                push_csv_field(out, &d[o[i] as usize..o[i + 1] as usize]);
            }
        }
    }
}

/// The CSV text of `columns` named `names`, header first, formatted in parallel.
fn csv_text(names: &[String], cols: &[Col<'_>], n: usize) -> Vec<u8> {
    let mut head = Vec::new();
    for (j, c) in names.iter().enumerate() {
        if j > 0 {
            head.push(b',');
        }
        push_csv_field(&mut head, c.as_bytes());
    }
    head.push(b'\n');
    let parts: Vec<Vec<u8>> = (0..n.div_ceil(ROWS_PER_TASK))
        .into_par_iter()
        .map(|t| {
            let rows = t * ROWS_PER_TASK..((t + 1) * ROWS_PER_TASK).min(n);
            let mut out = Vec::with_capacity(rows.len() * (8 * cols.len() + 1));
            for i in rows {
                for (j, c) in cols.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    push_field(&mut out, c, i);
                }
                out.push(b'\n');
            }
            out
        })
        .collect();
    let mut text = head;
    text.reserve(parts.iter().map(Vec::len).sum());
    for p in parts {
        text.extend_from_slice(&p);
    }
    text
}

/// Borrows every column and checks that they have the same length.
fn hold<'py>(
    names: &[String],
    columns: &[Bound<'py, PyTuple>],
) -> PyResult<(Vec<Held<'py>>, usize)> {
    if names.len() != columns.len() {
        return Err(PyValueError::new_err(format!(
            "{} column names for {} columns",
            names.len(),
            columns.len()
        )));
    }
    let held = names
        .iter()
        .zip(columns)
        .map(|(n, c)| Held::extract(n, c))
        .collect::<PyResult<Vec<_>>>()?;
    let n = held.first().map_or(0, Held::len);
    for (name, h) in names.iter().zip(&held) {
        if h.len() != n {
            return Err(PyValueError::new_err(format!(
                "column '{name}' has {} values where the first column has {n}",
                h.len()
            )));
        }
    }
    Ok((held, n))
}

/// The CSV text of a DataFrame's columns (see the module docs for the column specs).
pub fn columns_csv(
    py: Python<'_>,
    names: &[String],
    columns: &[Bound<'_, PyTuple>],
) -> PyResult<Vec<u8>> {
    let (held, n) = hold(names, columns)?;
    let cols = names
        .iter()
        .zip(&held)
        .map(|(name, h)| h.view(name))
        .collect::<PyResult<Vec<_>>>()?;
    detached(py, || Ok(csv_text(names, &cols, n)))
}

/// `decimal="."` or `","` (None: detected).
fn decimal_of(d: Option<&str>) -> PyResult<Option<segmenter::io::values::Decimal>> {
    use segmenter::io::values::Decimal;
    match d {
        None => Ok(None),
        Some(".") => Ok(Some(Decimal::Point)),
        Some(",") => Ok(Some(Decimal::Comma)),
        Some(o) => Err(PyValueError::new_err(format!(
            "decimal must be \".\" or \",\", not {o:?}"
        ))),
    }
}

/// The date style of `dayfirst` and `date_format` (checked before any work).
fn date_style(
    dayfirst: bool,
    date_format: Option<String>,
) -> PyResult<segmenter::io::dates::DateStyle> {
    if let Some(f) = &date_format {
        segmenter::io::dates::check_format(f)
            .map_err(|e| PyValueError::new_err(format!("date_format {f:?}: {e}")))?;
    }
    Ok(segmenter::io::dates::DateStyle {
        dayfirst,
        format: date_format,
    })
}

/// A table named `name` from a DataFrame's columns: each a tuple `("f64", values)`,
/// `("f32", values)`, `("i64", values, null_mask)` or `("str", offsets, data, null_mask)`;
/// text dates day first or in `date_format`.
#[pyfunction]
#[pyo3(signature = (name, names, columns, dayfirst=false, date_format=None))]
pub fn table_from_columns(
    py: Python<'_>,
    name: String,
    names: Vec<String>,
    columns: Vec<Bound<'_, PyTuple>>,
    dayfirst: bool,
    date_format: Option<String>,
) -> PyResult<PyTable> {
    let dates = date_style(dayfirst, date_format)?;
    if names.is_empty() {
        return Err(PyValueError::new_err(format!(
            "{name}: the table has no columns"
        )));
    }
    let text = columns_csv(py, &names, &columns)?;
    let mut table = detached(py, move || Table::from_csv_bytes(Path::new(&name), text))?;
    table.dates = dates;
    Ok(PyTable {
        table: Arc::new(table),
    })
}

/// The CSV text of a DataFrame's columns (the column specs of [`table_from_columns`]).
#[pyfunction]
pub fn csv_from_columns<'py>(
    py: Python<'py>,
    names: Vec<String>,
    columns: Vec<Bound<'py, PyTuple>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let text = columns_csv(py, &names, &columns)?;
    Ok(PyBytes::new(py, &text))
}

/// A table read from a file (CSV, .csv.gz, SQLite with `table` or `query`, Parquet, a
/// spreadsheet's `sheet`), numbers with `decimal` ("." or ","; detected by default), dates
/// day first or in `date_format`.
#[pyfunction]
#[pyo3(signature = (path, table=None, query=None, sheet=None, decimal=None, dayfirst=false, date_format=None))]
#[allow(clippy::too_many_arguments)]
pub fn table_from_path(
    py: Python<'_>,
    path: PathBuf,
    table: Option<String>,
    query: Option<String>,
    sheet: Option<String>,
    decimal: Option<String>,
    dayfirst: bool,
    date_format: Option<String>,
) -> PyResult<PyTable> {
    let options = SourceOptions {
        table,
        query,
        sheet,
        decimal: decimal_of(decimal.as_deref())?,
        dates: date_style(dayfirst, date_format)?,
    };
    let table = detached(py, move || Table::open(&path, &options))?;
    Ok(PyTable {
        table: Arc::new(table),
    })
}

/// A table parsed from CSV text (a derived table), named `name` in messages.
#[pyfunction]
pub fn table_from_csv(
    py: Python<'_>,
    name: String,
    text: &Bound<'_, PyBytes>,
) -> PyResult<PyTable> {
    let text = text.as_bytes().to_vec();
    let table = detached(py, move || Table::from_csv_bytes(Path::new(&name), text))?;
    Ok(PyTable {
        table: Arc::new(table),
    })
}
