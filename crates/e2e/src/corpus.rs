//! A corpus of real CO-RE objects: the BPF ELF objects that Debian's `libbpf-tools`
//! binaries (`/usr/sbin/execsnoop`, ...) embed in their skeletons.
//!
//! Each tool carries its clang-compiled object as a byte string; it is found by
//! scanning the binary for an ELF header whose `e_machine` is 247 (`EM_BPF`), and its
//! length is where its section header table ends (`e_shoff + e_shnum * e_shentsize`:
//! clang writes that table last). [`extract_all`] writes every object into a cache
//! directory with a `manifest.tsv` (`tool`, object path, size); [`load_or_extract`]
//! reuses that cache.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `EM_BPF`.
const EM_BPF: u16 = 247;
/// Size of an ELF64 header.
const ELF64_HEADER_SIZE: usize = 64;
/// Largest embedded object accepted (libbpf-tools objects are a few hundred KiB).
const OBJECT_SIZE_LIMIT: u64 = 64 << 20;
/// Name of the manifest in the cache directory.
const MANIFEST: &str = "manifest.tsv";

/// Errors while building the corpus.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// `dpkg -L libbpf-tools` could not be run or failed.
    #[error("listing the files of package libbpf-tools (`dpkg -L libbpf-tools`; is it installed? `apt-get install libbpf-tools`): {0}")]
    Dpkg(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The manifest has a line that is not `tool \t path \t size`.
    #[error("{path}:{line}: malformed manifest line")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

/// Result of the corpus helpers.
pub type Result<T> = std::result::Result<T, CorpusError>;

/// One embedded BPF object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusObject {
    /// The tool it came from (file name of the binary, e.g. `execsnoop`).
    pub tool: String,
    /// Where the extracted object is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The default cache directory: `$BTFKIT_CORPUS_DIR`, else `target/btfkit-corpus` of
/// this workspace.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("BTFKIT_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/btfkit-corpus"))
}

/// The executables installed by package `libbpf-tools` (`dpkg -L`), sorted.
pub fn libbpf_tools_binaries() -> Result<Vec<PathBuf>> {
    let output = Command::new("dpkg")
        .args(["-L", "libbpf-tools"])
        .output()
        .map_err(|e| CorpusError::Dpkg(e.to_string()))?;
    if !output.status.success() {
        return Err(CorpusError::Dpkg(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    let mut binaries: Vec<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("/sbin/") || line.contains("/bin/"))
        .map(PathBuf::from)
        .filter(|path| path.is_file())
        .collect();
    binaries.sort();
    binaries.dedup();
    Ok(binaries)
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// The length of the little-endian ELF64 BPF object starting at `data[0]`, if one does.
fn bpf_object_len(data: &[u8]) -> Option<usize> {
    let header = data.get(..ELF64_HEADER_SIZE)?;
    // ELFCLASS64, ELFDATA2LSB.
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None;
    }
    if u16_at(header, 18)? != EM_BPF {
        return None;
    }
    let shoff = u64_at(header, 0x28)?;
    let shentsize = u64::from(u16_at(header, 0x3a)?);
    let shnum = u64::from(u16_at(header, 0x3c)?);
    let len = shoff.checked_add(shnum.checked_mul(shentsize)?)?;
    if shnum == 0 || len > OBJECT_SIZE_LIMIT || len < ELF64_HEADER_SIZE as u64 {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    (len <= data.len()).then_some(len)
}

/// Every BPF ELF object embedded in `binary`, in file order.
pub fn embedded_objects(binary: &[u8]) -> Vec<&[u8]> {
    let mut objects = Vec::new();
    let mut at = 0;
    while let Some(found) = binary
        .get(at..)
        .and_then(|rest| rest.windows(4).position(|w| w == b"\x7fELF"))
    {
        let start = at + found;
        match bpf_object_len(&binary[start..]) {
            Some(len) => {
                objects.push(&binary[start..start + len]);
                at = start + len;
            }
            None => at = start + 1,
        }
    }
    objects
}

/// Extracts the objects of every libbpf-tools binary into `cache_dir` as
/// `<tool>.bpf.o` (`<tool>.<n>.bpf.o` when a tool has more than one) and writes the
/// manifest.
pub fn extract_all(cache_dir: &Path) -> Result<Vec<CorpusObject>> {
    std::fs::create_dir_all(cache_dir).map_err(io_error(cache_dir))?;
    let mut corpus = Vec::new();
    for binary in libbpf_tools_binaries()? {
        let data = std::fs::read(&binary).map_err(io_error(&binary))?;
        let tool = binary
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let objects = embedded_objects(&data);
        for (index, object) in objects.iter().enumerate() {
            let file = if objects.len() == 1 {
                format!("{tool}.bpf.o")
            } else {
                format!("{tool}.{index}.bpf.o")
            };
            let path = cache_dir.join(file);
            std::fs::write(&path, object).map_err(io_error(&path))?;
            corpus.push(CorpusObject {
                tool: tool.clone(),
                path,
                size: object.len() as u64,
            });
        }
    }
    let manifest: String = corpus
        .iter()
        .map(|o| format!("{}\t{}\t{}\n", o.tool, o.path.display(), o.size))
        .collect();
    let manifest_path = cache_dir.join(MANIFEST);
    std::fs::write(&manifest_path, manifest).map_err(io_error(&manifest_path))?;
    Ok(corpus)
}

/// Reads the manifest of `cache_dir`.
pub fn read_manifest(cache_dir: &Path) -> Result<Vec<CorpusObject>> {
    let path = cache_dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(index, line)| {
            let mut fields = line.split('\t');
            let parsed = (|| {
                let tool = fields.next()?.to_owned();
                let object = PathBuf::from(fields.next()?);
                let size = fields.next()?.parse().ok()?;
                Some(CorpusObject {
                    tool,
                    path: object,
                    size,
                })
            })();
            parsed.ok_or(CorpusError::Manifest {
                path: path.clone(),
                line: index + 1,
            })
        })
        .collect()
}

/// The corpus in `cache_dir`: the manifest if it is there and every object it names
/// exists, else a fresh extraction.
pub fn load_or_extract(cache_dir: &Path) -> Result<Vec<CorpusObject>> {
    if let Ok(corpus) = read_manifest(cache_dir) {
        if !corpus.is_empty() && corpus.iter().all(|o| o.path.is_file()) {
            return Ok(corpus);
        }
    }
    extract_all(cache_dir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// A minimal ELF64 header with the given machine and section header table.
    fn header(machine: u16, shoff: u64, shnum: u16) -> Vec<u8> {
        let mut h = vec![0u8; ELF64_HEADER_SIZE];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        h[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        h[0x3c..0x3e].copy_from_slice(&shnum.to_le_bytes());
        h
    }

    #[test]
    fn finds_bpf_objects_and_skips_others() {
        let mut binary = header(62, 0, 0); // the host ELF itself
        binary.extend_from_slice(b"junk\x7fELF");
        let mut object = header(EM_BPF, 64, 2);
        object.resize(64 + 2 * 64, 0xaa);
        binary.extend_from_slice(&object);
        binary.extend_from_slice(b"tail");
        let found = embedded_objects(&binary);
        assert_eq!(found, vec![&object[..]]);
    }

    #[test]
    fn truncated_or_hostile_headers_are_skipped() {
        let too_long = header(EM_BPF, u64::MAX - 10, 100);
        assert!(embedded_objects(&too_long).is_empty());
        let past_end = header(EM_BPF, 4096, 1);
        assert!(embedded_objects(&past_end).is_empty());
        assert!(embedded_objects(b"\x7fELF").is_empty());
    }
}
