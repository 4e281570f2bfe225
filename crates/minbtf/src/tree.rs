//! Many kernels at once: a tree of full BTF files laid out like BTFHub's
//! archive (`<distro>/<release>/<arch>/<kernel>.btf`, or `.btf.tar.xz`: an xz
//! tar holding `<kernel>.btf`) becomes the same tree of tailored files,
//! compressed like their input. Files are tailored in parallel; a file that
//! cannot be read or tailored is reported and the run goes on.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use btfkit_model::Btf;

use crate::{tailor, Failure, Output};

/// Largest decompressed BTF accepted from an archive (hostile input).
pub const MAX_BTF_SIZE: u64 = 512 << 20;

/// How a kernel's file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Raw BTF, `<kernel>.btf`.
    Raw,
    /// `<kernel>.btf.tar.xz`: a tar with `<kernel>.btf`, xz-compressed.
    TarXz,
}

impl Format {
    /// The format of `path` by its name, if it is a kernel BTF file.
    pub fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        if name.ends_with(".btf.tar.xz") {
            Some(Format::TarXz)
        } else if name.ends_with(".btf") {
            Some(Format::Raw)
        } else {
            None
        }
    }
}

/// The kernel release a BTFHub file name stands for (`5.4.0-1010-aws.btf.tar.xz`
/// → `5.4.0-1010-aws`).
pub fn kernel_of(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".btf.tar.xz")
        .or_else(|| name.strip_suffix(".btf"))
}

/// Every kernel BTF file under `root`, as paths relative to it, sorted.
pub fn find_kernels(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        for entry in std::fs::read_dir(root.join(&rel))? {
            let entry = entry?;
            let path = rel.join(entry.file_name());
            let ty = entry.file_type()?;
            if ty.is_dir() {
                dirs.push(path);
            } else if ty.is_file() && Format::of(&path).is_some() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The raw BTF held by `bytes` stored as `format`.
pub fn unpack(bytes: &[u8], format: Format) -> Result<Vec<u8>, String> {
    match format {
        Format::Raw => Ok(bytes.to_vec()),
        Format::TarXz => {
            let mut tar_bytes = Vec::new();
            lzma_rust2::XzReader::new(bytes, true)
                .take(MAX_BTF_SIZE + (1 << 20))
                .read_to_end(&mut tar_bytes)
                .map_err(|e| format!("xz: {e}"))?;
            let mut archive = tar::Archive::new(&tar_bytes[..]);
            for entry in archive.entries().map_err(|e| format!("tar: {e}"))? {
                let mut entry = entry.map_err(|e| format!("tar: {e}"))?;
                if entry.header().entry_type().is_file() {
                    let mut out = Vec::new();
                    entry
                        .by_ref()
                        .take(MAX_BTF_SIZE)
                        .read_to_end(&mut out)
                        .map_err(|e| format!("tar: {e}"))?;
                    return Ok(out);
                }
            }
            Err("the archive holds no file".into())
        }
    }
}

/// `btf` stored as `format`, named `<kernel>.btf` inside an archive.
pub fn pack(btf: &[u8], format: Format, kernel: &str) -> Result<Vec<u8>, String> {
    match format {
        Format::Raw => Ok(btf.to_vec()),
        Format::TarXz => {
            let mut builder = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.set_size(btf.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, format!("{kernel}.btf"), btf)
                .map_err(|e| format!("tar: {e}"))?;
            let tar_bytes = builder.into_inner().map_err(|e| format!("tar: {e}"))?;
            let xz = |e: std::io::Error| format!("xz: {e}");
            let mut w =
                lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6))
                    .map_err(xz)?;
            w.write_all(&tar_bytes).map_err(xz)?;
            w.finish().map_err(xz)
        }
    }
}

/// What happened to one kernel's file.
#[derive(Debug, Clone)]
pub struct KernelReport {
    /// The file, relative to the input root.
    pub path: PathBuf,
    /// Bytes of the input file (as stored).
    pub bytes_in: u64,
    /// Bytes of the output file (as stored); 0 when none was written.
    pub bytes_out: u64,
    /// Relocations that fail on this kernel.
    pub failures: Vec<Failure>,
    /// Why no file was written (unreadable, corrupt BTF, ...).
    pub error: Option<String>,
    /// Time taken.
    pub elapsed: Duration,
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// One report per kernel file, in path order.
    pub kernels: Vec<KernelReport>,
}

impl Summary {
    /// Total bytes in.
    pub fn bytes_in(&self) -> u64 {
        self.kernels.iter().map(|k| k.bytes_in).sum()
    }
    /// Total bytes out.
    pub fn bytes_out(&self) -> u64 {
        self.kernels.iter().map(|k| k.bytes_out).sum()
    }
    /// Kernels whose file could not be tailored.
    pub fn errors(&self) -> usize {
        self.kernels.iter().filter(|k| k.error.is_some()).count()
    }
}

/// Tailors one stored file and writes it to `output`.
pub fn tailor_file(
    input: &Path,
    output: &Path,
    objects: &[(&str, &[u8])],
) -> Result<(u64, u64, Vec<Failure>), String> {
    let format = Format::of(input).ok_or("not a .btf or .btf.tar.xz file")?;
    let kernel = kernel_of(input).unwrap_or("vmlinux");
    let stored = std::fs::read(input).map_err(|e| e.to_string())?;
    let raw = unpack(&stored, format)?;
    let full = Btf::parse(&raw).map_err(|e| format!("BTF: {e}"))?;
    let t = tailor(&full, objects, Output::Standalone).map_err(|e| e.to_string())?;
    let out = pack(&t.btf, format, kernel)?;
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(output, &out).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok((stored.len() as u64, out.len() as u64, t.failures))
}

/// Tailors every kernel file under `input` into the same place under
/// `output`, with `jobs` threads; `progress` is called once per kernel as it
/// finishes (from any thread).
pub fn tailor_tree(
    input: &Path,
    output: &Path,
    objects: &[(&str, &[u8])],
    jobs: usize,
    progress: &(dyn Fn(&KernelReport) + Sync),
) -> std::io::Result<Summary> {
    let files = find_kernels(input)?;
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(files.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(rel) = files.get(i) else { break };
                let start = Instant::now();
                let src = input.join(rel);
                let bytes_in = std::fs::metadata(&src).map(|m| m.len()).unwrap_or(0);
                let mut report = KernelReport {
                    path: rel.clone(),
                    bytes_in,
                    bytes_out: 0,
                    failures: Vec::new(),
                    error: None,
                    elapsed: Duration::ZERO,
                };
                match tailor_file(&src, &output.join(rel), objects) {
                    Ok((_, out, failures)) => {
                        report.bytes_out = out;
                        report.failures = failures;
                    }
                    Err(e) => report.error = Some(e),
                }
                report.elapsed = start.elapsed();
                progress(&report);
                if let Ok(mut done) = done.lock() {
                    done.push(report);
                }
            });
        }
    });
    let mut kernels = done.into_inner().unwrap_or_default();
    kernels.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Summary { kernels })
}
