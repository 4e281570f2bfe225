//! `btfkit link IN [-o OUT]`: turns the query markers and type descriptors
//! of a compiled BPF object into standard `.BTF` / `.BTF.ext` CO-RE records.

use std::path::PathBuf;
use std::process::ExitCode;

use btfkit_build::{default_output, link_file};

/// Arguments of `btfkit link`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The BPF object built by rustc + bpf-linker.
    pub input: PathBuf,
    /// Where to write the linked object (default: `<input stem>.btfkit.o` next to the input).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print one line per CO-RE record added.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Runs `btfkit link`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input));
    link_file(&args.input, &output, args.verbose)?;
    Ok(ExitCode::SUCCESS)
}
