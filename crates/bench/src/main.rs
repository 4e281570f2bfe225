//! `btfkit-bench`: measures btfkit beside the reference implementations in one
//! run, on the same inputs, and prints `workload | btfkit | reference | ratio`
//! with medians over repeated runs. `--markdown` prints the table for
//! BENCHMARKS.md. Peak memory is measured in child processes (`--child WORK`).

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

/// libbpf relocating `obj` for `target` (open with btf_custom_path + prepare).
fn libbpf_prepare(obj: &[u8], target: &std::ffi::CStr) -> i32 {
    let opts = libbpf_sys::bpf_object_open_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _,
        btf_custom_path: target.as_ptr(),
        ..Default::default()
    };
    // SAFETY: libbpf copies `obj` at open; `opts` outlives the calls; the
    // object is closed once.
    unsafe {
        libbpf_sys::libbpf_set_print(None);
        let o =
            libbpf_sys::bpf_object__open_mem(obj.as_ptr() as *const c_void, obj.len() as _, &opts);
        if o.is_null() || libbpf_sys::libbpf_get_error(o as *const c_void) != 0 {
            return -1;
        }
        let rc = libbpf_sys::bpf_object__prepare(o);
        libbpf_sys::bpf_object__close(o);
        rc
    }
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
    let ours_lookup = median(runs.min(11), || {
        let b = Btf::parse(&data).ok();
        names
            .iter()
            .map(|n| {
                b.as_ref()
                    .map_or(0, |b| b.find_by_name_kind(n, Kind::Struct).len())
            })
            .sum::<usize>()
    });
    let libbpf_btf = libbpf_parse(&data);
    let libbpf_lookup = median(3, || {
        cnames
            .iter()
            .map(|n| libbpf_find(libbpf_btf, n))
            .sum::<i32>()
    });
    libbpf_free(libbpf_btf);
    let btfrs_btf = btf_rs::Btf::from_bytes(&data)?;
    let btfrs_lookup = median(3, || {
        names
            .iter()
            .map(|n| btfrs_btf.resolve_ids_by_name(n).map_or(0, |v| v.len()))
            .sum::<usize>()
    });
    let label = format!("{} struct lookups (parse + index + lookups)", names.len());
    rows.push(Row {
        workload: label.clone(),
        ours: ours_lookup,
        reference_name: "libbpf btf__find_by_name_kind (lookups only)".into(),
        reference: libbpf_lookup,
    });
    rows.push(Row {
        workload: label,
        ours: ours_lookup,
        reference_name: "btf-rs resolve_ids_by_name (lookups only)".into(),
        reference: btfrs_lookup,
    });

    // Relocate every CO-RE object embedded in libbpf-tools for the running kernel.
    let corpus = libbpf_tools_objects();
    let target = btfkit_reloc::Target::new(&btf);
    let ours_relocate = median(runs.min(11), || {
        corpus
            .iter()
            .map(|o| btfkit_reloc::relocate_object(o, &target).map_or(0, |r| r.decisions.len()))
            .sum::<usize>()
    });
    let ours_relocate_cold = median(runs.min(11), || {
        let t = btfkit_reloc::Target::new(&btf);
        corpus
            .iter()
            .map(|o| btfkit_reloc::relocate_object(o, &t).map_or(0, |r| r.decisions.len()))
            .sum::<usize>()
    });
    let cpath_vmlinux = std::ffi::CString::new(path.as_str())?;
    let libbpf_relocate = median(runs.min(5), || {
        corpus
            .iter()
            .map(|o| libbpf_prepare(o, &cpath_vmlinux))
            .sum::<i32>()
    });
    let label = format!("relocate {} libbpf-tools objects", corpus.len());
    rows.push(Row {
        workload: format!("{label} (target indexed once)"),
        ours: ours_relocate,
        reference_name:
            "libbpf open+prepare (relocation + map creation; libbpf has no relocation-only API)"
                .into(),
        reference: libbpf_relocate,
    });
    rows.push(Row {
        workload: format!("{label} (index built per run)"),
        ours: ours_relocate_cold,
        reference_name: "libbpf open+prepare, same".into(),
        reference: libbpf_relocate,
    });

    // Whole commands a user runs, output to /dev/null.
    if let Some(btfkit) = btfkit_binary() {
        for (what, ours_args, their_args) in [
            (
                "`dump` raw format",
                vec!["dump", path.as_str()],
                vec!["btf", "dump", "file", path.as_str()],
            ),
            (
                "`dump --format c`",
                vec!["dump", "--format", "c", path.as_str()],
                vec!["btf", "dump", "file", path.as_str(), "format", "c"],
            ),
        ] {
            let ours = median(runs.min(11), || run_quiet(&btfkit, &ours_args));
            let theirs = median(runs.min(11), || {
                run_quiet(std::path::Path::new("bpftool"), &their_args)
            });
            rows.push(Row {
                workload: format!("whole command: btfkit {what}"),
                ours,
                reference_name: "bpftool btf dump (same output)".into(),
                reference: theirs,
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
    if markdown {
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
        println!("peak memory above a process that only read the input (KiB):");
        for (work, kib) in &mem {
            println!("  {work:<16} {kib}");
        }
    }
    Ok(())
}
