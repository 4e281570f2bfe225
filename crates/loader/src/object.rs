//! Loading an already-relocated BPF object: global data maps, data relocations,
//! programs, attachment and test runs.

use std::os::fd::{AsRawFd, OwnedFd};

use btfkit_object::{BpfObject, DataSectionKind};

use crate::error::{Error, Result};
use crate::sys::{self, Attr};

/// `BPF_PSEUDO_MAP_VALUE`: an `ld_imm64` that loads the address of a map value.
const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// Verifier log buffer for the retry after a rejected load.
const VERIFIER_LOG_SIZE: usize = 8 << 20;

/// A single-entry array map holding one global data section.
#[derive(Debug)]
pub struct Map {
    name: String,
    section_index: usize,
    value_size: u32,
    fd: OwnedFd,
}

impl Map {
    /// The ELF section the map holds (`.bss`, `.data`, `.rodata`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The section's current bytes, read from the kernel.
    pub fn read(&self) -> Result<Vec<u8>> {
        let key = 0u32.to_ne_bytes();
        let mut value = vec![0u8; self.value_size as usize];
        let mut attr = Attr::new();
        attr.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, sys::ptr(key.as_ptr()))
            .u64(16, sys::ptr(value.as_mut_ptr()));
        sys::bpf(sys::BPF_MAP_LOOKUP_ELEM, &mut attr).map_err(|source| Error::Syscall {
            what: format!("reading map {}", self.name),
            source,
        })?;
        Ok(value)
    }

    /// Overwrites the section's bytes (shorter input is zero-padded).
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() > self.value_size as usize {
            return Err(Error::Unsupported(format!(
                "{} bytes do not fit map {} of {} bytes",
                bytes.len(),
                self.name,
                self.value_size
            )));
        }
        let mut value = bytes.to_vec();
        value.resize(self.value_size as usize, 0);
        let key = 0u32.to_ne_bytes();
        let mut attr = Attr::new();
        attr.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, sys::ptr(key.as_ptr()))
            .u64(16, sys::ptr(value.as_ptr()));
        sys::bpf(sys::BPF_MAP_UPDATE_ELEM, &mut attr).map_err(|source| Error::Syscall {
            what: format!("writing map {}", self.name),
            source,
        })?;
        Ok(())
    }
}

/// What a program is, from its section name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramKind {
    /// `raw_tp/NAME` or `raw_tracepoint/NAME`.
    RawTracepoint(String),
    /// `tp/CATEGORY/NAME` or `tracepoint/CATEGORY/NAME`.
    Tracepoint(String, String),
    /// `kprobe/FUNCTION` (also `kretprobe/`).
    Kprobe(String),
    /// `socket`.
    SocketFilter,
    /// `fentry/FUNCTION` (`exit`: `fexit/FUNCTION`): a tracing program on a
    /// kernel function found by name in the kernel's BTF.
    Fentry {
        /// The kernel function.
        function: String,
        /// fexit rather than fentry.
        exit: bool,
    },
}

impl ProgramKind {
    /// Classifies a section name the way libbpf does for these types.
    pub fn from_section(section: &str) -> Option<ProgramKind> {
        let (prefix, rest) = section.split_once('/').unwrap_or((section, ""));
        match prefix {
            "raw_tp" | "raw_tracepoint" if !rest.is_empty() => {
                Some(ProgramKind::RawTracepoint(rest.to_string()))
            }
            "tp" | "tracepoint" => {
                let (cat, name) = rest.split_once('/')?;
                Some(ProgramKind::Tracepoint(cat.to_string(), name.to_string()))
            }
            "kprobe" | "kretprobe" if !rest.is_empty() => {
                Some(ProgramKind::Kprobe(rest.to_string()))
            }
            "socket" => Some(ProgramKind::SocketFilter),
            "fentry" | "fexit" if !rest.is_empty() => Some(ProgramKind::Fentry {
                function: rest.to_string(),
                exit: prefix == "fexit",
            }),
            _ => None,
        }
    }

    fn prog_type(&self) -> u32 {
        match self {
            ProgramKind::SocketFilter => 1,
            ProgramKind::Kprobe(_) => 2,
            ProgramKind::Tracepoint(..) => 5,
            ProgramKind::RawTracepoint(_) => 17,
            ProgramKind::Fentry { .. } => 26,
        }
    }
}

/// A program loaded into the kernel.
#[derive(Debug)]
pub struct Program {
    name: String,
    section: String,
    kind: ProgramKind,
    fd: OwnedFd,
}

/// Keeps an attachment alive; dropping it detaches the program.
#[derive(Debug)]
pub struct Attachment {
    _fds: Vec<OwnedFd>,
}

impl Program {
    /// The function name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The ELF section.
    pub fn section(&self) -> &str {
        &self.section
    }
    /// The program type.
    pub fn kind(&self) -> &ProgramKind {
        &self.kind
    }

    /// Attaches a raw tracepoint or tracepoint program.
    pub fn attach(&self) -> Result<Attachment> {
        match &self.kind {
            ProgramKind::RawTracepoint(tp) => {
                let name = sys::cstring(tp).map_err(|source| Error::Syscall {
                    what: format!("raw tracepoint name {tp:?}"),
                    source,
                })?;
                let mut attr = Attr::new();
                attr.u64(0, sys::ptr(name.as_ptr().cast()))
                    .u32(8, self.fd.as_raw_fd() as u32);
                let fd =
                    sys::bpf_fd(sys::BPF_RAW_TRACEPOINT_OPEN, &mut attr).map_err(|source| {
                        Error::Syscall {
                            what: format!("attaching {} to raw tracepoint {tp}", self.name),
                            source,
                        }
                    })?;
                Ok(Attachment { _fds: vec![fd] })
            }
            ProgramKind::Tracepoint(cat, name) => {
                let id = tracepoint_id(cat, name)?;
                let event =
                    sys::perf_event_open_tracepoint(id, 0).map_err(|source| Error::Syscall {
                        what: format!("perf_event_open for tracepoint {cat}/{name}"),
                        source,
                    })?;
                sys::perf_event_attach(event.as_raw_fd(), self.fd.as_raw_fd()).map_err(
                    |source| Error::Syscall {
                        what: format!("attaching {} to tracepoint {cat}/{name}", self.name),
                        source,
                    },
                )?;
                Ok(Attachment { _fds: vec![event] })
            }
            ProgramKind::Fentry { function, .. } => {
                // A tracing program attaches through raw_tracepoint_open with no name.
                let mut attr = Attr::new();
                attr.u32(8, self.fd.as_raw_fd() as u32);
                let fd =
                    sys::bpf_fd(sys::BPF_RAW_TRACEPOINT_OPEN, &mut attr).map_err(|source| {
                        Error::Syscall {
                            what: format!("attaching {} to {function}", self.name),
                            source,
                        }
                    })?;
                Ok(Attachment { _fds: vec![fd] })
            }
            ProgramKind::Kprobe(function) => {
                let path = "/sys/bus/event_source/devices/kprobe/type";
                let pmu: u32 = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| {
                        Error::Unsupported(format!("kprobes: this kernel has no {path}"))
                    })?;
                let name = sys::cstring(function).map_err(|source| Error::Syscall {
                    what: format!("kprobe function name {function:?}"),
                    source,
                })?;
                let event = sys::perf_event_open_kprobe(pmu, &name, 0).map_err(|source| {
                    Error::Syscall {
                        what: format!("perf_event_open for kprobe {function}"),
                        source,
                    }
                })?;
                sys::perf_event_attach(event.as_raw_fd(), self.fd.as_raw_fd()).map_err(
                    |source| Error::Syscall {
                        what: format!("attaching {} to kprobe {function}", self.name),
                        source,
                    },
                )?;
                Ok(Attachment { _fds: vec![event] })
            }
            other => Err(Error::Unsupported(format!(
                "attaching a {other:?} program (only raw tracepoints, tracepoints, kprobes, fentry)"
            ))),
        }
    }

    /// How many instructions the verifier processed (`bpf_prog_info.verified_insns`,
    /// Linux 5.16+); `None` when the kernel does not say.
    pub fn verified_insns(&self) -> Option<u32> {
        // struct bpf_prog_info up to verified_insns (offset 216) and its padding.
        let mut info = [0u8; 224];
        let mut attr = Attr::new();
        attr.u32(0, self.fd.as_raw_fd() as u32)
            .u32(4, info.len() as u32)
            .u64(8, sys::ptr(info.as_mut_ptr()));
        sys::bpf(sys::BPF_OBJ_GET_INFO_BY_FD, &mut attr).ok()?;
        let len = attr.read_u32(4) as usize;
        if len < 220 {
            return None;
        }
        let v = u32::from_le_bytes([info[216], info[217], info[218], info[219]]);
        (v != 0).then_some(v)
    }

    /// Runs the program once with `BPF_PROG_TEST_RUN` and returns its return
    /// value. For a raw tracepoint program it runs in the calling task, so
    /// `bpf_get_current_task()` is this thread.
    pub fn test_run(&self) -> Result<u32> {
        let mut attr = Attr::new();
        attr.u32(0, self.fd.as_raw_fd() as u32);
        sys::bpf(sys::BPF_PROG_TEST_RUN, &mut attr).map_err(|source| Error::Syscall {
            what: format!("test run of {}", self.name),
            source,
        })?;
        Ok(attr.read_u32(4))
    }
}

/// The id of a tracepoint from tracefs.
fn tracepoint_id(cat: &str, name: &str) -> Result<u64> {
    let mut tried = Vec::new();
    for root in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        let path = format!("{root}/events/{cat}/{name}/id");
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                return s.trim().parse().map_err(|_| {
                    Error::Unsupported(format!("{path} does not hold a number: {s:?}"))
                })
            }
            Err(e) => tried.push(format!("{path}: {e}")),
        }
    }
    Err(Error::NotFound(format!(
        "tracepoint {cat}/{name} (is tracefs mounted? `mount -t tracefs nodev /sys/kernel/tracing`): {}",
        tried.join("; ")
    )))
}

/// An object whose maps and programs are loaded into the kernel.
#[derive(Debug)]
pub struct LoadedObject {
    maps: Vec<Map>,
    programs: Vec<Program>,
}

fn kernel_name(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (slot, c) in out
        .iter_mut()
        .zip(
            name.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.'),
        )
        .take(15)
    {
        *slot = c as u8;
    }
    out
}

impl LoadedObject {
    /// Loads every program of an already-relocated object.
    pub fn load(data: &[u8]) -> Result<LoadedObject> {
        LoadedObject::load_filtered(data, &|_| true)
    }

    /// Loads the programs whose section name `keep` accepts (and every map).
    pub fn load_filtered(data: &[u8], keep: &dyn Fn(&str) -> bool) -> Result<LoadedObject> {
        let obj = BpfObject::parse(data)?;
        let license = obj
            .section_by_name("license")
            .map(|s| {
                let end = s.data.iter().position(|&b| b == 0).unwrap_or(s.data.len());
                String::from_utf8_lossy(&s.data[..end]).into_owned()
            })
            .unwrap_or_else(|| "GPL".to_string());
        let license = sys::cstring(&license).map_err(|source| Error::Syscall {
            what: "license string".into(),
            source,
        })?;

        let mut maps = Vec::new();
        for ds in obj.data_sections() {
            if !matches!(
                ds.kind,
                DataSectionKind::Data | DataSectionKind::Rodata | DataSectionKind::Bss
            ) || ds.size == 0
            {
                continue;
            }
            let value_size = u32::try_from(ds.size).map_err(|_| {
                Error::Unsupported(format!("section {} is larger than 4 GiB", ds.name))
            })?;
            let mut attr = Attr::new();
            attr.u32(0, sys::BPF_MAP_TYPE_ARRAY)
                .u32(4, 4)
                .u32(8, value_size)
                .u32(12, 1)
                .bytes(28, &kernel_name(&ds.name));
            let fd =
                sys::bpf_fd(sys::BPF_MAP_CREATE, &mut attr).map_err(|source| Error::Syscall {
                    what: format!("creating the map for section {}", ds.name),
                    source,
                })?;
            let map = Map {
                name: ds.name.to_string(),
                section_index: ds.section_index,
                value_size,
                fd,
            };
            if ds.kind != DataSectionKind::Bss && !ds.data.is_empty() {
                map.write(ds.data)?;
            }
            maps.push(map);
        }

        let mut programs = Vec::new();
        for section in obj.programs() {
            if section.name != ".text" && !keep(&section.name) {
                continue;
            }
            let Some(kind) = ProgramKind::from_section(&section.name) else {
                if section.name == ".text" {
                    continue;
                }
                return Err(Error::Unsupported(format!(
                    "program section {:?} (this loader knows raw_tp/, tp/, kprobe/, fentry/, fexit/, socket)",
                    section.name
                )));
            };
            let mut insns = section.insns.to_vec();
            for reloc in obj.relocations_for(section.section_index) {
                let sym = obj.symbol(reloc.symbol_index).ok_or_else(|| {
                    Error::Unsupported(format!(
                        "relocation against missing symbol {}",
                        reloc.symbol_index
                    ))
                })?;
                if sym.name.starts_with("btfkit:") {
                    return Err(Error::Unsupported(format!(
                        "{}: query marker {} is still in the object; run `btfkit link` first",
                        section.name, sym.name
                    )));
                }
                let map = sym
                    .section_index
                    .and_then(|si| maps.iter().find(|m| m.section_index == si))
                    .ok_or_else(|| {
                        Error::Unsupported(format!(
                            "{}: relocation at offset {} against {:?} (only global data is supported)",
                            section.name, reloc.offset, sym.name
                        ))
                    })?;
                let at = usize::try_from(reloc.offset).unwrap_or(usize::MAX);
                if at.checked_add(16).is_none_or(|end| end > insns.len()) || insns[at] != 0x18 {
                    return Err(Error::Unsupported(format!(
                        "{}: relocation at offset {} is not on an ld_imm64",
                        section.name, reloc.offset
                    )));
                }
                let imm0 = i32::from_le_bytes([
                    insns[at + 4],
                    insns[at + 5],
                    insns[at + 6],
                    insns[at + 7],
                ]);
                let offset = (imm0 as i64).wrapping_add(sym.value as i64) as u32;
                insns[at + 1] = (insns[at + 1] & 0x0f) | (BPF_PSEUDO_MAP_VALUE << 4);
                insns[at + 4..at + 8].copy_from_slice(&(map.fd.as_raw_fd() as u32).to_le_bytes());
                insns[at + 12..at + 16].copy_from_slice(&offset.to_le_bytes());
            }
            let name = section
                .functions
                .first()
                .map(|f| f.name.to_string())
                .unwrap_or_else(|| section.name.to_string());
            let fd = load_program(&name, &kind, &insns, &license)?;
            programs.push(Program {
                name,
                section: section.name.to_string(),
                kind,
                fd,
            });
        }
        if programs.is_empty() {
            return Err(Error::NotFound("no program sections in the object".into()));
        }
        Ok(LoadedObject { maps, programs })
    }

    /// The map holding ELF section `section` (`.bss`, ...).
    pub fn map(&self, section: &str) -> Result<&Map> {
        self.maps
            .iter()
            .find(|m| m.name == section)
            .ok_or_else(|| Error::NotFound(format!("map for section {section}")))
    }

    /// The program named `name` (function or section name).
    pub fn program(&self, name: &str) -> Result<&Program> {
        self.programs
            .iter()
            .find(|p| p.name == name || p.section == name)
            .ok_or_else(|| Error::NotFound(format!("program {name}")))
    }

    /// All loaded programs.
    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    /// All global data maps.
    pub fn maps(&self) -> &[Map] {
        &self.maps
    }
}

/// The BTF id of kernel function `function` in /sys/kernel/btf/vmlinux.
fn kernel_function_btf_id(function: &str) -> Result<u32> {
    let data = std::fs::read("/sys/kernel/btf/vmlinux")
        .map_err(|e| Error::Unsupported(format!("fentry needs the kernel's BTF: {e}")))?;
    let btf = btfkit_model::Btf::parse(&data)
        .map_err(|e| Error::Unsupported(format!("the kernel's BTF: {e}")))?;
    btf.find_by_name_kind(function, btfkit_model::Kind::Func)
        .first()
        .copied()
        .ok_or_else(|| Error::NotFound(format!("kernel function {function} in the kernel's BTF")))
}

fn load_program(
    name: &str,
    kind: &ProgramKind,
    insns: &[u8],
    license: &std::ffi::CString,
) -> Result<OwnedFd> {
    // fentry/fexit: the function's BTF id in the kernel, and the attach type.
    let tracing = match kind {
        ProgramKind::Fentry { function, exit } => Some((
            kernel_function_btf_id(function)?,
            if *exit { 25 } else { 24 },
        )),
        _ => None,
    };
    let attempt = |log: Option<&mut Vec<u8>>| {
        let mut attr = Attr::new();
        attr.u32(0, kind.prog_type())
            .u32(4, (insns.len() / 8) as u32)
            .u64(8, sys::ptr(insns.as_ptr()))
            .u64(16, sys::ptr(license.as_ptr().cast()))
            .bytes(48, &kernel_name(name));
        if let Some((btf_id, attach_type)) = tracing {
            // expected_attach_type, attach_btf_id
            attr.u32(68, attach_type).u32(108, btf_id);
        }
        if let Some(buf) = log {
            attr.u32(24, 1)
                .u32(28, buf.len() as u32)
                .u64(32, sys::ptr(buf.as_mut_ptr()));
            sys::bpf_fd(sys::BPF_PROG_LOAD, &mut attr)
        } else {
            sys::bpf_fd(sys::BPF_PROG_LOAD, &mut attr)
        }
    };
    match attempt(None) {
        Ok(fd) => Ok(fd),
        Err(_) => {
            // Load again with the verifier log on, to say why.
            let mut log = vec![0u8; VERIFIER_LOG_SIZE];
            match attempt(Some(&mut log)) {
                Ok(fd) => Ok(fd),
                Err(source) => {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    let text = String::from_utf8_lossy(&log[..end]);
                    let lines: Vec<&str> = text.lines().collect();
                    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                    Err(Error::Verifier {
                        program: name.to_string(),
                        source,
                        log: tail,
                    })
                }
            }
        }
    }
}
