//! The workflow: `fit` runs `Segmenter::fit` on a table with the GIL released, telling a
//! Python callback about each stage; `Segmentation` and `Model` hand results to Python as
//! arrays and plain values, and write the same files as `segmenter run` and `predict`.

use crate::columns::PyTable;
use crate::errors::{detached, to_py};
use crate::options;
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use segmenter::cluster::NOISE;
use segmenter::data::reject::{Origin, Reject};
use segmenter::io::Table;
use segmenter::pipeline::{Observer, SegmentModel, Segmentation, Stage};
use segmenter::report;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Tells a Python callable `callback(event, stage_key, stage_label, seconds)` about each stage;
/// an exception in the callback is reported as unraisable and the fit goes on.
struct PyObserver {
    callback: Option<Py<PyAny>>,
}

impl PyObserver {
    fn call(&self, event: &str, stage: Stage, seconds: f64) {
        if let Some(cb) = &self.callback {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (event, stage.key(), stage.label(), seconds)) {
                    e.write_unraisable(py, None);
                }
            });
        }
    }
}

impl Observer for PyObserver {
    fn started(&mut self, stage: Stage) {
        self.call("started", stage, 0.0);
    }

    fn finished(&mut self, stage: Stage, seconds: f64, ok: bool) {
        self.call(if ok { "finished" } else { "failed" }, stage, seconds);
    }
}

/// A fitted segmentation and the table it was fitted on.
#[pyclass(name = "Segmentation", frozen, module = "segmenter._segmenter")]
pub struct PySegmentation {
    seg: Segmentation,
    table: Arc<Table>,
}

/// Table row index of each reject (-1 for a row with the wrong field count), its 1-based row
/// number and its reason.
fn rejects_tuple<'py>(
    py: Python<'py>,
    rejects: &[Reject],
) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
    let index: Vec<i64> = rejects
        .iter()
        .map(|r| match r.origin {
            Origin::Row(i) => i as i64,
            Origin::Ragged(_) => -1,
        })
        .collect();
    let rows: Vec<i64> = rejects.iter().map(|r| r.row as i64).collect();
    let reasons: Vec<String> = rejects.iter().map(|r| r.reason.to_string()).collect();
    (
        PyArray1::from_vec(py, index),
        PyArray1::from_vec(py, rows),
        PyList::new(py, reasons)?,
    )
        .into_pyobject(py)
}

fn as_i64(rows: &[usize]) -> Vec<i64> {
    rows.iter().map(|&r| r as i64).collect()
}

fn signed_labels(labels: &[u32]) -> Vec<i64> {
    labels
        .iter()
        .map(|&l| if l == NOISE { -1 } else { l as i64 })
        .collect()
}

fn pairs<'py>(py: Python<'py>, flat: &[f32]) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let a = ndarray::Array2::from_shape_vec((flat.len() / 2, 2), flat.to_vec())
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(PyArray2::from_owned_array(py, a))
}

#[pymethods]
impl PySegmentation {
    /// Table row index (0-based) of every segmented row, in table order.
    fn rows<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, as_i64(self.seg.rows()))
    }

    /// Segment of every segmented row; -1 for DBSCAN's noise.
    fn labels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, signed_labels(self.seg.labels()))
    }

    /// Name of every segment, segment 0 first.
    fn segment_names(&self) -> Vec<String> {
        self.seg.segment_names().to_vec()
    }

    /// Distance of every segmented row to its segment's centre (scaled space); NaN for noise.
    fn distances<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.seg.distances())
    }

    /// `pc1, pc2` of every segmented row (n × 2).
    fn projection<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        pairs(py, self.seg.projection())
    }

    /// Rejected rows: (table index or -1, 1-based row number, reason).
    fn rejects<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        rejects_tuple(py, self.seg.rejects())
    }

    /// The text of `profile.csv`.
    fn profile_csv<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let text = report::profile_csv::profile_csv(self.seg.profiles()).map_err(to_py)?;
        Ok(PyBytes::new(py, &text))
    }

    /// The k sweep: `{k, knee, rule, reason, scores: {k, inertia, silhouette, ...}}`, or None
    /// when k was given.
    fn k_choice<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(c) = self.seg.k_choice() else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("k", c.k)?;
        d.set_item("knee", c.knee)?;
        d.set_item("rule", &c.rule)?;
        d.set_item("reason", &c.reason)?;
        let s = PyDict::new(py);
        s.set_item("k", c.scores.iter().map(|s| s.k).collect::<Vec<_>>())?;
        s.set_item(
            "inertia",
            c.scores.iter().map(|s| s.inertia).collect::<Vec<_>>(),
        )?;
        s.set_item(
            "silhouette",
            c.scores.iter().map(|s| s.silhouette).collect::<Vec<_>>(),
        )?;
        s.set_item(
            "simplified_silhouette",
            c.scores
                .iter()
                .map(|s| s.simplified_silhouette)
                .collect::<Vec<_>>(),
        )?;
        s.set_item(
            "iterations",
            c.scores.iter().map(|s| s.iterations).collect::<Vec<_>>(),
        )?;
        s.set_item(
            "seconds",
            c.scores.iter().map(|s| s.seconds).collect::<Vec<_>>(),
        )?;
        d.set_item("scores", s)?;
        Ok(Some(d))
    }

    /// The comparison table (`compare`): one dict per algorithm.
    fn comparison<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.seg
            .comparison()
            .iter()
            .map(|r| {
                let d = PyDict::new(py);
                d.set_item("algorithm", &r.algorithm)?;
                d.set_item("clusters", r.clusters)?;
                d.set_item("noise_share", r.noise_share)?;
                d.set_item("silhouette", r.silhouette)?;
                d.set_item("inertia", r.inertia)?;
                d.set_item("seconds", r.seconds)?;
                d.set_item("note", &r.note)?;
                Ok(d)
            })
            .collect()
    }

    /// What the run's `--json` summary says: k, rows, silhouette, inertia, backend, timings.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.seg;
        let d = PyDict::new(py);
        d.set_item("k", s.k())?;
        d.set_item("algorithm", s.algorithm().name())?;
        d.set_item("rows_in", s.rows_in())?;
        d.set_item("rows_segmented", s.rows().len())?;
        d.set_item("rows_rejected", s.rejects().len())?;
        d.set_item("noise_rows", s.noise_rows())?;
        d.set_item("silhouette", s.silhouette())?;
        d.set_item("inertia", s.inertia())?;
        d.set_item("backend", &s.backend().backend)?;
        d.set_item("adapter", &s.backend().adapter)?;
        d.set_item("features", s.features().to_vec())?;
        d.set_item("sizes", s.sizes())?;
        d.set_item("k_rule", s.k_rule())?;
        d.set_item("notes", s.notes().to_vec())?;
        let t = PyDict::new(py);
        for (k, v) in &s.stage_seconds().0 {
            t.set_item(k, v)?;
        }
        d.set_item("stage_seconds", t)?;
        Ok(d)
    }

    /// The model that scores new rows as these were scored.
    fn model(&self) -> PyModel {
        PyModel {
            model: self.seg.model(),
        }
    }

    /// The self-contained `report.html`, as text.
    fn report_html(&self, py: Python<'_>) -> PyResult<String> {
        let seg = &self.seg;
        detached(py, || {
            let input = report::report_input(seg, seg.stage_seconds())?;
            report::render_html(&input)
        })
    }

    /// Writes everything `segmenter run` writes into `out`.
    fn save(&self, py: Python<'_>, out: PathBuf) -> PyResult<()> {
        let (seg, table) = (&self.seg, &*self.table);
        detached(py, || report::write_dir(seg, table, &out).map(|_| ()))
    }

    /// Writes `segments.csv` only (the layout `run` writes).
    fn write_segments(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let (seg, table) = (&self.seg, &*self.table);
        detached(py, || {
            report::write_segments(
                &path,
                table,
                &report::Scored {
                    rows: seg.rows(),
                    labels: seg.labels(),
                    names: seg.segment_names(),
                    pcs: Some(seg.projection()),
                    distances: seg.distances(),
                },
            )
        })
    }

    /// Writes `rejects.csv` only (the layout `run` writes).
    fn write_rejects(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let (seg, table) = (&self.seg, &*self.table);
        detached(py, || report::write_rejects(&path, table, seg.rejects()))
    }
}

/// Segments `table` with `options` (segment()'s keywords); `progress`, if given, is called
/// as `progress(event, stage_key, stage_label, seconds)`.
#[pyfunction]
#[pyo3(signature = (table, options, progress=None))]
pub fn fit(
    py: Python<'_>,
    table: &PyTable,
    options: &Bound<'_, PyDict>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PySegmentation> {
    let segmenter = options::params(options)?.check().map_err(to_py)?;
    let table = Arc::clone(&table.table);
    let mut observer = PyObserver { callback: progress };
    let t = &*table;
    let seg = detached(py, || segmenter.fit(t, &mut observer))?;
    Ok(PySegmentation { seg, table })
}

/// A saved segmentation model (`model.json`): scores new tables.
#[pyclass(name = "Model", frozen, module = "segmenter._segmenter")]
pub struct PyModel {
    model: SegmentModel,
}

#[pymethods]
impl PyModel {
    /// Segments (noise not counted).
    #[getter]
    fn k(&self) -> usize {
        self.model.k
    }

    /// Name of every segment.
    #[getter]
    fn segment_names(&self) -> Vec<String> {
        self.model.segment_names.clone()
    }

    /// The algorithm that found the segments.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.model.algorithm.name()
    }

    /// The clustering features, after encoding.
    #[getter]
    fn features(&self) -> Vec<String> {
        self.model.prep.features.clone()
    }

    /// The model as `model.json` holds it.
    fn to_json(&self) -> PyResult<String> {
        let mut m = self.model.clone();
        m.source = None;
        serde_json::to_string_pretty(&m)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    /// Writes `model.json` to `path`, atomically.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let m = &self.model;
        detached(py, || m.save(&path))
    }

    /// Scores `table`: a dict with `kept` (table row indices), `labels`, `distances`, `pcs`
    /// (n × 2 or None) and `rejects` (as `Segmentation.rejects`).
    fn predict<'py>(&self, py: Python<'py>, table: &PyTable) -> PyResult<Bound<'py, PyDict>> {
        let (m, t) = (&self.model, &*table.table);
        let s = detached(py, || m.predict(t))?;
        let d = PyDict::new(py);
        d.set_item("kept", PyArray1::from_vec(py, as_i64(&s.kept)))?;
        d.set_item("labels", PyArray1::from_vec(py, signed_labels(&s.labels)))?;
        d.set_item("distances", PyArray1::from_vec(py, s.distances))?;
        match &s.pcs {
            Some(p) => d.set_item("pcs", pairs(py, p)?)?,
            None => d.set_item("pcs", py.None())?,
        }
        d.set_item("rejects", rejects_tuple(py, &s.rejects)?)?;
        d.set_item("extra_columns", s.extra_columns)?;
        Ok(d)
    }

    /// Writes the scored table as `segmenter predict` does (and its rejects beside it).
    fn write_scored(&self, py: Python<'_>, path: PathBuf, table: &PyTable) -> PyResult<()> {
        let (m, t) = (&self.model, &*table.table);
        detached(py, || {
            let s = m.predict(t)?;
            report::write_scored(&path, t, m, &s).map(|_| ())
        })
    }
}

/// Reads `model.json`.
#[pyfunction]
pub fn load_model(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
    let model = detached(py, move || SegmentModel::load(&path))?;
    Ok(PyModel { model })
}

/// A model from its JSON text (`name` labels it in messages).
#[pyfunction]
pub fn model_from_json(py: Python<'_>, name: String, text: String) -> PyResult<PyModel> {
    let model = detached(py, move || SegmentModel::from_json(Path::new(&name), &text))?;
    Ok(PyModel { model })
}

/// Segments the customer table derived from the log at `path`, as `run --from` does:
/// `from_` is "transactions" or "events", `derive_options` the column and time options of
/// `features`, `options` segment()'s keywords (keyed by customer_id, RFM scores not
/// clustered, log1p on skewed columns unless `log` is given).
#[pyfunction]
#[pyo3(signature = (from_, path, derive_options, options, progress=None))]
pub fn fit_derived(
    py: Python<'_>,
    from_: &str,
    path: PathBuf,
    derive_options: &Bound<'_, PyDict>,
    options: &Bound<'_, PyDict>,
    progress: Option<Py<PyAny>>,
) -> PyResult<PySegmentation> {
    let kind = match from_ {
        "transactions" => "rfm",
        "events" => "events",
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "from_=\"{other}\": expected \"transactions\" or \"events\""
            )))
        }
    };
    let d = crate::features::derivation(kind, derive_options, "segment")?;
    let segmenter = options::params(options)?
        .for_derived(&d.kind)
        .check()
        .map_err(to_py)?;
    let mut observer = PyObserver { callback: progress };
    let (table, seg) = detached(py, || {
        let derived = d.derive(&path, std::io::sink())?;
        let customers = derived.summary.customers;
        if customers < 2 {
            return Err(segmenter::Error::Data(format!(
                "{}: only {customers} customer(s) derived from the log; segmenting needs at least 2",
                path.display()
            )));
        }
        // Named as `run --from` names it, so reports read the same.
        let table = Table::from_csv_bytes(Path::new("customers.csv"), derived.csv)?;
        let seg = segmenter.fit(&table, &mut observer)?;
        Ok((table, seg))
    })?;
    Ok(PySegmentation {
        seg,
        table: Arc::new(table),
    })
}
