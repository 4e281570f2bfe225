//! The `btfkit` command line: one module per subcommand under `cmd/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// BTF CO-RE relocations for Rust eBPF programs, end to end.
#[derive(Parser)]
#[command(name = "btfkit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the types of a BTF file, object or vmlinux (bpftool's raw format, C, or JSON).
    Dump(cmd::dump::Args),
    /// Turn btfkit query markers and type descriptors into standard CO-RE records.
    Link(cmd::link::Args),
    /// Build a Rust CO-RE program, relocate it for this kernel, load it and watch it run.
    Demo(cmd::demo::Args),
    /// Apply every CO-RE relocation of an object for a target kernel and drop the records.
    Relocate(cmd::relocate::Args),
    /// Show every CO-RE relocation of an object against a target kernel and why.
    Explain(cmd::explain::Args),
    /// Build a BPF crate for bpfel-unknown-none and link its CO-RE queries.
    Build(cmd::build::Args),
    /// Generate Rust bindings (relocatable or fixed layout) from BTF.
    Gen(cmd::gen::Args),
    /// Tailored BTF: the part of a kernel's BTF (or a tree of them) that objects' CO-RE relocations need.
    MinBtf(cmd::min_btf::Args),
    /// Run a command inside real kernels (QEMU guests of Debian kernel packages).
    Vm(cmd::vm::Args),
    /// The compatibility matrix of BPF objects on real kernels: relocations and the verifier's answer.
    Check(cmd::check::Args),
    /// `btfkit check`'s part inside a guest (prints JSON).
    #[command(name = "__check-guest", hide = true)]
    CheckGuest(cmd::check::GuestArgs),
    /// Create a CO-RE tool project (BPF crate, bindings, user space with build.rs) to `cargo run`.
    New(cmd::new::Args),
}

fn main() -> ExitCode {
    if cmd::version::handled() {
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dump(args) => cmd::dump::run(args),
        Command::Link(args) => cmd::link::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Relocate(args) => cmd::relocate::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Build(args) => cmd::build::run(args),
        Command::Gen(args) => cmd::gen::run(args),
        Command::MinBtf(args) => cmd::min_btf::run(args),
        Command::Vm(args) => cmd::vm::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::CheckGuest(args) => cmd::check::run_guest(args),
        Command::New(args) => cmd::new::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("btfkit: {err:#}");
            // 2: the input could not be read or used.
            ExitCode::from(2)
        }
    }
}
