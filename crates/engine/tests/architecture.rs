//! The crate graph's rules, checked against `cargo metadata`: the pure crates (domain, the
//! routing engine, the statistics, the help desk, the simulator, the wire protocol) reach no
//! async runtime, no Redis or SQL client and no HTTP framework — not even through another
//! crate — and the adapters keep to their side (ARCHITECTURE.md's invariants). A rule is a
//! row of [`RULES`].
//! And no crate of the workspace links the test helpers, but those [`MAY_LINK_TEST_SUPPORT`].
//!
//! Only normal dependencies count (what is linked into the crate), followed transitively;
//! dev- and build-dependencies do not. `cargo metadata` resolves features for the whole
//! workspace at once, so a crate's graph here is a superset of what building it alone pulls
//! in: a rule that holds here holds for every build on this platform.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    path::Path,
    process::Command,
};

use serde_json::{json, Value};

/// `krate` must not depend on any of `forbidden`, directly or transitively.
struct Rule<'a> {
    /// A workspace crate.
    krate: &'a str,
    /// Package names it must not reach.
    forbidden: &'a [&'a str],
    /// The invariant, for the failure message.
    why: &'a str,
}

/// Clients, runtimes and frameworks that do I/O.
const IO: &[&str] = &["tokio", "redis", "sqlx", "axum"];

/// The test helpers: a dev-dependency only.
const TEST_SUPPORT: &str = "switchboard-test-support";

/// The workspace crates that may depend on [`TEST_SUPPORT`] normally: itself and the load
/// generator (a tool, never shipped). Every other crate — the server binary and the
/// libraries it is made of, and any crate added later — must not.
const MAY_LINK_TEST_SUPPORT: &[&str] = &[TEST_SUPPORT, "switchboard-loadgen"];

const RULES: &[Rule<'static>] = &[
    Rule {
        krate: "switchboard-domain",
        forbidden: IO,
        why: "the domain is plain data: no I/O, no async runtime",
    },
    Rule {
        krate: "switchboard-engine",
        forbidden: IO,
        why: "the routing engine is a pure state machine: no I/O, no async runtime",
    },
    Rule {
        krate: "switchboard-stats",
        forbidden: IO,
        why: "stats are pure numbers over plain data",
    },
    Rule {
        krate: "switchboard-desk",
        forbidden: &[
            "tokio",
            "redis",
            "sqlx",
            "axum",
            "switchboard-engine",
            "switchboard-dispatch",
            "switchboard-stats",
            "switchboard-store",
            "switchboard-app",
            "switchboard-gateway",
            "switchboard-protocol",
        ],
        why: "the help desk is pure rules over plain data (`now` passed in): of the workspace, domain only",
    },
    Rule {
        krate: "switchboard-protocol",
        forbidden: &[
            "tokio",
            "redis",
            "sqlx",
            "axum",
            "switchboard-engine",
            "switchboard-dispatch",
            "switchboard-stats",
            "switchboard-store",
            "switchboard-gateway",
        ],
        why: "the wire protocol is data and serde only: domain, serde, serde_json",
    },
    Rule {
        krate: "switchboard-sim",
        forbidden: &[
            "tokio",
            "redis",
            "sqlx",
            "axum",
            "switchboard-dispatch",
            "switchboard-store",
        ],
        why: "the simulator drives the engine itself, on a virtual clock, without I/O",
    },
    Rule {
        krate: "switchboard-dispatch",
        forbidden: &["sqlx", "axum", "switchboard-store", "switchboard-gateway"],
        why: "dispatch knows nothing about HTTP or SQL",
    },
    Rule {
        krate: "switchboard-store",
        forbidden: &[
            "axum",
            "redis",
            "switchboard-engine",
            "switchboard-dispatch",
            "switchboard-gateway",
        ],
        why: "the store knows nothing about HTTP or routing policy",
    },
    Rule {
        krate: "switchboard-app",
        forbidden: &[
            "axum",
            "tower",
            "tower-http",
            "hyper",
            "tokio-tungstenite",
            "switchboard-gateway",
        ],
        why: "the application layer takes and returns plain types: no HTTP, no sockets",
    },
];

/// What a crate must not list as a dependency of its own (it may still reach it through
/// another crate): the rooms above the persistence and queue adapters talk to them through
/// the application layer only.
const DIRECT_RULES: &[Rule<'static>] = &[Rule {
    krate: "switchboard-gateway",
    forbidden: &[
        "sqlx",
        "redis",
        "switchboard-store",
        "switchboard-dispatch",
    ],
    why: "the gateway is adapters only: it calls the application (switchboard-app), never the store or the dispatcher",
}];

#[test]
fn crates_keep_to_their_direct_dependency_rules() {
    let broken = violations_within(&metadata(), DIRECT_RULES, 1);
    assert!(
        broken.is_empty(),
        "architecture rules broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn crates_keep_to_their_dependency_rules() {
    let broken = violations(&metadata(), RULES);
    assert!(
        broken.is_empty(),
        "architecture rules broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_production_crate_links_the_test_helpers() {
    let metadata = metadata();
    let names: BTreeMap<&str, &str> = list(&metadata["packages"])
        .iter()
        .map(|p| (text(&p["id"]), text(&p["name"])))
        .collect();
    let production: Vec<&str> = list(&metadata["workspace_members"])
        .iter()
        .filter_map(|id| names.get(text(id)).copied())
        .filter(|name| !MAY_LINK_TEST_SUPPORT.contains(name))
        .collect();
    assert!(
        production.contains(&"switchboard-server") && production.contains(&"switchboard-domain"),
        "{production:?}"
    );
    let rules: Vec<Rule> = production
        .into_iter()
        .map(|krate| Rule {
            krate,
            forbidden: &[TEST_SUPPORT],
            why: "test helpers never go into a production binary",
        })
        .collect();
    let broken = violations(&metadata, &rules);
    assert!(
        broken.is_empty(),
        "architecture rules broken:\n{}",
        broken.join("\n")
    );
}

/// The checker itself, on a made-up graph: a transitive normal dependency is caught (with
/// its path), a dev-dependency and a build-dependency are not, and a rule about a crate that
/// is not in the workspace is an error rather than a silent pass.
#[test]
fn the_check_follows_normal_dependencies_only() {
    let node = |id: &str, deps: &[(&str, &str)]| {
        let deps: Vec<Value> = deps
            .iter()
            .map(|&(pkg, kind)| {
                // `cargo metadata` writes a normal dependency's kind as null.
                let kind = if kind == "normal" {
                    Value::Null
                } else {
                    json!(kind)
                };
                json!({ "pkg": pkg, "dep_kinds": [{ "kind": kind, "target": null }] })
            })
            .collect();
        json!({ "id": id, "deps": deps })
    };
    let packages = ["pure", "helper", "tokio", "proptest", "cc", "redis"]
        .map(|name| json!({ "id": format!("{name}-id"), "name": name }));
    let graph = json!({
        "packages": packages,
        "workspace_members": ["pure-id"],
        "resolve": { "nodes": [
            node("pure-id", &[("helper-id", "normal"), ("proptest-id", "dev"), ("cc-id", "build")]),
            node("helper-id", &[("tokio-id", "normal")]),
            node("proptest-id", &[("redis-id", "normal")]),
            node("cc-id", &[("redis-id", "normal")]),
            node("tokio-id", &[]),
            node("redis-id", &[]),
        ]},
    });
    let rules = [
        Rule {
            krate: "pure",
            forbidden: &["tokio", "redis"],
            why: "test",
        },
        Rule {
            krate: "renamed",
            forbidden: &["tokio"],
            why: "test",
        },
    ];
    assert_eq!(
        violations(&graph, &rules),
        [
            "pure must not depend on tokio (test), but does: pure → helper → tokio",
            "renamed is not a workspace crate: fix the rule",
        ]
    );
    // Direct dependencies only: `pure` reaches tokio through `helper`, which is allowed, but
    // lists `helper` itself.
    let direct = [Rule {
        krate: "pure",
        forbidden: &["tokio", "helper"],
        why: "test",
    }];
    assert_eq!(
        violations_within(&graph, &direct, 1),
        ["pure must not depend on helper (test), but does: pure → helper"]
    );
}

/// `cargo metadata` of this workspace, for the host platform, without the network.
fn metadata() -> Value {
    let cargo = env!("CARGO");
    let version = run(Command::new(cargo).arg("-vV"));
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("`cargo -vV` names the host platform");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let json = run(Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(["--filter-platform", host])
        .arg("--manifest-path")
        .arg(manifest));
    serde_json::from_str(&json).expect("cargo metadata prints JSON")
}

fn run(command: &mut Command) -> String {
    let out = command.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Every broken rule, with the shortest chain of normal dependencies that breaks it.
fn violations(metadata: &Value, rules: &[Rule<'_>]) -> Vec<String> {
    violations_within(metadata, rules, usize::MAX)
}

/// [`violations`] through chains of at most `depth` dependencies (1: direct ones only).
fn violations_within(metadata: &Value, rules: &[Rule<'_>], depth: usize) -> Vec<String> {
    let name_of: BTreeMap<&str, &str> = list(&metadata["packages"])
        .iter()
        .map(|p| (text(&p["id"]), text(&p["name"])))
        .collect();
    let normal_deps: BTreeMap<&str, Vec<&str>> = list(&metadata["resolve"]["nodes"])
        .iter()
        .map(|node| {
            let deps = list(&node["deps"])
                .iter()
                .filter(|d| list(&d["dep_kinds"]).iter().any(|k| k["kind"].is_null()))
                .map(|d| text(&d["pkg"]))
                .collect();
            (text(&node["id"]), deps)
        })
        .collect();
    let members: BTreeSet<&str> = list(&metadata["workspace_members"])
        .iter()
        .map(text)
        .collect();

    let mut broken = Vec::new();
    for rule in rules {
        let Some(root) = members
            .iter()
            .copied()
            .find(|id| name_of.get(id) == Some(&rule.krate))
        else {
            broken.push(format!(
                "{} is not a workspace crate: fix the rule",
                rule.krate
            ));
            continue;
        };
        // Breadth first, so that each crate's recorded parent gives a shortest path.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([(root, 0)]);
        while let Some((id, hops)) = queue.pop_front() {
            if hops == depth {
                continue;
            }
            for &dep in normal_deps.get(id).map_or(&[][..], Vec::as_slice) {
                if dep != root && !parent.contains_key(dep) {
                    parent.insert(dep, id);
                    queue.push_back((dep, hops + 1));
                }
            }
        }
        for &forbidden in rule.forbidden {
            let reached = parent.keys().copied().filter(|id| name_of[id] == forbidden);
            for id in reached {
                let mut path = vec![name_of[id]];
                let mut at = id;
                while let Some(&up) = parent.get(at) {
                    path.push(name_of[up]);
                    at = up;
                }
                path.reverse();
                broken.push(format!(
                    "{} must not depend on {forbidden} ({}), but does: {}",
                    rule.krate,
                    rule.why,
                    path.join(" → ")
                ));
            }
        }
    }
    broken
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}
