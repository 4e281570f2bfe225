//! The whole job from a user-space crate's `build.rs`: build the BPF crate,
//! link it, write the object to `OUT_DIR`, tell cargo when to rerun, and
//! turn a missing tool into a `cargo:warning` that names the fix.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::cargo::{build_crate, feature_note, BuildOptions};
use crate::toolchain::find_toolchain;

/// Builds a BPF crate from a `build.rs` (like aya-build), always with the
/// release profile (BPF programs are verified, and debug code rarely is).
#[derive(Debug, Clone)]
pub struct BpfBuild {
    dir: PathBuf,
}

/// Variables that change what the BPF build does.
const ENV: [&str; 5] = [
    "BTFKIT_RUSTC",
    "BTFKIT_CARGO",
    "BTFKIT_TOOLS",
    "BTFKIT_RUSTFLAGS",
    "PATH",
];

impl BpfBuild {
    /// The BPF crate in `dir` (relative to the calling crate's
    /// `CARGO_MANIFEST_DIR`).
    pub fn new(dir: impl AsRef<Path>) -> BpfBuild {
        BpfBuild {
            dir: dir.as_ref().to_path_buf(),
        }
    }

    /// Builds and links the BPF crate; writes `OUT_DIR/<binary>.bpf.o` per
    /// BPF binary and returns those paths. Prints `cargo:rerun-if-changed`
    /// for the BPF crate's sources (and its path dependencies'), so cargo
    /// reruns this only when they change.
    pub fn run(&self) -> anyhow::Result<Vec<PathBuf>> {
        let out_dir = PathBuf::from(
            std::env::var_os("OUT_DIR").context("OUT_DIR is not set: call this from build.rs")?,
        );
        let base = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_default();
        let dir = base.join(&self.dir);
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            bail!("no BPF crate at {} (no Cargo.toml)", dir.display());
        }
        for var in ENV {
            println!("cargo:rerun-if-env-changed={var}");
        }
        for file in ["Cargo.toml", "Cargo.lock", "src"] {
            println!("cargo:rerun-if-changed={}", dir.join(file).display());
        }
        let toolchain = find_toolchain()?;
        if let Some((_, note)) = feature_note(&toolchain, &manifest) {
            println!("cargo:warning={note}");
        }
        let options = BuildOptions {
            release: true,
            target_dir: Some(out_dir.join("bpf-target")),
            quiet_feature_note: true,
        };
        let artifacts = build_crate(&toolchain, &manifest, &options)?;
        let mut written = Vec::new();
        for artifact in artifacts {
            for dep in dep_info(&artifact) {
                println!("cargo:rerun-if-changed={}", dep.display());
            }
            let stem = artifact
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "bpf".into());
            let output = out_dir.join(format!("{stem}.bpf.o"));
            let data = std::fs::read(&artifact)
                .with_context(|| format!("reading {}", artifact.display()))?;
            let linked = btfkit_link::link(&data)
                .with_context(|| format!("btfkit link of {}", artifact.display()))?;
            std::fs::write(&output, &linked.object)
                .with_context(|| format!("writing {}", output.display()))?;
            written.push(output);
        }
        Ok(written)
    }

    /// [`BpfBuild::run`], or `cargo:warning` lines with the error and its
    /// fix and exit status 1 (the build stops there).
    pub fn run_or_exit(&self) -> Vec<PathBuf> {
        match self.run() {
            Ok(paths) => paths,
            Err(error) => {
                for line in format!("{error:#}").lines() {
                    println!("cargo:warning=btfkit-build: {line}");
                }
                eprintln!("btfkit-build: {error:#}");
                std::process::exit(1);
            }
        }
    }
}

/// The source files cargo's dep-info (`<artifact>.d`) lists for `artifact`:
/// the crate's own and its path dependencies' (not registry crates').
fn dep_info(artifact: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(artifact.with_extension("d")) else {
        return Vec::new();
    };
    let mut deps = Vec::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once(": ") else {
            continue;
        };
        // Spaces inside a path are written `\ `.
        let mut current = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        deps.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                _ => current.push(c),
            }
        }
        if !current.is_empty() {
            deps.push(PathBuf::from(current));
        }
    }
    deps
}
