//! `btfkit demo`: builds `examples/exec-events` (a Rust CO-RE program),
//! relocates it for the running kernel with btfkit's engine, loads and
//! attaches it, prints each exec it sees for a few seconds, then the
//! relocations it applied and what they would be on the other kernels at hand.
//! Where the kernel cannot load BPF, it shows the relocations only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use btfkit_model::Btf;

/// Arguments of `btfkit demo`.
#[derive(clap::Args)]
pub struct Args {
    /// How long to watch execs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// The demo program's crate.
    #[arg(long)]
    pub manifest_path: Option<PathBuf>,
    /// Do not load the program; only show its relocations on every kernel BTF at hand.
    #[arg(long)]
    pub no_load: bool,
    /// Kernel BTF to show the relocations against, besides the running
    /// kernel (raw BTF, a vmlinux ELF or a .ko; repeatable). Default: the
    /// test data beside the clone (../shared/testdata/kernel-btf), if any.
    #[arg(long = "btf", value_name = "FILE", num_args = 1..)]
    pub btf: Vec<PathBuf>,
}

const EVENT_SIZE: usize = 24;
const SLOTS: usize = 64;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Other kernels' BTF to show the same object against: the test data beside the repo.
fn other_kernels() -> Vec<PathBuf> {
    let dir = repo_root().join("../shared/testdata/kernel-btf");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("vmlinux-"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn comm(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn build(manifest: &Path) -> anyhow::Result<Vec<u8>> {
    eprintln!(
        "demo: building {} for bpfel-unknown-none",
        manifest.display()
    );
    let tc = btfkit_build::find_toolchain()?;
    let options = btfkit_build::BuildOptions {
        release: true,
        ..Default::default()
    };
    let artifacts = btfkit_build::build_crate(&tc, manifest, &options)?;
    let artifact = artifacts.first().context("cargo produced no artifact")?;
    let built =
        std::fs::read(artifact).with_context(|| format!("reading {}", artifact.display()))?;
    let linked = btfkit_link::link(&built).context("btfkit link")?;
    eprintln!(
        "demo: linked: {} CO-RE relocation(s) recorded",
        linked.relocations.len()
    );
    Ok(linked.object)
}

fn print_relocations(object: &[u8], kernel: &Path) -> anyhow::Result<btfkit_reloc::Relocated> {
    let data = crate::cmd::dump::btf_bytes(kernel)?;
    let btf = Btf::parse(&data).with_context(|| kernel.display().to_string())?;
    let target = btfkit_reloc::Target::new(&btf);
    Ok(btfkit_reloc::relocate_object(object, &target)?)
}

fn relocation_table(object: &[u8], btf: &[PathBuf]) -> anyhow::Result<()> {
    let mut kernels = vec![PathBuf::from("/sys/kernel/btf/vmlinux")];
    if btf.is_empty() {
        kernels.extend(other_kernels());
    } else {
        kernels.extend(btf.iter().cloned());
    }
    let mut columns = Vec::new();
    for k in &kernels {
        let r = match print_relocations(object, k) {
            Ok(r) => r,
            Err(error) => {
                println!("demo: skipping {}: {error:#}", k.display());
                continue;
            }
        };
        let name = k
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = if k == Path::new("/sys/kernel/btf/vmlinux") {
            "running kernel".to_string()
        } else {
            name.trim_end_matches(".btf").to_string()
        };
        columns.push((name, r));
    }
    let Some((_, first)) = columns.first() else {
        bail!("no kernel BTF could be read")
    };
    println!("\nCO-RE relocations of the demo program (old value -> value on each kernel):");
    print!("  {:<10} {:<40}", "kind", "local field");
    for (name, _) in &columns {
        print!(" {:>24}", name);
    }
    println!();
    for (i, d) in first.decisions.iter().enumerate() {
        let field = d.local.split_whitespace().nth(2).unwrap_or(&d.local);
        print!("  {:<10} {:<40}", d.kind.short_name(), field);
        for (_, r) in &columns {
            let cell = r
                .decisions
                .get(i)
                .map_or("?".to_string(), |d| match &d.outcome {
                    btfkit_reloc::Outcome::Applied { old, new, .. } => {
                        format!("{old} -> {new}")
                    }
                    btfkit_reloc::Outcome::Poisoned { .. } => "poisoned".to_string(),
                    btfkit_reloc::Outcome::Failed { .. } => "failed".to_string(),
                });
            print!(" {cell:>24}");
        }
        println!();
    }
    Ok(())
}

/// Why this process cannot load BPF here, if it can tell before trying.
fn cannot_load_reason() -> Option<&'static str> {
    if !btfkit_loader::running_as_root() {
        Some("not running as root")
    } else if !btfkit_loader::kernel_btf_available() {
        Some("the kernel has no /sys/kernel/btf/vmlinux")
    } else {
        None
    }
}

/// One event of the ring: pid, ppid, comm.
fn event(bytes: &[u8], n: u64) -> Option<(u32, u32, String)> {
    let at = 8 + (n % SLOTS as u64) as usize * EVENT_SIZE;
    let e = bytes.get(at..at + EVENT_SIZE)?;
    let pid = u32::from_ne_bytes(e[0..4].try_into().ok()?);
    let ppid = u32::from_ne_bytes(e[4..8].try_into().ok()?);
    Some((pid, ppid, comm(&e[8..24])))
}

/// Relocates `object` for the running kernel, loads and attaches it, and
/// prints the execs it records for `seconds`.
fn watch(object: &[u8], seconds: u64) -> anyhow::Result<()> {
    let kernel =
        std::fs::read("/sys/kernel/btf/vmlinux").context("reading the running kernel's BTF")?;
    let kernel = Btf::parse(&kernel).context("parsing the running kernel's BTF")?;
    let target = btfkit_reloc::Target::new(&kernel);
    let relocated = btfkit_reloc::relocate_object(object, &target)
        .context("relocating the program for the running kernel")?;
    let ready = btfkit_reloc::write::write_relocated(object, &relocated)?;
    let loaded =
        btfkit_loader::LoadedObject::load(&ready).context("loading the relocated program")?;
    let prog = loaded.program("exec_events")?;
    let _link = prog
        .attach()
        .context("attaching to raw tracepoint sched_process_exec")?;
    let ring = loaded.map(".bss")?;
    println!(
        "demo: relocated {} accesses for this kernel, loaded and attached exec_events; watching execs for {seconds}s\n",
        relocated.decisions.len(),
    );
    println!("  {:>8} {:>8}  COMM", "PID", "PPID");
    let start = Instant::now();
    let mut seen: u64 = 0;
    let mut shown = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        // Something to see even on an idle machine.
        let _ = std::process::Command::new("/bin/true").status();
        std::thread::sleep(Duration::from_millis(250));
        let bytes = ring.read()?;
        let count = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
            .context("the ring map is too small")?;
        let first = seen.max(count.saturating_sub(SLOTS as u64));
        for n in first..count {
            let (pid, ppid, comm) = event(&bytes, n).context("the ring map is too small")?;
            println!("  {pid:>8} {ppid:>8}  {comm}");
            shown += 1;
        }
        seen = count;
    }
    println!("\ndemo: {shown} exec(s) seen; pid, ppid and comm were read at offsets relocated for this kernel:");
    for d in &relocated.decisions {
        if let (Some(f), Some(t)) = (&d.fixup, &d.target) {
            println!(
                "  {:<9} {}  ->  {t}: {} -> {}",
                d.kind.short_name(),
                d.local,
                f.orig_val,
                f.new_val
            );
        }
    }
    Ok(())
}

/// Runs `btfkit demo`. Exit status 0 when the program ran (or loading was
/// skipped for a reason known up front: `--no-load`, not root, no kernel BTF);
/// 1 when loading or attaching failed (the relocations are shown anyway).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let manifest = args
        .manifest_path
        .clone()
        .unwrap_or_else(|| repo_root().join("examples/exec-events/Cargo.toml"));
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let object = build(&manifest)?;
    let skip = if args.no_load {
        Some("--no-load")
    } else {
        cannot_load_reason()
    };
    let status = match skip {
        Some(reason) => {
            println!(
                "demo: not loading the program ({reason}); showing what CO-RE does to it on every kernel at hand instead."
            );
            ExitCode::SUCCESS
        }
        None => match watch(&object, args.seconds) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                println!(
                    "demo: the kernel did not run the program: {error:#}\n\
                     demo: showing what CO-RE does to it on every kernel at hand instead."
                );
                ExitCode::FAILURE
            }
        },
    };
    relocation_table(&object, &args.btf)?;
    Ok(status)
}
