//! `btfkit check OBJ... --kernel SPEC...`: the compatibility matrix of BPF
//! objects on real kernels (btfkit-check): per kernel and program, the
//! relocations (applied / poisoned / failed) against that kernel's own BTF,
//! the verifier's answer and instruction count. `host` is the running
//! kernel, checked without a VM; every other kernel boots once in a guest,
//! where this same binary runs the hidden `__check-guest` command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use btfkit_check::{Report, Verdict};

/// Arguments of `btfkit check`.
#[derive(clap::Args)]
pub struct Args {
    /// Relocatable BPF objects (as built by `btfkit build`, with CO-RE records).
    #[arg(required = true)]
    pub objects: Vec<PathBuf>,
    /// A kernel: `host` (the running kernel, no VM; the default), a Debian
    /// package version (6.1.0-57-amd64), an alias (6.1, 6.12-cloud, 6.1-rt) or
    /// a vmlinuz path. Repeat for a matrix.
    #[arg(long = "kernel", value_name = "SPEC", default_value = "host")]
    pub kernels: Vec<String>,
    /// Attach each program after loading it (default: load only).
    #[arg(long)]
    pub attach: bool,
    /// Print the reports as JSON.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the matrix as a Markdown table (kernels x programs).
    #[arg(long)]
    pub markdown: bool,
    /// Seconds a guest may take before it is ended.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Guests run at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
}

/// Arguments of the hidden `btfkit __check-guest` (run inside a guest).
#[derive(clap::Args)]
pub struct GuestArgs {
    /// Attach after loading.
    #[arg(long)]
    pub attach: bool,
    /// The objects.
    pub objects: Vec<PathBuf>,
}

/// The kernel's release (`uname -r`).
fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs `__check-guest`: checks the objects on the running kernel, prints one JSON line.
pub fn run_guest(args: GuestArgs) -> anyhow::Result<ExitCode> {
    println!(
        "{}{}",
        btfkit_check::GUEST_MARK,
        btfkit_check::guest_json(&args.objects, &release(), args.attach)
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `btfkit check`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let objects: Vec<PathBuf> = args
        .objects
        .iter()
        .map(|o| std::fs::canonicalize(o).with_context(|| format!("{}", o.display())))
        .collect::<anyhow::Result<_>>()?;
    let guest_specs: Vec<String> = args
        .kernels
        .iter()
        .filter(|k| *k != "host")
        .cloned()
        .collect();
    let mut columns: Vec<Vec<Report>> = Vec::new();
    if !guest_specs.is_empty() {
        btfkit_vm::check_host()?;
        let kernels = crate::cmd::vm::resolve_kernels(&guest_specs)?;
        crate::cmd::vm::end_guests_on_interrupt();
        let exe = std::env::current_exe().context("finding the btfkit binary")?;
        let opts = crate::cmd::vm::options(args.timeout, args.jobs, "1G");
        columns = btfkit_check::check_in_guests(&exe, &objects, &kernels, args.attach, &opts);
    }
    if args.kernels.iter().any(|k| k == "host") {
        let host = format!("{} (host)", release());
        let here: Vec<Report> = btfkit_check::check_all_here(&objects, &host, args.attach);
        // The host column goes where it was asked for.
        let at = args.kernels.iter().position(|k| k == "host").unwrap_or(0);
        columns.insert(at.min(columns.len()), here);
    }
    let all_ok = columns.iter().flatten().all(Report::ok);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&columns)?);
    } else if args.markdown {
        print!("{}", markdown(&objects, &columns));
    } else {
        print!("{}", text(&columns));
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn object_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

fn verdict(p: &btfkit_check::ProgramReport) -> String {
    match p.verdict {
        Verdict::Accepted => match p.verified_insns {
            Some(n) => format!("loads ({n} insns)"),
            None => "loads".into(),
        },
        Verdict::Rejected => "REJECTED".into(),
        Verdict::Unsupported => "unsupported here".into(),
        Verdict::NotLoaded => "not loaded".into(),
    }
}

/// The plain text report: a block per kernel, a line per program.
fn text(columns: &[Vec<Report>]) -> String {
    let mut out = String::new();
    for col in columns {
        let Some(first) = col.first() else { continue };
        out.push_str(&format!("== {}\n", first.kernel));
        for r in col {
            if let Some(e) = &r.error {
                out.push_str(&format!(
                    "  {}: FAILED: {}\n",
                    object_name(&r.object),
                    e.replace('\n', "\n    ")
                ));
                continue;
            }
            for p in &r.programs {
                let (a, po, f) = p.counts();
                out.push_str(&format!(
                    "  {:<14} {:<24} relocations {a} applied, {po} poisoned, {f} failed; {}\n",
                    object_name(&r.object),
                    p.name,
                    verdict(p)
                ));
                for l in &p.log {
                    out.push_str(&format!("      {l}\n"));
                }
                for rel in p.relocations.iter().filter(|r| r.outcome == "failed") {
                    out.push_str(&format!(
                        "      insn {}: {} {}: {}\n",
                        rel.insn,
                        rel.kind,
                        rel.field,
                        rel.reason.as_deref().unwrap_or("failed")
                    ));
                }
            }
        }
    }
    out
}

/// The Markdown matrix: a row per object and program, a column per kernel;
/// each cell says whether it loads and the first relocated values.
fn markdown(objects: &[PathBuf], columns: &[Vec<Report>]) -> String {
    let mut out = String::from("| object | program |");
    for col in columns {
        out.push_str(&format!(
            " {} |",
            col.first().map_or("?".to_string(), |r| r.kernel.clone())
        ));
    }
    out.push_str("\n|---|---|");
    for _ in columns {
        out.push_str("---|");
    }
    out.push('\n');
    for (oi, o) in objects.iter().enumerate() {
        let name = object_name(&o.display().to_string());
        let programs: Vec<String> = columns
            .iter()
            .filter_map(|c| c.get(oi))
            .find(|r| r.error.is_none())
            .map(|r| r.programs.iter().map(|p| p.name.clone()).collect())
            .unwrap_or_else(|| vec!["?".into()]);
        for pname in programs {
            out.push_str(&format!("| {name} | {pname} |"));
            for col in columns {
                let cell = match col.get(oi) {
                    Some(r) if r.error.is_some() => {
                        format!(
                            "FAILED: {}",
                            r.error
                                .as_deref()
                                .unwrap_or("")
                                .lines()
                                .next()
                                .unwrap_or("")
                        )
                    }
                    Some(r) => match r.programs.iter().find(|p| p.name == pname) {
                        Some(p) => {
                            let (a, po, f) = p.counts();
                            let offsets: Vec<String> = p
                                .relocations
                                .iter()
                                .filter(|r| r.kind == "byte_off")
                                .filter_map(|r| {
                                    Some(format!("{}={}", r.field.rsplit('.').next()?, r.value?))
                                })
                                .fold(Vec::new(), |mut v: Vec<String>, c| {
                                    if !v.contains(&c) && v.len() < 3 {
                                        v.push(c);
                                    }
                                    v
                                });
                            let mut c = format!("{}; {a}/{po}/{f}", verdict(p));
                            if !offsets.is_empty() {
                                c.push_str(&format!("; {}", offsets.join(" ")));
                            }
                            c
                        }
                        None => "-".into(),
                    },
                    None => "-".into(),
                };
                out.push_str(&format!(" {cell} |"));
            }
            out.push('\n');
        }
    }
    out.push_str("\nCells: verifier answer (verified instructions); relocations applied/poisoned/failed; the first field offsets on that kernel.\n");
    out
}
