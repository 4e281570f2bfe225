#!/usr/bin/env bash
# The main job: builds btfkit and runs its demo against the running kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --quiet -p btfkit
exec target/release/btfkit demo "$@"
