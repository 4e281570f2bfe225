//! `btfkit min-btf`: tailored BTF for CO-RE objects, from one full BTF
//! (vmlinux or split module BTF) or a BTFHub-like tree of them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use btfkit_minbtf::tree::KernelReport;
use btfkit_minbtf::{Failure, Output};

/// Arguments of `btfkit min-btf`.
#[derive(clap::Args)]
#[command(
    after_help = "The output keeps, of the full BTF, what the objects' CO-RE relocations reach \
(bpftool gen min_core_btf's rules, every matching candidate kept): libbpf and btfkit decide \
every relocation as with the full BTF (target type ids aside); before writing, btfkit relocates every object \
against the output and compares each decision with the full BTF's. Give it to libbpf as \
btf_custom_path, or to `btfkit relocate/explain --target`.\n\n\
Module BTF: with --base, the output is one standalone BTF (the kept base and module types \
together: what libbpf's btf_custom_path accepts; libbpf reads no module BTF when given a \
custom BTF), or with --split-over-base split BTF over the same, unchanged base.\n\n\
Trees: --btf-dir walks <distro>/<release>/<arch>/<kernel>.btf (or .btf.tar.xz) files like \
BTFHub's archive and writes the same tree under --out-dir, compressed like the input; a \
progress line per kernel, then a summary. Corrupt files are reported and skipped.\n\n\
Relocations that do not resolve on a kernel are listed; the tailored file serves the others.\n\n\
Exit status: 0 when written (failing relocations included), 2 for input that cannot be read."
)]
pub struct Args {
    /// The CO-RE objects (clang's, or btfkit's link step's).
    #[arg(required = true)]
    pub objects: Vec<PathBuf>,
    /// The full BTF (raw, or an ELF with .BTF); module BTF with --base.
    #[arg(long, conflicts_with = "btf_dir", required_unless_present = "btf_dir")]
    pub btf: Option<PathBuf>,
    /// Base BTF when --btf is split (module) BTF.
    #[arg(long, requires = "btf")]
    pub base: Option<PathBuf>,
    /// With --base: write split BTF over the same base instead of standalone BTF.
    #[arg(long, requires = "base")]
    pub split_over_base: bool,
    /// Where to write the tailored BTF (with --btf).
    #[arg(short, long, requires = "btf")]
    pub output: Option<PathBuf>,
    /// A tree of full BTF files (BTFHub's layout).
    #[arg(long, requires = "out_dir")]
    pub btf_dir: Option<PathBuf>,
    /// Where to write the tree of tailored files (with --btf-dir).
    #[arg(long, requires = "btf_dir")]
    pub out_dir: Option<PathBuf>,
    /// Kernels tailored at once (default: the number of CPUs).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn read_objects(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            Ok((p.display().to_string(), bytes))
        })
        .collect()
}

fn failure_line(f: &Failure) -> String {
    format!("{}: {}", f.object, f.decision)
}

/// Runs `btfkit min-btf`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let objects = read_objects(&args.objects)?;
    let named: Vec<(&str, &[u8])> = objects
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    match (&args.btf, &args.btf_dir, &args.out_dir) {
        (Some(btf), _, _) => {
            let output = args.output.as_ref().context("--btf needs -o/--output")?;
            one(&args, btf, output, &named)
        }
        (None, Some(input), Some(out)) => tree(&args, input, out, &named),
        _ => anyhow::bail!("give --btf FULL -o OUT, or --btf-dir IN --out-dir OUT"),
    }
}

fn one(
    args: &Args,
    btf: &std::path::Path,
    output: &std::path::Path,
    named: &[(&str, &[u8])],
) -> anyhow::Result<ExitCode> {
    let full = crate::cmd::relocate::load_target(btf, args.base.as_deref())?;
    let form = if args.split_over_base {
        Output::SplitOverBase
    } else {
        Output::Standalone
    };
    let t = btfkit_minbtf::tailor(&full, named, form)?;
    std::fs::write(output, &t.btf).with_context(|| format!("cannot write {}", output.display()))?;
    let bytes_in = std::fs::metadata(btf).map(|m| m.len()).unwrap_or(0);
    if args.json {
        let v = serde_json::json!({
            "output": output.display().to_string(),
            "bytes_in": bytes_in,
            "bytes_out": t.btf.len(),
            "types": t.types,
            "relocations": t.relocations,
            "failures": t.failures.iter().map(|f| serde_json::json!({
                "object": f.object,
                "section": f.decision.section,
                "prog": f.decision.prog,
                "relo": f.decision.relo_idx,
                "kind": f.decision.kind.short_name(),
                "local": f.decision.local,
                "error": btfkit_minbtf::failure(&f.decision),
            })).collect::<Vec<_>>(),
        });
        println!("{v:#}");
    } else {
        for f in &t.failures {
            eprintln!("btfkit min-btf: does not resolve: {}", failure_line(f));
        }
        eprintln!(
            "btfkit min-btf: {} relocation(s) of {} object(s), {} failing; kept {} types; {} -> {} bytes; wrote {}",
            t.relocations,
            named.len(),
            t.failures.len(),
            t.types,
            bytes_in,
            t.btf.len(),
            output.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn tree(
    args: &Args,
    input: &std::path::Path,
    out: &std::path::Path,
    named: &[(&str, &[u8])],
) -> anyhow::Result<ExitCode> {
    if let (Ok(a), Ok(b)) = (input.canonicalize(), out.canonicalize()) {
        anyhow::ensure!(
            a != b,
            "--out-dir is --btf-dir: the full BTF files would be overwritten"
        );
    }
    let total = btfkit_minbtf::tree::find_kernels(input)
        .with_context(|| format!("cannot walk {}", input.display()))?
        .len();
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let done = AtomicUsize::new(0);
    let stderr = Mutex::new(std::io::stderr());
    let progress = |k: &KernelReport| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        let line = match &k.error {
            Some(e) => format!("[{n}/{total}] {}: error: {e}", k.path.display()),
            None => format!(
                "[{n}/{total}] {}: {} -> {} bytes, {} failing relocation(s), {:.0} ms",
                k.path.display(),
                k.bytes_in,
                k.bytes_out,
                k.failures.len(),
                k.elapsed.as_secs_f64() * 1e3
            ),
        };
        if let Ok(mut e) = stderr.lock() {
            let _ = writeln!(e, "{line}");
        }
    };
    let summary = btfkit_minbtf::tree::tailor_tree(input, out, named, jobs, &progress)
        .with_context(|| format!("cannot walk {}", input.display()))?;
    // Failing relocation → kernels it fails on.
    let mut failing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in &summary.kernels {
        for f in &k.failures {
            let key = format!(
                "{}: {} prog '{}' relo #{} <{}> {}",
                f.object,
                f.decision.section,
                f.decision.prog,
                f.decision.relo_idx,
                f.decision.kind,
                f.decision.local
            );
            failing
                .entry(key)
                .or_default()
                .push(k.path.display().to_string());
        }
    }
    if args.json {
        let v = serde_json::json!({
            "kernels": summary.kernels.len(),
            "errors": summary.errors(),
            "bytes_in": summary.bytes_in(),
            "bytes_out": summary.bytes_out(),
            "files": summary.kernels.iter().map(|k| serde_json::json!({
                "path": k.path.display().to_string(),
                "bytes_in": k.bytes_in,
                "bytes_out": k.bytes_out,
                "failing": k.failures.len(),
                "error": k.error,
                "ms": k.elapsed.as_secs_f64() * 1e3,
            })).collect::<Vec<_>>(),
            "failing_relocations": failing.iter().map(|(r, ks)| serde_json::json!({
                "relocation": r, "kernels": ks,
            })).collect::<Vec<_>>(),
        });
        println!("{v:#}");
    } else {
        eprintln!(
            "btfkit min-btf: {} kernel(s) ({} unreadable), {} -> {} bytes, {} relocation(s) fail on some kernel",
            summary.kernels.len(),
            summary.errors(),
            summary.bytes_in(),
            summary.bytes_out(),
            failing.len()
        );
        for (r, ks) in &failing {
            eprintln!("  {r}: fails on {} kernel(s): {}", ks.len(), ks.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
