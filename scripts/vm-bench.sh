#!/usr/bin/env bash
# The VM matrix timed two ways (BENCHMARKS.md, "Real kernels in VMs"):
#  1. `btfkit check` of every object on each kernel (one boot per kernel, two at once);
#  2. the reference: `vng --exec` with bpftool (libbpf) loading the same objects,
#     one boot per kernel, two at once.
# Usage: scripts/vm-bench.sh OBJ... (built with `btfkit build --release`).
# The matrix (markdown, with the host column) goes to $MATRIX_OUT if set.
# Kernels: $KERNELS (default: 6.1 6.12 6.1-cloud 6.12-cloud, cached packages).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
btfkit=${BTFKIT:-target/release/btfkit}
kernels=(${KERNELS:-6.1.0-57-amd64 6.12.118+deb12-amd64 6.1.0-57-cloud-amd64 6.12.118+deb12-cloud-amd64})
objs=()
for o in "$@"; do objs+=("$(realpath "$o")"); done
cache="${XDG_CACHE_HOME:-$HOME/.cache}/btfkit/kernels"
export PATH="$BTFKIT_TOOLS/venv/bin:$PATH"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
args=()
for k in "${kernels[@]}"; do args+=(--kernel "$k"); done
start=$(date +%s.%N)
"$btfkit" check --markdown "${objs[@]}" "${args[@]}" --kernel host >"${MATRIX_OUT:-/dev/null}" || echo "btfkit check: some kernel failed"
end=$(date +%s.%N)
echo "btfkit check, ${#objs[@]} objects x ${#kernels[@]} kernels: $(echo "$end - $start" | bc) s"

k=${kernels[0]}
start=$(date +%s.%N)
"$btfkit" check "${objs[0]}" --kernel "$k" >/dev/null || true
end=$(date +%s.%N)
echo "btfkit check, 1 object on $k (boot + check + power-off): $(echo "$end - $start" | bc) s"

script="mount -t bpf bpf /sys/fs/bpf; i=0; for o in ${objs[*]}; do i=\$((i+1)); bpftool prog loadall \$o /sys/fs/bpf/btfkit-vm-bench-\$i || exit 1; done"
one() {
    timeout -k 5 600 vng --disable-kvm --run "$cache/$1/boot/vmlinuz-$1" --cpus 1 --memory 1G --exec "$script" >/dev/null 2>&1 \
        || echo "vng + bpftool: $1 failed"
}
start=$(date +%s.%N)
for ((i = 0; i < ${#kernels[@]}; i += 2)); do
    one "${kernels[i]}" &
    if [ $((i + 1)) -lt ${#kernels[@]} ]; then one "${kernels[i + 1]}" & fi
    wait
done
end=$(date +%s.%N)
echo "vng + bpftool, ${#objs[@]} objects x ${#kernels[@]} kernels: $(echo "$end - $start" | bc) s"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
