//! No import cycles between the modules of any workspace crate (Cargo already forbids them
//! between crates). Two sibling modules that use each other — directly or around a longer
//! loop — cannot be read, tested or moved one without the other; this test names every such
//! loop.
//!
//! How: each workspace crate's library and binary targets are walked from their root file
//! through `mod name;` declarations (inline `mod … { }` blocks count as part of their file),
//! and every path a file names — in `use` trees and in code — that starts with `crate::`,
//! `self::` or `super::` is resolved to the deepest module it names. A path through a
//! `pub use` re-export (`crate::App`, re-exported by the crate root from `app`) is followed to
//! where the item lives. A reference between two modules becomes an edge between the
//! children of their deepest common ancestor (a module using its own ancestor or descendant
//! makes none: that is how a parent re-exports its children). Each parent's children must
//! form an acyclic graph. `#[cfg(test)]` modules are left out: a unit test may use anything
//! of its crate.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

type ModPath = Vec<String>;

#[test]
fn no_module_of_any_crate_is_in_an_import_cycle() {
    let mut cycles = Vec::new();
    let mut crates = 0;
    for (name, root) in workspace_roots() {
        let tree = ModuleTree::read(&root);
        assert!(
            !tree.files.is_empty(),
            "{name}: no modules read from {root:?}"
        );
        crates += 1;
        for cycle in tree.cycles() {
            cycles.push(format!("{name}: {cycle}"));
        }
    }
    assert!(crates >= 10, "only {crates} crate roots found");
    assert!(
        cycles.is_empty(),
        "modules that import each other:\n{}",
        cycles.join("\n")
    );
}

/// The checker itself, on a made-up crate: `a` and `b` use each other through a re-export
/// at the root and a `super::` path — a cycle; `c` uses `a`, and `a`'s unit tests use `c`,
/// which is no cycle.
#[test]
fn the_check_finds_a_cycle_through_re_exports_and_super() {
    let dir = std::env::temp_dir().join(format!("sb-module-cycles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("a")).unwrap();
    let write = |file: &str, text: &str| std::fs::write(dir.join(file), text).unwrap();
    write(
        "lib.rs",
        "//! Made up.\nmod a;\npub mod b;\nmod c;\npub use a::Thing;\n",
    );
    write(
        "a/mod.rs",
        "mod inner;\npub struct Thing;\n#[cfg(test)]\nmod tests { use crate::c::Other; }\n",
    );
    write("a/inner.rs", "use super::super::b::{self, Helper};\n");
    write("b.rs", "pub struct Helper(crate::Thing);\n");
    write("c.rs", "pub struct Other(crate::a::Thing);\n");
    let tree = ModuleTree::read(&dir.join("lib.rs"));
    assert_eq!(tree.files.len(), 5);
    assert_eq!(tree.cycles(), ["a → b → a"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every workspace crate's library and binary root files.
fn workspace_roots() -> Vec<(String, PathBuf)> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--no-deps",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut roots = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        for target in package["targets"].as_array().into_iter().flatten() {
            let kinds = target["kind"].as_array().into_iter().flatten();
            if kinds
                .filter_map(Value::as_str)
                .any(|k| k == "lib" || k == "bin")
            {
                roots.push((
                    format!(
                        "{} ({})",
                        package["name"].as_str().unwrap_or("?"),
                        target["name"].as_str().unwrap_or("?")
                    ),
                    PathBuf::from(target["src_path"].as_str().expect("a src_path")),
                ));
            }
        }
    }
    roots
}

/// A crate's modules: each file's module path, what it references and what it re-exports.
#[derive(Debug, Default)]
struct ModuleTree {
    /// Module path → the module's text (its file, test modules cut out).
    files: BTreeMap<ModPath, String>,
}

impl ModuleTree {
    fn read(root: &Path) -> Self {
        let mut tree = Self::default();
        // Children of the root (and of `mod.rs` files) live beside the file; children of
        // `name.rs` live in `name/`.
        tree.walk(root, vec![], root.parent().unwrap().to_path_buf());
        tree
    }

    fn walk(&mut self, file: &Path, path: ModPath, children_dir: PathBuf) {
        let Ok(text) = std::fs::read_to_string(file) else {
            return;
        };
        let text = without_test_modules(&strip_comments_and_strings(&text));
        let tokens = tokens(&text);
        for window in tokens.windows(3) {
            if window[0] == "mod" && window[2] == ";" && is_ident(&window[1]) {
                let name = &window[1];
                let mut child = path.clone();
                child.push(name.clone());
                let flat = children_dir.join(format!("{name}.rs"));
                let nested = children_dir.join(name).join("mod.rs");
                if flat.exists() {
                    self.walk(&flat, child, children_dir.join(name));
                } else if nested.exists() {
                    self.walk(&nested, child, children_dir.join(name));
                }
            }
        }
        self.files.insert(path, text);
    }

    /// `Item → the path it re-exports` for each module's `pub use`s.
    fn re_exports(&self) -> BTreeMap<ModPath, BTreeMap<String, ModPath>> {
        self.files
            .iter()
            .map(|(module, text)| {
                let exports = use_paths(module, &tokens(text), true, &self.files)
                    .into_iter()
                    .filter_map(|p| Some((p.last()?.clone(), p)))
                    .collect();
                (module.clone(), exports)
            })
            .collect()
    }

    /// The deepest module `path` names, through re-exports.
    fn resolve(
        &self,
        exports: &BTreeMap<ModPath, BTreeMap<String, ModPath>>,
        path: &[String],
    ) -> ModPath {
        let mut path = path.to_vec();
        for _ in 0..8 {
            let depth = (0..=path.len())
                .rev()
                .find(|&n| self.files.contains_key(&path[..n]))
                .unwrap_or(0);
            let module = path[..depth].to_vec();
            match path
                .get(depth)
                .and_then(|item| exports.get(&module)?.get(item))
            {
                Some(target) if !target.starts_with(&path[..=depth]) => {
                    let mut next = target.clone();
                    next.extend_from_slice(&path[depth + 1..]);
                    path = next;
                }
                _ => return module,
            }
        }
        path
    }

    /// Each cycle among siblings, as `a → b → a` (full paths below the crate root).
    fn cycles(&self) -> Vec<String> {
        let exports = self.re_exports();
        // Parent → child → the children of the same parent it uses.
        let mut edges: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for (from, text) in &self.files {
            let toks = tokens(text);
            let mut named = use_paths(from, &toks, false, &self.files);
            named.extend(code_paths(from, &toks));
            for target in named {
                let to = self.resolve(&exports, &target);
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common < from.len() && common < to.len() {
                    edges
                        .entry(from[..common].to_vec())
                        .or_default()
                        .entry(from[common].clone())
                        .or_default()
                        .insert(to[common].clone());
                }
            }
        }
        let mut found = Vec::new();
        for (parent, graph) in &edges {
            let prefix: String = parent.iter().map(|p| format!("{p}::")).collect();
            for cycle in find_cycles(graph) {
                let names: Vec<String> = cycle.iter().map(|m| format!("{prefix}{m}")).collect();
                found.push(names.join(" → "));
            }
        }
        found
    }
}

/// One cycle through each strongly connected set of modules, as a closed walk.
fn find_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut cycles = Vec::new();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for start in graph.keys() {
        if reported.contains(start) {
            continue;
        }
        // Depth first from `start`, looking for a way back to it.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, walk)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    let mut cycle = walk.clone();
                    cycle.push(start.clone());
                    reported.extend(walk.iter().cloned());
                    cycles.push(cycle);
                    stack.clear();
                    break;
                }
                if seen.insert(next.clone()) {
                    let mut longer = walk.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    cycles
}

/// The absolute module paths of every `use` tree (only `pub use` ones if `public`) that
/// starts at `crate`, `self`, `super` or a child module of `module` (of `modules`).
fn use_paths(
    module: &[String],
    toks: &[String],
    public: bool,
    modules: &BTreeMap<ModPath, String>,
) -> Vec<ModPath> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == "use" {
            let is_pub = i > 0 && (toks[i - 1] == "pub" || toks[i - 1] == ")");
            let end = toks[i..]
                .iter()
                .position(|t| t == ";")
                .map_or(toks.len(), |n| i + n);
            if is_pub || !public {
                let mut leaves = Vec::new();
                use_tree(&toks[i + 1..end], &[], &mut leaves);
                out.extend(leaves.iter().filter_map(|p| {
                    absolute(module, p).or_else(|| {
                        // `use child::Item` (2018 paths): a child module of this one.
                        let mut child = module.to_vec();
                        child.extend(p.iter().filter(|s| *s != "*").cloned());
                        modules
                            .contains_key(&child[..=module.len()])
                            .then_some(child)
                    })
                }));
            }
            i = end;
        }
        i += 1;
    }
    out
}

/// The leaves of a use tree, each as its full path (`self` in a group names the group's path).
fn use_tree(toks: &[String], prefix: &[String], leaves: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    let mut i = 0;
    while i < toks.len() {
        match toks[i].as_str() {
            "::" => {}
            "{" => {
                // Split the group at its top-level commas.
                let mut depth = 0;
                let mut start = i + 1;
                for j in i + 1..toks.len() {
                    match toks[j].as_str() {
                        "{" => depth += 1,
                        "}" if depth == 0 => {
                            use_tree(&toks[start..j], &path, leaves);
                            return;
                        }
                        "}" => depth -= 1,
                        "," if depth == 0 => {
                            use_tree(&toks[start..j], &path, leaves);
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            "as" => break,
            "self" if !path.is_empty() => {}
            t if is_ident(t) || t == "*" => path.push(t.to_owned()),
            _ => break,
        }
        i += 1;
    }
    if !path.is_empty() {
        leaves.push(path);
    }
}

/// Paths in code (not `use`) that start with `crate::`, `self::` or `super::`.
fn code_paths(module: &[String], toks: &[String]) -> Vec<ModPath> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < toks.len() {
        let starts = matches!(toks[i].as_str(), "crate" | "self" | "super") && toks[i + 1] == "::";
        let after_path = i > 0 && toks[i - 1] == "::";
        if starts && !after_path {
            let mut path = vec![toks[i].clone()];
            let mut j = i + 1;
            while j + 1 < toks.len() && toks[j] == "::" && is_ident(&toks[j + 1]) {
                path.push(toks[j + 1].clone());
                j += 2;
            }
            out.extend(absolute(module, &path));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// `crate::a::b` → `[a, b]`; `super::x` and `self::x` relative to `module`; anything else
/// (another crate, a name in scope) is not a path into this crate.
fn absolute(module: &[String], path: &[String]) -> Option<ModPath> {
    let mut at: ModPath = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            at.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                at.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    at.extend(rest.iter().filter(|s| *s != "*").cloned());
    Some(at)
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && t.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Identifiers and `::`, `{`, `}`, `,`, `;`, `(`, `)`, `*` as tokens; other punctuation as
/// single characters.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
            continue;
        }
        if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
            continue;
        }
        if !c.is_whitespace() {
            out.push(c.to_string());
        }
        i += 1;
    }
    out
}

/// The text with comments, string and char literals blanked (so a path in a doc or a
/// message is not taken for an import).
fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
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
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&chars, i)
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                j += 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
            } else {
                out.push(c);
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next.is_some() && chars.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\u{…}'
            let close = chars[i + 2..]
                .iter()
                .position(|&c| c == '\'')
                .map_or(chars.len(), |n| i + 3 + n);
            out.push_str("' '");
            i = close;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// The text without the `#[cfg(test)]` modules (inline ones are cut out, braces matched;
/// `#[cfg(test)] mod tests;` files are not walked).
fn without_test_modules(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        if let Some(module) = trimmed.strip_prefix("mod ") {
            match (module.find('{'), module.find(';')) {
                (Some(open), semi) if semi.is_none_or(|s| open < s) => {
                    let mut depth = 0;
                    let mut end = module.len();
                    for (n, c) in module.char_indices().skip(open) {
                        match c {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    end = n + 1;
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    rest = &module[end..];
                }
                (_, Some(semi)) => rest = &module[semi + 1..],
                _ => rest = after,
            }
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}
