//! `tsdb shell`: a `taos`-style client over the REST endpoint.
//!
//! Statements end with `;` (outside quotes); `USE db` is remembered by the
//! shell and sent as the URL's database, since REST itself is stateless.
//! Output follows the taos shell (spec B1): tables, `Query OK, N row(s) in
//! set (x s)`, `Query OK, N row(s) affected (x s)`, `Database changed.`,
//! and `DB error: ... (x s)` on stderr, each followed by a blank line.
//!
//! May import: `csv_values`, `render`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value as Json;

use crate::render::{self, Col, DEFAULT_DISPLAY_WIDTH};

pub struct Client {
    pub host: String,
    pub port: u16,
    auth: String,
    pub db: Option<String>,
    pub display_width: usize,
    /// Print each statement of a script before its result (`--echo`).
    pub echo: bool,
}

/// What one statement printed, for the caller to write out.
#[derive(Debug, Clone, PartialEq)]
pub struct Printed {
    pub stdout: String,
    pub stderr: String,
    pub ok: bool,
}

impl Client {
    pub fn new(host: &str, port: u16, user: &str, password: &str) -> Client {
        Client {
            host: host.to_owned(),
            port,
            auth: base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")),
            db: None,
            display_width: DEFAULT_DISPLAY_WIDTH,
            echo: false,
        }
    }

    /// POSTs one statement; returns the JSON answer.
    pub fn query(&self, sql: &str) -> Result<Json, String> {
        let path = match &self.db {
            Some(db) => format!("/rest/sql/{db}"),
            None => "/rest/sql".to_owned(),
        };
        self.request("POST", &path, sql)
    }

    /// One HTTP request to the server; returns the JSON answer (`null` for
    /// `204 No Content`).
    pub fn request(&self, method: &str, path: &str, body: &str) -> Result<Json, String> {
        let addr = format!("{}:{}", self.host, self.port);
        let mut s =
            TcpStream::connect(&addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(3600))).ok();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.auth,
            body.len()
        );
        s.write_all(req.as_bytes())
            .and_then(|()| s.write_all(body.as_bytes()))
            .map_err(|e| format!("cannot send to {addr}: {e}"))?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)
            .map_err(|e| format!("no answer from {addr}: {e}"))?;
        let text = String::from_utf8_lossy(&raw);
        let (head, answer) = text
            .split_once("\r\n\r\n")
            .ok_or("a malformed HTTP answer")?;
        let status = head.get(9..12).unwrap_or("");
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(answer)
        } else {
            answer.to_owned()
        };
        if status == "204" {
            return Ok(Json::Null);
        }
        match serde_json::from_str::<Json>(&body) {
            Ok(j) => Ok(j),
            Err(_) => Err(format!("HTTP {status}: {}", body.trim())),
        }
    }

    /// Runs one statement and formats the outcome as the taos shell does.
    pub fn run(&mut self, sql: &str) -> Printed {
        let started = Instant::now();
        let (sql, vertical) = match sql.trim_end().strip_suffix("\\G") {
            Some(s) => (s, true),
            None => (sql, false),
        };
        let (sql, export) = split_export(sql);
        let expanded;
        let sql = match expand_insert_file(sql) {
            Ok(Some(s)) => {
                expanded = s;
                expanded.as_str()
            }
            Ok(None) => sql,
            Err(e) => return error(&e, started.elapsed().as_secs_f64()),
        };
        let lower = sql.trim().to_ascii_lowercase();
        let answer = self.query(sql);
        let secs = started.elapsed().as_secs_f64();
        let j = match answer {
            Ok(j) => j,
            Err(e) => return error(&e, secs),
        };
        if j["code"].as_i64() != Some(0) {
            let msg = j["desc"].as_str().unwrap_or("unknown error");
            return error(msg, secs);
        }
        if let Some(db) = lower.strip_prefix("use ") {
            self.db = Some(db.trim().trim_matches('`').to_owned());
            return Printed {
                stdout: "Database changed.\n\n".to_owned(),
                stderr: String::new(),
                ok: true,
            };
        }
        let (cols, rows) = result_set(&j);
        let is_affected =
            cols.len() == 1 && cols[0].name == "affected_rows" && !lower.starts_with("select");
        let mut out = String::new();
        if is_affected {
            let n = rows
                .first()
                .and_then(|r| r.first())
                .and_then(Json::as_u64)
                .unwrap_or(0);
            out.push_str(&format!("Query OK, {n} row(s) affected ({secs:.6}s)\n\n"));
        } else {
            if !rows.is_empty() {
                if vertical {
                    out.push_str(&render::vertical(&cols, &rows));
                } else {
                    out.push_str(&render::table(&cols, &rows, self.display_width));
                }
            }
            if let Some(path) = export {
                if let Err(e) = std::fs::write(path, csv(&cols, &rows)) {
                    return error(&format!("cannot write {path}: {e}"), secs);
                }
            }
            out.push_str(&format!(
                "Query OK, {} row(s) in set ({secs:.6}s)\n\n",
                rows.len()
            ));
        }
        Printed {
            stdout: out,
            stderr: String::new(),
            ok: true,
        }
    }
}

/// The columns and rows of a REST answer.
pub fn result_set(j: &Json) -> (Vec<Col>, Vec<Vec<Json>>) {
    let cols: Vec<Col> = j["column_meta"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| Col {
                    name: m[0].as_str().unwrap_or("").to_owned(),
                    ty: m[1].as_str().unwrap_or("").to_owned(),
                    len: m[2].as_u64().unwrap_or(0) as usize,
                })
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<Vec<Json>> = j["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r.as_array().cloned().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    (cols, rows)
}

/// `select ... >> file`: the statement and the CSV file to write.
fn split_export(sql: &str) -> (&str, Option<&str>) {
    let b = sql.as_bytes();
    let mut quote = None;
    for i in 0..b.len().saturating_sub(1) {
        match (quote, b[i]) {
            (Some(q), c) if c == q => quote = None,
            (None, b'\'' | b'"' | b'`') => quote = Some(b[i]),
            (None, b'>') if b[i + 1] == b'>' => {
                let path = sql[i + 2..].trim();
                if !path.is_empty() {
                    return (sql[..i].trim_end(), Some(path));
                }
            }
            _ => {}
        }
    }
    (sql, None)
}

/// A result set as CSV, as the taos shell writes `>> file`: a header of
/// column names, strings and timestamps single-quoted, BOOL as 1/0.
pub fn csv(cols: &[Col], rows: &[Vec<Json>]) -> String {
    let mut out = cols
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    let digits: Vec<usize> = (0..cols.len())
        .map(|i| render::ts_digits(rows, i))
        .collect();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Json::Null => "NULL".to_owned(),
                Json::Bool(b) => u8::from(*b).to_string(),
                Json::String(s) if cols.get(i).is_some_and(|c| c.ty == "TIMESTAMP") => {
                    format!("'{}'", render::local_time(s, digits[i]))
                }
                Json::String(s) => format!("'{}'", s.replace('\'', "\\'")),
                other => other.to_string(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// `INSERT INTO t ... FILE 'rows.csv'`: the file is read here, on the
/// client (as the taos shell does), and sent as VALUES.
pub fn expand_insert_file(sql: &str) -> Result<Option<String>, String> {
    let lower = sql.to_ascii_lowercase();
    let t = lower.trim_start();
    if !(t.starts_with("insert") || t.starts_with("import")) {
        return Ok(None);
    }
    let Some(at) = lower.rfind(" file ") else {
        return Ok(None);
    };
    let rest = sql[at + 6..].trim();
    let Some(path) = rest
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut out = String::with_capacity(text.len() * 2);
    out.push_str(sql[..at].trim_end());
    out.push_str(" values ");
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        crate::csv_values::row(line, &mut out);
        n += 1;
    }
    if n == 0 {
        return Err(format!("{path} holds no rows"));
    }
    Ok(Some(out))
}

fn error(msg: &str, secs: f64) -> Printed {
    Printed {
        stdout: String::new(),
        stderr: format!("\nDB error: {msg} ({secs:.6}s)\n\n"),
        ok: false,
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Splits input into statements at `;` outside quotes; returns the
/// complete statements and the unfinished rest.
pub fn split_statements(input: &str) -> (Vec<String>, String) {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    // `-- ...` to the end of the line is a comment: dropped here, so that
    // a quote in it (`the anode's`) does not open a string
    let mut comment = false;
    for ch in input.chars() {
        if comment {
            if ch == '\n' {
                comment = false;
                cur.push(ch);
            }
            continue;
        }
        if quote.is_none() && ch == '-' && cur.ends_with('-') {
            cur.pop();
            comment = true;
            continue;
        }
        if escaped {
            cur.push(ch);
            escaped = false;
            continue;
        }
        match (quote, ch) {
            (Some(_), '\\') => {
                escaped = true;
                cur.push(ch);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(ch);
            }
            (None, '\'' | '"' | '`') => {
                quote = Some(ch);
                cur.push(ch);
            }
            (None, ';') => {
                if !cur.trim().is_empty() {
                    out.push(cur.trim().to_owned());
                }
                cur.clear();
            }
            _ => cur.push(ch),
        }
    }
    (out, cur)
}

/// Lines of a `-f` file: `#` comments dropped, `\` continues a line.
pub fn script_text(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(l) => out.push_str(l),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Runs statements, printing as it goes; returns whether all succeeded.
pub fn run_all(client: &mut Client, text: &str) -> bool {
    let (stmts, rest) = split_statements(text);
    let mut ok = true;
    for s in stmts
        .iter()
        .map(String::as_str)
        .chain((!rest.trim().is_empty()).then_some(rest.trim()))
    {
        if client.echo {
            println!("taos> {s};");
        }
        if let Some(done) = local_command(client, s) {
            ok &= done;
            continue;
        }
        let p = client.run(s);
        print!("{}", p.stdout);
        let _ = std::io::stdout().flush();
        eprint!("{}", p.stderr);
        ok &= p.ok;
    }
    ok
}

/// Shell-local commands; `None` when `s` is SQL for the server.
fn local_command(client: &mut Client, s: &str) -> Option<bool> {
    let lower = s.trim().to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("set max_binary_display_width") {
        let v = rest.trim();
        client.display_width = if v == "default" {
            DEFAULT_DISPLAY_WIDTH
        } else {
            match v.parse() {
                Ok(n) => n,
                Err(_) => {
                    eprintln!("\nDB error: invalid width '{v}'\n");
                    return Some(false);
                }
            }
        };
        return Some(true);
    }
    if let Some(file) = lower.strip_prefix("source ") {
        let path = s.trim()[7..].trim().trim_matches(|c| c == '\'' || c == '"');
        return Some(match std::fs::read_to_string(path) {
            Ok(text) => run_all(client, &script_text(&text)),
            Err(e) => {
                eprintln!("\nDB error: cannot read {file}: {e}\n");
                false
            }
        });
    }
    None
}

/// The interactive loop with line editing and history.
pub fn interactive(client: &mut Client) -> anyhow::Result<()> {
    println!(
        "Welcome to the tsdb shell (TDengine-compatible), server {}:{}\n",
        client.host, client.port
    );
    let mut rl = rustyline::DefaultEditor::new()?;
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".tsdb_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() {
            "taos> "
        } else {
            "   -> "
        };
        let line = match rl.readline(prompt) {
            Ok(l) => l,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(_) => break,
        };
        let t = line.trim().to_ascii_lowercase();
        if pending.is_empty() && matches!(t.trim_end_matches(';'), "quit" | "exit" | "q") {
            break;
        }
        if pending.is_empty() && t.trim_end_matches(';') == "clear" {
            print!("\x1b[2J\x1b[H");
            continue;
        }
        pending.push_str(&line);
        pending.push('\n');
        let (stmts, rest) = split_statements(&pending);
        if stmts.is_empty() {
            continue;
        }
        let _ = rl.add_history_entry(pending.trim());
        for s in stmts {
            if local_command(client, &s).is_none() {
                let p = client.run(&s);
                print!("{}", p.stdout);
                eprint!("{}", p.stderr);
            }
        }
        pending = rest.trim_start().to_owned();
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes() {
        let (s, rest) =
            split_statements("use power; insert into t values ('a;b', \"c\\\";\") ; select 1");
        assert_eq!(
            s,
            vec!["use power", "insert into t values ('a;b', \"c\\\";\")"]
        );
        assert_eq!(rest.trim(), "select 1");
        assert_eq!(script_text("# comment\nselect \\\n1;\n"), "select 1;\n");
        // a quote in a -- comment opens no string; the comment is dropped
        let (s, rest) = split_statements("-- the anode's list\nshow anodes; select '--x'; -- end");
        assert_eq!(s, vec!["show anodes", "select '--x'"]);
        assert_eq!(rest.trim(), "");
    }
}
