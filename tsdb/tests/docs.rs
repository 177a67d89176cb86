//! The README and docs/ say only what is there: every repository path they
//! name exists, every relative link resolves, every `make` target they
//! show is in the Makefile, every script they run exists, and every `tsdb`
//! sub-command they show is one the binary has.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// README.md and every docs/*.md, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let root = root();
    let mut out = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
    out.into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// Directories of the repository whose files the docs name.
const REPO_DIRS: &[&str] = &[
    "demo/",
    "tsdb/",
    "anode/",
    "bench/",
    "tests/",
    "etc/",
    "python/",
    "docs/",
    "models/",
    ".ci/",
    "packaging/",
];

/// Words of `text` that look like paths into the repository.
fn repo_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "`()[]|,;\"'<>".contains(c)) {
        let w = word.trim_end_matches(['.', ':', '*']);
        if REPO_DIRS.iter().any(|d| w.starts_with(d))
            && !w.contains(['*', '{', '$', '…'])
            && !w.ends_with("...")
        {
            out.push(w.to_owned());
        }
    }
    out
}

#[test]
fn every_named_path_exists() {
    let root = root();
    let mut missing = Vec::new();
    for (page, text) in pages() {
        let mut in_block = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_block = !in_block;
                continue;
            }
            // the indented lines of a layout tree are relative to the
            // directory above them
            if in_block && line.starts_with(' ') {
                continue;
            }
            for p in repo_paths(line) {
                if !root.join(&p).exists() {
                    missing.push(format!("{}: {p}", page.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but not there:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    for (page, text) in pages() {
        let dir = page.parent().unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            let file = target.split('#').next().unwrap_or("");
            if !file.is_empty() && !target.contains("://") && !dir.join(file).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_command_shown_exists() {
    let root = root();
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_tsdb"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let mut wrong = Vec::new();
    for (page, text) in pages() {
        let mut in_shell = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_shell = line.starts_with("```sh");
                continue;
            }
            let cmd = line.trim().trim_start_matches("$ ");
            let words: Vec<&str> = cmd.split_whitespace().collect();
            match words.as_slice() {
                ["make", target, ..]
                    if (in_shell || line.trim().starts_with("$ "))
                        && !makefile
                            .lines()
                            .any(|l| l.starts_with(&format!("{target}:"))) =>
                {
                    wrong.push(format!("{}: make {target}", page.display()));
                }
                ["bash", script, ..] if !root.join(script).exists() => {
                    wrong.push(format!("{}: bash {script}", page.display()));
                }
                [bin, sub, ..]
                    if bin.ends_with("/tsdb")
                        && in_shell
                        && !sub.starts_with('-')
                        && !help.contains(&format!("  {sub} ")) =>
                {
                    wrong.push(format!("{}: tsdb {sub}", page.display()));
                }
                _ => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "commands that do not exist:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_front_page_is_short() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let n = readme.lines().count();
    assert!(n <= 200, "README.md has {n} lines; details belong in docs/");
}
