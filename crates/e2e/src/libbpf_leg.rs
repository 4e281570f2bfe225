//! The libbpf leg: open a btfkit-linked BPF object with **libbpf 1.7** (vendored by
//! `libbpf-sys`), let libbpf perform the CO-RE relocations from the object's `.BTF.ext`
//! against the running kernel, set globals, attach or test-run a program, and read the
//! global data sections back.
//!
//! libbpf's own messages (warnings, the `relo #N: ...` lines of its CO-RE pass, the
//! verifier log of a rejected program) are captured per thread while this module calls
//! into libbpf: [`LibbpfObject::log`] returns them, and a failed load carries them in its
//! error. The print callback is process-wide (`libbpf_set_print`); it is installed once
//! and only ever appends to the calling thread's buffer, because libbpf prints
//! synchronously from the thread that called it.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Once;

use libbpf_sys::{
    bpf_link, bpf_map, bpf_object, bpf_object_open_opts, bpf_program, bpf_test_run_opts,
    libbpf_print_level,
};

/// Errors of the libbpf leg; each says which step failed, for which name, and (for a
/// load) what libbpf logged.
#[derive(Debug, thiserror::Error)]
pub enum LibbpfLegError {
    /// A name passed to libbpf contains a NUL byte.
    #[error("name {0:?} contains a NUL byte")]
    BadName(String),
    /// The object's ELF could not be read (to find a global's section and offset).
    #[error("reading the object's symbols: {0}")]
    Object(#[from] btfkit_object::ObjectError),
    /// `bpf_object__open_mem` failed.
    #[error("libbpf could not open the object ({errno}):\n{log}")]
    Open {
        /// libbpf's error, as a negative errno.
        errno: i64,
        /// What libbpf logged while opening.
        log: String,
    },
    /// `bpf_object__load` failed: CO-RE relocation, map creation or the verifier.
    #[error(
        "libbpf could not load the object (CO-RE relocation, maps or verifier; {errno}):\n{log}"
    )]
    Load {
        /// libbpf's error, as a negative errno.
        errno: i64,
        /// What libbpf logged while loading (includes the verifier log).
        log: String,
    },
    /// The object has no such global symbol, or it is not in a data section.
    #[error("the object has no global `{0}` in a data section")]
    NoSuchGlobal(String),
    /// The bytes given for a global do not have the global's size.
    #[error("global `{name}` has {size} bytes, {given} were given")]
    GlobalSize {
        /// The symbol.
        name: String,
        /// Its size in the object.
        size: u64,
        /// The number of bytes given.
        given: usize,
    },
    /// libbpf made no map for a data section.
    #[error("libbpf has no map for section `{0}`")]
    NoSuchMap(String),
    /// The object has no program of that name.
    #[error("the object has no program named `{0}`")]
    NoSuchProgram(String),
    /// A step that needs a loaded (or not yet loaded) object was called at the wrong time.
    #[error("{0}")]
    State(&'static str),
    /// A libbpf call failed.
    #[error("{what} failed: {source}")]
    Call {
        /// The call and its subject.
        what: String,
        /// The error libbpf reported.
        #[source]
        source: std::io::Error,
    },
}

/// Result of the libbpf leg.
pub type Result<T> = std::result::Result<T, LibbpfLegError>;

/// A global symbol: where its bytes are in which data section.
#[derive(Debug, Clone)]
struct Global {
    name: String,
    section: String,
    offset: u64,
    size: u64,
}

/// An object opened (and later loaded) by libbpf, with the links it made. Links are
/// destroyed and the object closed on drop.
pub struct LibbpfObject {
    object: NonNull<bpf_object>,
    links: Vec<NonNull<bpf_link>>,
    globals: Vec<Global>,
    loaded: bool,
    log: String,
}

impl std::fmt::Debug for LibbpfObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibbpfObject")
            .field("loaded", &self.loaded)
            .field("links", &self.links.len())
            .field("globals", &self.globals)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// libbpf's messages for the libbpf call under way in this thread.
    static LOG: RefCell<String> = const { RefCell::new(String::new()) };
    /// Where one message is formatted (a verifier log arrives as one message).
    static MESSAGE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Largest single libbpf message kept whole.
const MESSAGE_LIMIT: usize = 1 << 20;

extern "C" {
    // The C library's vsnprintf; libbpf hands its print callback a `va_list`.
    fn vsnprintf(
        buffer: *mut c_char,
        size: usize,
        format: *const c_char,
        args: *mut libbpf_sys::__va_list_tag,
    ) -> c_int;
}

/// libbpf's print callback (every level, debug included: the CO-RE lines are debug
/// messages): formats the message into this thread's log.
unsafe extern "C" fn capture(
    _level: libbpf_print_level,
    format: *const c_char,
    args: *mut libbpf_sys::__va_list_tag,
) -> c_int {
    if format.is_null() {
        return 0;
    }
    MESSAGE.with(|message| {
        let mut buffer = message.borrow_mut();
        buffer.resize(MESSAGE_LIMIT, 0);
        // SAFETY: libbpf passes a valid format string and the va_list that goes with it;
        // vsnprintf writes at most `buffer.len()` bytes including the terminating NUL.
        let wanted = unsafe { vsnprintf(buffer.as_mut_ptr().cast(), buffer.len(), format, args) };
        let Ok(wanted) = usize::try_from(wanted) else {
            return;
        };
        let kept = wanted.min(buffer.len() - 1);
        let text = String::from_utf8_lossy(&buffer[..kept]);
        LOG.with(|log| {
            let mut log = log.borrow_mut();
            log.push_str(&text);
            if kept < wanted {
                // A va_list is consumed by one vsnprintf and cannot be copied from Rust.
                log.push_str("... [message truncated]\n");
            }
        });
    });
    0
}

/// Installs the capturing print callback (once per process) and clears this thread's log.
pub(crate) fn start_capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: `capture` has the signature libbpf expects and lives forever.
        unsafe {
            libbpf_sys::libbpf_set_print(Some(capture));
        }
    });
    LOG.with(|log| log.borrow_mut().clear());
}

/// Takes this thread's captured log.
pub(crate) fn take_capture() -> String {
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

/// EIO, for a failure libbpf gave no usable errno for.
const EIO: i32 = 5;

/// The error of a libbpf call that returns a negative errno.
fn check(rc: c_int, what: impl FnOnce() -> String) -> Result<()> {
    if rc < 0 {
        Err(LibbpfLegError::Call {
            what: what(),
            source: std::io::Error::from_raw_os_error(-rc),
        })
    } else {
        Ok(())
    }
}

fn c_name(name: &str) -> Result<CString> {
    CString::new(name).map_err(|_| LibbpfLegError::BadName(name.to_owned()))
}

/// The global symbols of an ELF object that live in a data section.
fn globals_of(object: &[u8]) -> Result<Vec<Global>> {
    let parsed = btfkit_object::BpfObject::parse(object)?;
    let mut globals = Vec::new();
    for symbol in parsed.symbols() {
        let Some(section) = symbol.section_index.and_then(|i| parsed.section(i)) else {
            continue;
        };
        if symbol.name.is_empty() || !section.is_alloc() || section.is_executable() {
            continue;
        }
        globals.push(Global {
            name: symbol.name.to_string(),
            section: section.name.to_string(),
            offset: symbol.value,
            size: symbol.size,
        });
    }
    Ok(globals)
}

impl LibbpfObject {
    /// Opens `object` with libbpf (`bpf_object__open_mem`, which copies it) under the
    /// object name `name` (libbpf names global data maps after it).
    pub fn open(object: &[u8], name: &str) -> Result<Self> {
        Self::open_inner(object, name, None)
    }

    /// [`LibbpfObject::open`] with `btf_custom_path` = `target_btf`: libbpf relocates
    /// against that BTF (raw, or an ELF's `.BTF`) instead of the running kernel's.
    pub fn open_with_target(object: &[u8], name: &str, target_btf: &Path) -> Result<Self> {
        let path = target_btf
            .to_str()
            .ok_or(LibbpfLegError::State("target BTF path is not UTF-8"))?;
        let path = c_name(path)?;
        Self::open_inner(object, name, Some(&path))
    }

    fn open_inner(object: &[u8], name: &str, target_btf: Option<&CStr>) -> Result<Self> {
        let globals = globals_of(object)?;
        let name = c_name(name)?;
        let opts = bpf_object_open_opts {
            sz: std::mem::size_of::<bpf_object_open_opts>() as _,
            object_name: name.as_ptr(),
            btf_custom_path: target_btf.map_or(std::ptr::null(), CStr::as_ptr),
            ..Default::default()
        };
        start_capture();
        // SAFETY: libbpf copies the object during open; `opts` and `name` outlive the call.
        let raw = unsafe {
            libbpf_sys::bpf_object__open_mem(object.as_ptr().cast(), object.len() as _, &opts)
        };
        // SAFETY: libbpf_get_error accepts any pointer libbpf returned (NULL included).
        let errno: i64 = unsafe { libbpf_sys::libbpf_get_error(raw.cast()) };
        let log = take_capture();
        match NonNull::new(raw) {
            Some(object) if errno == 0 => Ok(Self {
                object,
                links: Vec::new(),
                globals,
                loaded: false,
                log,
            }),
            _ => Err(LibbpfLegError::Open {
                errno: if errno == 0 { -1 } else { errno },
                log,
            }),
        }
    }

    /// The map libbpf made for data section `section` (`.data`, `.bss`, `.rodata`).
    fn section_map(&self, section: &str) -> Result<NonNull<bpf_map>> {
        // Internal maps are named `<object name prefix><section>`.
        // SAFETY: the object is open; map names are NUL-terminated strings it owns.
        unsafe {
            let mut map = libbpf_sys::bpf_object__next_map(self.object.as_ptr(), std::ptr::null());
            while let Some(m) = NonNull::new(map) {
                let name = libbpf_sys::bpf_map__name(m.as_ptr());
                if !name.is_null()
                    && CStr::from_ptr(name)
                        .to_bytes()
                        .ends_with(section.as_bytes())
                {
                    return Ok(m);
                }
                map = libbpf_sys::bpf_object__next_map(self.object.as_ptr(), m.as_ptr());
            }
        }
        Err(LibbpfLegError::NoSuchMap(section.to_owned()))
    }

    fn global(&self, symbol: &str) -> Result<&Global> {
        self.globals
            .iter()
            .find(|g| g.name == symbol)
            .ok_or_else(|| LibbpfLegError::NoSuchGlobal(symbol.to_owned()))
    }

    /// Sets the initial value of global `symbol` (before [`LibbpfObject::load`]);
    /// `bytes` must have the symbol's size.
    pub fn set_global(&mut self, symbol: &str, bytes: &[u8]) -> Result<()> {
        if self.loaded {
            return Err(LibbpfLegError::State(
                "globals are set before the object is loaded",
            ));
        }
        let global = self.global(symbol)?.clone();
        if global.size != bytes.len() as u64 {
            return Err(LibbpfLegError::GlobalSize {
                name: global.name,
                size: global.size,
                given: bytes.len(),
            });
        }
        let map = self.section_map(&global.section)?;
        let mut size: libbpf_sys::size_t = 0;
        // SAFETY: before load, libbpf keeps the section's initial image in memory it owns
        // and returns it with its size; the write below stays inside it.
        unsafe {
            let image = libbpf_sys::bpf_map__initial_value(map.as_ptr(), &mut size);
            let end = global.offset.checked_add(global.size);
            if image.is_null() || end.is_none_or(|end| end > size as u64) {
                return Err(LibbpfLegError::NoSuchGlobal(global.name));
            }
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                image.cast::<u8>().add(global.offset as usize),
                bytes.len(),
            );
        }
        Ok(())
    }

    /// Loads the object: libbpf relocates it against the running kernel's BTF, creates
    /// its maps and loads its programs. A failure carries libbpf's log.
    pub fn load(&mut self) -> Result<()> {
        if self.loaded {
            return Err(LibbpfLegError::State("the object is already loaded"));
        }
        start_capture();
        // SAFETY: the object is open and not loaded.
        let rc = unsafe { libbpf_sys::bpf_object__load(self.object.as_ptr()) };
        let log = take_capture();
        self.log.push_str(&log);
        if rc < 0 {
            return Err(LibbpfLegError::Load {
                errno: i64::from(rc),
                log,
            });
        }
        self.loaded = true;
        Ok(())
    }

    /// What libbpf logged so far (open and load; debug level included, so the CO-RE
    /// lines `relo #N: ...` and `patched insn ...` are here).
    pub fn log(&self) -> &str {
        &self.log
    }

    fn program(&self, name: &str) -> Result<NonNull<bpf_program>> {
        let c = c_name(name)?;
        // SAFETY: the object is open; `c` is NUL-terminated.
        let program = unsafe {
            libbpf_sys::bpf_object__find_program_by_name(self.object.as_ptr(), c.as_ptr())
        };
        NonNull::new(program).ok_or_else(|| LibbpfLegError::NoSuchProgram(name.to_owned()))
    }

    fn require_loaded(&self) -> Result<()> {
        if self.loaded {
            Ok(())
        } else {
            Err(LibbpfLegError::State("the object is not loaded yet"))
        }
    }

    /// Attaches program `name` to raw tracepoint `tracepoint` (e.g. `sys_enter`); it
    /// stays attached until the object is dropped.
    pub fn attach_raw_tracepoint(&mut self, name: &str, tracepoint: &str) -> Result<()> {
        self.require_loaded()?;
        let program = self.program(name)?;
        let tp = c_name(tracepoint)?;
        start_capture();
        // SAFETY: the program belongs to this loaded object; `tp` is NUL-terminated.
        let link = unsafe {
            libbpf_sys::bpf_program__attach_raw_tracepoint(program.as_ptr(), tp.as_ptr())
        };
        // SAFETY: libbpf_get_error accepts any pointer libbpf returned.
        let errno = unsafe { libbpf_sys::libbpf_get_error(link.cast()) };
        self.log.push_str(&take_capture());
        match NonNull::new(link) {
            Some(link) if errno == 0 => {
                self.links.push(link);
                Ok(())
            }
            _ => Err(LibbpfLegError::Call {
                what: format!("attaching `{name}` to raw tracepoint {tracepoint}"),
                source: std::io::Error::from_raw_os_error(i32::try_from(-errno).unwrap_or(EIO)),
            }),
        }
    }

    /// Attaches program `name` the way its section name says (`tp_btf/sys_enter`, ...:
    /// libbpf's auto-attach); it stays attached until the object is dropped.
    pub fn attach(&mut self, name: &str) -> Result<()> {
        self.require_loaded()?;
        let program = self.program(name)?;
        start_capture();
        // SAFETY: the program belongs to this loaded object.
        let link = unsafe { libbpf_sys::bpf_program__attach(program.as_ptr()) };
        // SAFETY: libbpf_get_error accepts any pointer libbpf returned.
        let errno = unsafe { libbpf_sys::libbpf_get_error(link.cast()) };
        self.log.push_str(&take_capture());
        match NonNull::new(link) {
            Some(link) if errno == 0 => {
                self.links.push(link);
                Ok(())
            }
            _ => Err(LibbpfLegError::Call {
                what: format!("attaching `{name}`"),
                source: std::io::Error::from_raw_os_error(i32::try_from(-errno).unwrap_or(EIO)),
            }),
        }
    }

    /// Runs program `name` once with `BPF_PROG_TEST_RUN` (for `raw_tp` programs: in the
    /// calling thread) and returns its return value.
    pub fn test_run(&self, name: &str) -> Result<u32> {
        self.require_loaded()?;
        let program = self.program(name)?;
        // SAFETY: the program belongs to this loaded object.
        let fd = unsafe { libbpf_sys::bpf_program__fd(program.as_ptr()) };
        let mut opts = bpf_test_run_opts {
            sz: std::mem::size_of::<bpf_test_run_opts>() as _,
            ..Default::default()
        };
        // SAFETY: `opts` is a zeroed bpf_test_run_opts with its size set.
        let rc = unsafe { libbpf_sys::bpf_prog_test_run_opts(fd, &mut opts) };
        check(rc, || format!("test run of `{name}`"))?;
        Ok(opts.retval)
    }

    /// The current bytes of the data section `section` (`.bss`, `.data`), read from the
    /// kernel map.
    pub fn read_section(&self, section: &str) -> Result<Vec<u8>> {
        self.require_loaded()?;
        let map = self.section_map(section)?;
        // SAFETY: the map belongs to this loaded object.
        let size = unsafe { libbpf_sys::bpf_map__value_size(map.as_ptr()) } as usize;
        let mut value = vec![0u8; size];
        let key = 0u32;
        // SAFETY: key and value buffers have the sizes passed.
        let rc = unsafe {
            libbpf_sys::bpf_map__lookup_elem(
                map.as_ptr(),
                (&key as *const u32).cast::<c_void>(),
                std::mem::size_of::<u32>() as _,
                value.as_mut_ptr().cast(),
                size as _,
                0,
            )
        };
        check(rc, || format!("reading map of section {section}"))?;
        Ok(value)
    }

    /// Writes `bytes` over global `symbol` in the kernel map of its section (after
    /// [`LibbpfObject::load`]; libbpf does not upload the initial image of `.bss`).
    pub fn write_global(&self, symbol: &str, bytes: &[u8]) -> Result<()> {
        let global = self.global(symbol)?.clone();
        if global.size != bytes.len() as u64 {
            return Err(LibbpfLegError::GlobalSize {
                name: global.name,
                size: global.size,
                given: bytes.len(),
            });
        }
        let mut value = self.read_section(&global.section)?;
        let start = usize::try_from(global.offset).unwrap_or(usize::MAX);
        value
            .get_mut(start..start.saturating_add(bytes.len()))
            .ok_or_else(|| LibbpfLegError::NoSuchGlobal(global.name.clone()))?
            .copy_from_slice(bytes);
        let map = self.section_map(&global.section)?;
        let key = 0u32;
        // SAFETY: the map belongs to this loaded object; key and value have its sizes
        // (the value was read from it).
        let rc = unsafe {
            libbpf_sys::bpf_map__update_elem(
                map.as_ptr(),
                (&key as *const u32).cast::<c_void>(),
                std::mem::size_of::<u32>() as _,
                value.as_ptr().cast(),
                value.len() as _,
                0,
            )
        };
        check(rc, || format!("writing global {symbol}"))
    }

    /// The current bytes of global `symbol`, read from the kernel map of its section.
    pub fn read_global(&self, symbol: &str) -> Result<Vec<u8>> {
        let global = self.global(symbol)?.clone();
        let section = self.read_section(&global.section)?;
        let start = usize::try_from(global.offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(global.size).unwrap_or(usize::MAX));
        section
            .get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or(LibbpfLegError::NoSuchGlobal(global.name))
    }
}

impl Drop for LibbpfObject {
    fn drop(&mut self) {
        // SAFETY: each link and the object were made by libbpf and are released once.
        unsafe {
            for link in self.links.drain(..) {
                libbpf_sys::bpf_link__destroy(link.as_ptr());
            }
            libbpf_sys::bpf_object__close(self.object.as_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [&b""[..], b"\x7fELF", &[0u8; 64][..]] {
            let error = LibbpfObject::open(input, "garbage").unwrap_err();
            assert!(
                matches!(
                    error,
                    LibbpfLegError::Object(_) | LibbpfLegError::Open { .. }
                ),
                "{error:?}"
            );
        }
    }

    #[test]
    fn names_with_nul_are_refused() {
        assert!(matches!(c_name("a\0b"), Err(LibbpfLegError::BadName(_))));
    }
}
