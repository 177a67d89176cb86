//! The HTTP client of foundation-model servers: TDgpt's forecasters
//! (`fc::tsfm`) and its `moment` imputer (`imputation::moment`) POST JSON
//! to a model server and read JSON back, with upstream's URL rules and
//! messages.
//!
//! May import: `error`, `options`.

use std::time::Duration;

use serde_json::Value;

use crate::bail;
use crate::error::{AnodeError, Result};
use crate::options::Options;

/// Most bytes of a model server's answer read.
pub const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// The URL a request goes to: its `host=` option, else `configured`.
pub fn url(options: &Options, configured: &str) -> String {
    options
        .get("host")
        .map_or_else(|| configured.to_owned(), host_url)
}

/// The numbers of the array `key` of a model server's answer, or `None`
/// when it is missing or holds anything else (JSON numbers are finite).
pub fn numbers(answer: &Value, key: &str) -> Option<Vec<f64>> {
    answer
        .get(key)?
        .as_array()?
        .iter()
        .map(Value::as_f64)
        .collect()
}

/// Upstream's normalisation of a `host=` option.
pub fn host_url(host: &str) -> String {
    if let Some(rest) = host.strip_prefix("https://") {
        format!("http://{rest}")
    } else if host.contains("http://") {
        host.to_owned()
    } else {
        format!("http://{host}")
    }
}

/// A model server's text cut for an error message.
pub fn clip(text: &str) -> String {
    text.chars().take(200).collect()
}

/// POSTs `body` as JSON; the answer's JSON, or an error naming `url`.
pub fn post(url: &str, body: &Value, timeout: Duration) -> Result<Value> {
    // A client per call: it lives and dies on this compute thread (a
    // blocking client must not be dropped inside the async runtime), and
    // without TLS it is cheap to build.
    let client = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
        .map_err(|e| AnodeError::new(format!("failed to connect the service: {url}: {e}")))?;
    let response = client
        .post(url)
        .json(body)
        .send()
        .map_err(|e| AnodeError::new(format!("failed to connect the service: {url}: {e}")))?;
    let status = response.status();
    let mut text = String::new();
    use std::io::Read;
    response
        .take(MAX_ANSWER_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| AnodeError::new(format!("failed to read the answer of {url}: {e}")))?;
    if status.as_u16() == 404 {
        bail!("invalid host url: {url}");
    }
    if !status.is_success() {
        bail!("failed to request the service, {}", clip(&text));
    }
    serde_json::from_str(&text).map_err(|e| {
        AnodeError::new(format!(
            "the model server {url} sent no JSON ({e}): {}",
            clip(&text)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_option_as_upstream() {
        assert_eq!(host_url("https://a:1/p"), "http://a:1/p");
        assert_eq!(host_url("a:1/p"), "http://a:1/p");
        assert_eq!(host_url("http://a:1/p"), "http://a:1/p");
    }
}
