//! The libbpf 1.7 oracle of the engine's comparison tests: relocate an object
//! for a target BTF with `btf_custom_path` + `bpf_object__prepare`, returning
//! libbpf's decisions (from its debug log) and final instructions, and
//! btfkit's decisions in the same words.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_int, CStr, CString};
use std::path::Path;
use std::sync::Mutex;

static LOG: Mutex<String> = Mutex::new(String::new());

/// Held for a whole [`libbpf_relocate`] call: libbpf's print callback is
/// process-wide, so two tests running the oracle at once would read each
/// other's decisions from [`LOG`] (seen in CI on 2 cores).
static ORACLE: Mutex<()> = Mutex::new(());

extern "C" {
    fn vsnprintf(
        buf: *mut c_char,
        n: usize,
        fmt: *const c_char,
        ap: *mut libbpf_sys::__va_list_tag,
    ) -> c_int;
}

/// libbpf's print callback: appends each message to [`LOG`].
unsafe extern "C" fn capture(
    _level: libbpf_sys::libbpf_print_level,
    fmt: *const c_char,
    ap: *mut libbpf_sys::__va_list_tag,
) -> c_int {
    let mut buf = vec![0u8; 4096];
    // SAFETY: libbpf passes a valid format string and its va_list; the buffer is ours.
    let n = unsafe { vsnprintf(buf.as_mut_ptr().cast(), buf.len(), fmt, ap) };
    if n > 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        LOG.lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(&buf[..end]));
    }
    0
}

/// libbpf's CO-RE result for one object: decisions from its log, final program instructions.
pub struct Libbpf {
    /// (program, relo index) → what libbpf did, in [`our_decision`]'s words.
    pub decisions: BTreeMap<(String, usize), String>,
    /// Each program's instructions after relocation.
    pub insns: HashMap<String, Vec<u8>>,
    /// Why open or prepare failed, if it did.
    pub error: Option<String>,
}

/// `obj` relocated by libbpf for the target BTF file `target`.
pub fn libbpf_relocate(obj: &[u8], target: &Path) -> Libbpf {
    // A test that panicked while holding the lock leaves no state behind worth refusing.
    let _serial = ORACLE.lock().unwrap_or_else(|e| e.into_inner());
    LOG.lock().unwrap().clear();
    let path = CString::new(target.to_str().unwrap()).unwrap();
    let name = CString::new("btfkit-oracle").unwrap();
    let opts = libbpf_sys::bpf_object_open_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _,
        object_name: name.as_ptr(),
        btf_custom_path: path.as_ptr(),
        ..Default::default()
    };
    let mut out = Libbpf {
        decisions: BTreeMap::new(),
        insns: HashMap::new(),
        error: None,
    };
    // SAFETY: libbpf reads `obj` during open (it copies it), `opts` and the C
    // strings outlive the calls, and the object is closed exactly once.
    unsafe {
        libbpf_sys::libbpf_set_print(Some(capture));
        let o = libbpf_sys::bpf_object__open_mem(obj.as_ptr().cast(), obj.len() as _, &opts);
        if o.is_null() || libbpf_sys::libbpf_get_error(o.cast()) != 0 {
            out.error = Some("open failed".into());
            return out;
        }
        let err = libbpf_sys::bpf_object__prepare(o);
        if err != 0 {
            out.error = Some(format!("prepare failed: {err}"));
        }
        let mut p = libbpf_sys::bpf_object__next_program(o, std::ptr::null_mut());
        while !p.is_null() {
            let name = CStr::from_ptr(libbpf_sys::bpf_program__name(p))
                .to_string_lossy()
                .to_string();
            let n = libbpf_sys::bpf_program__insn_cnt(p) as usize;
            let insns = libbpf_sys::bpf_program__insns(p);
            if !insns.is_null() {
                let bytes = std::slice::from_raw_parts(insns.cast::<u8>(), n * 8).to_vec();
                out.insns.insert(name, bytes);
            }
            p = libbpf_sys::bpf_object__next_program(o, p);
        }
        libbpf_sys::bpf_object__close(o);
        libbpf_sys::libbpf_set_print(None);
    }
    let log = LOG.lock().unwrap().clone();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix("libbpf: prog '") else {
            continue;
        };
        let Some((prog, rest)) = rest.split_once("': relo #") else {
            continue;
        };
        let Some((idx, rest)) = rest.split_once(": ") else {
            continue;
        };
        let Ok(idx) = idx.parse::<usize>() else {
            continue;
        };
        let key = (prog.to_string(), idx);
        if let Some(p) = rest.strip_prefix("patched insn #") {
            let what = p.split_once(") ").map(|x| x.1).unwrap_or(p).to_string();
            if what.starts_with("mem_sz") {
                if let Some(e) = out.decisions.get_mut(&key) {
                    e.push_str(&format!(", {what}"));
                }
            } else {
                out.decisions.insert(key, what);
            }
        } else if rest.starts_with("substituting insn") {
            out.decisions.insert(key, "poison".into());
        } else if rest.contains("ambiguity")
            || rest.contains("unexpected insn")
            || rest.contains("too big")
        {
            out.decisions.insert(key, format!("error: {rest}"));
        }
    }
    out
}

/// btfkit's decision in the words of libbpf's log, as [`libbpf_relocate`] keeps them.
pub fn our_decision(d: &btfkit_reloc::Decision) -> String {
    match &d.outcome {
        btfkit_reloc::Outcome::Failed { reason } => format!("error: {reason}"),
        btfkit_reloc::Outcome::Poisoned { .. } => "poison".into(),
        btfkit_reloc::Outcome::Applied { note, .. } => note
            .split_once(") ")
            .map(|x| x.1)
            .unwrap_or(note)
            .to_string(),
    }
}
