//! The crates' layering holds: no import cycle between the top-level
//! modules of `tsdb` or `anode`, and every such module's doc has a
//! `May import:` line naming each module it does import. A new `use
//! crate::x` that breaks the map fails here, with the cycle or the module
//! named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `module -> modules it imports` for the crate at `src`, from
/// `crate::name` paths outside comments and test modules.
fn graph(src: &Path) -> BTreeMap<String, (PathBuf, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    let mut files = Vec::new();
    walk(src, &mut files);
    for path in files {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = first.trim_end_matches(".rs").to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let entry = out
            .entry(top.clone())
            .or_insert_with(|| (PathBuf::new(), BTreeSet::new()));
        let is_root = rel.components().count() == 1 || rel.ends_with("mod.rs");
        if is_root && rel.components().count() <= 2 {
            entry.0 = path.clone();
        }
        for line in code.lines() {
            let line = line.split("//").next().unwrap();
            let mut rest = line;
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + 7..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top && name != "fail" && name != "bail" {
                    entry.1.insert(name);
                }
            }
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A cycle in `g`, if there is one.
fn cycle(g: &BTreeMap<String, (PathBuf, BTreeSet<String>)>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, (PathBuf, BTreeSet<String>)>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in g.get(n).map(|e| &e.1).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|s| s == m).unwrap();
                    let mut c = stack[from..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if !state.contains_key(n) {
            if let Some(c) = visit(n, g, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    vec![root.join("tsdb/src"), root.join("anode/src")]
}

#[test]
fn no_import_cycle_between_modules() {
    for src in crates() {
        let g = graph(&src);
        assert!(g.len() > 10, "{}: {} modules", src.display(), g.len());
        if let Some(c) = cycle(&g) {
            panic!("{}: import cycle {}", src.display(), c.join(" -> "));
        }
    }
}

#[test]
fn every_module_says_what_it_may_import() {
    let mut wrong = Vec::new();
    for src in crates() {
        for (name, (file, deps)) in graph(&src) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let doc: String = text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .collect::<Vec<_>>()
                .join(" ");
            let Some(i) = doc.find("May import:") else {
                wrong.push(format!("{}: no `May import:` line", file.display()));
                continue;
            };
            let allowed = &doc[i..];
            for d in deps {
                if !allowed.contains(&format!("`{d}")) {
                    wrong.push(format!(
                        "{name} imports `{d}`, which its doc does not allow"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
