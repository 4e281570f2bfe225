#!/usr/bin/env bash
# The main job: builds btfkit and runs its demo against the running kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --quiet -p btfkit
if target/release/btfkit demo --help >/dev/null 2>&1; then
    exec target/release/btfkit demo "$@"
fi
# Before `btfkit demo` existed: show the running kernel's BTF as bpftool does.
target/release/btfkit dump /sys/kernel/btf/vmlinux | head -40
