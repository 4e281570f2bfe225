//! The aya leg: load a btfkit-linked BPF object with **aya's own loader**, so that aya
//! (through `aya-obj`) performs the CO-RE relocations from the object's `.BTF.ext`, then
//! attach a program, let the caller trigger it, and read results back from a map.
//!
//! Versions: `aya` 0.14.0 with `aya-obj` 0.3.0, the newest pair that builds with the
//! host toolchain (rustc 1.95); later releases need rustc 1.98.
//!
//! Limits of aya's CO-RE support that matter for btfkit output (aya-obj 0.3.0):
//! - **No `TYPE_MATCHES`**: the relocation kind is unknown to aya-obj, and `.BTF.ext`
//!   is parsed when the object is parsed, so one `type_matches` record makes the whole
//!   object fail to load (`InvalidRelocationKind { kind: 12 }`), not just that query.
//! - **Flavors**: a local type name is cut at its *first* `___` to find target
//!   candidates (`task_struct___v1` matches `task_struct`), like libbpf's
//!   `bpf_core_essential_name_len` in the common case.
//! - **vmlinux only**: aya relocates against one target BTF (by default
//!   `/sys/kernel/btf/vmlinux`); split BTF of kernel modules (`/sys/kernel/btf/<module>`)
//!   is never consulted, so types defined in modules are not found.
//! - Target BTF parse errors are swallowed by `EbpfLoader::new()` (it then loads without
//!   relocating); this module therefore parses the target BTF itself and fails loudly.

use std::path::{Path, PathBuf};

use aya::maps::{Array, MapData};
use aya::programs::{RawTracePoint, TracePoint};
use aya::{Btf, Ebpf, EbpfLoader, Endianness, Pod};

/// The running kernel's BTF, used when no target BTF is given.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Errors of the aya leg; each says which step failed and for which name.
#[derive(Debug, thiserror::Error)]
pub enum AyaLegError {
    /// The target BTF could not be read or parsed by aya.
    #[error("aya could not parse target BTF {path}: {source}")]
    TargetBtf {
        /// Path of the BTF file.
        path: PathBuf,
        /// aya's error.
        #[source]
        source: aya::BtfError,
    },
    /// `EbpfLoader::load` failed: parsing, CO-RE relocation or map creation.
    #[error("aya failed to load the object (parse, CO-RE relocation or maps): {0}")]
    Load(#[source] Box<aya::EbpfError>),
    /// The object has no program of that name.
    #[error("the object has no program named `{0}`")]
    NoSuchProgram(String),
    /// The object has no map of that name.
    #[error("the object has no map named `{0}`")]
    NoSuchMap(String),
    /// The program is not of the type needed for the requested attachment.
    #[error("program `{name}` is not a {expected} program: {source}")]
    WrongProgramType {
        /// Program name.
        name: String,
        /// The program type the attachment needs.
        expected: &'static str,
        /// aya's error.
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    /// `BPF_PROG_LOAD` (verifier) failed; aya's message includes the verifier log.
    #[error("kernel rejected program `{name}`: {source}")]
    ProgramLoad {
        /// Program name.
        name: String,
        /// aya's error, with the verifier log.
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    /// Attaching failed.
    #[error("attaching program `{name}` to {target} failed: {source}")]
    Attach {
        /// Program name.
        name: String,
        /// What it was attached to.
        target: String,
        /// aya's error.
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    /// The map is not an array of the requested value type, or a lookup failed.
    #[error("reading map `{name}`: {source}")]
    Map {
        /// Map name.
        name: String,
        /// aya's error.
        #[source]
        source: Box<aya::maps::MapError>,
    },
    /// `aya-obj`'s offline CO-RE relocation failed.
    #[error("aya-obj failed to relocate the object offline: {0}")]
    OfflineRelocation(String),
}

/// Where a program is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment<'a> {
    /// A raw tracepoint (`BPF_RAW_TRACEPOINT_OPEN`, no tracefs needed), e.g. `sys_enter`.
    RawTracepoint(&'a str),
    /// A tracepoint `category/name` (needs tracefs mounted at `/sys/kernel/tracing`).
    Tracepoint {
        /// Tracepoint category, e.g. `syscalls`.
        category: &'a str,
        /// Tracepoint name, e.g. `sys_enter_getpid`.
        name: &'a str,
    },
}

impl std::fmt::Display for Attachment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RawTracepoint(name) => write!(f, "raw tracepoint {name}"),
            Self::Tracepoint { category, name } => write!(f, "tracepoint {category}/{name}"),
        }
    }
}

/// How to load an object with aya.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions<'a> {
    /// Target BTF for CO-RE; `None` means the running kernel's ([`VMLINUX_BTF`]).
    pub target_btf: Option<&'a Path>,
    /// Globals (`.rodata`/`.data`/`.bss` symbols) to set before the maps are created:
    /// `(symbol, bytes)`; each must exist in the object.
    pub globals: Vec<(&'a str, &'a [u8])>,
}

/// An object loaded by aya, with its attached programs (detached on drop).
pub struct AyaLeg {
    ebpf: Ebpf,
}

impl std::fmt::Debug for AyaLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let programs: Vec<&str> = self.ebpf.programs().map(|(name, _)| name).collect();
        let maps: Vec<&str> = self.ebpf.maps().map(|(name, _)| name).collect();
        f.debug_struct("AyaLeg")
            .field("programs", &programs)
            .field("maps", &maps)
            .finish()
    }
}

/// Parses a BTF file with aya's parser.
fn parse_target_btf(path: &Path) -> Result<Btf, AyaLegError> {
    Btf::parse_file(path, Endianness::default()).map_err(|source| AyaLegError::TargetBtf {
        path: path.to_owned(),
        source,
    })
}

impl AyaLeg {
    /// Parses `object`, relocates it with aya against the target BTF and creates its maps.
    /// Programs are not loaded into the kernel until [`AyaLeg::attach`].
    pub fn load(object: &[u8], options: &LoadOptions<'_>) -> Result<Self, AyaLegError> {
        let btf_path = options.target_btf.unwrap_or(Path::new(VMLINUX_BTF));
        let btf = parse_target_btf(btf_path)?;
        // aya wants 4-byte aligned input; a Vec<u8> copy of a file slice may not be.
        let aligned = AlignedBytes::new(object);
        let mut loader = EbpfLoader::new();
        loader.btf(Some(&btf));
        for &(name, bytes) in &options.globals {
            loader.override_global(name, bytes, true);
        }
        let ebpf = loader
            .load(aligned.as_bytes())
            .map_err(|e| AyaLegError::Load(Box::new(e)))?;
        Ok(Self { ebpf })
    }

    /// Loads program `name` into the kernel (verifier) and attaches it.
    pub fn attach(&mut self, name: &str, attachment: Attachment<'_>) -> Result<(), AyaLegError> {
        let program = self
            .ebpf
            .program_mut(name)
            .ok_or_else(|| AyaLegError::NoSuchProgram(name.to_owned()))?;
        let attach_error = |source| AyaLegError::Attach {
            name: name.to_owned(),
            target: attachment.to_string(),
            source: Box::new(source),
        };
        let load_error = |source| AyaLegError::ProgramLoad {
            name: name.to_owned(),
            source: Box::new(source),
        };
        match attachment {
            Attachment::RawTracepoint(tracepoint) => {
                let program: &mut RawTracePoint =
                    program
                        .try_into()
                        .map_err(|source| AyaLegError::WrongProgramType {
                            name: name.to_owned(),
                            expected: "raw tracepoint",
                            source: Box::new(source),
                        })?;
                program.load().map_err(load_error)?;
                program.attach(tracepoint).map_err(attach_error)?;
            }
            Attachment::Tracepoint { category, name: tp } => {
                let program: &mut TracePoint =
                    program
                        .try_into()
                        .map_err(|source| AyaLegError::WrongProgramType {
                            name: name.to_owned(),
                            expected: "tracepoint",
                            source: Box::new(source),
                        })?;
                program.load().map_err(load_error)?;
                program.attach(category, tp).map_err(attach_error)?;
            }
        }
        Ok(())
    }

    /// Reads every element of the array map `name` (for global data: `.bss`, `.data`,
    /// `.rodata`, a one-element array whose value is the whole section; read it with
    /// `V = [u8; SECTION_SIZE]`).
    pub fn read_array<V: Pod>(&self, name: &str) -> Result<Vec<V>, AyaLegError> {
        let map = self
            .ebpf
            .map(name)
            .ok_or_else(|| AyaLegError::NoSuchMap(name.to_owned()))?;
        let map_error = |source| AyaLegError::Map {
            name: name.to_owned(),
            source: Box::new(source),
        };
        let array: Array<&MapData, V> = Array::try_from(map).map_err(map_error)?;
        (0..array.len())
            .map(|index| array.get(&index, 0).map_err(map_error))
            .collect()
    }

    /// Names of the maps aya created (global data maps are named after their section).
    pub fn map_names(&self) -> Vec<String> {
        self.ebpf.maps().map(|(name, _)| name.to_owned()).collect()
    }
}

/// Loads `object` with aya, attaches `program`, runs `trigger`, then reads back the
/// array map `map` (every element, as `u64`). The program is detached when this returns.
pub fn run_and_read_u64(
    object: &[u8],
    options: &LoadOptions<'_>,
    program: &str,
    attachment: Attachment<'_>,
    trigger: impl FnOnce(),
    map: &str,
) -> Result<Vec<u64>, AyaLegError> {
    let mut leg = AyaLeg::load(object, options)?;
    leg.attach(program, attachment)?;
    trigger();
    leg.read_array::<u64>(map)
}

/// One BPF instruction, decoded (btfkit-object's type).
pub use btfkit_object::Insn;

/// aya-obj's instruction as btfkit-object's.
fn insn_from_aya(insn: &aya_obj::generated::bpf_insn) -> Insn {
    Insn {
        code: insn.code,
        dst_reg: insn.dst_reg(),
        src_reg: insn.src_reg(),
        off: insn.off,
        imm: insn.imm,
    }
}

/// A function of the object before and after aya-obj's CO-RE relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelocatedFunction {
    /// Symbol name.
    pub name: String,
    /// Byte offset of the function in its section.
    pub section_offset: usize,
    /// Instructions as compiled (and linked).
    pub original: Vec<Insn>,
    /// Instructions after relocation against the target BTF.
    pub relocated: Vec<Insn>,
}

impl RelocatedFunction {
    /// The instructions aya changed: `(index, before, after)`.
    pub fn patched(&self) -> Vec<(usize, Insn, Insn)> {
        self.original
            .iter()
            .zip(&self.relocated)
            .enumerate()
            .filter(|(_, (before, after))| before != after)
            .map(|(index, (before, after))| (index, *before, *after))
            .collect()
    }
}

/// Relocates `object` with aya-obj against `target_btf` without touching the kernel
/// (so any kernel's BTF can be the target) and returns each function before and after.
pub fn relocate_offline(
    object: &[u8],
    target_btf: &Path,
) -> Result<Vec<RelocatedFunction>, AyaLegError> {
    let btf = parse_target_btf(target_btf)?;
    let aligned = AlignedBytes::new(object);
    let mut parsed = aya_obj::Object::parse(aligned.as_bytes())
        .map_err(|e| AyaLegError::OfflineRelocation(format!("parse: {}", error_chain(&e))))?;
    let original: Vec<Vec<Insn>> = parsed
        .functions
        .values()
        .map(|function| function.instructions.iter().map(insn_from_aya).collect())
        .collect();
    parsed
        .relocate_btf(&btf)
        .map_err(|e| AyaLegError::OfflineRelocation(error_chain(&e)))?;
    Ok(parsed
        .functions
        .values()
        .zip(original)
        .map(|(function, original)| RelocatedFunction {
            name: function.name.clone(),
            section_offset: function.section_offset,
            original,
            relocated: function.instructions.iter().map(insn_from_aya).collect(),
        })
        .collect())
}

/// Renders an error with all its sources (aya's top-level messages are terse).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some aya errors already print their source; do not repeat it.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A copy of some bytes that starts on an 8-byte boundary (aya requires 4).
struct AlignedBytes {
    buffer: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBytes {
    fn new(bytes: &[u8]) -> Self {
        let mut buffer = vec![0u8; bytes.len() + 8];
        // `align_offset` may give up (usize::MAX); then keep offset 0 and let aya complain.
        let start = match buffer.as_ptr().align_offset(8) {
            offset if offset < 8 => offset,
            _ => 0,
        };
        buffer[start..start + bytes.len()].copy_from_slice(bytes);
        Self {
            buffer,
            start,
            len: bytes.len(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buffer[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn aligned_bytes_are_aligned_and_equal() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        for skip in 0..8 {
            let aligned = AlignedBytes::new(&data[skip..]);
            assert_eq!(aligned.as_bytes(), &data[skip..]);
            assert_eq!(aligned.as_bytes().as_ptr().align_offset(8), 0);
        }
        assert!(AlignedBytes::new(&[]).as_bytes().is_empty());
    }

    #[test]
    fn missing_target_btf_names_the_path() {
        let path = Path::new("/nonexistent/btfkit/vmlinux.btf");
        let error = relocate_offline(b"\x7fELF", path).unwrap_err();
        assert!(matches!(error, AyaLegError::TargetBtf { .. }), "{error:?}");
        assert!(error_chain(&error).contains("/nonexistent/btfkit/vmlinux.btf"));
    }

    #[test]
    fn garbage_object_is_an_error_not_a_panic() {
        let btf = Path::new(VMLINUX_BTF);
        if !btf.exists() {
            panic!("prerequisite missing: {VMLINUX_BTF}");
        }
        for input in [&b""[..], b"\x7fELF", &[0u8; 64][..]] {
            let error = relocate_offline(input, btf).unwrap_err();
            assert!(
                matches!(error, AyaLegError::OfflineRelocation(_)),
                "{error:?}"
            );
        }
    }
}
