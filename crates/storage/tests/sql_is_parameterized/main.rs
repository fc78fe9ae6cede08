//! SQL is parameterized everywhere: no statement text is built from values.
//!
//! Scans every `.rs` file under `crates/` and `bench/` for SQL text that is
//! assembled at run time: a `format!`/`format_args!`/`write!`/`writeln!`
//! whose format string holds SQL and an interpolation (`{name}`, `{}`), SQL
//! literals joined with `+`, filled in with `.replace(..)`, or pushed with
//! `push_str`. Each such site must be in [`ALLOWED`](allowed::ALLOWED), a
//! short reviewed list whose entries say why the interpolated text cannot
//! come from a request or a file (a constant, a generated or validated
//! identifier). Values always travel as `$1, $2, ...` parameters.
//!
//! SQL is recognised by its upper-case keywords (the way this code base
//! writes SQL), so messages and identifiers don't trip the check.
//!
//! Module map:
//! - `allowed`: the reviewed list of sites that may interpolate, each with
//!   its reason.
//! - `scanner`: the minimal Rust lexer and the patterns of SQL built at run
//!   time, with a test of each pattern.
//! - this file: the walk over the workspace's Rust files, and the check.

mod allowed;
mod scanner;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use allowed::{ALLOWED, ALLOWED_FILE};
use scanner::scan;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_sql_is_built_from_values() {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["crates", "bench"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(
        files.len() > 50,
        "only {} Rust files found under {}",
        files.len(),
        root.display()
    );

    let mut unreviewed = Vec::new();
    let mut used = BTreeSet::new();
    for path in &files {
        let source =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        for site in scan(&file, &source) {
            match ALLOWED
                .iter()
                .position(|(f, needle, _)| *f == site.file && site.literal.contains(needle))
            {
                Some(index) => {
                    used.insert(index);
                }
                None => unreviewed.push(site),
            }
        }
    }
    let report: Vec<String> = unreviewed
        .iter()
        .map(|s| {
            format!(
                "  {}:{}: {}: {:?}",
                s.file,
                s.line,
                s.how,
                s.literal.chars().take(120).collect::<String>()
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "SQL built from run-time text (pass values as $1, $2 ... parameters; an identifier that really must be \
         interpolated goes into ALLOWED in {} with the reason it can't come from input):\n{}",
        ALLOWED_FILE,
        report.join("\n")
    );
    let stale: Vec<String> = ALLOWED
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, (file, needle, _))| format!("  {file}: {needle:?}"))
        .collect();
    assert!(
        stale.is_empty(),
        "ALLOWED entries that match nothing any more (remove them):\n{}",
        stale.join("\n")
    );
}
