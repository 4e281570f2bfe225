//! `btfkit gen`: Rust bindings (relocatable or fixed layout) from BTF.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// Output usable through `include!(concat!(env!("OUT_DIR"), "/vmlinux.rs"))`
    /// (the build.rs pattern) as well as a module file: no inner `//!` or
    /// `#![allow]`; the items sit in a module with the `#[allow]`s and are
    /// re-exported.
    #[arg(long)]
    pub include_safe: bool,
    /// Write a named struct or union that the given types reach only through
    /// pointers as an opaque pointee (`#[btf::opaque]`: no members), and skip
    /// what only it reaches. Far fewer types to compile (a faster cold
    /// build); a path that goes into one fails to compile, naming the type to
    /// add to the list. Relocatable layout only.
    #[arg(long)]
    pub opaque_pointees: bool,
}

/// Runs `btfkit gen`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data = Input::of(&args.btf)?;
    let btf = Btf::parse(&data).with_context(|| format!("{}", args.btf.display()))?;
    let opts = Options {
        layout: match args.layout {
            LayoutArg::Relocatable => Layout::Relocatable,
            LayoutArg::Fixed => Layout::Fixed,
        },
        roots: args.types,
        source: Some(Source::new(args.btf.display().to_string(), &data)),
        include_safe: args.include_safe,
        opaque_pointees: args.opaque_pointees,
    };
    let context = || format!("generating bindings from {}", args.btf.display());
    match &args.output {
        Some(path) => {
            // The text goes to the file as it is generated; the file is
            // created with the first bytes, so BTF refused before any
            // output leaves an existing file alone.
            let mut out = LazyFile { path, file: None };
            let result = btfkit_gen::generate_to(&btf, &opts, &mut out);
            if let Err(e) = result {
                out.discard();
                return Err(match e {
                    btfkit_gen::Error::Io(io) => {
                        anyhow::Error::new(io).context(format!("cannot write {}", path.display()))
                    }
                    e => anyhow::Error::new(e).context(context()),
                });
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            match btfkit_gen::generate_to(&btf, &opts, &mut out) {
                Ok(()) => {}
                Err(btfkit_gen::Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(btfkit_gen::Error::Io(e)) => return Err(e).context("writing the bindings"),
                Err(e) => return Err(e).with_context(context),
            }
            match out.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).context("writing the bindings"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The BTF bytes: the kernel's own BTF mapped, anything else read.
enum Input {
    /// A file of `/sys/kernel/btf` (the kernel's BTF, which does not change).
    Mapped(memmap2::Mmap),
    /// The bytes of [`crate::cmd::dump::btf_bytes`].
    Read(Vec<u8>),
}

impl Input {
    fn of(path: &Path) -> anyhow::Result<Input> {
        if let Some(map) = Self::map_kernel_btf(path) {
            return Ok(Input::Mapped(map));
        }
        Ok(Input::Read(crate::cmd::dump::btf_bytes(path)?))
    }

    /// A private read-only mapping of a raw BTF file under `/sys/kernel/btf`
    /// (no copy, and no page faults: the kernel maps its pages up front);
    /// `None` when the path is elsewhere, the kernel cannot map it, or it is
    /// not raw BTF.
    fn map_kernel_btf(path: &Path) -> Option<memmap2::Mmap> {
        let real = std::fs::canonicalize(path).ok()?;
        if !real.starts_with("/sys/kernel/btf/") {
            return None;
        }
        let file = File::open(&real).ok()?;
        // SAFETY: the mapping is private and read-only, and the kernel's BTF
        // under /sys/kernel/btf never changes while it is mapped (the kernel
        // owns it, nothing can write it), so the bytes stay what was mapped.
        let map = unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) }.ok()?;
        btfkit_object::is_raw_btf(&map).then_some(map)
    }
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Read(v) => v,
        }
    }
}

/// The output file, created (truncated) on the first write.
struct LazyFile<'p> {
    path: &'p Path,
    file: Option<File>,
}

impl LazyFile<'_> {
    /// After a failure: a regular file this run wrote is removed rather than
    /// left half written (a device such as `/dev/null` is left alone).
    fn discard(&mut self) {
        if let Some(file) = self.file.take() {
            let regular = file.metadata().is_ok_and(|m| m.is_file());
            drop(file);
            if regular {
                let _ = std::fs::remove_file(self.path);
            }
        }
    }
}

impl Write for LazyFile<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(File::create(self.path)?),
        };
        file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}
