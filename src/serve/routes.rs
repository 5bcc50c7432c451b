//! The HTTP surface: small handlers over the shared [`AppState`], with the token check,
//! timeout, counters and panic catching as layers around them (as in axum's examples).

use super::assets;
use super::score::{parse_csv, parse_records, score_csv, score_records, ApiError};
use super::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;
use tower_http::catch_panic::CatchPanicLayer;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (status, axum::Json(self.to_json())).into_response();
        // Read by the counting layer, which cannot see the body.
        r.extensions_mut().insert(ErrorKind(self.kind));
        r
    }
}

/// The kind of an error response, for `segmenter_errors_total`.
#[derive(Clone, Copy, Debug)]
struct ErrorKind(&'static str);

/// Rows a successful predict scored, for `segmenter_rows_scored_total`.
#[derive(Clone, Copy, Debug)]
struct RowsScored(usize);

/// Every route, without the layers (tests add routes before [`layered`]).
pub fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let mut r = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/model", get(model_info))
        .route("/v1/predict", post(predict));
    if state.run_dir.is_some() {
        r = r
            .route("/", get(|| async { assets::page("index.html") }))
            .route("/app.js", get(|| async { assets::page("app.js") }))
            .route("/style.css", get(|| async { assets::page("style.css") }))
            .route("/v1/run", get(run_summary));
    }
    r.fallback(not_found)
}

/// `routes` (plus any a caller added) with the layers, outermost first: the counters and
/// timeout, panics → 500, the token check.
pub fn layered(routes: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    routes
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_and_time,
        ))
        .with_state(state)
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    eprintln!("segmenter serve: a request handler panicked; answered 500 and serving on");
    ApiError::new(
        500,
        "panic",
        "internal error: the request could not be handled",
    )
    .into_response()
}

/// The route label of a path: fixed names only, so clients cannot grow the metric.
fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/predict" => "/v1/predict",
        "/v1/model" => "/v1/model",
        "/v1/run" => "/v1/run",
        "/healthz" => "/healthz",
        "/metrics" => "/metrics",
        "/" | "/app.js" | "/style.css" => "/",
        _ => "other",
    }
}

async fn count_and_time(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let t = Instant::now();
    let r = match tokio::time::timeout(state.limits.timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            408,
            "timeout",
            format!(
                "the request took longer than {} s (a slow client, or too large a batch)",
                state.limits.timeout.as_secs_f64()
            ),
        )
        .into_response(),
    };
    let m = &state.metrics;
    m.request(route, r.status().as_u16(), t.elapsed());
    if let Some(ErrorKind(k)) = r.extensions().get::<ErrorKind>() {
        m.error(k);
    } else if r.status().is_server_error() {
        m.error("internal");
    }
    if let Some(RowsScored(n)) = r.extensions().get::<RowsScored>() {
        m.rows(*n);
    }
    r
}

async fn require_token(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(token) = &state.token else {
        return next.run(req).await;
    };
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    let err = match given {
        None => "this server needs 'Authorization: Bearer <token>' (--token-file)",
        // Constant time in the token's bytes, so timing does not reveal a matching prefix.
        Some(g) if bool::from(g.trim_ascii().ct_eq(token)) => return next.run(req).await,
        Some(_) => "the bearer token is not this server's",
    };
    let mut r = ApiError::new(401, "unauthorized", err).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        404,
        "not_found",
        format!("no such endpoint: {} {}", req.method(), req.uri().path()),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /v1/model`: features, segments (names, sizes when the run is known), version, date.
async fn model_info(State(state): State<Arc<AppState>>) -> Response {
    let m = state.model.load_full();
    let sizes = state.run_dir.as_ref().and_then(|d| run_sizes(d));
    let segments: Vec<Value> = m
        .model
        .segment_names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut o = json!({"segment": i, "name": n});
            if let Some(s) = sizes.as_ref().and_then(|s| s.get(i)) {
                o["size"] = s.clone();
            }
            o
        })
        .collect();
    axum::Json(json!({
        "model_version": m.version,
        "fitted_at": m.fitted_at,
        "format_version": m.model.version,
        "segmenter_version": m.model.segmenter_version,
        "fitted_on": m.model.fitted_on,
        "algorithm": m.model.algorithm.name(),
        "k": m.model.k,
        "columns": m.model.columns(),
        "features": m.model.prep.features,
        "segments": segments,
    }))
    .into_response()
}

/// Segment sizes from the run's summary.json, when there is one.
fn run_sizes(dir: &std::path::Path) -> Option<Vec<Value>> {
    let text = std::fs::read(dir.join(crate::report::SUMMARY_JSON)).ok()?;
    let v: Value = serde_json::from_slice(&text).ok()?;
    v.get("segments")?
        .as_array()?
        .iter()
        .map(|s| s.get("size").cloned())
        .collect()
}

async fn run_summary(State(state): State<Arc<AppState>>) -> Response {
    let Some(dir) = &state.run_dir else {
        return ApiError::new(404, "not_found", "the server was started without --run")
            .into_response();
    };
    let path = dir.join(crate::report::SUMMARY_JSON);
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => ApiError::new(
            500,
            "run_summary",
            format!("{}: cannot read: {e}", path.display()),
        )
        .into_response(),
    }
}

/// What the body of a predict request is.
enum BodyKind {
    Json,
    Csv,
}

fn body_kind(headers: &HeaderMap) -> Result<BodyKind, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => Ok(BodyKind::Json),
        "text/csv" => Ok(BodyKind::Csv),
        "" => Err(ApiError::new(
            415,
            "content_type",
            "no Content-Type: send application/json (an array of records) or text/csv",
        )),
        other => Err(ApiError::new(
            415,
            "content_type",
            format!("Content-Type '{other}' is not accepted: send application/json (an array of records) or text/csv"),
        )),
    }
}

/// Reads the body up to the limit; a larger one is refused before it is read whole.
async fn read_body(body: Body, headers: &HeaderMap, max: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            413,
            "body_too_large",
            format!("the request body is larger than {max} bytes (--max-body)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, max).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("length limit")) {
            too_large()
        } else {
            ApiError::new(
                400,
                "body_read",
                format!("the request body could not be read: {e}"),
            )
        }
    })
}

/// `POST /v1/predict`.
async fn predict(State(state): State<Arc<AppState>>, req: Request) -> Response {
    match predict_inner(&state, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn predict_inner(state: &AppState, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let kind = body_kind(&parts.headers)?;
    let bytes = read_body(body, &parts.headers, state.limits.max_body).await?;
    // The model is taken once: this request is scored by one model even if a reload lands.
    let loaded = state.model.load_full();
    let model = &loaded.model;
    let version = HeaderValue::from_str(&loaded.version).unwrap_or(HeaderValue::from_static("?"));
    let wants_json = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    let mut r = match kind {
        BodyKind::Json => {
            let records = parse_records(&bytes, state.limits.max_rows)?;
            let scored = score_records(model, &records)?;
            let n = scored.len();
            let body: Vec<Value> = scored.iter().map(|s| s.to_json()).collect();
            let mut r = axum::Json(body).into_response();
            r.extensions_mut().insert(RowsScored(n));
            r
        }
        BodyKind::Csv => {
            let table = parse_csv(bytes.to_vec(), state.limits.max_rows)?;
            let (csv, warnings) = score_csv(model, &table)?;
            let n = table.n_rows();
            let mut r = if wants_json {
                axum::Json(csv_as_json(&csv, &warnings)).into_response()
            } else {
                let mut r = ([(header::CONTENT_TYPE, "text/csv")], csv).into_response();
                for w in warnings.iter().take(20) {
                    if let Ok(v) = HeaderValue::from_str(w) {
                        r.headers_mut().append("x-segmenter-warning", v);
                    }
                }
                r
            };
            r.extensions_mut().insert(RowsScored(n));
            r
        }
    };
    r.headers_mut().insert("x-segmenter-model", version);
    Ok(r)
}

/// The CSV result as JSON rows, for a CSV request that asks for JSON.
fn csv_as_json(csv: &[u8], warnings: &[String]) -> Value {
    let mut rows = Vec::new();
    let mut rdr = csv::Reader::from_reader(csv);
    for rec in rdr.records().flatten() {
        let row: u64 = rec.get(0).and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut o = json!({
            "row": row,
            "segment": rec.get(1).and_then(|v| v.parse::<u32>().ok()),
            "segment_name": rec.get(2),
            "distance_to_centroid": rec.get(3).and_then(|v| v.parse::<f64>().ok()),
        });
        let prefix = format!("row {row}: ");
        if let Some(w) = warnings.iter().find_map(|w| w.strip_prefix(&prefix)) {
            o["warning"] = Value::String(w.to_string());
        }
        rows.push(o);
    }
    Value::Array(rows)
}
