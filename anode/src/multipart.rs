//! `multipart/form-data` bodies (RFC 7578), for `POST /deploy` with a model
//! file: the named parts of a body that is already in memory.
//!
//! Why our own: the body has been read whole under the server's body limit
//! before any parsing (`net::read_body`), and `/deploy` needs two named
//! fields. A streaming parser (multer, axum's `multipart` feature) would
//! add a dependency tree for what is a split on the boundary line.
//!
//! May import: nothing of the crate.

/// One part: its `name` from `Content-Disposition`, its file name if any,
/// and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// Most parts a body may have: `/deploy` uses two, a client sending
/// thousands is not one of ours.
pub const MAX_PARTS: usize = 64;

/// The boundary of a `Content-Type: multipart/form-data; boundary=...`.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut pieces = content_type.split(';');
    let mime = pieces.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    pieces.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        // RFC 2046: 1 to 70 characters
        (!v.is_empty() && v.len() <= 70).then(|| v.to_owned())
    })
}

/// The parts of `body`, or what is wrong with it.
pub fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut pos = find(body, delim, 0).ok_or("multipart body without its boundary")?;
    let mut parts = Vec::new();
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            return Ok(parts); // the closing delimiter
        }
        // the rest of the boundary line (transport padding), then CRLF
        let line_end = find(body, b"\r\n", pos).ok_or("multipart boundary line without CRLF")?;
        let start = line_end + 2;
        let head_end =
            find(body, b"\r\n\r\n", start).ok_or("multipart part without a header end")?;
        let headers = std::str::from_utf8(&body[start..head_end])
            .map_err(|_| "multipart part headers are not UTF-8")?;
        let data_start = head_end + 4;
        let mut next_delim = Vec::with_capacity(delim.len() + 2);
        next_delim.extend_from_slice(b"\r\n");
        next_delim.extend_from_slice(delim);
        let data_end = find(body, &next_delim, data_start).ok_or("multipart body is not closed")?;
        let (name, filename) = disposition(headers)?;
        if parts.len() == MAX_PARTS {
            return Err(format!("multipart body with more than {MAX_PARTS} parts"));
        }
        parts.push(Part {
            name,
            filename,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + 2;
    }
}

/// `name` and `filename` of a part's `Content-Disposition: form-data`.
fn disposition(headers: &str) -> Result<(String, Option<String>), String> {
    let line = headers
        .split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(v)
        })
        .ok_or("multipart part without Content-Disposition")?;
    let param = |key: &str| {
        line.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(key)
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    };
    let name = param("name").ok_or("multipart part without a name")?;
    Ok((name, param("filename")))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----abc").as_deref(),
            Some("----abc")
        );
        assert_eq!(
            boundary(r#"Multipart/Form-Data; charset=utf-8; Boundary="x y""#).as_deref(),
            Some("x y")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }

    #[test]
    fn two_fields_one_binary() {
        let body = b"--XY\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\n{\"a\":1}\r\n--XY\r\nContent-Disposition: form-data; name=\"model_binary\"; filename=\"m.pkl\"\r\nContent-Type: application/octet-stream\r\n\r\n\x80\x04\r\n--X\x00\r\n--XY--\r\n";
        let parts = parse(body, "XY").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "config");
        assert_eq!(parts[0].data, b"{\"a\":1}");
        assert_eq!(parts[1].filename.as_deref(), Some("m.pkl"));
        // a CRLF and a near-boundary inside the data stay data
        assert_eq!(parts[1].data, b"\x80\x04\r\n--X\x00");
    }

    #[test]
    fn damaged_bodies_are_errors() {
        for (body, want) in [
            (
                &b"no boundary here"[..],
                "multipart body without its boundary",
            ),
            (
                b"--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nopen",
                "multipart body is not closed",
            ),
            (
                b"--XY\r\nContent-Type: text/plain\r\n\r\nx\r\n--XY--",
                "multipart part without Content-Disposition",
            ),
            (
                b"--XY\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XY--",
                "multipart part without a name",
            ),
            (b"--XY", "multipart boundary line without CRLF"),
        ] {
            assert_eq!(parse(body, "XY").unwrap_err(), want);
        }
        let mut many = Vec::new();
        for i in 0..=MAX_PARTS {
            many.extend_from_slice(
                format!("--B\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n")
                    .as_bytes(),
            );
        }
        many.extend_from_slice(b"--B--\r\n");
        assert_eq!(
            parse(&many, "B").unwrap_err(),
            format!("multipart body with more than {MAX_PARTS} parts")
        );
    }
}
