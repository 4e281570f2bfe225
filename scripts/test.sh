#!/usr/bin/env bash
# Runs every btfkit test: formatting, lints, and the whole workspace's tests,
# including those that load programs into the running kernel (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
# A whole run writes about 6 GB (target/: the workspace, the generated
# projects, the example builds) beside the kernel packages it caches. Say so
# at once rather than let tests die one by one of ENOSPC.
built_gb=$(( $(du -sk target 2>/dev/null | cut -f1 || echo 0) / 1024 / 1024 ))
need_gb=$(( built_gb >= 6 ? 2 : 8 - built_gb ))
avail_gb=$(( $(df -Pk . | awk 'NR==2 {print $4}') / 1024 / 1024 ))
if (( avail_gb < need_gb )); then
    echo "test.sh: only ${avail_gb} GB free on the disk holding $(pwd); a whole run needs about ${need_gb} GB (target/ and ~/.cache/btfkit). Free space (e.g. old target/ folders) and rerun." >&2
    exit 1
fi
bash scripts/setup.sh
source scripts/env.sh
stage() { printf '\n== %s (%s)\n' "$1" "$(date +%T)" >&2; }
start=$SECONDS
stage "cargo fmt --check"
cargo fmt --all -- --check
stage "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
stage "cargo test"
cargo test --workspace --no-fail-fast 2>&1
printf '\nall stages passed in %ss; target/ holds %s\n' "$((SECONDS - start))" "$(du -sh target | cut -f1)" >&2
