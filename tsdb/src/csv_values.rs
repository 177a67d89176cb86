//! CSV lines as SQL `VALUES` rows, in TDengine's `INSERT ... FILE` format:
//! comma-separated values in column order, strings and timestamps quoted
//! (commas inside quotes kept); a bare field that is not a number, `NULL`,
//! `true` or `false` is quoted. Shared by `tsdb import` and the shell's
//! `insert into t ... file 'rows.csv'`.
//!
//! May import: nothing of the crate.

/// One CSV field as an SQL literal.
fn literal(field: &str, out: &mut String) {
    let f = field.trim();
    let bare = f.starts_with('\'')
        || f.starts_with('"')
        || f.parse::<f64>().is_ok()
        || f.eq_ignore_ascii_case("null")
        || f.eq_ignore_ascii_case("true")
        || f.eq_ignore_ascii_case("false");
    if bare {
        out.push_str(f);
    } else {
        out.push('\'');
        for c in f.chars() {
            if c == '\'' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('\'');
    }
}

/// Appends `(v1, v2, ...)` for one CSV line (commas inside quotes kept).
pub fn row(line: &str, out: &mut String) {
    out.push('(');
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut first = true;
    let bytes: Vec<(usize, char)> = line.char_indices().collect();
    for &(i, c) in &bytes {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, ',') => {
                if !first {
                    out.push_str(", ");
                }
                literal(&line[start..i], out);
                first = false;
                start = i + 1;
            }
            _ => {}
        }
    }
    if !first {
        out.push_str(", ");
    }
    literal(&line[start..], out);
    out.push_str(") ");
}
