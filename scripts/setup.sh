#!/usr/bin/env bash
# Installs what btfkit's demo and tests need, and only what is missing:
# Debian packages (BPF toolchain, clang-22, bpftool, libbpf), bpf-linker built
# against Debian's LLVM 22, tracefs and bpffs mounts. Quick when all is there.
set -euo pipefail

tools="${BTFKIT_TOOLS:-$HOME/.local/share/btfkit}"
say() { printf 'setup: %s\n' "$*" >&2; }

packages=(rustc-web cargo-web libstd-rust-web-dev-bpf llvm-22 llvm-22-dev clang-22 lld-22
          bpftool libbpf-dev libbpf-tools libelf-dev zlib1g-dev pkg-config dwarves)

if [ ! -r /etc/debian_version ] || [ "$(id -u)" != 0 ]; then
    cat >&2 <<'MSG'
setup: this script installs packages on Debian as root. On another machine install:
  - a BPF-capable Rust: rustup toolchain install nightly --component rust-src
    (btfkit build then uses -Z build-std=core for bpfel-unknown-none)
  - bpf-linker: cargo install bpf-linker   (or: cargo binstall bpf-linker)
  - clang (>= 16), bpftool, libbpf headers, libelf and zlib headers, pkg-config
  - root (or CAP_BPF + CAP_PERFMON) and a kernel with /sys/kernel/btf/vmlinux to load programs
MSG
    exit 1
fi

# The kernel's CO-RE selftests (crates/e2e/tests/core_selftests.rs): bpf_doc.py, the tarball.
packages+=(python3 xz-utils libc6-dev)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "Debian packages: all present"
fi

if "$tools/bin/bpf-linker" --version 2>/dev/null | grep -q "0.13.0"; then
    say "bpf-linker 0.13.0: present in $tools/bin"
else
    say "building bpf-linker 0.13.0 against LLVM 22 into $tools (about a minute)"
    LLVM_PREFIX=/usr/lib/llvm-22 PATH="/usr/lib/llvm-22/bin:$PATH" \
        cargo install bpf-linker@0.13.0 --locked --no-default-features --features llvm-22 \
        --root "$tools" --quiet
fi

if ! mountpoint -q /sys/kernel/tracing; then
    say "mounting tracefs at /sys/kernel/tracing"
    mount -t tracefs nodev /sys/kernel/tracing
fi
if ! mountpoint -q /sys/fs/bpf; then
    say "mounting bpffs at /sys/fs/bpf"
    mount -t bpf bpf /sys/fs/bpf
fi

# Real Debian kernels in QEMU guests (`btfkit vm`, `btfkit check --kernel`):
# QEMU (software emulation: this machine's KVM cannot boot stock kernels),
# virtme-ng in a venv, and the Rust virtiofsd (the -cloud kernels have no 9p).
vm_packages=(qemu-system-x86 busybox-static kmod udev python3-venv libcap-ng-dev libseccomp-dev)
vm_missing=()
for p in "${vm_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || vm_missing+=("$p")
done
if [ ${#vm_missing[@]} -gt 0 ]; then
    say "installing Debian packages for VMs: ${vm_missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${vm_missing[@]}" >/dev/null
else
    say "VM packages: all present"
fi
if "$tools/venv/bin/vng" --version 2>/dev/null | grep -q "1.42"; then
    say "virtme-ng 1.42: present in $tools/venv"
else
    say "installing virtme-ng 1.42 into $tools/venv"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install -q virtme-ng==1.42
    ln -sf "$tools/venv/bin/vng" "$tools/bin/vng"
fi
if [ -x "$tools/bin/virtiofsd" ]; then
    say "virtiofsd: present in $tools/bin"
else
    say "building the Rust virtiofsd into $tools (about a minute)"
    cargo install virtiofsd@1.14.0 --locked --root "$tools" --quiet
fi

# `btfkit` on PATH (~/.cargo/bin). Built in the clone's own target/ (shared
# with the demo's release build), so a second run recompiles nothing.
if command -v cargo >/dev/null; then
    root="$(cd "$(dirname "$0")/.." && pwd)"
    say "installing btfkit into ${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin (cargo install --path crates/cli)"
    CARGO_TARGET_DIR="$root/target" cargo install --path "$root/crates/cli" --locked --quiet --force
fi
