//! `btfkit build [--release] [--manifest-path P] [-o OUT]`: builds a BPF
//! crate for `bpfel-unknown-none` (rustc + bpf-linker with `--btf`) and runs
//! the link step on what it produced, so the result carries standard CO-RE
//! records. `--no-link` stops after the compile and hands over the object as
//! bpf-linker wrote it. Toolchain discovery ([`find_toolchain`]) and the cargo
//! run ([`build_crate`]) are shared with `btfkit demo`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context};

use super::link::link_file;

/// The BPF target btfkit builds for.
pub const TARGET: &str = "bpfel-unknown-none";

/// Arguments of `btfkit build`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
    /// The BPF crate's Cargo.toml (default: ./Cargo.toml).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Where to write the linked object (only with a single artifact;
    /// default: `<artifact stem>.btfkit.o` next to the artifact).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print one line per CO-RE record added.
    #[arg(short, long)]
    pub verbose: bool,
    /// Stop after compiling: write (or print the path of) the object exactly as
    /// bpf-linker produced it, query markers and type descriptors still in it.
    #[arg(long)]
    pub no_link: bool,
}

/// How to compile Rust for BPF on this machine.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The cargo to run.
    pub cargo: PathBuf,
    /// `RUSTC` for it, when it must be set.
    pub rustc: Option<PathBuf>,
    /// Extra cargo arguments (`-Z build-std=core` on nightly).
    pub cargo_args: Vec<String>,
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

/// Finds a compiler with a BPF `core` and `bpf-linker`, honouring the
/// variables of `scripts/env.sh`: `BTFKIT_CARGO` / `BTFKIT_RUSTC` (default
/// Debian's `/usr/bin/cargo` and `/usr/bin/rustc` when the prebuilt BPF
/// libraries are in `/usr/lib/rustlib/bpfel-unknown-none`), else cargo from
/// `PATH` with `-Z build-std=core` (rustup nightly + rust-src); `bpf-linker`
/// from `PATH` or `$BTFKIT_TOOLS/bin` (default `~/.local/share/btfkit/bin`).
pub fn find_toolchain() -> anyhow::Result<Toolchain> {
    let tools = std::env::var_os("BTFKIT_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/btfkit")));
    let tools_linker = tools
        .map(|t| t.join("bin"))
        .filter(|d| d.join("bpf-linker").is_file());
    let linker_dir = if on_path("bpf-linker").is_some() {
        None
    } else if let Some(dir) = tools_linker {
        Some(dir)
    } else {
        bail!(
            "bpf-linker not found on PATH nor in $BTFKIT_TOOLS/bin (~/.local/share/btfkit/bin); \
             scripts/setup.sh builds it (or: cargo install bpf-linker)"
        );
    };
    let env_path = |name: &str, default: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let rustc = env_path("BTFKIT_RUSTC", "/usr/bin/rustc");
    let cargo = env_path("BTFKIT_CARGO", "/usr/bin/cargo");
    if Path::new("/usr/lib/rustlib").join(TARGET).is_dir() && rustc.is_file() && cargo.is_file() {
        return Ok(Toolchain {
            cargo,
            rustc: Some(rustc),
            cargo_args: Vec::new(),
            linker_dir,
        });
    }
    let cargo = on_path("cargo").context(
        "no BPF-capable Rust found: install Debian's rustc-web cargo-web \
         libstd-rust-web-dev-bpf, or rustup nightly with rust-src",
    )?;
    Ok(Toolchain {
        cargo,
        rustc: None,
        cargo_args: vec!["-Z".into(), "build-std=core".into()],
        linker_dir,
    })
}

/// Builds the crate of `manifest` for BPF with BTF; returns the artifacts
/// (cdylib `.so` files and binaries) cargo reports.
pub fn build_crate(
    toolchain: &Toolchain,
    manifest: &Path,
    release: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut cmd = Command::new(&toolchain.cargo);
    cmd.arg("build")
        .args(&toolchain.cargo_args)
        .args([
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(manifest);
    if release {
        cmd.arg("--release");
    }
    if let Some(rustc) = &toolchain.rustc {
        cmd.env("RUSTC", rustc);
    }
    if let Some(dir) = &toolchain.linker_dir {
        let mut paths = vec![dir.clone()];
        if let Some(old) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&old));
        }
        cmd.env("PATH", std::env::join_paths(paths)?);
    }
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    for flag in ["-C link-arg=--btf", "-C debuginfo=2"] {
        if !rustflags.contains(flag) {
            rustflags = format!("{rustflags} {flag}").trim().to_string();
        }
    }
    cmd.env("RUSTFLAGS", rustflags)
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
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

/// Runs `btfkit build`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let manifest = args
        .manifest_path
        .clone()
        .unwrap_or_else(|| PathBuf::from("Cargo.toml"));
    if !manifest.is_file() {
        bail!("no manifest at {}", manifest.display());
    }
    let toolchain = find_toolchain()?;
    eprintln!(
        "btfkit build: compiling {} for {TARGET} ({}) with {}",
        manifest.display(),
        if args.release { "release" } else { "debug" },
        toolchain.cargo.display()
    );
    let artifacts = build_crate(&toolchain, &manifest, args.release)?;
    if args.output.is_some() && artifacts.len() > 1 {
        bail!(
            "-o needs a single artifact; cargo built {}: {}",
            artifacts.len(),
            artifacts
                .iter()
                .map(|a| a.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for artifact in &artifacts {
        if args.no_link {
            let path = match &args.output {
                Some(out) => {
                    std::fs::copy(artifact, out).with_context(|| {
                        format!("copying {} to {}", artifact.display(), out.display())
                    })?;
                    out.clone()
                }
                None => artifact.clone(),
            };
            println!("{}", path.display());
            continue;
        }
        let output = args
            .output
            .clone()
            .unwrap_or_else(|| super::link::default_output(artifact));
        eprintln!("btfkit build: linking {}", artifact.display());
        link_file(artifact, &output, args.verbose)?;
        println!("{}", output.display());
    }
    Ok(ExitCode::SUCCESS)
}
