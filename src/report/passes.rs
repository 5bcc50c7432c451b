//! The outputs of a run in passes (`pipeline::passes`): `segments.csv` and `rejects.csv`
//! streamed chunk by chunk as the file is read again (the same bytes `write_dir` writes),
//! `model.json`, and the report from the analysed rows.

use super::run::{prepare_out_dir, write_report_and_manifest};
use super::tables::push_raw_field;
use crate::cluster::NOISE;
use crate::data::reject::Origin;
use crate::error::{Error, Result};
use crate::io::format::{push_fixed4, push_u64};
use crate::io::table::push_csv_field;
use crate::io::{AtomicFile, Table};
use crate::kmeans::nearest;
use crate::pipeline::passes::chunks::ChunkReader;
use crate::pipeline::passes::PassesFit;
use crate::pipeline::{Observer, Stage, StageTimes};
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// Appends `,` and the original fields of row `i` of `table`.
fn push_fields(out: &mut Vec<u8>, table: &Table, i: usize) {
    out.push(b',');
    if table.delimiter == b',' {
        out.extend_from_slice(table.row_bytes(i));
        return;
    }
    for j in 0..table.n_cols() {
        if j > 0 {
            out.push(b',');
        }
        push_raw_field(out, table.raw_field(i, j));
    }
}

/// Writes every output of `fit` into `out`, as `write_dir` does for an in-memory run.
pub fn write_dir_in_passes(
    fit: &PassesFit,
    out: &Path,
    observer: &mut dyn Observer,
) -> Result<StageTimes> {
    prepare_out_dir(out)?;
    let seg = &fit.seg;
    let [segments, rejects, model] =
        ["segments.csv", "rejects.csv", "model.json"].map(|f| out.join(f));
    let mut times = seg.stage_seconds().clone();
    times.run(observer, Stage::Write, || {
        stream_tables(fit, &segments, &rejects)?;
        seg.model().save(&model)
    })?;
    let written = vec![segments, rejects, model];
    write_report_and_manifest(seg, &fit.analysed, out, written, &mut times, observer)?;
    Ok(times)
}

/// One more pass over the file: each kept row with its segment, coordinates and distance
/// (from the feature spill), each rejected row with its reason, in file order.
fn stream_tables(fit: &PassesFit, segments: &Path, rejects: &Path) -> Result<()> {
    let seg = &fit.seg;
    let mut reader = ChunkReader::with_chunk_bytes(&fit.path, &fit.options, fit.chunk_bytes)?;
    let sf = AtomicFile::create(segments)?;
    let mut rf = AtomicFile::create(rejects)?;
    // segments.csv is nearly as large as the input: past the page cache, as in memory.
    let mut sout = sf.stream().map_err(|e| Error::write(segments, e))?;
    let names: Vec<Vec<u8>> = seg
        .segment_names()
        .iter()
        .map(|n| {
            let mut v = Vec::new();
            push_csv_field(&mut v, n.as_bytes());
            v
        })
        .collect();
    let centroids = seg.centroids();
    let model = seg.model();
    let axes = model
        .pca
        .as_ref()
        .ok_or_else(|| Error::Data("the model has no PCA axes".into()))?;
    let d = fit.d;
    let mut head_done = false;
    let mut kept_at = 0usize;
    let mut next_reject = 0usize;
    let all_rejects = seg.rejects();
    let mut feats = Vec::new();
    let mut rout = Vec::new();
    while let Some(chunk) = reader.next_chunk()? {
        let t = &chunk.table;
        if !head_done {
            let mut head = b"row".to_vec();
            let mut rhead = b"row,reason".to_vec();
            for c in &t.columns {
                head.push(b',');
                push_csv_field(&mut head, c.as_bytes());
                rhead.push(b',');
                push_csv_field(&mut rhead, c.as_bytes());
            }
            head.extend_from_slice(b",segment,segment_name,pc1,pc2,distance_to_centroid\n");
            rhead.push(b'\n');
            sout.write_all(&head)
                .map_err(|e| Error::write(segments, e))?;
            rf.writer()
                .write_all(&rhead)
                .map_err(|e| Error::write(rejects, e))?;
            head_done = true;
        }
        let g0 = chunk.first_row;
        let kept: Vec<usize> = (0..t.n_rows()).filter(|&i| !fit.rejected[g0 + i]).collect();
        fit.features.f32s(kept_at * d, kept.len() * d, &mut feats)?;
        let x = ArrayView2::from_shape((kept.len(), d), &feats)
            .map_err(|e| Error::Data(e.to_string()))?;
        let (labels, sq) = nearest(x, centroids);
        let pcs = axes.project2(x);
        // Rows formatted on every core, written in order.
        const TASK: usize = 4096;
        let parts: Vec<Vec<u8>> = kept
            .par_chunks(TASK)
            .enumerate()
            .map(|(task, rows)| {
                let mut out = Vec::with_capacity(rows.len() * 160);
                for (q, &i) in rows.iter().enumerate() {
                    let r = task * TASK + q;
                    push_u64(&mut out, t.row_number(i));
                    push_fields(&mut out, t, i);
                    let l = labels[r];
                    out.push(b',');
                    if l == NOISE {
                        out.extend_from_slice(b"-1,noise");
                    } else {
                        push_u64(&mut out, l as u64);
                        out.push(b',');
                        out.extend_from_slice(names.get(l as usize).map_or(&[][..], |n| n));
                    }
                    out.push(b',');
                    push_fixed4(&mut out, pcs[2 * r]);
                    out.push(b',');
                    push_fixed4(&mut out, pcs[2 * r + 1]);
                    out.push(b',');
                    push_fixed4(&mut out, sq[r].sqrt() as f32);
                    out.push(b'\n');
                }
                out
            })
            .collect();
        for part in &parts {
            sout.write_all(part)
                .map_err(|e| Error::write(segments, e))?;
        }
        kept_at += kept.len();
        // Rejects of this chunk (in row order, ragged ones among them).
        let last_row = t
            .ragged
            .last()
            .map(|r| r.row)
            .into_iter()
            .chain((t.n_rows() > 0).then(|| t.row_number(t.n_rows() - 1)))
            .max()
            .unwrap_or(0);
        rout.clear();
        let dcols = t.n_cols();
        while next_reject < all_rejects.len() && all_rejects[next_reject].row <= last_row {
            let r = &all_rejects[next_reject];
            push_u64(&mut rout, r.row);
            rout.push(b',');
            push_csv_field(&mut rout, r.reason.to_string().as_bytes());
            match r.origin {
                Origin::Row(g) => push_fields(&mut rout, t, g - g0),
                Origin::Ragged(q) => {
                    let fields = &fit.ragged[q].fields;
                    for j in 0..dcols {
                        rout.push(b',');
                        if j + 1 == dcols && fields.len() > dcols {
                            let joined = fields[j..].join(&t.delimiter);
                            push_csv_field(&mut rout, &joined);
                        } else if let Some(f) = fields.get(j) {
                            push_raw_field(&mut rout, f);
                        }
                    }
                }
            }
            rout.push(b'\n');
            next_reject += 1;
        }
        rf.writer()
            .write_all(&rout)
            .map_err(|e| Error::write(rejects, e))?;
    }
    sout.finish().map_err(|e| Error::write(segments, e))?;
    sf.commit()?;
    rf.commit()
}
