//! btfkit's engine against libbpf 1.7 (libbpf-sys, vendored) on several
//! kernels: every libbpf-tools object is relocated for each kernel BTF by
//! libbpf (`btf_custom_path` + `bpf_object__prepare`, which relocates without
//! loading programs) and by btfkit. For every CO-RE record: the same decision
//! as libbpf's debug log states, and the same final instruction bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_int, CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use btfkit_model::Btf;
use btfkit_reloc::{relocate_object, Target};

static LOG: Mutex<String> = Mutex::new(String::new());

extern "C" {
    fn vsnprintf(
        buf: *mut c_char,
        n: usize,
        fmt: *const c_char,
        ap: *mut libbpf_sys::__va_list_tag,
    ) -> c_int;
}

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
struct Libbpf {
    decisions: BTreeMap<(String, usize), String>,
    insns: HashMap<String, Vec<u8>>,
    error: Option<String>,
}

fn libbpf_relocate(obj: &[u8], target: &Path) -> Libbpf {
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

fn our_decision(d: &btfkit_reloc::Decision) -> String {
    if let Some(e) = &d.error {
        return format!("error: {e}");
    }
    if d.fixup.as_ref().is_some_and(|f| f.poison)
        || d.patched.as_deref().is_some_and(|p| p.contains("poisoned"))
    {
        return "poison".into();
    }
    let p = d.patched.as_deref().unwrap_or("");
    p.split_once(") ").map(|x| x.1).unwrap_or(p).to_string()
}

fn kernels() -> Vec<PathBuf> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/kernel-btf");
    vec![
        PathBuf::from("/sys/kernel/btf/vmlinux"),
        shared.join("vmlinux-6.1.0-47-amd64.btf"),
        shared.join("vmlinux-6.1.0-47-cloud.btf"),
        shared.join("vmlinux-7.1-sorted.btf"),
    ]
}

#[test]
fn libbpf_tools_on_four_kernels_match_libbpf_instruction_for_instruction() {
    let list = Command::new("dpkg")
        .args(["-L", "libbpf-tools"])
        .output()
        .expect("dpkg");
    assert!(
        list.status.success(),
        "libbpf-tools is not installed (scripts/setup.sh installs it)"
    );
    let mut objects = Vec::new();
    for path in String::from_utf8_lossy(&list.stdout).lines() {
        let p = Path::new(path);
        if !path.starts_with("/usr/sbin/") || !p.is_file() || p.is_symlink() {
            continue;
        }
        let binary = std::fs::read(p).unwrap();
        for emb in btfkit_object::find_embedded_bpf_objects(&binary) {
            objects.push((
                p.file_name().unwrap().to_string_lossy().to_string(),
                emb.bytes(&binary).unwrap().to_vec(),
            ));
        }
    }
    assert!(
        objects.len() >= 50,
        "found {} libbpf-tools objects",
        objects.len()
    );
    let mut mismatches = Vec::new();
    let mut table = Vec::new();
    for kernel_path in kernels() {
        let data = std::fs::read(&kernel_path)
            .unwrap_or_else(|e| panic!("{}: {e}", kernel_path.display()));
        let kernel = Btf::parse(&data).unwrap();
        let target = Target::new(&kernel);
        let (mut compared, mut relos, mut same_insn, mut skipped, mut poisoned) = (0, 0, 0, 0, 0);
        for (tool, obj) in &objects {
            let ours = relocate_object(obj, &target).unwrap_or_else(|e| panic!("{tool}: {e}"));
            if ours.decisions.is_empty() {
                continue;
            }
            let theirs = libbpf_relocate(obj, &kernel_path);
            if theirs.decisions.is_empty() {
                skipped += 1;
                continue;
            }
            compared += 1;
            let our_sections: HashMap<usize, &Vec<u8>> =
                ours.sections.iter().map(|(i, b)| (*i, b)).collect();
            let parsed = btfkit_object::BpfObject::parse(obj).unwrap();
            for d in &ours.decisions {
                let key = (d.prog.clone(), d.relo_idx);
                let Some(want) = theirs.decisions.get(&key) else {
                    continue;
                };
                relos += 1;
                let got = our_decision(d);
                if got == "poison" {
                    poisoned += 1;
                }
                let same = got == *want || (want.starts_with("error") && got.starts_with("error"));
                if !same {
                    mismatches.push(format!(
                        "{} {tool} prog '{}' relo #{}: libbpf {want} | btfkit {got}",
                        kernel_path.display(),
                        d.prog,
                        d.relo_idx
                    ));
                    continue;
                }
                // Instruction for instruction: our patched bytes vs libbpf's final program.
                let Some(sec) = parsed.program_section_by_name(&d.section) else {
                    continue;
                };
                let Some(func) = sec.function(&d.prog) else {
                    continue;
                };
                let (Some(lib), Some(our)) = (
                    theirs.insns.get(&d.prog),
                    our_sections.get(&sec.section_index),
                ) else {
                    continue;
                };
                let at = func.offset as usize + d.insn * 8;
                let (lib_insn, our_insn) =
                    (lib.get(d.insn * 8..d.insn * 8 + 8), our.get(at..at + 8));
                if lib_insn == our_insn {
                    same_insn += 1;
                } else {
                    mismatches.push(format!(
                        "{} {tool} prog '{}' insn #{}: libbpf {:02x?} | btfkit {:02x?}",
                        kernel_path.display(),
                        d.prog,
                        d.insn,
                        lib_insn,
                        our_insn
                    ));
                }
            }
        }
        table.push(format!(
            "{:<60} objects {compared:>3}  relocations {relos:>4}  same insn {same_insn:>4}  poisoned {poisoned:>3}  skipped {skipped}",
            kernel_path.display()
        ));
    }
    for row in &table {
        eprintln!("{row}");
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
