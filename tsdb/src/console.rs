//! The web console: static files compiled into the binary and served at
//! `/` and `/console/<file>` by `tsdb serve`, beside `/rest/sql`.
//!
//! The page itself holds no secret and needs no login to load; it signs in
//! through `/rest/login` and sends every statement to `/rest/sql` with the
//! session token, so it can do exactly what the credentials allow. The
//! files live in `tsdb/console/` (plain JavaScript, no build step; uPlot
//! vendored under `vendor/` with its licence) and are embedded with
//! `include_bytes!`, so a copied binary serves them offline.
//!
//! Caching: every file carries a strong `ETag` (a hash of its bytes) and
//! `Cache-Control: no-cache`, so a browser revalidates and gets a `304`
//! until the binary changes. A `Content-Security-Policy` of `'self'` keeps
//! the page from loading anything from another origin.
//!
//! May import: nothing else of the crate.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../console/index.html"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../console/console.js"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../console/console.css"),
    },
    Asset {
        name: "uPlot.iife.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../console/vendor/uPlot.iife.min.js"),
    },
    Asset {
        name: "uPlot.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../console/vendor/uPlot.min.css"),
    },
    Asset {
        name: "uPlot.LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../console/vendor/uPlot.LICENSE"),
    },
];

/// Only this origin: scripts, styles, connections (`/rest/*`) and images
/// (the chart's canvas is drawn, not loaded). uPlot sets inline styles.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// `GET /`: the console page.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /console/<file>`.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(&file, &headers)
}

fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                a.bytes.hash(&mut h);
                format!("\"{:016x}-{}\"", h.finish(), a.bytes.len())
            })
            .collect()
    })
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        let body = serde_json::json!({"code": 404, "desc": format!("not found: /console/{name}")});
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    };
    let asset = &ASSETS[i];
    let etag = &etags()[i];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.name == "index.html" {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_named_once_and_typed() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.bytes.is_empty(), "{}", a.name);
            assert!(ASSETS[i + 1..].iter().all(|b| b.name != a.name));
        }
        assert_eq!(etags().len(), ASSETS.len());
    }

    #[test]
    fn the_page_names_only_files_we_serve() {
        let page = std::str::from_utf8(ASSETS[0].bytes).unwrap();
        for part in page.split("/console/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
                .collect();
            assert!(ASSETS.iter().any(|a| a.name == name), "{name}");
        }
        assert!(!page.contains("http://") && !page.contains("https://"));
    }
}
