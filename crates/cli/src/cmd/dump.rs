//! `btfkit dump`: print BTF types.

use std::process::ExitCode;

/// Arguments of `btfkit dump`.
#[derive(clap::Args)]
pub struct Args {
    /// Raw BTF file, BPF object, vmlinux or .ko.
    pub file: std::path::PathBuf,
}

/// Runs `btfkit dump`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
