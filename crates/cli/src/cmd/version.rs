//! `btfkit --version` / `-V`: the version, then the BPF toolchain it finds
//! (route, rustc, LLVM, bpf-linker), "not found" and the fix for what is
//! missing. It never fails.

/// Prints the version and toolchain when the arguments are exactly
/// `--version` or `-V`; returns whether it did.
pub fn handled() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !matches!(args.as_slice(), [a] if a == "--version" || a == "-V") {
        return false;
    }
    println!("btfkit {}", env!("CARGO_PKG_VERSION"));
    print!("{}", btfkit_build::describe_toolchain());
    true
}
