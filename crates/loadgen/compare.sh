#!/usr/bin/env bash
# Before/after benchmarks of two revisions of Switchboard, interleaved in one run.
#
#   crates/loadgen/compare.sh [BEFORE [AFTER]] [-- extra flags of `switchboard-loadgen compare`]
#
# BEFORE defaults to 7b3930c (main just before issue #11), AFTER to HEAD. Each revision is
# checked out in a temporary git worktree (`git worktree add --detach`; AFTER uses this
# checkout itself when it is clean and at that commit) and built in release once: its
# `switchboard` binary and its routing benchmark (crates/engine/benches/routing.rs, or
# crates/dispatch/benches/routing.rs before the engine crate existed). The load generator is
# built from this checkout and drives both sides; `switchboard-loadgen compare` then runs,
# round by round, each experiment on both sides back to back (the side going first
# alternates), and prints each side's medians and the ratio after ÷ before.
#
# Environment:
#   MODE          in-process (default), redis or both: where the server scenarios run
#   REDIS_URL     for MODE=redis|both (default redis://127.0.0.1:6379)
#   DATABASE_URL  PostgreSQL for MODE=redis|both; a database is created for each run and
#                 dropped after (default postgres://postgres@127.0.0.1:5432/postgres)
#   COMPARE_WORK  where the worktrees, binaries and the report go
#                 (default ${TMPDIR:-/tmp}/switchboard-compare)
#   CARGO_TARGET_DIR  one target dir for all builds (default: this checkout's target/), so
#                 dependencies are built once. The two revisions' workspace crates have the
#                 same names and Cargo hashes them by their path relative to the workspace, so
#                 they replace each other there: each run rebuilds them once per revision (the
#                 binaries are copied out right after each build, so nothing is mixed up)
#   KEEP_WORKTREES=1  keep the worktrees after the run (to run again without rebuilding)
#
# Example (the figures in BENCHMARKS.md, issue #11):
#   MODE=both crates/loadgen/compare.sh 7b3930c HEAD -- --rounds 3
set -euo pipefail

before=7b3930c
after=HEAD
if [[ $# -gt 0 && $1 != -- ]]; then before=$1; shift; fi
if [[ $# -gt 0 && $1 != -- ]]; then after=$1; shift; fi
if [[ $# -gt 0 && $1 == -- ]]; then shift; fi
extra=("$@")

repo=$(git rev-parse --show-toplevel)
cd "$repo"
work=${COMPARE_WORK:-${TMPDIR:-/tmp}/switchboard-compare}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
mode=${MODE:-in-process}
mkdir -p "$work"

sha() { git rev-parse --verify "$1^{commit}"; }
before_sha=$(sha "$before")
after_sha=$(sha "$after")

created=()
cleanup() {
    if [[ ${KEEP_WORKTREES:-0} != 1 ]]; then
        for w in "${created[@]}"; do
            git -C "$repo" worktree remove --force "$w" || true
        done
    fi
}
trap cleanup EXIT

# Sets $tree to the source tree of a commit: this checkout if it is clean and there, else a
# worktree (made now, or left by an earlier run with KEEP_WORKTREES=1).
tree_of() {
    local commit=$1
    if [[ $(git rev-parse HEAD) == "$commit" && -z $(git status --porcelain --untracked-files=no) ]]; then
        tree=$repo
        return
    fi
    local dir=$work/rev-${commit:0:7}
    if [[ -d $dir ]]; then
        if [[ $(git -C "$dir" rev-parse HEAD) != "$commit" ]]; then
            echo "$dir exists but is not at $commit" >&2
            exit 1
        fi
    else
        git worktree add --detach "$dir" "$commit" >&2
    fi
    created+=("$dir")
    tree=$dir
}

# Builds the server and the routing benchmark of the tree $1 into $2/.
build() {
    local tree=$1 out=$2 package
    mkdir -p "$out"
    echo "== building $(git -C "$tree" log -1 --format='%h %s' HEAD) in $tree" >&2
    (cd "$tree" && cargo build --locked --release -p switchboard-server) >&2
    cp "$CARGO_TARGET_DIR/release/switchboard" "$out/switchboard"
    if [[ -f $tree/crates/engine/benches/routing.rs ]]; then
        package=switchboard-engine
    else
        package=switchboard-dispatch
    fi
    local executable
    executable=$(cd "$tree" && cargo bench --locked --no-run -p "$package" --bench routing \
        --message-format=json 2>/dev/null |
        grep -o '"executable":"[^"]*/routing-[^"]*"' | tail -1 | cut -d'"' -f4)
    if [[ -z $executable ]]; then
        echo "no routing benchmark executable for $tree" >&2
        exit 1
    fi
    cp "$executable" "$out/routing"
}

tree_of "$before_sha"
before_tree=$tree
tree_of "$after_sha"
after_tree=$tree
build "$before_tree" "$work/bin/before-${before_sha:0:12}"
build "$after_tree" "$work/bin/after-${after_sha:0:12}"
echo "== building the load generator in $repo" >&2
cargo build --locked --release -p switchboard-loadgen >&2
cp "$CARGO_TARGET_DIR/release/switchboard-loadgen" "$work/bin/switchboard-loadgen"

shared=()
if [[ $mode != in-process ]]; then
    shared=(--redis-url "${REDIS_URL:-redis://127.0.0.1:6379}"
        --database-url "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}")
fi
report=$work/compare-${before_sha:0:7}-${after_sha:0:7}-$(date -u +%Y%m%dT%H%M%SZ).md
echo "== comparing ${before_sha:0:7} (before) with ${after_sha:0:7} (after); report: $report" >&2
{
    echo "before: $(git log -1 --format='%h %s' "$before_sha")"
    echo "after:  $(git log -1 --format='%h %s' "$after_sha")"
    echo "mode: $mode; $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
} | tee "$report"
"$work/bin/switchboard-loadgen" --mode "$mode" "${shared[@]}" compare \
    --before-server "$work/bin/before-${before_sha:0:12}/switchboard" \
    --after-server "$work/bin/after-${after_sha:0:12}/switchboard" \
    --before-routing "$work/bin/before-${before_sha:0:12}/routing" \
    --after-routing "$work/bin/after-${after_sha:0:12}/routing" \
    --before-label "before ${before_sha:0:7}" --after-label "after ${after_sha:0:7}" \
    "${extra[@]}" | tee -a "$report"
