//! `btfkit gen`: Rust bindings (relocatable or fixed layout) from BTF.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use btfkit_gen::{Layout, Options, Source};
use btfkit_model::Btf;

/// Which definitions to emit.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// `#[btf::relocatable]` types for BPF programs (CO-RE relocates them at load time).
    Relocatable,
    /// `#[repr(C)]` types with this BTF's exact layout (user space, maps), `core` only.
    Fixed,
}

/// Arguments of `btfkit gen`.
#[derive(clap::Args)]
pub struct Args {
    /// Raw BTF, a BPF object, a vmlinux ELF or a .ko.
    #[arg(long, default_value = "/sys/kernel/btf/vmlinux")]
    pub btf: PathBuf,
    /// Types to emit with everything they reach (`task_struct`, `struct foo`,
    /// `union foo`, `enum foo`, `typedef foo`); none: every type.
    pub types: Vec<String>,
    /// Output file (default: standard output).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Relocatable (CO-RE) or fixed (exact layout) definitions.
    #[arg(long, value_enum, default_value = "relocatable")]
    pub layout: LayoutArg,
}

/// Runs `btfkit gen`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data = crate::cmd::dump::btf_bytes(&args.btf)?;
    let btf = Btf::parse(&data).with_context(|| format!("{}", args.btf.display()))?;
    let opts = Options {
        layout: match args.layout {
            LayoutArg::Relocatable => Layout::Relocatable,
            LayoutArg::Fixed => Layout::Fixed,
        },
        roots: args.types,
        source: Some(Source::new(args.btf.display().to_string(), &data)),
    };
    let text = btfkit_gen::generate(&btf, &opts)
        .with_context(|| format!("generating bindings from {}", args.btf.display()))?;
    match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).context("writing the bindings"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
