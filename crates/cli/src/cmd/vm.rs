//! `btfkit vm --kernel SPEC... -- CMD [ARGS]`: runs a command in each kernel
//! (a QEMU guest through btfkit-vm), prints its output and a summary line per
//! kernel; exit status 1 when the command failed on any kernel.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

/// Arguments of `btfkit vm`.
#[derive(clap::Args)]
pub struct Args {
    /// A kernel: a Debian package version (6.1.0-57-amd64, 6.12.118+deb12-cloud-amd64),
    /// an alias for the newest of a series (6.1, 6.12, 6.12-cloud, 6.1-rt), or a vmlinuz path.
    /// Packages are fetched with apt-get into $XDG_CACHE_HOME/btfkit/kernels, never installed.
    #[arg(long = "kernel", required = true, value_name = "SPEC")]
    pub kernels: Vec<String>,
    /// Seconds a guest may take (boot, command, power-off) before it is ended.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Guests run at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Guest memory.
    #[arg(long, default_value = "1G")]
    pub memory: String,
    /// The command and its arguments, run in the current directory of the
    /// host's filesystem as the guest sees it (copy-on-write).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Resolves the specs (fetching what is not cached), in order.
pub fn resolve_kernels(specs: &[String]) -> anyhow::Result<Vec<btfkit_vm::Kernel>> {
    specs
        .iter()
        .map(|s| btfkit_vm::resolve(s).with_context(|| format!("--kernel {s}")))
        .collect()
}

/// Guest options from the common flags.
pub fn options(timeout: u64, jobs: usize, memory: &str) -> btfkit_vm::Options {
    btfkit_vm::Options {
        timeout: Duration::from_secs(timeout),
        memory: memory.to_string(),
        jobs,
        rw_dirs: Vec::new(),
    }
}

/// Makes Ctrl-C end every guest before btfkit exits.
pub fn end_guests_on_interrupt() {
    // A thread waits for SIGINT/SIGTERM rather than a handler, so that the
    // work done on the signal is ordinary code.
    let _ = std::thread::Builder::new()
        .name("btfkit-vm-signals".into())
        .spawn(|| {
            if btfkit_vm::wait_for_interrupt() {
                btfkit_vm::terminate_all();
                eprintln!("btfkit: interrupted; guests ended");
                std::process::exit(130);
            }
        });
}

/// Runs `btfkit vm`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    btfkit_vm::check_host()?;
    let kernels = resolve_kernels(&args.kernels)?;
    end_guests_on_interrupt();
    let opts = options(args.timeout, args.jobs, &args.memory);
    let outcomes = btfkit_vm::run_all(&kernels, &args.command, &opts);
    let mut failed = 0;
    let mut summary = Vec::new();
    for (k, o) in kernels.iter().zip(outcomes) {
        match o {
            Ok(o) => {
                println!("===== {} =====", k.name);
                print!("{}", o.stdout);
                eprint!("{}", o.stderr);
                let what = match o.status {
                    Some(0) => "ok".to_string(),
                    Some(n) => format!("FAILED (exit status {n})"),
                    None if o.timed_out => format!("FAILED (ended after {} s)", args.timeout),
                    None => "FAILED (the guest did not finish)".to_string(),
                };
                if !o.success() {
                    failed += 1;
                    for l in &o.console_tail {
                        eprintln!("  console: {l}");
                    }
                }
                summary.push(format!(
                    "{:<32} {:<28} {:.1} s",
                    k.name,
                    what,
                    o.elapsed.as_secs_f64()
                ));
            }
            Err(e) => {
                failed += 1;
                summary.push(format!("{:<32} FAILED ({e})", k.name));
            }
        }
    }
    println!();
    for l in summary {
        println!("vm: {l}");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
