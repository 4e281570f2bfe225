#!/usr/bin/env bash
# Runs every btfkit test: formatting, lints, and the whole workspace's tests,
# including those that load programs into the running kernel (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
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
printf '\nall stages passed in %ss\n' "$((SECONDS - start))" >&2
