//! Building a Rust BPF crate: finding a compiler with a BPF `core` and
//! `bpf-linker` ([`find_toolchain`]), running cargo for `bpfel-unknown-none`
//! with BTF ([`build_crate`]), the link step ([`link_file`]), and the whole
//! job from a user-space crate's `build.rs` ([`BpfBuild`]). `btfkit build`
//! and `btfkit demo` are built on the same functions.
//!
//! In the user-space crate's `build.rs` (`main.rs` then embeds
//! `include_bytes!(concat!(env!("OUT_DIR"), "/mytool-ebpf.bpf.o"))`):
//!
//! ```no_run
//! btfkit_build::BpfBuild::new("../mytool-ebpf").run_or_exit();
//! ```

mod build_rs;
mod cargo;
mod toolchain;

pub use build_rs::BpfBuild;
pub use cargo::{build_crate, BuildOptions};
pub use toolchain::{describe_toolchain, find_toolchain, Route, Toolchain};

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The BPF target btfkit builds for.
pub const TARGET: &str = "bpfel-unknown-none";

/// The default output of the link step: `<dir>/<stem>.btfkit.o`.
pub fn default_output(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    input.with_file_name(format!("{stem}.btfkit.o"))
}

/// Links `input` into `output` with `options` (DWARF dropped unless
/// `keep_debug`), printing a summary (and the records when `verbose`) on
/// stderr.
pub fn link_file(
    input: &Path,
    output: &Path,
    verbose: bool,
    options: &btfkit_link::LinkOptions,
) -> anyhow::Result<()> {
    let data = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let linked = btfkit_link::link_with(&data, options)
        .with_context(|| format!("linking {}", input.display()))?;
    if verbose {
        for r in &linked.relocations {
            eprintln!(
                "  {} +{:#x}: <{}> [{}] {} {} = {} ({})",
                r.section,
                r.insn_off,
                r.kind,
                r.type_id,
                r.type_name,
                r.access,
                r.local_value as i64,
                r.marker
            );
        }
    }
    std::fs::write(output, &linked.object)
        .with_context(|| format!("writing {}", output.display()))?;
    eprintln!(
        "btfkit link: {} CO-RE record(s), {} local type(s) from {} descriptor(s); wrote {}",
        linked.relocations.len(),
        linked.local_types.len(),
        linked.descriptors,
        output.display()
    );
    Ok(())
}
