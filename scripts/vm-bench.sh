#!/usr/bin/env bash
# The VM matrix timed two ways (BENCHMARKS.md, "Real kernels in VMs"):
#  1. `btfkit check` of every object on each kernel (one boot per kernel, two at once);
#  2. the reference: `vng --exec` with bpftool (libbpf) loading the same objects,
#     one boot per kernel, two at once (plain vng, its default options);
# and before them, $ROUNDS (default 2) times in turn, one object on one kernel both ways.
# Each figure: wall seconds and CPU seconds of the whole process tree.
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

# wall and CPU seconds (user + system of the whole process tree: vng, QEMU,
# virtiofsd, btfkit) of one command, as "wall W s, cpu C s".
timed() {
    /usr/bin/time -f "%e %U %S" -o "$tfile" "$@" >/dev/null 2>&1 || echo "($* failed)" >&2
    awk '{printf "wall %.1f s, cpu %.1f s", $1, $2 + $3}' "$tfile"
}
tfile=$(mktemp /tmp/btfkit-vm-bench-XXXXXX)
trap 'rm -f "$tfile"' EXIT

script="mount -t bpf bpf /sys/fs/bpf; i=0; for o in ${objs[*]}; do i=\$((i+1)); bpftool prog loadall \$o /sys/fs/bpf/btfkit-vm-bench-\$i || exit 1; done"
one_script="mount -t bpf bpf /sys/fs/bpf; bpftool prog loadall ${objs[0]} /sys/fs/bpf/btfkit-vm-bench-one"
one() {
    timeout -k 5 600 vng --disable-kvm --run "$cache/$1/boot/vmlinuz-$1" --cpus 1 --memory 1G --exec "$2" >/dev/null 2>&1 \
        || echo "vng + bpftool: $1 failed"
}
reference_matrix() {
    for ((i = 0; i < ${#kernels[@]}; i += 2)); do
        one "${kernels[i]}" "$script" &
        if [ $((i + 1)) -lt ${#kernels[@]} ]; then one "${kernels[i + 1]}" "$script" & fi
        wait
    done
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
k=${kernels[0]}
for ((round = 1; round <= ${ROUNDS:-2}; round++)); do
    echo "round $round: btfkit check, 1 object on $k (boot + check + power-off): $(timed "$btfkit" check "${objs[0]}" --kernel "$k")"
    echo "round $round: vng + bpftool, 1 object on $k: $(timed bash -c "$(declare -f one); cache=$cache; one $k '$one_script'")"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

args=()
for k in "${kernels[@]}"; do args+=(--kernel "$k"); done
export MATRIX_OUT=${MATRIX_OUT:-/dev/null}
echo "btfkit check, ${#objs[@]} objects x ${#kernels[@]} kernels + host: $(timed bash -c '"$0" check --markdown "${@}" >"$MATRIX_OUT"' "$btfkit" "${objs[@]}" "${args[@]}" --kernel host)"
echo "vng + bpftool, ${#objs[@]} objects x ${#kernels[@]} kernels: $(timed bash -c "$(declare -f one reference_matrix); cache=$cache; kernels=(${kernels[*]}); script='$script'; reference_matrix")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
