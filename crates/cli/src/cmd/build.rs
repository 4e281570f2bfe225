//! `btfkit build [--release] [--manifest-path P] [-o OUT]`: builds a BPF
//! crate for `bpfel-unknown-none` (rustc + bpf-linker with `--btf`) and runs
//! the link step on what it produced, so the result carries standard CO-RE
//! records. `--no-link` stops after the compile and hands over the object as
//! bpf-linker wrote it. The work is done by `btfkit-build` (crates/build),
//! the same library a user's `build.rs` calls.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use btfkit_build::{build_crate, find_toolchain, link_file, BuildOptions, TARGET};

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
    /// Keep rustc's DWARF (`.debug_*` sections) in the linked object. By
    /// default it is dropped: loaders read only `.BTF` and `.BTF.ext`, which
    /// keep the types and the source lines the verifier log and bpftool show.
    #[arg(long)]
    pub keep_debug: bool,
    /// Stop after compiling: write (or print the path of) the object exactly as
    /// bpf-linker produced it, query markers and type descriptors still in it.
    #[arg(long)]
    pub no_link: bool,
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
    let options = BuildOptions {
        release: args.release,
        ..BuildOptions::default()
    };
    let artifacts = build_crate(&toolchain, &manifest, &options)?;
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
            .unwrap_or_else(|| btfkit_build::default_output(artifact));
        eprintln!("btfkit build: linking {}", artifact.display());
        let options = btfkit_link::LinkOptions {
            keep_debug: args.keep_debug,
        };
        link_file(artifact, &output, args.verbose, &options)?;
        println!("{}", output.display());
    }
    Ok(ExitCode::SUCCESS)
}
