//! `btfkit link IN [-o OUT]`: turns the query markers and type descriptors
//! of a compiled BPF object into standard `.BTF` / `.BTF.ext` CO-RE records.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

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

/// The default output path: `<dir>/<stem>.btfkit.o`.
pub fn default_output(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    input.with_file_name(format!("{stem}.btfkit.o"))
}

/// Links `input` into `output`, printing a summary (and the records when
/// `verbose`) on stderr.
pub fn link_file(input: &Path, output: &Path, verbose: bool) -> anyhow::Result<()> {
    let data = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let linked =
        btfkit_link::link(&data).with_context(|| format!("linking {}", input.display()))?;
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

/// Runs `btfkit link`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input));
    link_file(&args.input, &output, args.verbose)?;
    Ok(ExitCode::SUCCESS)
}
