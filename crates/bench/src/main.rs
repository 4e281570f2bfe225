//! `btfkit-bench`: measures btfkit beside the reference implementations in one
//! run, on the same inputs, and prints `workload | btfkit | reference | ratio`
//! with medians over repeated runs. `--markdown` prints the table for
//! BENCHMARKS.md. Peak memory is measured in child processes (`--child WORK`).
//! The whole-command rows run the release `btfkit` binary next to this one
//! (`cargo build --release -p btfkit`) and `bpftool`. On a busy machine,
//! `chrt -f 50 target/release/btfkit-bench --markdown` keeps other work off
//! the measuring core (its child commands inherit the priority).

use std::ffi::c_void;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use btfkit_model::{Btf, Kind};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Median of `runs` timings of `f` (after one warm-up run).
fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    std::hint::black_box(f());
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// One row of the table.
struct Row {
    workload: String,
    ours: Duration,
    reference_name: String,
    reference: Duration,
}

fn libbpf_parse(data: &[u8]) -> *mut libbpf_sys::btf {
    // SAFETY: btf__new copies `data` (valid for its length) into its own buffer
    // and returns an owned handle or an error pointer; the caller frees it.
    unsafe { libbpf_sys::btf__new(data.as_ptr() as *const c_void, data.len() as u32) }
}

fn libbpf_free(btf: *mut libbpf_sys::btf) {
    // SAFETY: `btf` came from btf__new and is freed exactly once.
    unsafe { libbpf_sys::btf__free(btf) }
}

fn libbpf_find(btf: *const libbpf_sys::btf, name: &std::ffi::CStr) -> i32 {
    // SAFETY: `btf` is a live handle and `name` a NUL-terminated string.
    unsafe { libbpf_sys::btf__find_by_name_kind(btf, name.as_ptr(), libbpf_sys::BTF_KIND_STRUCT) }
}

/// Every BPF object embedded in Debian's libbpf-tools binaries that has CO-RE records.
fn libbpf_tools_objects() -> Vec<Vec<u8>> {
    let list = Command::new("dpkg").args(["-L", "libbpf-tools"]).output();
    let Ok(list) = list else { return Vec::new() };
    let mut out = Vec::new();
    for path in String::from_utf8_lossy(&list.stdout).lines() {
        let p = std::path::Path::new(path);
        if !path.starts_with("/usr/sbin/") || !p.is_file() || p.is_symlink() {
            continue;
        }
        let Ok(binary) = std::fs::read(p) else {
            continue;
        };
        for emb in btfkit_object::find_embedded_bpf_objects(&binary) {
            if let Some(bytes) = emb.bytes(&binary) {
                let has_core = btfkit_object::BpfObject::parse(bytes)
                    .ok()
                    .and_then(|o| {
                        o.btf_ext().map(|e| {
                            btfkit_model::BtfExt::parse(e).map_or(0, |x| x.core_relo.len())
                        })
                    })
                    .unwrap_or(0)
                    > 0;
                if has_core {
                    out.push(bytes.to_vec());
                }
            }
        }
    }
    out
}

/// libbpf as close to relocating alone as its API allows: `obj` opened from
/// memory with `btf_custom_path` = `target`, every map's autocreate turned off
/// (no kernel maps), then `bpf_object__prepare` (no program is loaded).
/// Returns prepare's status (0: success).
fn libbpf_prepare(obj: &[u8], target: &std::ffi::CStr) -> i32 {
    let opts = libbpf_sys::bpf_object_open_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _,
        btf_custom_path: target.as_ptr(),
        ..Default::default()
    };
    // SAFETY: libbpf copies `obj` at open; `opts` outlives the calls; the
    // maps belong to the open, unprepared object; the object is closed once.
    unsafe {
        libbpf_sys::libbpf_set_print(None);
        let o =
            libbpf_sys::bpf_object__open_mem(obj.as_ptr() as *const c_void, obj.len() as _, &opts);
        if o.is_null() || libbpf_sys::libbpf_get_error(o as *const c_void) != 0 {
            return -1;
        }
        let mut map = libbpf_sys::bpf_object__next_map(o, std::ptr::null());
        while !map.is_null() {
            libbpf_sys::bpf_map__set_autocreate(map, false);
            map = libbpf_sys::bpf_object__next_map(o, map);
        }
        let rc = libbpf_sys::bpf_object__prepare(o);
        libbpf_sys::bpf_object__close(o);
        rc
    }
}

/// libbpf opening `obj` (ELF, its BTF and .BTF.ext, programs, maps) and closing
/// it: the part of [`libbpf_prepare`] that is not preparing.
fn libbpf_open_only(obj: &[u8]) -> bool {
    let opts = libbpf_sys::bpf_object_open_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _,
        ..Default::default()
    };
    // SAFETY: as in `libbpf_prepare`, without prepare.
    unsafe {
        libbpf_sys::libbpf_set_print(None);
        let o =
            libbpf_sys::bpf_object__open_mem(obj.as_ptr() as *const c_void, obj.len() as _, &opts);
        if o.is_null() || libbpf_sys::libbpf_get_error(o as *const c_void) != 0 {
            return false;
        }
        libbpf_sys::bpf_object__close(o);
        true
    }
}

/// aya-obj relocating `obj` for `target`, as aya's loader does before it
/// loads anything: `Object::parse` (ELF, maps, programs, functions, BTF,
/// .BTF.ext) and `relocate_btf` (every CO-RE record, instructions patched).
fn aya_relocate(obj: &[u8], target: &aya_obj::btf::Btf) -> bool {
    match aya_obj::Object::parse(obj) {
        Ok(mut o) => o.relocate_btf(target).is_ok(),
        Err(_) => false,
    }
}

/// Medians of several workloads measured in turns (a, b, a, b, ...), so that
/// a change in the machine's load hits each of them alike.
fn medians_interleaved(runs: usize, work: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    for w in work.iter_mut() {
        w();
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); work.len()];
    for _ in 0..runs {
        for (w, t) in work.iter_mut().zip(&mut times) {
            let start = Instant::now();
            w();
            t.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect()
}

/// Bytes a command writes to standard output.
fn output_size(program: &std::path::Path, args: &[&str]) -> Option<usize> {
    let out = Command::new(program)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout.len())
}

/// The release btfkit binary next to this one, if built.
fn btfkit_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join("btfkit");
    p.exists().then_some(p)
}

fn run_quiet(program: &std::path::Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The struct names most referenced by members and pointers: the lookups a
/// loader does most.
fn common_struct_names(btf: &Btf<'_>, n: usize) -> Vec<String> {
    let mut refs: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for id in btf.type_ids() {
        let Ok(t) = btf.type_by_id(id) else { continue };
        let targets: Vec<u32> = match t.kind() {
            Kind::Struct | Kind::Union => t.members().map(|m| m.type_id).collect(),
            Kind::Ptr => vec![t.size_or_type()],
            _ => continue,
        };
        for target in targets {
            *refs.entry(target).or_default() += 1;
        }
    }
    let mut named: Vec<(usize, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (id, count) in refs {
        let Ok(t) = btf.type_by_id(id) else { continue };
        if t.kind() != Kind::Struct || t.name_off() == 0 {
            continue;
        }
        if let Ok(name) = btf.type_name(&t) {
            if seen.insert(name.to_string()) {
                named.push((count, name.to_string()));
            }
        }
    }
    named.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    named.into_iter().take(n).map(|(_, s)| s).collect()
}

fn run_child(work: &str, data: &[u8]) -> Result<()> {
    match work {
        "baseline" => {
            std::hint::black_box(data.len());
        }
        "btfkit" => {
            let btf = Btf::parse(data)?;
            std::hint::black_box(btf.last_id());
        }
        "btfkit-owned" => {
            let btf = Btf::parse_owned(data.to_vec())?;
            std::hint::black_box(btf.last_id());
        }
        "btfkit-indexed" => {
            let btf = Btf::parse(data)?;
            std::hint::black_box(btf.find_by_name("task_struct"));
        }
        "libbpf" => {
            let btf = libbpf_parse(data);
            std::hint::black_box(btf);
        }
        "aya-obj" => {
            let btf = aya_obj::btf::Btf::parse(data, aya_object::Endianness::default())?;
            std::hint::black_box(&btf);
            std::mem::forget(btf);
        }
        "btf-rs" => {
            let btf = btf_rs::Btf::from_bytes(data)?;
            std::hint::black_box(&btf);
            std::mem::forget(btf);
        }
        other => bail!("unknown child workload {other}"),
    }
    Ok(())
}

/// Peak RSS (KiB) of a child process running `work` on `path`, as the child
/// reports it (`VmHWM` belongs to the child's own address space; `ru_maxrss`
/// would carry the parent's high-water mark across exec).
fn peak_kib(work: &str, path: &str) -> Result<i64> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .args(["--child", work, path])
        .output()
        .with_context(|| format!("running child {work}"))?;
    if !out.status.success() {
        bail!(
            "child {work} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("child {work} printed {text:?}, not a peak in KiB"))
}

/// This process's peak resident set (`VmHWM`) in KiB.
fn own_peak_kib() -> Result<i64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    line.split_whitespace()
        .nth(1)
        .context("malformed VmHWM line")?
        .parse()
        .context("malformed VmHWM value")
}

/// The machine, its load and the reference tools' versions, for the table's header.
fn machine() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let kernel = read("/proc/sys/kernel/osrelease");
    let load = read("/proc/loadavg");
    let bpftool = Command::new("bpftool")
        .arg("version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "bpftool: not found".into());
    format!(
        "{cpu}, {cores} cores, {} GiB, kernel {}; load average at start {}; {bpftool}",
        mem_kib / (1 << 20),
        kernel.trim(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let (work, path) = (&args[2], &args[3]);
        let data = std::fs::read(path)?;
        run_child(work, &data)?;
        println!("{}", own_peak_kib()?);
        return Ok(());
    }
    let markdown = args.iter().any(|a| a == "--markdown");
    let runs: usize = std::env::var("BTFKIT_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(31);
    let path = std::env::var("BTFKIT_BENCH_BTF").unwrap_or_else(|_| VMLINUX.to_string());
    let data = std::fs::read(&path).with_context(|| format!("reading {path}"))?;
    let btf = Btf::parse(&data)?;
    eprintln!(
        "input: {path}, {} bytes, {} types; {runs} runs per figure (median)",
        data.len(),
        btf.last_id()
    );

    let machine = machine();
    eprintln!("machine: {machine}");
    let mut rows = Vec::new();
    let copy = median(runs, || data.to_vec());
    let ours_parse = median(runs, || Btf::parse(&data).map(|b| b.last_id()));
    let ours_owned = median(runs, || Btf::parse_owned(data.clone()).map(|b| b.last_id()));
    let libbpf = median(runs, || libbpf_free(libbpf_parse(&data)));
    let aya = median(runs.min(11), || {
        aya_obj::btf::Btf::parse(&data, aya_object::Endianness::default()).is_ok()
    });
    let btfrs = median(runs.min(5), || btf_rs::Btf::from_bytes(&data).is_ok());
    rows.push(Row {
        workload: "parse (borrowed input)".into(),
        ours: ours_parse,
        reference_name: "libbpf btf__new".into(),
        reference: libbpf,
    });
    rows.push(Row {
        workload: "parse (own a copy)".into(),
        ours: ours_owned,
        reference_name: "libbpf btf__new".into(),
        reference: libbpf,
    });
    let cpath = std::ffi::CString::new(path.as_str())?;
    let ours_file = median(runs, || {
        std::fs::read(&path)
            .ok()
            .and_then(|d| Btf::parse_owned(d).ok())
            .map(|b| b.last_id())
    });
    // SAFETY: btf__parse reads the file named by a NUL-terminated path and
    // returns an owned handle (or an error pointer) that libbpf_free releases.
    let libbpf_file = median(runs, || {
        libbpf_free(unsafe { libbpf_sys::btf__parse(cpath.as_ptr(), std::ptr::null_mut()) })
    });
    rows.push(Row {
        workload: "read file + parse".into(),
        ours: ours_file,
        reference_name: "libbpf btf__parse(path)".into(),
        reference: libbpf_file,
    });
    rows.push(Row {
        workload: "parse".into(),
        ours: ours_parse,
        reference_name: "aya-obj 0.3 Btf::parse".into(),
        reference: aya,
    });
    rows.push(Row {
        workload: "parse".into(),
        ours: ours_parse,
        reference_name: "btf-rs 2.0 from_bytes".into(),
        reference: btfrs,
    });
    rows.push(Row {
        workload: "parse".into(),
        ours: ours_parse,
        reference_name: "copy floor (memcpy of input)".into(),
        reference: copy,
    });

    let names = common_struct_names(&btf, 1000);
    let cnames: Vec<std::ffi::CString> = names
        .iter()
        .filter_map(|n| std::ffi::CString::new(n.as_str()).ok())
        .collect();
    let lookup_all = |b: &Btf<'_>| {
        names
            .iter()
            .map(|n| b.find_by_name_kind(n, Kind::Struct).len())
            .sum::<usize>()
    };
    // Cold: what a loader pays at start, from the bytes to every answer.
    let ours_cold = median(runs.min(11), || {
        Btf::parse(&data).ok().map(|b| lookup_all(&b))
    });
    // Warm: the lookups alone, on a BTF parsed and name-indexed beforehand.
    let indexed = Btf::parse(&data)?;
    lookup_all(&indexed);
    let ours_warm = median(runs.min(11), || lookup_all(&indexed));
    let libbpf_btf = libbpf_parse(&data);
    let libbpf_lookup = median(3, || {
        cnames
            .iter()
            .map(|n| libbpf_find(libbpf_btf, n))
            .sum::<i32>()
    });
    libbpf_free(libbpf_btf);
    let libbpf_cold = median(3, || {
        let b = libbpf_parse(&data);
        let found = cnames.iter().map(|n| libbpf_find(b, n)).sum::<i32>();
        libbpf_free(b);
        found
    });
    let btfrs_lookup_all = |b: &btf_rs::Btf| {
        names
            .iter()
            .map(|n| b.resolve_ids_by_name(n).map_or(0, |v| v.len()))
            .sum::<usize>()
    };
    let btfrs_btf = btf_rs::Btf::from_bytes(&data)?;
    let btfrs_lookup = median(3, || btfrs_lookup_all(&btfrs_btf));
    let btfrs_cold = median(3, || {
        btf_rs::Btf::from_bytes(&data)
            .ok()
            .map(|b| btfrs_lookup_all(&b))
    });
    let n = names.len();
    for (workload, ours, reference_name, reference) in [
        (
            format!("{n} struct lookups alone (parsed and indexed beforehand)"),
            ours_warm,
            "libbpf btf__find_by_name_kind",
            libbpf_lookup,
        ),
        (
            format!("{n} struct lookups alone (parsed and indexed beforehand)"),
            ours_warm,
            "btf-rs resolve_ids_by_name",
            btfrs_lookup,
        ),
        (
            format!("{n} struct lookups from the bytes (parse + index + lookups)"),
            ours_cold,
            "libbpf btf__new + btf__find_by_name_kind",
            libbpf_cold,
        ),
        (
            format!("{n} struct lookups from the bytes (parse + index + lookups)"),
            ours_cold,
            "btf-rs from_bytes + resolve_ids_by_name",
            btfrs_cold,
        ),
    ] {
        rows.push(Row {
            workload,
            ours,
            reference_name: reference_name.into(),
            reference,
        });
    }

    // Relocate every CO-RE object embedded in libbpf-tools for the running kernel.
    let corpus = libbpf_tools_objects();
    let records: usize = corpus
        .iter()
        .filter_map(|o| {
            let obj = btfkit_object::BpfObject::parse(o).ok()?;
            Some(
                btfkit_model::BtfExt::parse(obj.btf_ext()?)
                    .ok()?
                    .core_relo
                    .len(),
            )
        })
        .sum();
    let target = btfkit_reloc::Target::new(&btf);
    let relocate_all = |objs: &[&Vec<u8>], t: &btfkit_reloc::Target<'_>| {
        objs.iter()
            .map(|o| btfkit_reloc::relocate_object(o, t).map_or(0, |r| r.decisions.len()))
            .sum::<usize>()
    };
    let all: Vec<&Vec<u8>> = corpus.iter().collect();
    let ours_relocate = median(runs.min(11), || relocate_all(&all, &target));
    // Cold: the target's bytes parsed and indexed (names, flavors) in the run,
    // as a loader that relocates once at start pays.
    let ours_relocate_cold = median(runs.min(11), || {
        Btf::parse(&data)
            .ok()
            .map(|fresh| relocate_all(&all, &btfkit_reloc::Target::new(&fresh)))
    });
    let cpath_vmlinux = std::ffi::CString::new(path.as_str())?;
    let libbpf_ok = corpus
        .iter()
        .filter(|o| libbpf_prepare(o, &cpath_vmlinux) == 0)
        .count();
    let libbpf_relocate = median(runs.min(5), || {
        corpus
            .iter()
            .map(|o| libbpf_prepare(o, &cpath_vmlinux))
            .sum::<i32>()
    });
    let libbpf_open = median(runs.min(5), || {
        corpus.iter().filter(|o| libbpf_open_only(o)).count()
    });
    let label = format!(
        "relocate {} libbpf-tools objects ({records} CO-RE records)",
        corpus.len()
    );
    let libbpf_label = format!(
        "libbpf open_mem + all maps' autocreate off + prepare, per object ({libbpf_ok} of {} prepared; \
         re-parses the target per object, loads the object's BTF into the kernel, creates no maps, loads no programs)",
        corpus.len()
    );
    rows.push(Row {
        workload: format!("{label}, target indexed once"),
        ours: ours_relocate,
        reference_name: libbpf_label,
        reference: libbpf_relocate,
    });
    rows.push(Row {
        workload: format!("{label}, target parsed and indexed in the run"),
        ours: ours_relocate_cold,
        reference_name: "libbpf, same as above".into(),
        reference: libbpf_relocate,
    });
    rows.push(Row {
        workload: format!("{label}, target indexed once"),
        ours: ours_relocate,
        reference_name: "libbpf bpf_object__open_mem + close alone (no target, no prepare)".into(),
        reference: libbpf_open,
    });
    // aya-obj, on the objects it relocates (it refuses some kinds and sections).
    let aya_target = aya_obj::btf::Btf::parse(&data, aya_object::Endianness::default())?;
    let aya_subset: Vec<&Vec<u8>> = corpus
        .iter()
        .filter(|o| aya_relocate(o, &aya_target))
        .collect();
    if !aya_subset.is_empty() {
        let ours = median(runs.min(11), || relocate_all(&aya_subset, &target));
        let aya = median(runs.min(11), || {
            aya_subset
                .iter()
                .filter(|o| aya_relocate(o, &aya_target))
                .count()
        });
        rows.push(Row {
            workload: format!(
                "relocate the {} of {} objects aya-obj relocates, target indexed once",
                aya_subset.len(),
                corpus.len()
            ),
            ours,
            reference_name:
                "aya-obj 0.3 Object::parse + relocate_btf per object, target parsed once".into(),
            reference: aya,
        });
    }

    // Whole commands a user runs, output to /dev/null, measured in turns.
    if let Some(btfkit) = btfkit_binary() {
        let bpftool = std::path::Path::new("bpftool");
        let raw_ours = vec!["dump", path.as_str()];
        let raw_theirs = vec!["btf", "dump", "file", path.as_str()];
        let c_ours = vec!["dump", "--format", "c", path.as_str()];
        let c_theirs = vec!["btf", "dump", "file", path.as_str(), "format", "c"];
        let gen_reloc = vec!["gen", "--btf", path.as_str(), "--layout", "relocatable"];
        let gen_fixed = vec!["gen", "--btf", path.as_str(), "--layout", "fixed"];
        let commands: [(&std::path::Path, &Vec<&str>); 6] = [
            (&btfkit, &raw_ours),
            (bpftool, &raw_theirs),
            (&btfkit, &c_ours),
            (bpftool, &c_theirs),
            (&btfkit, &gen_reloc),
            (&btfkit, &gen_fixed),
        ];
        let mut closures: Vec<Box<dyn FnMut()>> = commands
            .iter()
            .map(|&(p, a)| {
                Box::new(move || {
                    run_quiet(p, a);
                }) as Box<dyn FnMut()>
            })
            .collect();
        let mut refs: Vec<&mut dyn FnMut()> = closures
            .iter_mut()
            .map(|c| &mut **c as &mut dyn FnMut())
            .collect();
        let t = medians_interleaved(runs.min(11), &mut refs);
        let mb = |p: &std::path::Path, a: &Vec<&str>| {
            output_size(p, a).map_or("?".to_string(), |n| format!("{:.2} MB", n as f64 / 1e6))
        };
        let c_size = mb(bpftool, &c_theirs);
        rows.push(Row {
            workload: "whole command: btfkit `dump` raw format".into(),
            ours: t[0],
            reference_name: "bpftool btf dump file (same output)".into(),
            reference: t[1],
        });
        rows.push(Row {
            workload: format!(
                "whole command: btfkit `dump --format c` ({})",
                mb(&btfkit, &c_ours)
            ),
            ours: t[2],
            reference_name: format!("bpftool btf dump file ... format c ({c_size})"),
            reference: t[3],
        });
        for (i, (layout, args)) in [("relocatable", &gen_reloc), ("fixed", &gen_fixed)]
            .into_iter()
            .enumerate()
        {
            rows.push(Row {
                workload: format!(
                    "whole command: btfkit `gen --layout {layout}`, all types ({} of Rust)",
                    mb(&btfkit, args)
                ),
                ours: t[4 + i],
                reference_name: format!("bpftool btf dump file ... format c ({c_size} of C)"),
                reference: t[3],
            });
        }
    } else {
        eprintln!("note: build the btfkit binary (cargo build --release -p btfkit) for the whole-command rows");
    }

    let write = median(runs, || btf.to_bytes());
    rows.push(Row {
        workload: "write full vmlinux BTF".into(),
        ours: write,
        reference_name: "copy floor (memcpy of input)".into(),
        reference: copy,
    });

    let baseline = peak_kib("baseline", &path)?;
    let mut mem = Vec::new();
    for work in [
        "btfkit",
        "btfkit-owned",
        "btfkit-indexed",
        "libbpf",
        "aya-obj",
        "btf-rs",
    ] {
        let peak = peak_kib(work, &path)?;
        mem.push((work, peak.saturating_sub(baseline)));
    }

    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
    let load_end = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load_end = load_end
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    if markdown {
        println!("Machine: {machine}; load average at the end {load_end}.");
        println!();
        println!("| workload | btfkit | reference | ratio (btfkit / reference) |");
        println!("|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {} | {}: {} | {:.2}× |",
                r.workload,
                ms(r.ours),
                r.reference_name,
                ms(r.reference),
                r.ours.as_secs_f64() / r.reference.as_secs_f64()
            );
        }
        println!();
        println!("| parser | peak memory above the input (KiB) |");
        println!("|---|---|");
        for (work, kib) in &mem {
            println!("| {work} | {kib} |");
        }
    } else {
        println!(
            "{:<48} {:>12}  {:<46} {:>12} {:>8}",
            "workload", "btfkit", "reference", "time", "ratio"
        );
        for r in &rows {
            println!(
                "{:<48} {:>12}  {:<46} {:>12} {:>7.2}x",
                r.workload,
                ms(r.ours),
                r.reference_name,
                ms(r.reference),
                r.ours.as_secs_f64() / r.reference.as_secs_f64()
            );
        }
        println!();
        println!("machine: {machine}; load average at the end {load_end}");
        println!("peak memory above a process that only read the input (KiB):");
        for (work, kib) in &mem {
            println!("  {work:<16} {kib}");
        }
    }
    Ok(())
}
