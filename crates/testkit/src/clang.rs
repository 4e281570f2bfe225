//! One clang-22 command line for BPF C: `-O2 -g`, the host's multiarch headers
//! (libbpf's `<bpf/...>`), then the caller's arguments.

use std::path::Path;
use std::process::Command;

/// The host's multiarch include folder (`<asm/types.h>` for libbpf's headers).
pub fn multiarch_include() -> String {
    format!("-I/usr/include/{}-linux-gnu", std::env::consts::ARCH)
}

/// Compiles the BPF C file `src` into `out` with clang-22 for `-target bpf`
/// and the `extra` arguments (`-D...`, `-I...`, or `-target bpfeb`: the last
/// target wins); the error carries clang's messages.
pub fn clang_bpf(src: &Path, out: &Path, extra: &[&str]) -> Result<(), String> {
    let output = Command::new("clang-22")
        .args(["-target", "bpf", "-O2", "-g", "-c"])
        .arg(multiarch_include())
        .args(extra)
        .arg(src)
        .arg("-o")
        .arg(out)
        .output()
        .map_err(|e| format!("clang-22 is required (scripts/setup.sh installs it): {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "clang-22 failed on {}:\n{}",
            src.display(),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// [`clang_bpf`] that panics on failure and returns the object's bytes.
pub fn compile(src: &Path, out: &Path, extra: &[&str]) -> Vec<u8> {
    clang_bpf(src, out, extra).unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(out).unwrap_or_else(|e| panic!("{}: {e}", out.display()))
}

/// [`compile`] of C source text: writes it to `<dir>/<name>.bpf.c` and the
/// object to `<dir>/<name>.o` (give concurrent tests different names).
pub fn compile_source(dir: &Path, name: &str, source: &str, extra: &[&str]) -> Vec<u8> {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let src = dir.join(format!("{name}.bpf.c"));
    std::fs::write(&src, source).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    compile(&src, &dir.join(format!("{name}.o")), extra)
}
