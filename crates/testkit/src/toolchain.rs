//! The BPF toolchain of scripts/env.sh (Debian's rustc with a BPF `core`, cargo,
//! bpf-linker) and building a BPF crate with it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target BPF crates are built for.
pub const BPF_TARGET: &str = "bpfel-unknown-none";

/// Where scripts/setup.sh installs bpf-linker: `BTFKIT_TOOLS`, or
/// `~/.local/share/btfkit`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("BTFKIT_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".local/share/btfkit")
        })
}

/// The cargo for BPF crates: `BTFKIT_CARGO`, or `/usr/bin/cargo`.
pub fn bpf_cargo() -> PathBuf {
    std::env::var_os("BTFKIT_CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/cargo".into())
}

/// The rustc with a BPF `core`: `BTFKIT_RUSTC`, or `/usr/bin/rustc`.
pub fn bpf_rustc() -> PathBuf {
    std::env::var_os("BTFKIT_RUSTC")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/rustc".into())
}

/// `PATH` with the tools' `bin` first, after checking that bpf-linker is there
/// or on `PATH`.
fn path_with_tools() -> String {
    let path = format!(
        "{}:{}",
        tools_dir().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    assert!(
        path.split(':')
            .any(|d| Path::new(d).join("bpf-linker").is_file()),
        "the BPF toolchain is missing: no bpf-linker in {} nor on PATH; run scripts/setup.sh",
        tools_dir().join("bin").display()
    );
    path
}

/// `cargo build --release --target bpfel-unknown-none` of the crate in `dir`
/// with `RUSTFLAGS=rustflags` and the extra cargo `args`, into `target_dir`;
/// returns the folder of the built artifacts (`<target_dir>/bpfel-unknown-none/release`).
pub fn cargo_build_bpf(dir: &Path, target_dir: &Path, rustflags: &str, args: &[&str]) -> PathBuf {
    let (cargo, rustc) = (bpf_cargo(), bpf_rustc());
    assert!(
        cargo.is_file() && rustc.is_file(),
        "the BPF toolchain is missing ({}, {}); run scripts/setup.sh",
        cargo.display(),
        rustc.display()
    );
    let out = Command::new(&cargo)
        .current_dir(dir)
        .args(["build", "--release", "--target", BPF_TARGET])
        .args(args)
        .env("PATH", path_with_tools())
        .env("RUSTC", &rustc)
        .env("RUSTFLAGS", rustflags)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cargo.display()));
    assert!(
        out.status.success(),
        "building {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join(BPF_TARGET).join("release")
}

/// [`cargo_build_bpf`] of the BPF library crate in `dir` (a `cdylib`, as
/// bpf-linker links it); returns the path of its `lib<package>.so`.
pub fn build_bpf_lib(dir: &Path, target_dir: &Path, rustflags: &str) -> PathBuf {
    let release = cargo_build_bpf(dir, target_dir, rustflags, &[]);
    let manifest = dir.join("Cargo.toml");
    let toml = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let package = toml
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{} names no package", manifest.display()));
    release.join(format!("lib{}.so", package.replace('-', "_")))
}
