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
    /// Keep rustc's DWARF (`.debug_*` sections) in the linked object. By
    /// default it is dropped: loaders read only `.BTF` and `.BTF.ext`, which
    /// keep the types and the source lines the verifier log and bpftool show.
    #[arg(long)]
    pub keep_debug: bool,
}

/// Runs `btfkit link`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input));
    let options = btfkit_link::LinkOptions {
        keep_debug: args.keep_debug,
    };
    link_file(&args.input, &output, args.verbose, &options)?;
    Ok(ExitCode::SUCCESS)
}
