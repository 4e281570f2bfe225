//! Running cargo for `bpfel-unknown-none` with BTF, and what a BPF crate
//! needs from the compiler (aya-ebpf's one unstable feature).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::toolchain::{Route, Toolchain};
use crate::TARGET;

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Build with the release profile.
    pub release: bool,
    /// `--target-dir` (default: cargo's).
    pub target_dir: Option<PathBuf>,
    /// Do not print the line saying which compiler feature btfkit enables and why.
    pub quiet_feature_note: bool,
}

/// Environment a parent cargo sets (for a build script) that must not reach
/// the BPF build: it describes the host build.
fn is_parent_build_env(key: &str) -> bool {
    const KEEP: [&str; 5] = [
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_REGISTRIES_",
        "CARGO_HTTP_",
        "CARGO_TERM_",
    ];
    if key.starts_with("CARGO_") {
        return !KEEP.iter().any(|k| key.starts_with(k));
    }
    matches!(
        key,
        "RUSTC"
            | "RUSTDOC"
            | "RUSTC_LINKER"
            | "RUSTC_WRAPPER"
            | "RUSTC_WORKSPACE_WRAPPER"
            | "RUSTFLAGS"
            | "RUSTC_BOOTSTRAP"
            | "TARGET"
            | "HOST"
            | "OUT_DIR"
            | "PROFILE"
            | "OPT_LEVEL"
            | "DEBUG"
            | "NUM_JOBS"
    )
}

/// Whether the crate at `manifest` uses aya-ebpf: its manifest or the
/// nearest `Cargo.lock` above it names the package.
fn uses_aya_ebpf(manifest: &Path) -> bool {
    let mentions = |p: &Path| {
        std::fs::read_to_string(p).is_ok_and(|t| {
            t.contains("name = \"aya-ebpf\"")
                || t.lines().any(|l| l.trim_start().starts_with("aya-ebpf"))
        })
    };
    if mentions(manifest) {
        return true;
    }
    let dir = manifest
        .canonicalize()
        .ok()
        .and_then(|m| m.parent().map(Path::to_path_buf));
    dir.iter()
        .flat_map(|d| d.ancestors())
        .map(|d| d.join("Cargo.lock"))
        .find(|l| l.is_file())
        .is_some_and(|l| mentions(&l))
}

/// The one compiler feature btfkit enables, and the line saying so: aya-ebpf
/// writes `#![feature(asm_experimental_arch)]` for its inline `asm!` on BPF,
/// which a stable rustc refuses (E0554). `RUSTC_BOOTSTRAP=aya_ebpf` allows
/// it in that crate only; every other crate stays on stable Rust.
pub fn feature_note(toolchain: &Toolchain, manifest: &Path) -> Option<(String, String)> {
    (toolchain.route == Route::Prebuilt && uses_aya_ebpf(manifest)).then(|| {
        (
            "aya_ebpf".to_string(),
            "btfkit: enabling `asm_experimental_arch` for crate aya_ebpf only \
             (RUSTC_BOOTSTRAP=aya_ebpf): aya-ebpf's inline asm on BPF is unstable \
             and this rustc is a stable one"
                .to_string(),
        )
    })
}

/// Builds the crate of `manifest` for BPF with BTF; returns the artifacts
/// (cdylib `.so` files and binaries) cargo reports. Cargo's diagnostics go
/// to stderr.
pub fn build_crate(
    toolchain: &Toolchain,
    manifest: &Path,
    options: &BuildOptions,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut cmd = Command::new(&toolchain.cargo);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(is_parent_build_env) {
            cmd.env_remove(key);
        }
    }
    cmd.arg("build")
        .args(&toolchain.cargo_args)
        .args([
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(manifest);
    if options.release {
        cmd.arg("--release");
    }
    if let Some(dir) = &options.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    if let Some(rustc) = &toolchain.rustc {
        cmd.env("RUSTC", rustc);
    }
    cmd.envs(toolchain.envs.iter().map(|(k, v)| (k, v)));
    if let Some((krate, note)) = feature_note(toolchain, manifest) {
        if !options.quiet_feature_note {
            eprintln!("{note}");
        }
        cmd.env("RUSTC_BOOTSTRAP", krate);
    }
    if let Some(dir) = &toolchain.linker_dir {
        let mut paths = vec![dir.clone()];
        if let Some(old) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&old));
        }
        cmd.env("PATH", std::env::join_paths(paths)?);
    }
    // The user's RUSTFLAGS (not a parent build's, removed above), plus BTF.
    let mut rustflags = std::env::var("BTFKIT_RUSTFLAGS")
        .or_else(|_| std::env::var("RUSTFLAGS"))
        .unwrap_or_default();
    for flag in ["-C link-arg=--btf", "-C debuginfo=2"] {
        if !rustflags.contains(flag) {
            rustflags = format!("{rustflags} {flag}").trim().to_string();
        }
    }
    cmd.env("RUSTFLAGS", rustflags)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let output = cmd
        .output()
        .with_context(|| format!("running {}", toolchain.cargo.display()))?;
    let mut artifacts = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        if let Some(exe) = message["executable"].as_str() {
            artifacts.push(PathBuf::from(exe));
            continue;
        }
        let is_cdylib = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        if is_cdylib {
            if let Some(files) = message["filenames"].as_array() {
                artifacts.extend(
                    files
                        .iter()
                        .filter_map(|f| f.as_str())
                        .filter(|f| f.ends_with(".so") || f.ends_with(".o"))
                        .map(PathBuf::from),
                );
            }
        }
    }
    if !output.status.success() {
        bail!("cargo build for {TARGET} failed ({})", output.status);
    }
    if artifacts.is_empty() {
        bail!(
            "cargo built no BPF object (the crate needs a cdylib or bin target) for {}",
            manifest.display()
        );
    }
    Ok(artifacts)
}
