//! The dashboard's files, embedded in the binary: a request can reach these and nothing else
//! on disk.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// (name, content type, bytes) of every embedded file.
pub const ASSETS: [(&str, &str, &str); 3] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
];

/// The response for an embedded file (404 for a name that is not one).
pub fn page(name: &str) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ct, body)) => ([(header::CONTENT_TYPE, *ct)], *body).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}
