//! SQL is parameterized everywhere: no statement text is built from values.
//!
//! Scans every `.rs` file under `crates/` and `bench/` for SQL text that is
//! assembled at run time: a `format!`/`format_args!`/`write!`/`writeln!`
//! whose format string holds SQL and an interpolation (`{name}`, `{}`), SQL
//! literals joined with `+`, filled in with `.replace(..)`, or pushed with
//! `push_str`. Each such site must be in [`ALLOWED`], a short reviewed list
//! whose entries say why the interpolated text cannot come from a request or
//! a file (a constant, a generated or validated identifier). Values always
//! travel as `$1, $2, ...` parameters.
//!
//! SQL is recognised by its upper-case keywords (the way this code base
//! writes SQL), so messages and identifiers don't trip the check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Reviewed sites: (file, text of the SQL literal that the site's literal
/// contains, why it is safe). A site is allowed when its file matches and
/// its literal contains the text. An entry that matches no site fails the
/// test too, so the list can't go stale.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "crates/storage/src/oltp/purchases.rs",
        "{SELECT_STORED} WHERE",
        "SELECT_STORED is a constant of the same file; the values are $1 parameters",
    ),
    (
        "crates/lake/src/ledger.rs",
        "{MULTIRANGE_FROM_ARRAYS}",
        "MULTIRANGE_FROM_ARRAYS is a constant SQL fragment of the same file; the values are $n parameters",
    ),
    (
        "crates/loader/src/load.rs",
        "pg_advisory_xact_lock({LOADER_LOCK_KEY})",
        "LOADER_LOCK_KEY is an integer constant",
    ),
    (
        "crates/loader/src/load.rs",
        "DROP CONSTRAINT {name}",
        "name is the primary key's name as PostgreSQL's quote_ident() returned it from pg_constraint",
    ),
    (
        "crates/loader/src/load.rs",
        "ADD CONSTRAINT {name} {definition}",
        "name from quote_ident(), definition from pg_get_constraintdef(): both written by PostgreSQL from its catalog",
    ),
    (
        "crates/analytics/src/rebuild.rs",
        "LOCK TABLE {TABLES}",
        "TABLES is a constant list of the read-model tables",
    ),
    (
        "crates/analytics/src/rebuild.rs",
        "COPY {table} FROM STDIN",
        "table comes from the constant COPIES list of the same file",
    ),
    (
        "crates/analytics/src/rebuild.rs",
        "COPY ({query}) TO STDOUT",
        "query comes from the constant COPIES list of the same file",
    ),
    (
        "crates/purchases/src/catalog.rs",
        "LISTEN {channel}",
        "channel is a &'static str identifier written in the code (\"catalog\"); LISTEN takes no parameters",
    ),
    (
        "crates/cli/src/up/provision.rs",
        "CREATE DATABASE \\\"{name}\\\"",
        "UP_OLTP_DATABASE/UP_ANALYTICS_DATABASE are validated by `database_name` (a-z, 0-9, _) and quoted; CREATE DATABASE takes no parameters",
    ),
    (
        "crates/cli/src/up/provision.rs",
        "CREATE DATABASE {name}",
        "the error message of the statement above, not SQL",
    ),
    (
        "crates/testkit/src/db.rs",
        "CREATE DATABASE {name}",
        "test database names are generated: test_<12 hex digits>[_analytics]",
    ),
    (
        "crates/testkit/src/db.rs",
        "DROP DATABASE IF EXISTS {name}",
        "test database names are generated: test_<12 hex digits>[_analytics]",
    ),
    (
        "crates/purchases/tests/purchases_api/purchases.rs",
        "ALTER DATABASE {name} ALLOW_CONNECTIONS",
        "the generated name of the test's own database (test_<hex>), from its URL",
    ),
    (
        "crates/analytics/tests/analytics/helpers.rs",
        "SELECT {columns} FROM {name}",
        "table and column names come from a constant list in the same function",
    ),
    (
        "crates/relay/tests/relay/helpers.rs",
        "FROM generate_series(1, {n})",
        "n is an i64 (a test's row count) in a multi-statement batch, which takes no parameters",
    ),
    (
        "crates/lake/tests/lake/exactly_once.rs",
        "AND cardinality(objects) = {}",
        "a usize (the number of files the test recorded)",
    ),
    (
        "crates/loader/tests/load.rs",
        "SELECT count(*) FROM {table}",
        "table names come from a constant list in the same function",
    ),
    (
        "bench/analytics/main.rs",
        "CREATE DATABASE {DATABASE}",
        "DATABASE is a constant (bench_analytics)",
    ),
    (
        "bench/analytics/main.rs",
        "DROP DATABASE IF EXISTS {DATABASE}",
        "DATABASE is a constant (bench_analytics)",
    ),
    (
        "bench/freshness/main.rs",
        "CREATE DATABASE {name}",
        "generated names: bench_freshness_<8 hex digits>[_analytics]",
    ),
    (
        "bench/freshness/main.rs",
        "DROP DATABASE IF EXISTS {name}",
        "generated names: bench_freshness_<8 hex digits>[_analytics]",
    ),
    (
        "bench/ingest/database.rs",
        "CREATE DATABASE {name}",
        "generated names: bench_ingest_<process id>[_pipeline|_analytics]",
    ),
    (
        "bench/ingest/database.rs",
        "DROP DATABASE IF EXISTS {name}",
        "generated names: bench_ingest_<process id>[_pipeline|_analytics]",
    ),
];

const SQL_KEYWORDS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "COPY",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "GRANT",
    "REVOKE",
    "LISTEN",
    "NOTIFY",
    "UNLISTEN",
    "LOCK",
    "SET",
    "WHERE",
    "FROM",
    "INTO",
    "VALUES",
    "JOIN",
    "RETURNING",
    "EXECUTE",
    "PREPARE",
    "DATABASE",
    "TABLE",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
    Other,
}

/// A minimal Rust lexer: identifiers, string literals (plain, raw, byte),
/// punctuation; comments, char literals and lifetimes are skipped.
fn lex(source: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    let count_lines =
        |from: usize, to: usize| chars[from..to].iter().filter(|c| **c == '\n').count();
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i);
        } else if let Some((content, end)) = string_literal(&chars, i) {
            tokens.push((Token::Str(content), line));
            line += count_lines(start, end);
            i = end;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime/label ('a).
            if chars.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            tokens.push((Token::Other, line));
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((Token::Ident(chars[start..i].iter().collect()), line));
        } else if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            tokens.push((Token::Other, line));
        } else {
            tokens.push((Token::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

/// A string literal starting at `i`: its raw content and the index after it.
fn string_literal(chars: &[char], i: usize) -> Option<(String, usize)> {
    let mut j = i;
    // Prefixes: b, c, r, br, cr. An identifier like `bar` is not a literal.
    if matches!(chars.get(j), Some('b') | Some('c')) {
        j += 1;
    }
    let raw = chars.get(j) == Some(&'r');
    if raw {
        j += 1;
    }
    if j > i && i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    if raw {
        let hashes = chars[j..].iter().take_while(|c| **c == '#').count();
        j += hashes;
        if chars.get(j) != Some(&'"') {
            return None;
        }
        let body = j + 1;
        let mut k = body;
        while k < chars.len() {
            if chars[k] == '"'
                && chars[k + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|c| **c == '#')
                    .count()
                    == hashes
            {
                return Some((chars[body..k].iter().collect(), k + 1 + hashes));
            }
            k += 1;
        }
        return Some((chars[body..].iter().collect(), chars.len()));
    }
    if chars.get(j) != Some(&'"') {
        return None;
    }
    let body = j + 1;
    let mut k = body;
    while k < chars.len() {
        match chars[k] {
            '\\' => k += 2,
            '"' => return Some((chars[body..k].iter().collect(), k + 1)),
            _ => k += 1,
        }
    }
    Some((chars[body..].iter().collect(), chars.len()))
}

fn is_sql(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| SQL_KEYWORDS.contains(&word))
}

/// Whether a format string interpolates something (`{x}`, `{}`; not `{{`).
fn interpolates(format: &str) -> bool {
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '{' => return true,
            _ => {}
        }
    }
    false
}

#[derive(Debug)]
struct Site {
    file: String,
    line: usize,
    how: &'static str,
    literal: String,
}

fn scan(file: &str, source: &str) -> Vec<Site> {
    let tokens = lex(source);
    let mut sites = Vec::new();
    let ident = |k: usize| match tokens.get(k) {
        Some((Token::Ident(name), _)) => Some(name.as_str()),
        _ => None,
    };
    let punct = |k: usize, p: char| matches!(tokens.get(k), Some((Token::Punct(q), _)) if *q == p);
    let mut site = |k: usize, how: &'static str, literal: &str| {
        sites.push(Site {
            file: file.to_owned(),
            line: tokens[k].1,
            how,
            literal: literal.to_owned(),
        })
    };
    for k in 0..tokens.len() {
        // format!("... {x} ...") and friends.
        if let Some(name @ ("format" | "format_args" | "write" | "writeln")) = ident(k)
            && punct(k + 1, '!')
            && (punct(k + 2, '(') || punct(k + 2, '[') || punct(k + 2, '{'))
        {
            // The format string: the first argument, or the second for write!/writeln!.
            let mut at = k + 3;
            if name.starts_with("write") {
                let mut depth = 0;
                while at < tokens.len() {
                    match tokens[at].0 {
                        Token::Punct('(' | '[' | '{') => depth += 1,
                        Token::Punct(')' | ']' | '}') if depth == 0 => break,
                        Token::Punct(')' | ']' | '}') => depth -= 1,
                        Token::Punct(',') if depth == 0 => break,
                        _ => {}
                    }
                    at += 1;
                }
                at += 1;
            }
            if let Some((Token::Str(format), _)) = tokens.get(at)
                && is_sql(format)
                && interpolates(format)
            {
                site(at, "format string with interpolation", format);
            }
        }
        let Some((Token::Str(literal), _)) = tokens.get(k) else {
            continue;
        };
        if !is_sql(literal) {
            continue;
        }
        // "SELECT ..." + x, x + "WHERE ...", sql += "..."
        if punct(k + 1, '+')
            || (k > 0 && punct(k - 1, '+'))
            || (k > 1 && punct(k - 2, '+') && punct(k - 1, '='))
        {
            site(k, "concatenation", literal);
            continue;
        }
        // "SELECT ...".to_owned() + x, "... {x} ...".replace("{x}", y)
        let mut after = k + 1;
        while punct(after, '.')
            && matches!(
                ident(after + 1),
                Some("to_owned" | "to_string" | "into" | "clone")
            )
            && punct(after + 2, '(')
            && punct(after + 3, ')')
        {
            after += 4;
        }
        if punct(after, '+') {
            site(k, "concatenation", literal);
        } else if punct(after, '.') && matches!(ident(after + 1), Some("replace" | "replacen")) {
            site(k, "template substitution (.replace)", literal);
        } else if k >= 2
            && punct(k - 1, '(')
            && matches!(ident(k - 2), Some("push_str" | "extend" | "insert_str"))
        {
            site(k, "push_str", literal);
        }
    }
    // sql.push_str(&value): pushing something other than a literal onto a
    // string named like a statement.
    for k in 0..tokens.len() {
        if let Some(receiver) = ident(k)
            && ["sql", "query", "statement", "stmt"]
                .iter()
                .any(|n| receiver.to_ascii_lowercase().contains(n))
            && punct(k + 1, '.')
            && matches!(ident(k + 2), Some("push_str" | "push" | "insert_str"))
            && punct(k + 3, '(')
            && !matches!(tokens.get(k + 4), Some((Token::Str(_), _)))
        {
            site(k, "push_str of a non-literal onto a statement", receiver);
        }
    }
    sites
}

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
        file!(),
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

#[test]
fn the_scanner_finds_each_way_of_building_sql() {
    let source = r##"
        fn f(id: &str, table: &str) {
            let a = format!("SELECT * FROM t WHERE id = '{id}'");
            let b = format!(
                "DELETE FROM {} WHERE x = 1",
                table,
            );
            writeln!(out, "INSERT INTO t VALUES ({})", id);
            let c = "SELECT * FROM t WHERE id = '".to_owned() + id + "'";
            let d = "UPDATE t SET x = {x}".replace("{x}", id);
            sql.push_str(id);
            let e = r#"COPY t FROM STDIN"#.to_string() + id;
            // format!("SELECT {in_a_comment}")
            let fine = format!("cannot create the table {table}");
            let fine5 = format!("SELECT 1 -- {{braces}} are escaped");
            let fine2 = client.query("SELECT * FROM t WHERE id = $1", &[&id]);
            let fine3 = format!("{id} has no SQL in it");
            let lifetime: &'static str = "SELECT 1";
            let ch = '"';
            let fine4 = format!("SELECT 1 WHERE 'a' = 'a'");
        }
    "##;
    let found: Vec<(usize, &str)> = scan("x.rs", source)
        .iter()
        .map(|s| (s.line, s.how))
        .collect();
    assert_eq!(
        found,
        vec![
            (3, "format string with interpolation"),
            (5, "format string with interpolation"),
            (8, "format string with interpolation"),
            (9, "concatenation"),
            (10, "template substitution (.replace)"),
            (12, "concatenation"),
            (11, "push_str of a non-literal onto a statement"),
        ]
    );
}
