//! The libbpf reference oracle: what **libbpf 1.7** (vendored by `libbpf-sys`) makes of
//! a BPF object's CO-RE relocations against a chosen target BTF, without loading any
//! program into the kernel.
//!
//! [`relocate`] opens the object with `btf_custom_path` set to the target BTF (raw BTF
//! or an ELF with `.BTF`), calls `bpf_object__prepare` (libbpf ≥ 1.6: ELF processing,
//! CO-RE, subprogram and data relocations, no program load), then reads every program's
//! final instructions and parses libbpf's debug log into one [`Decision`] per CO-RE
//! record.
//!
//! # What changes in a prepared program, and how to isolate CO-RE
//!
//! `bpf_object__prepare` does more than CO-RE, and [`OracleProgram::insns`] shows all of
//! it:
//!
//! - **CO-RE** patches exactly the instructions named by `.BTF.ext` core_relo records:
//!   `imm` of an ALU instruction, `off` (and possibly the size bits of `code`) of an
//!   LDX/ST/STX, both `imm` halves of an `ld_imm64`, or replaces the instruction (both
//!   slots of an `ld_imm64`) by the poison call `85 00 00 00 10 23 ad 0b` (`call
//!   0xbad2310`). No later step touches these instructions.
//! - **Subprograms** (functions of `.text` and other non-entry functions) are appended
//!   after the main program's code, and `call`s / `ld_imm64` of function addresses get
//!   new pc-relative immediates. [`OracleProgram::functions`] says where each copy starts.
//! - **Maps and global data**: `ld_imm64` with map relocations get `src_reg` set and a
//!   map fd in `imm`. By default ([`OracleOptions::create_maps`] false) no map is
//!   created: libbpf then replaces those `ld_imm64` by its map poison call (deterministic
//!   bytes, no kernel objects), which is harmless because nothing is loaded.
//! - **Externs** (`.kconfig`, ksyms, kfuncs) are resolved against the *running* kernel,
//!   and helper calls the running kernel lacks may be rewritten.
//!
//! To compare a CO-RE engine with libbpf, compare [`CoreDecision::relocated`] (the
//! instruction slots at the relocated site, taken from the prepared program) with what
//! the engine wrote at the same site, found by ([`Decision::section`],
//! [`CoreDecision::section_insn`]) or by (`section`, [`Decision::relo`]: the record's
//! index among that section's core_relo records). Whole-program comparisons only make
//! sense for an engine that also does the steps above.
//!
//! libbpf stops at the first relocation it cannot handle (not one it poisons): the
//! result then has an [`OracleResult::error`], the decisions made so far, and the
//! failing one with [`Outcome::Failed`].

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use libbpf_sys::bpf_object_open_opts;

use crate::libbpf_leg::{start_capture, take_capture};
pub use crate::libbpf_log::{Candidate, Decision, Outcome, Patch, PatchField, Spec};

/// Size of one BPF instruction slot.
const INSN_SIZE: usize = 8;
/// The opcode of `ld_imm64` (`BPF_LD | BPF_IMM | BPF_DW`), which takes two slots.
const LD_IMM64: u8 = 0x18;

/// Errors that keep the oracle from giving an answer at all (libbpf's own failures to
/// open or relocate are answers: see [`OracleResult::error`]).
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// A path contains a NUL byte or is not UTF-8.
    #[error("path {0:?} cannot be passed to libbpf")]
    BadPath(PathBuf),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

/// How the oracle runs libbpf.
#[derive(Debug, Clone, Default)]
pub struct OracleOptions {
    /// Let libbpf create the object's maps in the running kernel (real map fds in the
    /// instructions; a map the kernel refuses fails the whole prepare). Off by default:
    /// map references are then poisoned by libbpf, and nothing is created.
    pub create_maps: bool,
}

/// One program of the prepared object.
#[derive(Debug, Clone)]
pub struct OracleProgram {
    /// Program name (its function symbol).
    pub name: String,
    /// ELF section name (`tracepoint/syscalls/sys_enter_execve`, ...).
    pub section: String,
    /// The program's instructions after `bpf_object__prepare` (main code first, then the
    /// subprograms it calls; all of libbpf's relocations applied), one 8-byte slot each.
    pub insns: Vec<[u8; INSN_SIZE]>,
    /// Each function's name and the slot where its code starts in [`Self::insns`] (from
    /// libbpf's func_info; empty if the object has none).
    pub functions: Vec<(String, usize)>,
}

/// One CO-RE relocation: libbpf's decision and the instruction slots before and after.
#[derive(Debug, Clone)]
pub struct CoreDecision {
    /// What libbpf logged about it.
    pub decision: Decision,
    /// Index of the instruction in its ELF section (`insn_off / 8` of the core_relo
    /// record), when the program's position in the section is known and libbpf named
    /// the instruction.
    pub section_insn: Option<usize>,
    /// The instruction slots at the site as the object has them (two for `ld_imm64`).
    pub original: Vec<[u8; INSN_SIZE]>,
    /// The same slots after libbpf (CO-RE only: no other step changes them); empty when
    /// the site could not be found in a prepared program (prepare failed, or the
    /// subprogram is called by no program).
    pub relocated: Vec<[u8; INSN_SIZE]>,
}

/// Counts of a result's decisions by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// All decisions.
    pub total: usize,
    /// Patched instructions (a field found, or an exists/kind check answered).
    pub patched: usize,
    /// Poisoned instructions.
    pub poisoned: usize,
    /// Relocations libbpf failed on.
    pub failed: usize,
    /// Decisions without an outcome in the log.
    pub unfinished: usize,
}

/// What libbpf made of one object against one target BTF.
#[derive(Debug, Clone)]
pub struct OracleResult {
    /// The object.
    pub object: PathBuf,
    /// The target BTF.
    pub target_btf: PathBuf,
    /// The programs, in libbpf's order (entry points only: subprograms appear inside them).
    /// Empty when open or prepare failed.
    pub programs: Vec<OracleProgram>,
    /// Every CO-RE decision, in the order libbpf made them.
    pub decisions: Vec<CoreDecision>,
    /// libbpf's failure (open or prepare), with its errno; `None` when prepare succeeded.
    pub error: Option<String>,
    /// libbpf's whole log (debug level).
    pub log: String,
}

impl OracleResult {
    /// The program named `name`.
    pub fn program(&self, name: &str) -> Option<&OracleProgram> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The decisions about instructions of `program` (a program or subprogram name).
    pub fn decisions_of<'a>(&'a self, program: &'a str) -> impl Iterator<Item = &'a CoreDecision> {
        self.decisions
            .iter()
            .filter(move |d| d.decision.program == program)
    }

    /// The decision for record `relo` of `section`'s core_relo records.
    pub fn decision_at(&self, section: &str, relo: usize) -> Option<&CoreDecision> {
        self.decisions
            .iter()
            .find(|d| d.decision.section.as_deref() == Some(section) && d.decision.relo == relo)
    }

    /// Counts of the decisions by outcome.
    pub fn counts(&self) -> OutcomeCounts {
        let mut counts = OutcomeCounts {
            total: self.decisions.len(),
            ..OutcomeCounts::default()
        };
        for d in &self.decisions {
            match d.decision.outcome {
                Outcome::Patched(_) => counts.patched += 1,
                Outcome::Poisoned { .. } => counts.poisoned += 1,
                Outcome::Failed { .. } => counts.failed += 1,
                Outcome::Unfinished => counts.unfinished += 1,
            }
        }
        counts
    }
}

/// An object opened by libbpf, closed on drop.
struct OpenObject(NonNull<libbpf_sys::bpf_object>);

impl Drop for OpenObject {
    fn drop(&mut self) {
        // SAFETY: the object was returned by bpf_object__open_file and is closed once.
        unsafe { libbpf_sys::bpf_object__close(self.0.as_ptr()) }
    }
}

fn c_path(path: &Path) -> Result<CString, OracleError> {
    path.to_str()
        .and_then(|s| CString::new(s).ok())
        .ok_or_else(|| OracleError::BadPath(path.to_owned()))
}

fn errno_text(errno: i64) -> String {
    let code = i32::try_from(errno.unsigned_abs()).unwrap_or(0);
    format!("{} ({errno})", std::io::Error::from_raw_os_error(code))
}

/// A C string libbpf owns, copied (empty for NULL).
///
/// # Safety
/// `text` is NULL or a NUL-terminated string valid for the call.
unsafe fn owned(text: *const c_char) -> String {
    if text.is_null() {
        String::new()
    } else {
        // SAFETY: by the caller's contract.
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    }
}

/// Relocates `object` against `target_btf` with libbpf 1.7 ([`OracleOptions::default`]).
pub fn relocate(object: &Path, target_btf: &Path) -> Result<OracleResult, OracleError> {
    relocate_with(object, target_btf, &OracleOptions::default())
}

/// Relocates `object` against `target_btf` with libbpf 1.7.
pub fn relocate_with(
    object: &Path,
    target_btf: &Path,
    options: &OracleOptions,
) -> Result<OracleResult, OracleError> {
    let bytes = std::fs::read(object).map_err(|source| OracleError::Io {
        path: object.to_owned(),
        source,
    })?;
    if !target_btf.is_file() {
        return Err(OracleError::Io {
            path: target_btf.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let object_c = c_path(object)?;
    let btf_c = c_path(target_btf)?;
    let opts = bpf_object_open_opts {
        sz: std::mem::size_of::<bpf_object_open_opts>() as _,
        btf_custom_path: btf_c.as_ptr(),
        ..Default::default()
    };
    let mut result = OracleResult {
        object: object.to_owned(),
        target_btf: target_btf.to_owned(),
        programs: Vec::new(),
        decisions: Vec::new(),
        error: None,
        log: String::new(),
    };

    start_capture();
    // SAFETY: the path and options outlive the call; libbpf copies what it keeps.
    let raw = unsafe { libbpf_sys::bpf_object__open_file(object_c.as_ptr(), &opts) };
    // SAFETY: libbpf_get_error accepts any pointer libbpf returned (NULL included).
    let errno = unsafe { libbpf_sys::libbpf_get_error(raw.cast()) };
    let opened = match NonNull::new(raw) {
        Some(handle) if errno == 0 => OpenObject(handle),
        _ => {
            result.log = take_capture();
            result.error = Some(format!(
                "bpf_object__open_file: {}",
                errno_text(if errno == 0 { -1 } else { errno })
            ));
            return Ok(result);
        }
    };
    let handle = opened.0.as_ptr();
    if !options.create_maps {
        // SAFETY: the object is open and not prepared; maps belong to it.
        unsafe {
            let mut map = libbpf_sys::bpf_object__next_map(handle, std::ptr::null());
            while !map.is_null() {
                libbpf_sys::bpf_map__set_autocreate(map, false);
                map = libbpf_sys::bpf_object__next_map(handle, map);
            }
        }
    }
    // SAFETY: the object is open and was never prepared or loaded.
    let rc = unsafe { libbpf_sys::bpf_object__prepare(handle) };
    result.log = take_capture();
    if rc < 0 {
        result.error = Some(format!(
            "bpf_object__prepare: {}",
            errno_text(i64::from(rc))
        ));
    } else {
        // SAFETY: the object is prepared and stays open while its programs are read.
        result.programs = unsafe { read_programs(handle) };
    }
    drop(opened);

    let parsed = btfkit_object::BpfObject::parse(&bytes).ok();
    result.decisions = crate::libbpf_log::parse_decisions(&result.log)
        .into_iter()
        .map(|decision| locate(decision, parsed.as_ref(), &result.programs))
        .collect();
    Ok(result)
}

/// The programs of a prepared object.
///
/// # Safety
/// `object` is a valid, prepared libbpf object.
unsafe fn read_programs(object: *mut libbpf_sys::bpf_object) -> Vec<OracleProgram> {
    let mut programs = Vec::new();
    // SAFETY: (whole body) the object is valid; every pointer read below is one libbpf
    // returned for it, with the element counts libbpf reports.
    unsafe {
        let btf = libbpf_sys::bpf_object__btf(object);
        let mut program = libbpf_sys::bpf_object__next_program(object, std::ptr::null_mut());
        while !program.is_null() {
            let name = owned(libbpf_sys::bpf_program__name(program));
            let section = owned(libbpf_sys::bpf_program__section_name(program));
            let insns_ptr = libbpf_sys::bpf_program__insns(program);
            let count = libbpf_sys::bpf_program__insn_cnt(program) as usize;
            let insns = if insns_ptr.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(insns_ptr.cast::<[u8; INSN_SIZE]>(), count).to_vec()
            };
            let mut functions = Vec::new();
            let info = libbpf_sys::bpf_program__func_info(program);
            if !btf.is_null() && !info.is_null() && libbpf_sys::libbpf_get_error(info.cast()) == 0 {
                let count = libbpf_sys::bpf_program__func_info_cnt(program) as usize;
                for record in std::slice::from_raw_parts(info, count) {
                    let ty = libbpf_sys::btf__type_by_id(btf, record.type_id);
                    let name = if ty.is_null() {
                        String::new()
                    } else {
                        owned(libbpf_sys::btf__name_by_offset(btf, (*ty).name_off))
                    };
                    functions.push((name, record.insn_off as usize));
                }
            }
            programs.push(OracleProgram {
                name,
                section,
                insns,
                functions,
            });
            program = libbpf_sys::bpf_object__next_program(object, program);
        }
    }
    programs
}

/// Finds a decision's instruction in the object (original bytes, section index) and in
/// the prepared programs (relocated bytes).
fn locate(
    decision: Decision,
    object: Option<&btfkit_object::BpfObject<'_>>,
    programs: &[OracleProgram],
) -> CoreDecision {
    let mut located = CoreDecision {
        section_insn: None,
        original: Vec::new(),
        relocated: Vec::new(),
        decision,
    };
    let Some(insn) = located.decision.insn() else {
        return located;
    };
    let program = located.decision.program.as_str();
    if let (Some(object), Some(section)) = (object, located.decision.section.as_deref()) {
        if let Some(code) = object.program_section_by_name(section) {
            if let Some(function) = code.function(program) {
                let start = usize::try_from(function.offset).unwrap_or(usize::MAX) / INSN_SIZE;
                let at = start.saturating_add(insn);
                located.section_insn = Some(at);
                if let Some(first) = code.insn_bytes(at) {
                    located.original.push(first);
                    if first[0] == LD_IMM64 {
                        located.original.extend(code.insn_bytes(at + 1));
                    }
                }
            }
        }
    }
    let slots = if located.original.is_empty() {
        1
    } else {
        located.original.len()
    };
    let site = programs.iter().find_map(|p| {
        let start = if p.name == program {
            Some(0)
        } else {
            p.functions
                .iter()
                .find(|(name, _)| name == program)
                .map(|(_, start)| *start)
        }?;
        let at = start.checked_add(insn)?;
        p.insns.get(at..at.checked_add(slots)?)
    });
    if let Some(site) = site {
        located.relocated = site.to_vec();
    }
    located
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_missing_file_is_an_error() {
        let error = relocate(
            Path::new("/nonexistent.o"),
            Path::new("/sys/kernel/btf/vmlinux"),
        )
        .unwrap_err();
        assert!(matches!(error, OracleError::Io { .. }), "{error:?}");
    }

    #[test]
    fn garbage_is_libbpfs_answer_not_a_panic() {
        let dir = std::env::temp_dir().join(format!("btfkit-oracle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let garbage = dir.join("garbage.o");
        std::fs::write(&garbage, b"\x7fELF not really").unwrap();
        let btf = dir.join("garbage.btf");
        std::fs::write(&btf, b"nope").unwrap();
        let result = relocate(&garbage, &btf).unwrap();
        assert!(result.error.is_some());
        assert!(result.programs.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
