//! `btfkit dump`: print the types of a BTF file, BPF object, vmlinux or .ko.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use btfkit_model::Btf;

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// bpftool's raw format (`bpftool btf dump file F`), byte for byte.
    Raw,
    /// Compilable C declarations (a `vmlinux.h`), like bpftool's `format c`.
    C,
}

/// Arguments of `btfkit dump`.
#[derive(clap::Args)]
pub struct Args {
    /// Raw BTF (e.g. /sys/kernel/btf/vmlinux), a BPF object, a vmlinux ELF or a .ko.
    pub file: PathBuf,
    /// Base BTF for split BTF (a module's BTF on top of vmlinux).
    #[arg(long, short = 'B')]
    pub base: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "raw")]
    pub format: Format,
    /// JSON instead of text: bpftool's `-j` output (`{"types":[...]}`, its field names and
    /// order). Unlike bpftool, unsigned 32-bit enum values from 2^31 up are not sign-extended.
    #[arg(long)]
    pub json: bool,
}

/// The BTF bytes of `path`: the file itself when it is raw BTF, else its `.BTF` section.
pub fn btf_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if btfkit_object::is_elf(&data) {
        let btf = btfkit_object::btf_from_elf(&data)
            .with_context(|| format!("{}: no usable .BTF section", path.display()))?;
        Ok(btf.to_vec())
    } else if btfkit_object::is_raw_btf(&data) {
        Ok(data)
    } else {
        bail!("{}: neither raw BTF nor an ELF file", path.display())
    }
}

/// Most text a dump writes per byte of BTF (plus 1 MiB): a kernel's raw dump
/// is about 2.2 times its BTF; hostile BTF can give one long name to every
/// member and multiply it without bound.
pub const MAX_TEXT_PER_INPUT_BYTE: u64 = 64;

/// A writer that fails once more than `left` bytes went through it.
struct Budget<W> {
    inner: W,
    left: u64,
}

impl<W: Write> Write for Budget<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the dump would exceed {MAX_TEXT_PER_INPUT_BYTE} bytes of text per byte of BTF \
                     (MAX_TEXT_PER_INPUT_BYTE): the BTF repeats long names"
                ),
            ));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Runs `btfkit dump`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data = btf_bytes(&args.file)?;
    let base_data = args.base.as_deref().map(btf_bytes).transpose()?;
    let base = base_data
        .as_deref()
        .map(|b| Btf::parse(b).map(Arc::new))
        .transpose()
        .context("base BTF")?;
    let btf = match base {
        Some(base) => Btf::parse_split(&data, base),
        None => Btf::parse(&data),
    }
    .with_context(|| format!("{}", args.file.display()))?;
    let stdout = io::stdout();
    let mut out = Budget {
        inner: BufWriter::with_capacity(1 << 16, stdout.lock()),
        left: (data.len() as u64)
            .saturating_add(base_data.as_ref().map_or(0, |b| b.len() as u64))
            .saturating_mul(MAX_TEXT_PER_INPUT_BYTE)
            .saturating_add(1 << 20),
    };
    let written = match (args.json, args.format) {
        (true, _) => btfkit_model::dump::json::write_all(&btf, &mut out),
        (false, Format::Raw) => btfkit_model::dump::raw::write_all(&btf, &mut out),
        (false, Format::C) => btfkit_model::dump::c::write_all(&btf, &mut out),
    }
    .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing the dump"),
    }
}
