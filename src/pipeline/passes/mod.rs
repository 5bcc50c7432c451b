//! `run` on a table larger than memory: the same stages as [`Segmenter::fit`], in passes over
//! the file. Pass 1 parses it chunk by chunk into a spill on disk (each clustered column's
//! parsed values, each row's place in the file) and keeps one 8-byte hash per row in memory;
//! duplicates are found from the sorted hashes, every equal pair verified by reading both rows
//! back. Cleaning statistics are exact: each column's values are read back one column at a
//! time. The scaled features go to a second spill (f32), k is chosen on the seeded sample the
//! in-memory sweep uses, and k-means iterates over the feature spill block by block. PCA,
//! profiles and silhouettes are computed on at most [`ANALYSE_ROWS`] kept rows (all of them
//! in a smaller table, so the report is then the in-memory one); `report::passes` streams
//! `segments.csv` and `rejects.csv`.

pub mod chunks;

use super::analyse;
use super::cluster::{AlgoRun, AlgorithmSettings, ClusterJob, Detail};
use super::observer::{Observer, Stage, StageTimes};
use super::{Segmentation, Segmenter};
use crate::backend::{dispatch, BackendChoice, Problem};
use crate::cluster::ClusterAlgorithm;
use crate::data::clean::{
    choose_levels, decode_parsed, duplicates_by_hash, encode_parsed, numeric_stats, outlier_note,
    row_hash, CleanColumn, Origin, Unusable,
};
use crate::data::encode::fit_numeric;
use crate::data::prep::{CategoricalTransform, NumericTransform, Transform};
use crate::data::sample::sample_indices;
use crate::data::{
    decide_category_columns, infer_schema, Cleaned, Impute, Kind, LogSpec, Outliers, Prep, Reject,
    RejectReason,
};
use crate::error::{Error, Param, ParamError, Result};
use crate::io::dates::DateStyle;
use crate::io::hash::FastMap;
use crate::io::table::RaggedRow;
use crate::io::values::Parsed;
use crate::io::{SourceKind, SourceOptions, Table};
use crate::kmeans::{nearest, KMeansParams};
use chunks::{ChunkReader, Spill, SpillReader};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Kept rows that PCA, profiles, silhouettes and the report's plots are computed on: all of
/// them up to this many (the in-memory report exactly), else a seeded sample.
pub const ANALYSE_ROWS: usize = 1_000_000;

/// Rows per block when a pass reads the spill.
const BLOCK: usize = 1 << 16;

/// A table is run in passes when its file is larger than available memory divided by this:
/// the in-memory run peaks at about 1.4 times the CSV (field offsets, parsed columns,
/// features and outputs, with a window of the mapped file; 1.38× measured at 10M rows), and
/// the file's page cache wants its size again.
pub const IN_MEMORY_FACTOR: u64 = 3;

/// Available memory in bytes (`MemAvailable` of /proc/meminfo), when it can be read.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Whether `path` should be run in passes: a plain delimited file larger than available
/// memory / [`IN_MEMORY_FACTOR`].
pub fn needs_passes(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    SourceKind::detect(path) == (SourceKind::Csv { gzip: false })
        && available_memory().is_some_and(|m| meta.len().saturating_mul(IN_MEMORY_FACTOR) > m)
}

/// A segmentation run in passes: the [`Segmentation`] (its rows are the analysed ones), and
/// what streaming the outputs needs.
pub struct PassesFit {
    /// The segmentation; `rows()` index [`PassesFit::analysed`], rejects name file rows.
    pub seg: Segmentation,
    /// The analysed rows as a table (row numbers as in the file), for the report.
    pub analysed: Table,
    /// The file.
    pub path: PathBuf,
    /// How it was read.
    pub options: SourceOptions,
    /// Whether each well-formed row of the file was rejected.
    pub rejected: Vec<bool>,
    /// Rows with the wrong number of fields, as read.
    pub ragged: Vec<RaggedRow>,
    /// Kept rows × features of the feature spill (f32, row-major).
    pub features: SpillReader,
    /// Features per row.
    pub d: usize,
    /// Rows clustered (kept).
    pub n_kept: usize,
    /// Rows in each segment, over every kept row.
    pub sizes: Vec<u64>,
    /// Chunk size of the passes.
    pub chunk_bytes: usize,
    // The spill directory lives as long as the fit.
    _spill: Spill,
}

/// Sizes of a run in passes.
#[derive(Clone, Copy, Debug)]
pub struct PassSizes {
    /// Bytes of the file parsed at once (a chunk ends at the next record end).
    pub chunk_bytes: usize,
    /// Kept rows the analysis (PCA, profiles, silhouettes) is computed on at most.
    pub analyse_rows: usize,
}

impl Default for PassSizes {
    fn default() -> Self {
        PassSizes {
            chunk_bytes: chunks::CHUNK_BYTES,
            analyse_rows: ANALYSE_ROWS,
        }
    }
}

/// How a clustered column is carried through the passes.
enum Col {
    Numeric {
        kind: Kind,
        parser: NumericTransform,
    },
    Categorical {
        dict: FastMap<Vec<u8>, u32>,
        levels: Vec<Vec<u8>>,
    },
}

/// Raw value of clustered column `c` of row `i` as the in-memory cleaning parses it.
fn parse_value(t: &NumericTransform, kind: Kind, table: &Table, i: usize, j: usize) -> f64 {
    match t.parse(table.field(i, j), table.decimal, &DateStyle::default()) {
        // Dates parse as "0 − days"; flip to days since 1970.
        Parsed::Value(v) if kind == Kind::Date => -v,
        p => encode_parsed(p),
    }
}

/// The cleaned value of a raw value, as `clean` computes it (unusable ones were rejected).
fn cleaned_value(t: &NumericTransform, kind: Kind, raw: f64) -> f64 {
    let p = match decode_parsed(raw) {
        Parsed::Value(v) if kind == Kind::Date => Parsed::Value(t.reference.unwrap_or(0.0) - v),
        p => p,
    };
    t.clean(p).unwrap_or(0.0)
}

/// The real value (NaN when missing), in the cleaned value's units.
fn real_value(t: &NumericTransform, kind: Kind, raw: f64) -> f64 {
    match decode_parsed(raw) {
        Parsed::Value(v) if kind == Kind::Date => t.reference.unwrap_or(0.0) - v,
        Parsed::Value(v) => v,
        _ => f64::NAN,
    }
}

/// 1-based file row number of well-formed row `g`, from the well-formed rows before each
/// ragged row.
fn row_number(g: usize, ragged_at: &[usize]) -> u64 {
    (g + 1 + ragged_at.partition_point(|&w| w <= g)) as u64
}

impl Segmenter {
    /// [`Segmenter::fit`] on the delimited file at `path`, in passes over it (see the
    /// module): memory stays about flat as rows grow. The spill goes to `spill_dir` (created,
    /// and removed when the result is dropped). k-means only.
    pub fn fit_in_passes(
        &self,
        path: &Path,
        options: &SourceOptions,
        spill_dir: &Path,
        observer: &mut dyn Observer,
    ) -> Result<PassesFit> {
        self.fit_in_passes_with(path, options, spill_dir, PassSizes::default(), observer)
    }

    /// [`Segmenter::fit_in_passes`] with other chunk and analysis sizes (tests use small ones).
    pub fn fit_in_passes_with(
        &self,
        path: &Path,
        options: &SourceOptions,
        spill_dir: &Path,
        sizes: PassSizes,
        observer: &mut dyn Observer,
    ) -> Result<PassesFit> {
        let chunk_bytes = sizes.chunk_bytes;
        let p = &self.params;
        if SourceKind::detect(path) != (SourceKind::Csv { gzip: false })
            || options.table.is_some()
            || options.query.is_some()
            || options.sheet.is_some()
        {
            return Err(Error::Data(format!(
                "{}: a run in passes reads plain delimited text files (.csv, .tsv, .txt) only",
                path.display()
            )));
        }
        let algorithms = p.algorithms();
        if algorithms != [ClusterAlgorithm::Kmeans] {
            return Err(Error::Data(format!(
                "a run in passes clusters with k-means only: leave out {} and {}",
                Param::Algorithm,
                Param::Compare
            )));
        }
        let mut times = StageTimes::default();
        let spill = Spill::create(spill_dir)?;
        let mut reader = ChunkReader::with_chunk_bytes(path, options, chunk_bytes)?;

        // Pass 1: parse, hash, spill.
        observer.started(Stage::Read);
        let t0 = Instant::now();
        let mut schema = None;
        let mut column_decisions = Vec::new();
        let mut feature_cols: Vec<(usize, Kind)> = Vec::new();
        let mut cols: Vec<Col> = Vec::new();
        let mut writers = Vec::new();
        let mut offsets = spill.writer("rows")?;
        let mut hashes: Vec<u64> = Vec::new();
        let mut unusable: FastMap<usize, (usize, RejectReason)> = FastMap::default();
        let mut ragged: Vec<RaggedRow> = Vec::new();
        let mut ragged_at: Vec<usize> = Vec::new();
        let mut columns_names: Vec<String> = Vec::new();
        let mut n = 0usize;
        let header_len = reader.header_len();
        while let Some(chunk) = reader.next_chunk()? {
            let t = &chunk.table;
            if schema.is_none() {
                // The first chunk (up to 32 MB) is the sample the schema is inferred on.
                t.check_well_formed()?;
                let mut s = infer_schema(t, &p.overrides)?;
                column_decisions = decide_category_columns(t, &mut s, &p.overrides.categorical);
                columns_names = t.columns.clone();
                for (j, c) in s.columns.iter().enumerate().filter(|(_, c)| c.clustered) {
                    feature_cols.push((j, c.kind));
                    let dates = if t.dates.is_default() {
                        c.dates.clone()
                    } else {
                        t.dates.clone()
                    };
                    cols.push(if c.kind == Kind::Categorical {
                        Col::Categorical {
                            dict: FastMap::default(),
                            levels: Vec::new(),
                        }
                    } else {
                        Col::Numeric {
                            kind: c.kind,
                            parser: NumericTransform {
                                column: c.name.clone(),
                                kind: c.kind,
                                impute: None,
                                clip: None,
                                reference: Some(0.0),
                                log: false,
                                center: 0.0,
                                scale: 1.0,
                                dates,
                            },
                        }
                    });
                    writers.push(spill.writer(&format!("col{}", writers.len()))?);
                }
                schema = Some(s);
            }
            let rows = t.n_rows();
            // Well-formed rows before each ragged row of the chunk.
            let base = chunk.first_row;
            for (q, r) in t.ragged.iter().enumerate() {
                let local = (r.row - chunk.rows_before - 1) as usize;
                ragged_at.push(base + local - q);
                ragged.push(r.clone());
            }
            hashes.par_extend(
                (0..rows)
                    .into_par_iter()
                    .map(|i| row_hash(t.row_bytes(i), t.row_ends(i))),
            );
            for i in 0..rows {
                let off = chunk.offset + t.row_offset(i) - header_len;
                offsets.put(&off.to_le_bytes())?;
                offsets.put(&(t.row_bytes(i).len() as u32).to_le_bytes())?;
            }
            for (c, col) in cols.iter_mut().enumerate() {
                let (j, kind) = feature_cols[c];
                match col {
                    Col::Numeric { parser, .. } => {
                        let vals: Vec<f64> = (0..rows)
                            .into_par_iter()
                            .map(|i| parse_value(parser, kind, t, i, j))
                            .collect();
                        for (i, &v) in vals.iter().enumerate() {
                            let why = match decode_parsed(v) {
                                Parsed::Invalid => Unusable::Invalid,
                                Parsed::Infinite => Unusable::Infinite,
                                Parsed::Missing if p.clean.impute == Impute::Drop => {
                                    Unusable::Missing
                                }
                                _ => continue,
                            };
                            unusable.entry(base + i).or_insert_with(|| {
                                (
                                    c,
                                    RejectReason::unusable(&t.columns[j], t.field(i, j), why, kind),
                                )
                            });
                        }
                        writers[c].put_f64(&vals)?;
                    }
                    Col::Categorical { dict, levels } => {
                        let mut codes = Vec::with_capacity(rows);
                        for i in 0..rows {
                            let l = CategoricalTransform::level_of(t.field(i, j));
                            let code = match dict.get(l) {
                                Some(&c) => c,
                                None => {
                                    let c = levels.len() as u32;
                                    dict.insert(l.to_vec(), c);
                                    levels.push(l.to_vec());
                                    c
                                }
                            };
                            codes.push(code);
                        }
                        writers[c].put_u32(&codes)?;
                    }
                }
            }
            n += rows;
        }
        let schema = schema.ok_or_else(|| Error::EmptyFile { path: path.into() })?;
        offsets.finish()?;
        for w in writers {
            w.finish()?;
        }
        let rows_in = (n + ragged.len()) as u64;
        let read_s = t0.elapsed().as_secs_f64();
        observer.finished(Stage::Read, read_s, true);
        times.record(Stage::Read, read_s);
        times.record(Stage::Schema, 0.0);
        if n == 0 || ragged.len() * 2 > rows_in as usize {
            return Err(Error::Data(format!(
                "{}: {} of {rows_in} data rows do not have the header's {} fields; the file seems \
                 to mix delimiters or to be malformed",
                path.display(),
                ragged.len(),
                columns_names.len()
            )));
        }

        // Cleaning, as `clean` does it, from the spill.
        observer.started(Stage::Clean);
        let t0 = Instant::now();
        let mut notes = Vec::new();
        if !ragged.is_empty() {
            notes.push(format!(
                "{} rows with the wrong number of fields rejected",
                ragged.len()
            ));
        }
        let rows_file = spill.reader("rows")?;
        let csv = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
        let place = |i: usize| -> Option<(u64, usize)> {
            let mut b = [0u8; 12];
            rows_file.read_at(i as u64 * 12, &mut b).ok()?;
            let off = u64::from_le_bytes(b[..8].try_into().ok()?);
            let len = u32::from_le_bytes(b[8..].try_into().ok()?) as usize;
            Some((off, len))
        };
        let row_at = |i: usize| -> Option<Vec<u8>> {
            use std::os::unix::fs::FileExt;
            let (off, len) = place(i)?;
            let mut v = vec![0u8; len];
            csv.read_exact_at(&mut v, off).ok()?;
            Some(v)
        };
        // Equal hashes are verified byte for byte (equal bytes parse to equal field ends).
        let dup = duplicates_by_hash(hashes, |_| {
            |a, b| {
                place(a).map(|x| x.1) == place(b).map(|x| x.1)
                    && matches!((row_at(a), row_at(b)), (Some(x), Some(y)) if x == y)
            }
        });
        let mut rejected = vec![false; n];
        let mut reasons: FastMap<usize, RejectReason> = FastMap::default();
        for (i, d) in dup.iter().enumerate() {
            if let Some(f) = d {
                rejected[i] = true;
                reasons.insert(
                    i,
                    RejectReason::Duplicate {
                        of_row: row_number(*f as usize, &ragged_at),
                    },
                );
            }
        }
        drop(dup);
        let duplicates = reasons.len();
        if duplicates > 0 {
            notes.push(format!("{duplicates} exact duplicate rows removed"));
        }
        let mut counts = vec![0usize; cols.len()];
        let mut unusable: Vec<(usize, (usize, RejectReason))> = unusable.into_iter().collect();
        unusable.sort_unstable_by_key(|u| u.0);
        for (i, (c, reason)) in unusable {
            if !rejected[i] {
                rejected[i] = true;
                reasons.insert(i, reason);
                counts[c] += 1;
            }
        }
        for (c, &count) in counts.iter().enumerate() {
            if count > 0 {
                notes.push(format!(
                    "column '{}': {count} rows rejected for unusable values",
                    columns_names[feature_cols[c].0]
                ));
            }
        }
        let kept0 = rejected.iter().filter(|r| !**r).count();
        let readers: Vec<SpillReader> = (0..cols.len())
            .map(|c| spill.reader(&format!("col{c}")))
            .collect::<Result<_>>()?;
        // Reads column c block by block: f(first row, values).
        let each_block = |c: usize, f: &mut dyn FnMut(usize, &[f64]) -> Result<()>| -> Result<()> {
            let mut buf = Vec::new();
            let mut at = 0;
            while at < n {
                let m = BLOCK.min(n - at);
                readers[c].f64s(at, m, &mut buf)?;
                f(at, &buf)?;
                at += m;
            }
            Ok(())
        };
        // Fences and impute values, one column in memory at a time.
        let mut fits: Vec<Option<NumericTransform>> = Vec::with_capacity(cols.len());
        for (c, col) in cols.iter().enumerate() {
            let Col::Numeric { kind, parser } = col else {
                fits.push(None);
                continue;
            };
            let mut present = Vec::new();
            each_block(c, &mut |at, v| {
                present.extend(
                    v.iter()
                        .enumerate()
                        .filter(|(r, x)| !rejected[at + r] && x.is_finite())
                        .map(|(_, x)| *x),
                );
                Ok(())
            })?;
            let (t, col_notes) = numeric_stats(
                present,
                kept0,
                *kind,
                &columns_names[feature_cols[c].0],
                &parser.dates,
                &p.clean,
            );
            fits.push(t);
            notes.extend(col_notes);
        }
        // Outliers: counted over the rows kept so far, and rows rejected when asked to.
        let kept_now = rejected.clone();
        for (c, fit) in fits.iter().enumerate() {
            let Some([lo, hi]) = fit.as_ref().and_then(|t| t.clip) else {
                continue;
            };
            let mut count = 0;
            let name = &columns_names[feature_cols[c].0];
            each_block(c, &mut |at, v| {
                for (r, &x) in v.iter().enumerate() {
                    let i = at + r;
                    if kept_now[i] || !x.is_finite() {
                        continue;
                    }
                    if x < lo || x > hi {
                        count += 1;
                        if p.clean.outliers == Outliers::Drop && !rejected[i] {
                            rejected[i] = true;
                            reasons.insert(
                                i,
                                RejectReason::Outlier {
                                    column: name.clone(),
                                    value: x,
                                    fence: [lo, hi],
                                },
                            );
                        }
                    }
                }
                Ok(())
            })?;
            if count > 0 {
                notes.push(outlier_note(name, count, kept0, [lo, hi], &p.clean));
            }
        }
        let n_kept = rejected.iter().filter(|r| !**r).count();
        if n_kept < 2 {
            let first = (0..n)
                .filter_map(|i| reasons.get(&i))
                .find(|b| !matches!(b, RejectReason::Duplicate { .. }))
                .map(|b| format!("; first reason: {b}"))
                .unwrap_or_default();
            return Err(Error::Data(format!(
                "{}: only {n_kept} row{} left after cleaning ({duplicates} exact duplicates, {} other rows rejected{first}); segmenting needs at least 2 distinct rows",
                path.display(),
                if n_kept == 1 { "" } else { "s" },
                reasons.len() + ragged.len() - duplicates,
            )));
        }
        // Clustered columns: categorical levels from counts, numeric transforms checked for
        // a constant column; their order is the in-memory one.
        enum Kept {
            Numeric(usize, NumericTransform),
            Categorical(usize, CategoricalTransform, Vec<u32>),
        }
        let mut kept_cols: Vec<Kept> = Vec::new();
        for (c, col) in cols.iter().enumerate() {
            let name = &columns_names[feature_cols[c].0];
            let constant = match col {
                Col::Categorical { levels, .. } => {
                    let mut counts = vec![0u64; levels.len()];
                    let mut codes = Vec::new();
                    let mut at = 0;
                    while at < n {
                        let m = BLOCK.min(n - at);
                        readers[c].u32s(at, m, &mut codes)?;
                        for (r, &code) in codes.iter().enumerate() {
                            if !rejected[at + r] {
                                counts[code as usize] += 1;
                            }
                        }
                        at += m;
                    }
                    let mut lv: Vec<(&[u8], u64)> = levels
                        .iter()
                        .zip(&counts)
                        .filter(|(_, &k)| k > 0)
                        .map(|(l, &k)| (l.as_slice(), k))
                        .collect();
                    let keep = choose_levels(&mut lv, n_kept, &p.clean);
                    let other = keep < lv.len();
                    let index: FastMap<&[u8], u32> = lv[..keep]
                        .iter()
                        .enumerate()
                        .map(|(k, l)| (l.0, k as u32))
                        .collect();
                    let remap: Vec<u32> = levels
                        .iter()
                        .map(|l| index.get(l.as_slice()).copied().unwrap_or(keep as u32))
                        .collect();
                    let distinct_new: std::collections::BTreeSet<u32> = counts
                        .iter()
                        .enumerate()
                        .filter(|(_, &k)| k > 0)
                        .map(|(o, _)| remap[o])
                        .collect();
                    let t = CategoricalTransform {
                        column: name.clone(),
                        levels: lv[..keep]
                            .iter()
                            .map(|l| String::from_utf8_lossy(l.0).into_owned())
                            .collect(),
                        other,
                    };
                    let constant = distinct_new.len() <= 1;
                    kept_cols.push(Kept::Categorical(c, t, remap));
                    constant
                }
                Col::Numeric { kind, .. } => {
                    let Some(t) = fits[c].clone() else { continue };
                    let mut first: Option<f64> = None;
                    let mut constant = true;
                    each_block(c, &mut |at, v| {
                        for (r, &x) in v.iter().enumerate() {
                            if rejected[at + r] {
                                continue;
                            }
                            let y = cleaned_value(&t, *kind, x);
                            match first {
                                None => first = Some(y),
                                Some(f) if f != y => constant = false,
                                _ => {}
                            }
                        }
                        Ok(())
                    })?;
                    kept_cols.push(Kept::Numeric(c, t));
                    constant
                }
            };
            if constant {
                kept_cols.pop();
                notes.push(format!(
                    "warning: column '{name}' has the same value in every kept row: not clustered"
                ));
            }
        }
        if kept_cols.is_empty() {
            let names: Vec<String> = schema
                .columns
                .iter()
                .map(|c| format!("'{}' {}", c.name, c.kind.name()))
                .collect();
            return Err(Error::Data(format!(
                "{}: no column left to cluster on (columns: {}); mark one with {} or {}",
                path.display(),
                names.join(", "),
                Param::Numeric,
                Param::Categorical
            )));
        }
        let mut rejects: Vec<Reject> = ragged
            .iter()
            .enumerate()
            .map(|(g, r)| Reject {
                origin: Origin::Ragged(g),
                row: r.row,
                reason: RejectReason::FieldCount {
                    expected: columns_names.len(),
                    found: r.fields.len(),
                    line: r.line,
                },
            })
            .collect();
        let mut rs: Vec<(usize, RejectReason)> = reasons.into_iter().collect();
        rs.sort_unstable_by_key(|r| r.0);
        rejects.extend(rs.into_iter().map(|(i, reason)| Reject {
            origin: Origin::Row(i),
            row: row_number(i, &ragged_at),
            reason,
        }));
        rejects.sort_by_key(|r| r.row);
        let clean_s = t0.elapsed().as_secs_f64();
        observer.finished(Stage::Clean, clean_s, true);
        times.record(Stage::Clean, clean_s);

        // Encoding: log and scale from each column's cleaned values, then the feature spill.
        observer.started(Stage::Encode);
        let t0 = Instant::now();
        if let LogSpec::Columns(names) = &p.log {
            for name in names {
                let ok = kept_cols.iter().any(|k| {
                    matches!(k, Kept::Numeric(_, t) if &t.column == name && t.kind == Kind::Numeric)
                });
                if !ok {
                    return Err(ParamError::LogColumn(name.clone()).into());
                }
            }
        }
        let kept_of = |at: usize, m: usize| (at..at + m).filter(|&i| !rejected[i]);
        let mut enc_notes = Vec::new();
        let mut transforms = Vec::with_capacity(kept_cols.len());
        for k in &kept_cols {
            match k {
                Kept::Numeric(c, t) => {
                    let Col::Numeric { kind, .. } = &cols[*c] else {
                        continue;
                    };
                    let mut values = Vec::with_capacity(n_kept);
                    each_block(*c, &mut |at, v| {
                        values.extend(
                            kept_of(at, v.len()).map(|i| cleaned_value(t, *kind, v[i - at])),
                        );
                        Ok(())
                    })?;
                    let (ft, note) = fit_numeric(t, &values, p.scale, &p.log)?;
                    enc_notes.extend(note);
                    transforms.push(Transform::Numeric(ft));
                }
                Kept::Categorical(_, t, _) => transforms.push(Transform::Categorical(t.clone())),
            }
        }
        let features: Vec<String> = transforms.iter().flat_map(|t| t.feature_names()).collect();
        let d = features.len();
        let prep = Prep {
            transforms,
            features,
        };
        {
            let mut w = spill.writer("features")?;
            let mut at = 0;
            let mut f64buf = Vec::new();
            let mut u32buf = Vec::new();
            while at < n {
                let m = BLOCK.min(n - at);
                let rows: Vec<usize> = kept_of(at, m).collect();
                let mut x = vec![0f32; rows.len() * d];
                let mut off = 0;
                for (k, tr) in kept_cols.iter().zip(&prep.transforms) {
                    match (k, tr) {
                        (Kept::Numeric(c, t), Transform::Numeric(ft)) => {
                            let Col::Numeric { kind, .. } = &cols[*c] else {
                                continue;
                            };
                            readers[*c].f64s(at, m, &mut f64buf)?;
                            for (r, &i) in rows.iter().enumerate() {
                                x[r * d + off] =
                                    ft.feature(cleaned_value(t, *kind, f64buf[i - at]));
                            }
                            off += 1;
                        }
                        (Kept::Categorical(c, t, remap), _) => {
                            readers[*c].u32s(at, m, &mut u32buf)?;
                            for (r, &i) in rows.iter().enumerate() {
                                x[r * d + off + remap[u32buf[i - at] as usize] as usize] = 1.0;
                            }
                            off += t.width();
                        }
                        _ => {}
                    }
                }
                w.put_f32(&x)?;
                at += m;
            }
            w.finish()?;
        }
        let feats = spill.reader("features")?;
        let encode_s = t0.elapsed().as_secs_f64();
        observer.finished(Stage::Encode, encode_s, true);
        times.record(Stage::Encode, encode_s);
        let gather = |idx: &[usize]| -> Result<Array2<f32>> {
            let mut flat = Vec::with_capacity(idx.len() * d);
            let mut row = Vec::new();
            // Runs of consecutive rows are read at once.
            let mut s = 0;
            while s < idx.len() {
                let mut e = s + 1;
                while e < idx.len() && idx[e] == idx[e - 1] + 1 && e - s < BLOCK {
                    e += 1;
                }
                feats.f32s(idx[s] * d, (e - s) * d, &mut row)?;
                flat.extend_from_slice(&row);
                s = e;
            }
            Array2::from_shape_vec((idx.len(), d), flat).map_err(|e| Error::Data(e.to_string()))
        };

        // k on the sweep's seeded sample, then k-means over the feature spill.
        let mut notes_all = notes.clone();
        notes_all.extend(enc_notes.iter().cloned());
        let sweep_idx = sample_indices(n_kept, p.sweep_sample.max(1), p.seed);
        let xs = gather(&sweep_idx)?;
        let kmax = p.k.max();
        let need = p.k.min();
        let distinct = crate::kmeans::driver::distinct_rows(xs.view(), kmax.max(need));
        if distinct < need {
            return Err(Error::Data(format!(
                "{}: only {distinct} distinct row{} left to cluster after cleaning ({n_kept} of {rows_in} rows kept, {} rejected); \
                 {need} segments need at least {need} distinct rows: use a smaller {} or {}, or more data",
                path.display(),
                if distinct == 1 { "" } else { "s" },
                rejects.len(),
                Param::K,
                Param::KRange
            )));
        }
        let kmeans_params = KMeansParams::new(kmax.max(1)).seed(p.seed).n_init(p.n_init);
        let job = ClusterJob {
            observer: &mut *observer,
            times: &mut times,
            x: xs.view(),
            prep: &prep,
            k: p.k.clone(),
            params: kmeans_params.clone(),
            silhouette_sample: p.silhouette_sample,
            sweep_sample: p.sweep_sample,
            algorithms,
            settings: AlgorithmSettings {
                eps: p.eps,
                min_samples: p.min_samples,
                gamma: p.gamma,
                micro_clusters: p.micro_clusters,
            },
        };
        let problem = Problem {
            n: n_kept,
            d,
            k: kmax.max(1),
        };
        // The sample's fit runs on the CPU under auto; Lloyd's iterations over every row
        // below run on the GPU with `gpu`, and with auto where `gpu::auto_choice` says it
        // gains (the spill streamed to it block by block).
        let backend = if p.backend == BackendChoice::Auto {
            BackendChoice::Cpu
        } else {
            p.backend
        };
        let mut clustered = dispatch(backend, problem, job)?;
        let t0 = Instant::now();
        let sample_fit = clustered.runs.remove(0);
        let mut centroids = sample_fit.centroids.clone();
        let Detail::Kmeans(mut fit) = sample_fit.detail else {
            return Err(Error::Data("k-means gave no fit".into()));
        };
        if xs.nrows() < n_kept {
            // Lloyd's iterations over every kept row, from the sample's centroids.
            let k = centroids.nrows();
            let params = KMeansParams {
                k,
                ..kmeans_params.clone()
            };
            let engine = passes_engine(p.backend, problem)?;
            #[cfg(feature = "gpu")]
            if let Engine::Gpu(g) = &engine {
                let block = g.stream_block_points(n_kept, d, k);
                notes_all.push(format!(
                    "Lloyd's iterations over every row ran on the GPU ('{}'), the feature spill \
                     streamed in blocks of {block} rows ({:.1} MB uploaded per iteration); \
                     labels and inertia were then computed on the CPU",
                    g.adapter().name,
                    (n_kept * d * 4) as f64 / 1e6
                ));
            }
            let (r, converged) = lloyd_passes_on(&feats, n_kept, d, &params, centroids, &engine)?;
            centroids = r.0;
            fit.iterations = r.1;
            fit.converged = converged;
            fit.history.clear();
        }
        // Labels over every row, segments renumbered largest first, as a fit's are.
        let labels = labels_passes(&feats, n_kept, d, centroids.view())?;
        fit.model.centroids = centroids;
        fit.labels = labels;
        fit.canonicalize();
        let centroids = fit.model.centroids.clone();
        let k = centroids.nrows();
        let mut seg_sizes = vec![0u64; k];
        for &l in &fit.labels {
            seg_sizes[l as usize] += 1;
        }
        let (inertia, _) = inertia_passes(&feats, n_kept, d, centroids.view())?;
        fit.inertia = inertia;
        let cluster_s = sample_fit.seconds + t0.elapsed().as_secs_f64();
        fit.labels = Vec::new();
        fit.sq_distances = Vec::new();

        // PCA, profiles and silhouettes on the analysed rows.
        let aidx = sample_indices(n_kept, sizes.analyse_rows.max(2), p.seed);
        let xa = gather(&aidx)?;
        let (la, sqa) = nearest(xa.view(), centroids.view());
        // Kept position → file row of the analysed rows.
        let mut arow = Vec::with_capacity(aidx.len());
        {
            let mut pos = 0usize;
            let mut next = 0usize;
            for (g, r) in rejected.iter().enumerate() {
                if *r {
                    continue;
                }
                if next < aidx.len() && aidx[next] == pos {
                    arow.push(g);
                    next += 1;
                }
                pos += 1;
            }
        }
        let mut columns = Vec::with_capacity(kept_cols.len());
        let mut f64buf = Vec::new();
        let mut u32buf = Vec::new();
        for k in &kept_cols {
            match k {
                Kept::Numeric(c, t) => {
                    let Col::Numeric { kind, .. } = &cols[*c] else {
                        continue;
                    };
                    let mut values = Vec::with_capacity(arow.len());
                    let mut changed = Vec::new();
                    pick_rows(
                        &arow,
                        n,
                        &mut |at, m| readers[*c].f64s(at, m, &mut f64buf).map(|_| f64buf.clone()),
                        &mut |_, raw: f64| {
                            let clean = cleaned_value(t, *kind, raw);
                            let real = real_value(t, *kind, raw);
                            if real.to_bits() != clean.to_bits() {
                                changed.push((values.len() as u32, real));
                            }
                            values.push(clean);
                        },
                    )?;
                    columns.push(CleanColumn::Numeric {
                        t: t.clone(),
                        values,
                        changed,
                    });
                }
                Kept::Categorical(c, t, remap) => {
                    let mut codes = Vec::with_capacity(arow.len());
                    pick_rows(
                        &arow,
                        n,
                        &mut |at, m| readers[*c].u32s(at, m, &mut u32buf).map(|_| u32buf.clone()),
                        &mut |_, code: u32| codes.push(remap[code as usize]),
                    )?;
                    columns.push(CleanColumn::Categorical {
                        t: t.clone(),
                        codes,
                    });
                }
            }
        }
        // The analysed rows' bytes, read in file order through a window of the file.
        let mut bytes = Vec::new();
        let mut numbers = Vec::with_capacity(arow.len());
        let places = arow.clone();
        {
            use std::os::unix::fs::FileExt;
            const WINDOW: usize = 8 << 20;
            let (mut w0, mut window) = (0u64, Vec::<u8>::new());
            let mut b = [0u8; 12];
            for g in places {
                rows_file.read_at(g as u64 * 12, &mut b)?;
                let off = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                let len = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
                if off < w0 || off + len as u64 > w0 + window.len() as u64 {
                    w0 = off;
                    window.resize(WINDOW.max(len), 0);
                    let mut got = 0;
                    while got < window.len() {
                        match csv.read_at(&mut window[got..], w0 + got as u64) {
                            Ok(0) => break,
                            Ok(k) => got += k,
                            Err(e) => return Err(Error::read(path, e)),
                        }
                    }
                    window.truncate(got);
                    if len > got {
                        return Err(Error::Data(format!(
                            "{}: row {} could not be read back (the file changed?)",
                            path.display(),
                            row_number(g, &ragged_at)
                        )));
                    }
                }
                let a = (off - w0) as usize;
                bytes.extend_from_slice(&window[a..a + len]);
                bytes.push(b'\n');
                numbers.push(row_number(g, &ragged_at));
            }
        }
        let mut analysed = reader.parse_rows(&bytes)?;
        drop(bytes);
        analysed.set_row_numbers(numbers);
        let mut cleaned = Cleaned {
            kept: (0..arow.len()).collect(),
            rejects: Vec::new(),
            columns,
            notes: notes.clone(),
            duplicates,
        };
        let m = arow.len();
        if m < n_kept {
            notes_all.push(format!(
                "PCA, profiles, silhouettes and plots are computed on a seeded sample of {m} of \
                 the {n_kept} segmented rows; segment sizes, centroids and inertia use every row"
            ));
        }
        // The clustering stage's time includes the passes over the spill.
        if let Some(e) = times.0.iter_mut().find(|e| e.0 == Stage::Cluster.key()) {
            e.1 = cluster_s;
        }
        clustered.runs.insert(
            0,
            AlgoRun {
                algorithm: ClusterAlgorithm::Kmeans,
                labels: la,
                k,
                n_noise: 0,
                centroids: centroids.clone(),
                distances: sqa.iter().map(|&s| s.sqrt() as f32).collect(),
                inertia,
                seconds: cluster_s,
                detail: Detail::Kmeans(fit),
            },
        );
        let mut a = analyse::analyse(
            xa.view(),
            &mut cleaned,
            clustered,
            p,
            &mut times,
            observer,
            &mut notes_all,
        )?;
        a.primary.inertia = inertia;
        for prof in &mut a.profiles {
            if let Some(&s) = usize::try_from(prof.segment)
                .ok()
                .and_then(|s| seg_sizes.get(s))
            {
                prof.size = s;
                prof.share = s as f64 / n_kept as f64;
            }
        }
        let seg = Segmentation {
            source_name: path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source_path: path.display().to_string(),
            rows_in,
            params: p.clone(),
            kmeans_params,
            schema,
            column_decisions,
            kept: std::mem::take(&mut cleaned.kept),
            all_sizes: (m < n_kept).then(|| seg_sizes.clone()),
            rejects,
            duplicates,
            notes: notes_all,
            prep,
            choice: a.choice,
            sweep_rows: a.sweep_rows,
            primary: a.primary,
            comparison: a.comparison,
            backend: a.backend,
            pca: a.pca,
            axes: a.axes,
            pcs: a.pcs,
            profiles: a.profiles,
            names: a.names,
            silhouette: a.silhouette,
            simplified: a.simplified,
            silhouette_from_sweep: a.silhouette_from_sweep,
            algorithm_notes: a.algorithm_notes,
            histograms: a.histograms,
            stability: a.stability,
            value: a.value,
            stage_seconds: times,
        };
        Ok(PassesFit {
            seg,
            analysed,
            path: path.to_path_buf(),
            options: options.clone(),
            rejected,
            ragged,
            features: feats,
            d,
            n_kept,
            sizes: seg_sizes,
            chunk_bytes,
            _spill: spill,
        })
    }
}

/// The engine of Lloyd's iterations over the spill for `choice`: the GPU for `gpu` (an error
/// without an adapter), and for `auto` where `gpu::auto_choice` picks it; else the CPU.
fn passes_engine(choice: BackendChoice, problem: Problem) -> Result<Engine> {
    #[cfg(feature = "gpu")]
    {
        let gpu = match choice {
            BackendChoice::Gpu => true,
            BackendChoice::Auto => crate::backend::gpu::auto_choice(problem).backend == "gpu",
            BackendChoice::Cpu => false,
        };
        if gpu {
            return Ok(Engine::Gpu(crate::backend::GpuBackend::new()?));
        }
    }
    let _ = (choice, problem);
    Ok(Engine::Cpu)
}

/// Walks the spill of one value per well-formed row (`n` of them) block by block, `read(at,
/// m)` giving rows `at..at + m`, and calls `f(row, value)` for each row of `rows` (ascending).
fn pick_rows<T: Copy>(
    rows: &[usize],
    n: usize,
    read: &mut dyn FnMut(usize, usize) -> Result<Vec<T>>,
    f: &mut dyn FnMut(usize, T),
) -> Result<()> {
    let mut next = 0;
    let mut at = 0;
    while at < n && next < rows.len() {
        let m = BLOCK.min(n - at);
        if rows[next] < at + m {
            let v = read(at, m)?;
            while next < rows.len() && rows[next] < at + m {
                f(rows[next], v[rows[next] - at]);
                next += 1;
            }
        }
        at += m;
    }
    Ok(())
}

/// Reads the feature spill block by block: f(first kept row, rows × d values).
fn each_feature_block(
    feats: &SpillReader,
    n: usize,
    d: usize,
    f: &mut dyn FnMut(usize, ArrayView2<'_, f32>) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::new();
    let mut at = 0;
    while at < n {
        let m = BLOCK.min(n - at);
        feats.f32s(at * d, m * d, &mut buf)?;
        let x = ArrayView2::from_shape((m, d), &buf).map_err(|e| Error::Data(e.to_string()))?;
        f(at, x)?;
        at += m;
    }
    Ok(())
}

/// Nearest centroid of every kept row (the function `predict` uses).
fn labels_passes(
    feats: &SpillReader,
    n: usize,
    d: usize,
    centroids: ArrayView2<'_, f32>,
) -> Result<Vec<u32>> {
    let mut labels = Vec::with_capacity(n);
    each_feature_block(feats, n, d, &mut |_, x| {
        labels.extend(nearest(x, centroids).0);
        Ok(())
    })?;
    Ok(labels)
}

/// Within-cluster sum of squares over every kept row, summed in row order in f64, and the
/// rows per cluster.
fn inertia_passes(
    feats: &SpillReader,
    n: usize,
    d: usize,
    centroids: ArrayView2<'_, f32>,
) -> Result<(f64, Vec<u64>)> {
    let mut total = 0f64;
    let mut sizes = vec![0u64; centroids.nrows()];
    each_feature_block(feats, n, d, &mut |_, x| {
        let (l, sq) = nearest(x, centroids);
        for (&l, s) in l.iter().zip(sq) {
            total += s;
            sizes[l as usize] += 1;
        }
        Ok(())
    })?;
    Ok((total, sizes))
}

/// Lloyd's iterations over the feature spill from `centroids`, stopping as the in-memory
/// driver does (no label changed, or a centroid shift within the tolerance, or max-iter);
/// an empty cluster is re-seeded as the driver does it. Returns the centroids and iterations, and whether
/// it converged.
#[cfg(test)]
fn lloyd_passes(
    feats: &SpillReader,
    n: usize,
    d: usize,
    params: &KMeansParams,
    centroids: Array2<f32>,
) -> Result<((Array2<f32>, usize), bool)> {
    lloyd_passes_on(feats, n, d, params, centroids, &Engine::Cpu)
}

/// Where Lloyd's iterations over the spill assign and accumulate.
enum Engine {
    /// `nearest` on the host, block by block.
    Cpu,
    /// The GPU's kernel, the spill streamed to it block by block (`GpuBackend::stream_start`).
    #[cfg(feature = "gpu")]
    Gpu(crate::backend::GpuBackend),
}

/// [`lloyd_passes`] on `engine`; on the GPU the labels stay on the device and are read back
/// only to re-seed an empty cluster.
fn lloyd_passes_on(
    feats: &SpillReader,
    n: usize,
    d: usize,
    params: &KMeansParams,
    mut centroids: Array2<f32>,
    engine: &Engine,
) -> Result<((Array2<f32>, usize), bool)> {
    let k = centroids.nrows();
    // The tolerance is relative to the mean feature variance, as the driver's; the ranges
    // fix the GPU's centring and fixed-point scales.
    let (mut s, mut s2) = (vec![0f64; d], vec![0f64; d]);
    let (mut lo, mut hi) = (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]);
    each_feature_block(feats, n, d, &mut |_, x| {
        for row in x.rows() {
            for (j, &v) in row.iter().enumerate() {
                s[j] += v as f64;
                s2[j] += v as f64 * v as f64;
                lo[j] = lo[j].min(v);
                hi[j] = hi[j].max(v);
            }
        }
        Ok(())
    })?;
    #[cfg(feature = "gpu")]
    let mut stream = match engine {
        Engine::Gpu(g) => Some(g.stream_start(n, k, &lo, &hi)?),
        Engine::Cpu => None,
    };
    #[cfg(not(feature = "gpu"))]
    let _ = (engine, &lo, &hi);
    let nf = n as f64;
    let mean_var = (0..d)
        .map(|j| (s2[j] / nf - (s[j] / nf).powi(2)).max(0.0))
        .sum::<f64>()
        / d.max(1) as f64;
    let tol = if params.tol > 0.0 {
        params.tol * mean_var
    } else {
        0.0
    };
    let mut labels = vec![u32::MAX; n];
    let mut iterations = 0;
    let mut converged = false;
    for it in 0..params.max_iter {
        let mut sums = vec![0f64; k * d];
        let mut counts = vec![0u64; k];
        let mut changed = 0usize;
        #[cfg(feature = "gpu")]
        if let Some(st) = stream.as_mut() {
            let c = centroids
                .as_slice()
                .ok_or_else(|| Error::Data("centroids are not contiguous".into()))?;
            let step = st.step(c, &mut |at, m, buf| feats.f32s(at * d, m * d, buf))?;
            (sums, counts, changed) = (step.sums, step.counts, step.changed as usize);
            iterations += 1;
            if counts.contains(&0) {
                labels = st.labels()?;
            }
        }
        #[cfg(not(feature = "gpu"))]
        let stream: Option<()> = None;
        if stream.is_none() {
            iterations += 1;
            each_feature_block(feats, n, d, &mut |at, x| {
                let (l, _) = nearest(x, centroids.view());
                for (r, (&c, row)) in l.iter().zip(x.rows()).enumerate() {
                    if labels[at + r] != c {
                        changed += 1;
                        labels[at + r] = c;
                    }
                    counts[c as usize] += 1;
                    let sum = &mut sums[c as usize * d..(c as usize + 1) * d];
                    for (a, &v) in sum.iter_mut().zip(row) {
                        *a += v as f64;
                    }
                }
                Ok(())
            })?;
        }
        if counts.contains(&0) {
            reseed_empty(
                feats,
                n,
                d,
                &labels,
                centroids.view(),
                &mut sums,
                &mut counts,
            )?;
        }
        let mut shift = 0f64;
        for c in 0..k {
            if counts[c] == 0 {
                continue;
            }
            for j in 0..d {
                let v = (sums[c * d + j] / counts[c] as f64) as f32;
                shift += (v as f64 - centroids[[c, j]] as f64).powi(2);
                centroids[[c, j]] = v;
            }
        }
        if it > 0 && changed == 0 {
            converged = true;
            break;
        }
        if shift <= tol {
            converged = true;
            break;
        }
    }
    Ok(((centroids, iterations), converged))
}

/// The in-memory driver's empty-cluster rule over the spill: each empty cluster takes the
/// point farthest from its centroid (ties to the lowest row) whose cluster keeps a point.
/// Only the farthest candidates are kept from a pass (rows in the same order as a full sort),
/// and the pass is repeated with more of them in the rare case donors run out.
fn reseed_empty(
    feats: &SpillReader,
    n: usize,
    d: usize,
    labels: &[u32],
    old: ArrayView2<'_, f32>,
    sums: &mut [f64],
    counts: &mut [u64],
) -> Result<()> {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    let mut keep = empty.len() * 8 + 64;
    loop {
        // (distance, row): the `keep` farthest rows, farthest first, ties to the lowest row.
        let mut top: Vec<(f64, usize)> = Vec::with_capacity(2 * keep);
        let far_first =
            |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        each_feature_block(feats, n, d, &mut |at, x| {
            let sq = crate::kmeans::assign::sq_distances(x, &labels[at..at + x.nrows()], old);
            top.extend(sq.into_iter().enumerate().map(|(r, v)| (v, at + r)));
            if top.len() > 2 * keep {
                top.select_nth_unstable_by(keep, far_first);
                top.truncate(keep);
            }
            Ok(())
        })?;
        top.sort_by(far_first);
        let exhaustive = top.len() < keep || keep >= n;
        top.truncate(keep);
        let mut trial = counts.to_vec();
        let mut moves = Vec::with_capacity(empty.len());
        let mut donors = top.iter();
        for &c in &empty {
            let Some(&(_, p)) = donors
                .by_ref()
                .find(|&&(_, p)| trial[labels[p] as usize] > 1)
            else {
                break;
            };
            trial[labels[p] as usize] -= 1;
            trial[c] = 1;
            moves.push((c, p));
        }
        if moves.len() < empty.len() && !exhaustive {
            keep *= 4;
            continue;
        }
        for (c, p) in moves {
            let from = labels[p] as usize;
            let row = read_feature_row(feats, d, p)?;
            for (j, &v) in row.iter().enumerate() {
                sums[from * d + j] -= v as f64;
                sums[c * d + j] = v as f64;
            }
            counts[from] -= 1;
            counts[c] = 1;
        }
        return Ok(());
    }
}

/// One row of the feature spill.
fn read_feature_row(feats: &SpillReader, d: usize, p: usize) -> Result<Vec<f32>> {
    let mut row = Vec::new();
    feats.f32s(p * d, d, &mut row)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_numbers_skip_the_ragged_rows() {
        // Ragged rows after 0 and after 2 well-formed rows: file rows 1 and 4.
        let at = [0, 2];
        let got: Vec<u64> = (0..4).map(|g| row_number(g, &at)).collect();
        assert_eq!(got, vec![2, 3, 5, 6]);
    }

    #[test]
    fn an_empty_cluster_in_the_spill_is_reseeded_as_in_memory() {
        // Rows 0 and 1 are equal, so two of the first-row starts coincide and one empties.
        let x = ndarray::array![[0.0f32], [0.0], [1.0], [10.0], [11.0], [30.0]];
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::create(&dir.path().join("s")).unwrap();
        let mut w = spill.writer("f").unwrap();
        w.put_f32(x.as_slice().unwrap()).unwrap();
        w.finish().unwrap();
        let feats = spill.reader("f").unwrap();
        let params = KMeansParams::new(3)
            .init(crate::kmeans::Init::First)
            .tol(0.0);
        let start = x.slice(ndarray::s![0..3, ..]).to_owned();
        let ((got, _), _) = lloyd_passes(&feats, 6, 1, &params, start).unwrap();
        let want = crate::kmeans::fit(&crate::backend::cpu::CpuBackend, x.view(), &params).unwrap();
        assert_eq!(got, want.model.centroids);
        let mut c: Vec<f32> = got.iter().copied().collect();
        c.sort_by(f32::total_cmp);
        assert_eq!(c, vec![1.0 / 3.0, 10.5, 30.0]);
    }

    #[cfg(feature = "gpu")]
    #[test]
    fn an_empty_cluster_is_reseeded_when_the_spill_streams_to_the_gpu() {
        let config = crate::backend::GpuConfig {
            chunk_points: Some(2),
            ..Default::default()
        };
        let g = match crate::backend::GpuBackend::with_config(config) {
            Ok(g) => g,
            Err(e) => {
                let required = std::env::var("SEGMENTER_REQUIRE_GPU").as_deref() == Ok("1");
                assert!(!required, "SEGMENTER_REQUIRE_GPU=1 but {e}");
                return;
            }
        };
        // As above; three blocks of two rows. The values are exact in the fixed-point cells,
        // so the centroids are the CPU's exactly.
        let x = ndarray::array![[0.0f32], [0.0], [1.0], [10.0], [11.0], [30.0]];
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::create(&dir.path().join("s")).unwrap();
        let mut w = spill.writer("f").unwrap();
        w.put_f32(x.as_slice().unwrap()).unwrap();
        w.finish().unwrap();
        let feats = spill.reader("f").unwrap();
        let params = KMeansParams::new(3)
            .init(crate::kmeans::Init::First)
            .tol(0.0);
        let start = x.slice(ndarray::s![0..3, ..]).to_owned();
        let want = lloyd_passes(&feats, 6, 1, &params, start.clone()).unwrap();
        let got = lloyd_passes_on(&feats, 6, 1, &params, start, &Engine::Gpu(g)).unwrap();
        assert_eq!(got, want);
        let mut c: Vec<f32> = got.0 .0.iter().copied().collect();
        c.sort_by(f32::total_cmp);
        assert_eq!(c, vec![1.0 / 3.0, 10.5, 30.0]);
    }

    #[test]
    fn small_files_stay_in_memory() {
        assert!(available_memory().is_some_and(|m| m > 0));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        assert!(!needs_passes(&p));
        assert!(!needs_passes(&dir.path().join("missing.csv")));
    }
}
