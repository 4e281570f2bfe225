//! Finding a Rust compiler that can build for `bpfel-unknown-none` and
//! `bpf-linker`, and describing what was found (`btfkit --version`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::bail;

use crate::TARGET;

/// How this machine compiles Rust for BPF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A stable rustc with a prebuilt BPF `core` in its sysroot (Debian's
    /// `rustc-web` + `libstd-rust-web-dev-bpf`).
    Prebuilt,
    /// rustup nightly with `rust-src`: `-Z build-std=core`.
    BuildStd,
}

/// How to compile Rust for BPF on this machine.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The route found.
    pub route: Route,
    /// The cargo to run.
    pub cargo: PathBuf,
    /// `RUSTC` for it, when it must be set.
    pub rustc: Option<PathBuf>,
    /// Extra cargo arguments (`-Z build-std=core` on nightly).
    pub cargo_args: Vec<String>,
    /// Extra environment for cargo (`RUSTUP_TOOLCHAIN=nightly`).
    pub envs: Vec<(String, String)>,
    /// A directory holding `bpf-linker`, to put first on `PATH`.
    pub linker_dir: Option<PathBuf>,
}

fn on_path(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

fn env_path(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// `$BTFKIT_TOOLS/bin` (default `~/.local/share/btfkit/bin`), where
/// `scripts/setup.sh` installs bpf-linker.
fn tools_bin() -> Option<PathBuf> {
    std::env::var_os("BTFKIT_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/btfkit")))
        .map(|t| t.join("bin"))
}

/// Where `bpf-linker` is: `PATH` first, then `$BTFKIT_TOOLS/bin`.
pub fn find_linker() -> Option<PathBuf> {
    on_path("bpf-linker").or_else(|| {
        tools_bin()
            .map(|d| d.join("bpf-linker"))
            .filter(|p| p.is_file())
    })
}

/// The fix for a missing bpf-linker.
pub const LINKER_FIX: &str = "bpf-linker not found on PATH nor in $BTFKIT_TOOLS/bin \
    (~/.local/share/btfkit/bin); run `bash scripts/setup.sh` in the btfkit clone \
    (or: cargo install bpf-linker)";

/// The fix for a missing BPF-capable compiler.
pub const RUST_FIX: &str = "no Rust compiler for bpfel-unknown-none found: run `bash \
    scripts/setup.sh` in the btfkit clone (Debian: rustc-web cargo-web \
    libstd-rust-web-dev-bpf), or `rustup toolchain install nightly --component rust-src`";

/// Debian's compiler with the prebuilt BPF libraries, if present
/// (`BTFKIT_RUSTC` / `BTFKIT_CARGO` override the paths).
fn prebuilt() -> Option<(PathBuf, PathBuf)> {
    let rustc = env_path("BTFKIT_RUSTC", "/usr/bin/rustc");
    let cargo = env_path("BTFKIT_CARGO", "/usr/bin/cargo");
    let sysroot_has_bpf = rustc
        .parent()
        .and_then(Path::parent)
        .map(|root| root.join("lib/rustlib").join(TARGET))
        .is_some_and(|d| d.is_dir());
    (sysroot_has_bpf && rustc.is_file() && cargo.is_file()).then_some((rustc, cargo))
}

/// rustup nightly with `rust-src`, if present.
fn nightly_with_src() -> Option<PathBuf> {
    let rustup = on_path("rustup")?;
    let out = Command::new(&rustup)
        .args(["run", "nightly", "rustc", "--print", "sysroot"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    sysroot
        .join("lib/rustlib/src/rust/library/core")
        .is_dir()
        .then(|| on_path("cargo"))
        .flatten()
}

/// Finds a compiler with a BPF `core` and `bpf-linker`: Debian's
/// `/usr/bin/cargo` and `/usr/bin/rustc` when the prebuilt BPF libraries are
/// in their sysroot (`BTFKIT_CARGO` / `BTFKIT_RUSTC` override), else rustup
/// nightly with `rust-src` and `-Z build-std=core`; `bpf-linker` from `PATH`
/// or `$BTFKIT_TOOLS/bin`. The error names the fix.
pub fn find_toolchain() -> anyhow::Result<Toolchain> {
    let Some(linker) = find_linker() else {
        bail!("{LINKER_FIX}");
    };
    let linker_dir = if on_path("bpf-linker").is_some() {
        None
    } else {
        linker.parent().map(Path::to_path_buf)
    };
    if let Some((rustc, cargo)) = prebuilt() {
        return Ok(Toolchain {
            route: Route::Prebuilt,
            cargo,
            rustc: Some(rustc),
            cargo_args: Vec::new(),
            envs: Vec::new(),
            linker_dir,
        });
    }
    if let Some(cargo) = nightly_with_src() {
        return Ok(Toolchain {
            route: Route::BuildStd,
            cargo,
            rustc: None,
            cargo_args: vec!["-Z".into(), "build-std=core".into()],
            envs: vec![("RUSTUP_TOOLCHAIN".into(), "nightly".into())],
            linker_dir,
        });
    }
    bail!("{RUST_FIX}")
}

fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    })
}

/// What `btfkit --version` prints about the BPF toolchain: the route and
/// rustc, bpf-linker, LLVM; "not found" with the fix for what is missing.
/// Never fails.
pub fn describe_toolchain() -> String {
    let mut out = String::new();
    let rustc = match prebuilt() {
        Some((rustc, _)) => Some((
            rustc,
            format!("prebuilt BPF core ({TARGET} in the sysroot)"),
            Vec::<(&str, &str)>::new(),
        )),
        None => nightly_with_src().map(|_| {
            (
                PathBuf::from("rustc"),
                "rustup nightly + rust-src, -Z build-std=core".to_string(),
                vec![("RUSTUP_TOOLCHAIN", "nightly")],
            )
        }),
    };
    match &rustc {
        Some((path, route, envs)) => {
            let version = first_line(Command::new(path).arg("-V").envs(envs.iter().copied()))
                .unwrap_or_else(|| "(did not run)".into());
            out.push_str(&format!(
                "rustc:      {version} at {} [{route}]\n",
                path.display()
            ));
            let llvm = Command::new(path)
                .arg("-vV")
                .envs(envs.iter().copied())
                .output()
                .ok()
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .find_map(|l| l.strip_prefix("LLVM version: ").map(str::to_string))
                });
            out.push_str(&format!(
                "LLVM:       {}\n",
                llvm.unwrap_or_else(|| "unknown".into())
            ));
        }
        None => out.push_str(&format!("rustc:      not found: {RUST_FIX}\n")),
    }
    match find_linker() {
        Some(linker) => {
            let version = first_line(Command::new(&linker).arg("--version"))
                .unwrap_or_else(|| "(did not run)".into());
            out.push_str(&format!("bpf-linker: {version} at {}\n", linker.display()));
        }
        None => out.push_str(&format!("bpf-linker: not found: {LINKER_FIX}\n")),
    }
    out
}
