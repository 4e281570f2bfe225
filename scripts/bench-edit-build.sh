#!/usr/bin/env bash
# The edit-build cycle of examples/tcpconnect (BENCHMARKS.md, "Edit-build
# cycle"): cold and incremental (one-line edit) release builds for
# bpfel-unknown-none, timed by farm-bench (medians), in two layouts:
#   crate   - the `btfkit gen` bindings in their own crate (the example as is)
#   module  - the same bindings as `mod vmlinux;` inside the program crate
# Usage: bash scripts/bench-edit-build.sh [COLD_RUNS] [EDIT_RUNS]
# (BENCH_LAYOUTS="crate" measures one layout only.)
# Needs the bindings: btfkit gen ... -o examples/tcpconnect/vmlinux/src/vmlinux.rs
# (the command is in examples/tcpconnect/src/main.rs). Not a test: long.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cold_runs=${1:-3}
edit_runs=${2:-5}
root=$PWD
ex=$root/examples/tcpconnect
[ -f "$ex/vmlinux/src/vmlinux.rs" ] || { echo "generate the bindings first (see examples/tcpconnect/src/main.rs)" >&2; exit 1; }
work=${TMPDIR:-/tmp}/btfkit-bench-edit-$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# The two layouts, as copies (the example itself is not touched).
cp -r "$ex" "$work/crate"
rm -rf "$work/crate/target"
sed -i "s|path = \"../../crates/btf\"|path = \"$root/crates/btf\"|" "$work/crate/Cargo.toml"
sed -i "s|path = \"../../../crates/btf\"|path = \"$root/crates/btf\"|" "$work/crate/vmlinux/Cargo.toml"
mkdir -p "$work/module/src"
cp "$ex/src/main.rs" "$work/module/src/main.rs"
cp "$ex/vmlinux/src/vmlinux.rs" "$work/module/src/vmlinux.rs"
sed -i 's|^use vmlinux::|mod vmlinux;\nuse vmlinux::|' "$work/module/src/main.rs"
sed -e "s|path = \"../../crates/btf\"|path = \"$root/crates/btf\"|" \
    -e '/^vmlinux = /d' -e 's|^members = .*||' "$ex/Cargo.toml" > "$work/module/Cargo.toml"

build="$BTFKIT_CARGO build --release --target bpfel-unknown-none -q"
export RUSTC=$BTFKIT_RUSTC RUSTFLAGS="-C debuginfo=2 -C link-arg=--btf"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for layout in ${BENCH_LAYOUTS:-crate module}; do
    dir=$work/$layout
    echo "== $layout: cold (fresh target directory each run)"
    farm-bench -n "$cold_runs" --warmup 0 --timeout 3000 -- \
        sh -c "cd $dir && rm -rf target && $build"
    echo "== $layout: incremental (one line of src/main.rs changed before each run)"
    (cd "$dir" && $build)
    farm-bench -n "$edit_runs" --warmup 1 --timeout 3000 -- \
        sh -c "cd $dir && if grep -q 'put(0, 1);' src/main.rs; then sed -i 's/put(0, 1);/put(0, 1u64);/' src/main.rs; else sed -i 's/put(0, 1u64);/put(0, 1);/' src/main.rs; fi && $build"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
