//! The per-partition steps of `segmenter.dask.segment`, run by Dask workers on one partition's
//! table with the library's own code: row hashes (duplicates across partitions), fields parsed
//! as the cleaning stage parses them (for the statistics the client combines), and the fitted
//! preprocessing applied to rows (features, or the reason a row is rejected).

use crate::columns::PyTable;
use crate::errors::detached;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use segmenter::analysis::profile::{profile_segments, ProfileInput};
use segmenter::data::prep::{CategoricalTransform, Transform};
use segmenter::data::Prep;
use segmenter::io::values::Parsed;
use segmenter::io::Table;

fn prep_of(json: &str) -> PyResult<Prep> {
    serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("bad prep JSON: {e}")))
}

/// A 64-bit hash of a row's bytes and field ends, seeded: two seeds make a 128-bit key, so
/// two different rows share one with probability about n²/2¹²⁹.
fn hash_row(bytes: &[u8], ends: &[u32], seed: u64) -> u64 {
    const M: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |h: u64, w: u64| (h.rotate_left(23) ^ w).wrapping_mul(M);
    let mut h = mix(seed, bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let mut w = [0u8; 8];
    let r = chunks.remainder();
    w[..r.len()].copy_from_slice(r);
    h = mix(h, u64::from_le_bytes(w));
    for &e in ends {
        h = mix(h, e as u64);
    }
    // A final avalanche (splitmix64's) so nearby rows spread over all bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// Two seeded 64-bit hashes of every row (the bytes the cleaning stage compares for exact
/// duplicates), as an n × 2 uint64 array.
#[pyfunction]
pub fn row_hashes<'py>(py: Python<'py>, table: &PyTable) -> Bound<'py, PyArray2<u64>> {
    let t = &*table.table;
    let n = t.n_rows();
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        let (b, e) = (t.row_bytes(i), t.row_ends(i));
        out.push(hash_row(b, e, 0x243F_6A88_85A3_08D3));
        out.push(hash_row(b, e, 0x1319_8A2E_0370_7344));
    }
    let a = ndarray::Array2::from_shape_vec((n, 2), out)
        .unwrap_or_else(|_| ndarray::Array2::zeros((0, 2)));
    PyArray2::from_owned_array(py, a)
}

/// Parsed values as the cleaning stage encodes them: NaN missing, +inf not a number, -inf
/// infinite; dates as days since 1970-01-01.
fn encoded(p: Parsed) -> f64 {
    match p {
        Parsed::Value(v) => v,
        Parsed::Missing => f64::NAN,
        Parsed::Invalid => f64::INFINITY,
        Parsed::Infinite => f64::NEG_INFINITY,
    }
}

/// The fields of the prep's columns parsed as the cleaning stage parses them: an n × m float64
/// array for the m numeric, boolean and date transforms (NaN missing, +inf not a number, -inf
/// infinite, dates as day numbers), and for each categorical transform the level of every row
/// (trimmed, "(missing)" for a missing field).
#[pyfunction]
pub fn parse_fields<'py>(
    py: Python<'py>,
    table: &PyTable,
    prep_json: &str,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyList>)> {
    let prep = prep_of(prep_json)?;
    let t: &Table = &table.table;
    let (cols, _) = detached(py, || prep.match_columns(t))?;
    let n = t.n_rows();
    let numeric: Vec<(usize, &segmenter::data::prep::NumericTransform)> = prep
        .transforms
        .iter()
        .zip(&cols)
        .filter_map(|(tr, &j)| match tr {
            Transform::Numeric(nt) => Some((j, nt)),
            Transform::Categorical(_) => None,
        })
        .collect();
    let m = numeric.len();
    let mut values = vec![0f64; n * m];
    for (c, (j, nt)) in numeric.iter().enumerate() {
        // The reference day 0 turns a date into minus its day number, as cleaning reads it.
        let mut parser = (*nt).clone();
        parser.reference = Some(0.0);
        for i in 0..n {
            let p = parser.parse(t.field(i, *j), t.decimal, &t.dates);
            values[i * m + c] = match p {
                Parsed::Value(v) if nt.kind == segmenter::data::Kind::Date => -v,
                p => encoded(p),
            };
        }
    }
    let a = ndarray::Array2::from_shape_vec((n, m), values)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let levels = PyList::empty(py);
    for (tr, &j) in prep.transforms.iter().zip(&cols) {
        if let Transform::Categorical(_) = tr {
            let col: Vec<String> = (0..n)
                .map(|i| {
                    String::from_utf8_lossy(CategoricalTransform::level_of(t.field(i, j)))
                        .into_owned()
                })
                .collect();
            levels.append(col)?;
        }
    }
    Ok((PyArray2::from_owned_array(py, a), levels))
}

/// The prep applied to the rows of `table` not flagged in `skip`: the features of the rows it
/// can score (float32, kept × d), their table indices, and the rows it cannot with their
/// reasons (table index, reason), as `SegmentModel::predict` would reject them.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn transform_rows<'py>(
    py: Python<'py>,
    table: &PyTable,
    prep_json: &str,
    skip: PyReadonlyArray1<'py, bool>,
) -> PyResult<(
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyList>,
)> {
    let prep = prep_of(prep_json)?;
    let t: &Table = &table.table;
    let skip = skip.as_slice()?;
    if skip.len() != t.n_rows() {
        return Err(PyValueError::new_err(format!(
            "skip has {} entries for a table of {} rows",
            skip.len(),
            t.n_rows()
        )));
    }
    let rows: Vec<usize> = (0..t.n_rows()).filter(|&i| !skip[i]).collect();
    let (x, kept, issues) = detached(py, || {
        let (cols, _) = prep.match_columns(t)?;
        Ok(prep.transform(t, &cols, &rows))
    })?;
    let kept: Vec<i64> = kept.iter().map(|&i| i as i64).collect();
    let bad: Vec<i64> = issues.iter().map(|r| r.index as i64).collect();
    let reasons: Vec<String> = issues.iter().map(|r| r.reason.to_string()).collect();
    Ok((
        PyArray2::from_owned_array(py, x),
        PyArray1::from_vec(py, kept),
        PyArray1::from_vec(py, bad),
        PyList::new(py, reasons)?,
    ))
}

/// The 1-based row number (as messages give it) of every row of `table`.
#[pyfunction]
pub fn row_numbers<'py>(py: Python<'py>, table: &PyTable) -> Bound<'py, PyArray1<i64>> {
    let t = &*table.table;
    PyArray1::from_vec(
        py,
        (0..t.n_rows()).map(|i| t.row_number(i) as i64).collect(),
    )
}

/// `profile.csv`'s text from every segmented row: the real values of each numeric column
/// (NaN missing), the levels and codes of each categorical one, the segment of every row, and
/// the segment names (the model's), profiled by the library as `run` profiles.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn profile_csv<'py>(
    py: Python<'py>,
    numeric: Vec<(String, PyReadonlyArray1<'py, f64>)>,
    categorical: Vec<(String, Vec<String>, PyReadonlyArray1<'py, u32>)>,
    labels: PyReadonlyArray1<'py, u32>,
    k: usize,
    names: Vec<String>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let input = ProfileInput {
        numeric: numeric
            .iter()
            .map(|(n, v)| Ok((n.clone(), v.as_slice()?.to_vec())))
            .collect::<PyResult<_>>()?,
        categorical: categorical
            .iter()
            .map(|(n, l, c)| Ok((n.clone(), l.clone(), c.as_slice()?.to_vec())))
            .collect::<PyResult<_>>()?,
    };
    let labels = labels.as_slice()?.to_vec();
    let text = detached(py, move || {
        let mut profiles = profile_segments(&input, &labels, k);
        for p in &mut profiles {
            if let Some(name) = usize::try_from(p.segment).ok().and_then(|s| names.get(s)) {
                p.name = name.clone();
            }
        }
        segmenter::report::profile_csv::profile_csv(&profiles)
    })?;
    Ok(pyo3::types::PyBytes::new(py, &text))
}
