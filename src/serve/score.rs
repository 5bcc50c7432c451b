//! A request body (JSON records or CSV) → a [`Table`] → [`SegmentModel::predict`] → the
//! response body, or the 4xx error that names the row and field. No HTTP here, so the same
//! code is tested without a server.

use crate::io::format::push_fixed4;
use crate::io::table::push_csv_field;
use crate::io::{Table, TableBuilder};
use crate::pipeline::{Scores, SegmentModel};
use serde_json::{Map, Value};
use std::path::Path;

/// Name a request body goes by in library messages.
const REQUEST: &str = "request";

/// A request that cannot be scored: the HTTP status, one sentence, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status (4xx, or 500).
    pub status: u16,
    /// Kind for the `errors by kind` metric (`malformed_json`, `missing_column`, …).
    pub kind: &'static str,
    /// What is wrong, one sentence.
    pub error: String,
    /// 1-based record or data row, when one row is at fault.
    pub row: Option<u64>,
    /// The field (column) at fault, when one is.
    pub field: Option<String>,
}

impl ApiError {
    /// An error of `kind` with `status` not tied to a row.
    pub fn new(status: u16, kind: &'static str, error: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            error: error.into(),
            row: None,
            field: None,
        }
    }

    /// The JSON body: `{"error": "...", "row": N, "field": "..."}` (row and field when known).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("error".into(), Value::String(self.error.clone()));
        if let Some(r) = self.row {
            m.insert("row".into(), Value::from(r));
        }
        if let Some(f) = &self.field {
            m.insert("field".into(), Value::String(f.clone()));
        }
        Value::Object(m)
    }
}

/// The text a JSON value stands for in a CSV field; `None` for arrays and objects.
fn field_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    Some(match v {
        Value::Null => Cow::Borrowed(""),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// Parses a JSON body into records: an array of objects (one object alone is one record).
pub fn parse_records(body: &[u8], max_rows: usize) -> Result<Vec<Map<String, Value>>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            400,
            "empty_body",
            "the request body is empty; send a JSON array of records or a CSV table",
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "malformed_json", format!("malformed JSON: {e}")))?;
    let items = match v {
        Value::Array(a) => a,
        Value::Object(o) => vec![Value::Object(o)],
        other => {
            return Err(ApiError::new(
                400,
                "malformed_json",
                format!(
                    "expected a JSON array of records (objects), found {}",
                    json_kind(&other)
                ),
            ))
        }
    };
    if items.is_empty() {
        return Err(ApiError::new(
            400,
            "empty_body",
            "the JSON array has no records",
        ));
    }
    check_rows(items.len(), max_rows)?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, r)| match r {
            Value::Object(o) => Ok(o),
            other => Err(ApiError {
                row: Some(i as u64 + 1),
                ..ApiError::new(
                    400,
                    "malformed_json",
                    format!(
                        "record {}: expected an object of fields, found {}",
                        i + 1,
                        json_kind(&other)
                    ),
                )
            }),
        })
        .collect()
}

/// The JSON type of a value, for messages.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_rows(n: usize, max_rows: usize) -> Result<(), ApiError> {
    if n > max_rows {
        return Err(ApiError::new(
            413,
            "too_many_rows",
            format!("{n} rows in one request; the server takes at most {max_rows} (--max-rows)"),
        ));
    }
    Ok(())
}

/// One scored row of a JSON request.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredRow {
    /// 1-based record number.
    pub row: u64,
    /// The caller's id field and value, when the record has one.
    pub id: Option<(String, Value)>,
    /// Segment number.
    pub segment: u32,
    /// Segment name.
    pub segment_name: String,
    /// Distance to the segment's centre (scaled feature space), as `predict` writes it.
    pub distance_to_centroid: f32,
    /// Categorical levels the model did not know (scored as `other`).
    pub warning: Option<String>,
}

impl ScoredRow {
    /// The result object, with the id field first when there is one.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("row".into(), Value::from(self.row));
        if let Some((k, v)) = &self.id {
            m.insert(k.clone(), v.clone());
        }
        m.insert("segment".into(), Value::from(self.segment));
        m.insert(
            "segment_name".into(),
            Value::String(self.segment_name.clone()),
        );
        m.insert(
            "distance_to_centroid".into(),
            Value::from(self.distance_to_centroid as f64),
        );
        if let Some(w) = &self.warning {
            m.insert("warning".into(), Value::String(w.clone()));
        }
        Value::Object(m)
    }
}

/// Scores JSON records: each must have every column the model reads.
pub fn score_records(
    model: &SegmentModel,
    records: &[Map<String, Value>],
) -> Result<Vec<ScoredRow>, ApiError> {
    let cols = model.columns();
    let mut b = TableBuilder::new(REQUEST, &cols);
    let mut fields: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(cols.len());
    for (i, r) in records.iter().enumerate() {
        fields.clear();
        for c in &cols {
            let v = r.get(*c).ok_or_else(|| ApiError {
                row: Some(i as u64 + 1),
                field: Some(c.to_string()),
                ..ApiError::new(
                    422,
                    "missing_column",
                    format!(
                        "record {}: no field '{c}', which the model needs (it reads {})",
                        i + 1,
                        quoted_list(&cols)
                    ),
                )
            })?;
            fields.push(field_text(v).ok_or_else(|| ApiError {
                row: Some(i as u64 + 1),
                field: Some(c.to_string()),
                ..ApiError::new(
                    422,
                    "invalid_value",
                    format!(
                        "record {}, field '{c}': expected a number or a string, found {}",
                        i + 1,
                        json_kind(v)
                    ),
                )
            })?);
        }
        b.push_row(fields.iter().map(|f| f.as_bytes()));
    }
    let table = b
        .finish()
        .map_err(|e| ApiError::new(422, "invalid_value", e.to_string()))?;
    let scores = predict(model, &table, "record")?;
    let ids = model.id_columns();
    let warnings = model.unknown_levels(&table, &scores.kept);
    Ok(scores
        .kept
        .iter()
        .zip(&scores.labels)
        .zip(&scores.distances)
        .zip(warnings)
        .map(|(((&i, &l), &d), warning)| {
            let rec = &records[i];
            ScoredRow {
                row: i as u64 + 1,
                id: ids
                    .iter()
                    .find_map(|k| rec.get(*k).map(|v| (k.to_string(), v.clone()))),
                segment: l,
                segment_name: model
                    .segment_names
                    .get(l as usize)
                    .cloned()
                    .unwrap_or_default(),
                distance_to_centroid: d,
                warning,
            }
        })
        .collect())
}

/// Parses a CSV body as `segmenter predict` reads a file.
pub fn parse_csv(body: Vec<u8>, max_rows: usize) -> Result<Table, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            400,
            "empty_body",
            "the request body is empty; send a CSV table with a header row",
        ));
    }
    let table = Table::from_csv_bytes(Path::new(REQUEST), body).map_err(|e| match e {
        crate::Error::NoRows { .. } => no_rows(),
        e => ApiError::new(400, "malformed_csv", e.to_string()),
    })?;
    if table.n_rows() + table.ragged.len() == 0 {
        return Err(no_rows());
    }
    check_rows(table.n_rows() + table.ragged.len(), max_rows)?;
    Ok(table)
}

fn no_rows() -> ApiError {
    ApiError::new(400, "empty_body", "the CSV has a header but no data rows")
}

/// Scores a CSV table; the body is `row,segment,segment_name,distance_to_centroid` (the last
/// three exactly as `predict` writes them) and the rows' warnings, if any.
pub fn score_csv(model: &SegmentModel, table: &Table) -> Result<(Vec<u8>, Vec<String>), ApiError> {
    let cols = model.columns();
    if let Some(c) = cols.iter().find(|c| table.column_index(c).is_none()) {
        return Err(ApiError {
            field: Some(c.to_string()),
            ..ApiError::new(
                422,
                "missing_column",
                format!(
                    "the CSV header has no column '{c}', which the model needs (it reads {})",
                    quoted_list(&cols)
                ),
            )
        });
    }
    let scores = predict(model, table, "row")?;
    let warnings = model.unknown_levels(table, &scores.kept);
    let names: Vec<Vec<u8>> = model
        .segment_names
        .iter()
        .map(|n| {
            let mut v = Vec::new();
            push_csv_field(&mut v, n.as_bytes());
            v
        })
        .collect();
    let mut out = Vec::with_capacity(32 + scores.kept.len() * 40);
    out.extend_from_slice(b"row,segment,segment_name,distance_to_centroid\n");
    let mut buf = itoa::Buffer::new();
    for ((&i, &l), &d) in scores
        .kept
        .iter()
        .zip(&scores.labels)
        .zip(&scores.distances)
    {
        out.extend_from_slice(buf.format(table.row_number(i)).as_bytes());
        out.push(b',');
        out.extend_from_slice(buf.format(l).as_bytes());
        out.push(b',');
        out.extend_from_slice(names.get(l as usize).map_or(&[][..], |n| n));
        out.push(b',');
        push_fixed4(&mut out, d);
        out.push(b'\n');
    }
    let rows: Vec<String> = scores
        .kept
        .iter()
        .zip(warnings)
        .filter_map(|(&i, w)| w.map(|w| format!("row {}: {w}", table.row_number(i))))
        .collect();
    Ok((out, rows))
}

/// `predict`, with its first rejected row turned into the request's error.
fn predict(model: &SegmentModel, table: &Table, unit: &str) -> Result<Scores, ApiError> {
    let scores = model
        .predict(table)
        .map_err(|e| ApiError::new(422, "unscorable", e.to_string()))?;
    if let Some(r) = scores.rejects.first() {
        let field = r.reason.column().map(str::to_string);
        // A row without a column at fault has the wrong number of fields.
        let kind = if field.is_some() {
            "invalid_value"
        } else {
            "malformed_csv"
        };
        let row = r.row;
        return Err(ApiError {
            row: Some(row),
            field,
            ..ApiError::new(422, kind, format!("{unit} {row}: {}", r.reason))
        });
    }
    Ok(scores)
}

fn quoted_list(v: &[&str]) -> String {
    v.iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
