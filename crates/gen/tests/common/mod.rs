//! Shared by the generator's tests: the BPF toolchain, the `btf` crate
//! checked for BPF once, metadata-only compiles, and rustfmt.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

/// The target the relocatable bindings are for.
pub const BPF_TARGET: &str = "bpfel-unknown-none";

/// `../shared/testdata/kernel-btf/<name>`.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/kernel-btf")
        .join(name)
}

/// Where the tests write generated crates.
pub fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("gen-kernels")
}

/// The compilers: `BTFKIT_RUSTC` (default `/usr/bin/rustc`) must have a BPF
/// `core`; the host one is `rustc` from `PATH`.
pub struct Toolchain {
    /// rustc with a BPF `core`.
    pub bpf_rustc: PathBuf,
    /// The cargo that goes with it.
    pub cargo: PathBuf,
}

/// The toolchain, checked once (a panic says what is missing).
pub fn toolchain() -> &'static Toolchain {
    static TC: OnceLock<Toolchain> = OnceLock::new();
    TC.get_or_init(|| {
        let bpf_rustc = PathBuf::from(
            std::env::var("BTFKIT_RUSTC").unwrap_or_else(|_| "/usr/bin/rustc".into()),
        );
        let cargo = PathBuf::from(
            std::env::var("BTFKIT_CARGO").unwrap_or_else(|_| "/usr/bin/cargo".into()),
        );
        let sysroot = Command::new(&bpf_rustc)
            .args(["--print", "sysroot"])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}): the BPF toolchain is missing; run scripts/setup.sh",
                    bpf_rustc.display()
                )
            });
        let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
        let core = sysroot.join("lib/rustlib").join(BPF_TARGET);
        assert!(
            core.is_dir(),
            "{} has no prebuilt core for {BPF_TARGET} (no {}): run scripts/setup.sh \
             (Debian's libstd-rust-web-dev-bpf)",
            bpf_rustc.display(),
            core.display()
        );
        assert!(
            cargo.is_file(),
            "{} is missing: run scripts/setup.sh",
            cargo.display()
        );
        let rustfmt = Command::new("rustfmt").arg("--version").output();
        assert!(
            rustfmt.is_ok_and(|o| o.status.success()),
            "rustfmt is missing (rustup component add rustfmt)"
        );
        Toolchain { bpf_rustc, cargo }
    })
}

/// What a crate compiled for BPF needs to use the `btf` crate.
pub struct BtfCrate {
    /// `libbtf-*.rmeta` for bpfel-unknown-none.
    pub rmeta: PathBuf,
    /// `-L dependency=` directories (BPF deps, host proc macros).
    pub deps: Vec<PathBuf>,
}

/// `cargo check`s the `btf` crate for BPF once (a tiny crate depending on
/// it), so each kernel's compile is one rustc run that the tests can run in
/// parallel (cargo would serialize them on its build directory lock).
pub fn btf_crate() -> &'static BtfCrate {
    static BTF: OnceLock<BtfCrate> = OnceLock::new();
    BTF.get_or_init(|| {
        let tc = toolchain();
        let dir = work_dir().join("btf-deps");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let btf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../btf");
        write_if_changed(
            &dir.join("Cargo.toml"),
            &format!(
                "[package]\nname = \"btf-deps\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [dependencies]\nbtf = {{ path = {:?} }}\n\n[workspace]\n",
                btf.canonicalize().unwrap()
            ),
        );
        write_if_changed(&dir.join("src/lib.rs"), "#![no_std]\npub use btf;\n");
        // The workspace's lock file pins the macro crates' versions.
        let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
        if !dir.join("Cargo.lock").exists() {
            std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();
        }
        let target = dir.join("target");
        let start = Instant::now();
        let out = Command::new(&tc.cargo)
            .current_dir(&dir)
            .args(["check", "--quiet", "--target", BPF_TARGET])
            .env("RUSTC", &tc.bpf_rustc)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "checking the btf crate for {BPF_TARGET} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("btf crate for {BPF_TARGET}: {:?}", start.elapsed());
        let bpf_deps = target.join(BPF_TARGET).join("debug/deps");
        let rmeta = std::fs::read_dir(&bpf_deps)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("libbtf-") && n.ends_with(".rmeta"))
            })
            .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
            .unwrap_or_else(|| panic!("no libbtf-*.rmeta in {}", bpf_deps.display()));
        BtfCrate {
            rmeta,
            deps: vec![bpf_deps, target.join("debug/deps")],
        }
    })
}

/// Writes `text` unless the file already holds it (keeps rustc and cargo caches valid).
pub fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap();
    }
}

/// A compiler run's output, or a panic showing the first errors.
pub fn expect_success(what: &str, out: &Output) {
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let head: Vec<&str> = stderr.lines().take(80).collect();
        panic!("{what} failed:\n{}", head.join("\n"));
    }
}

/// rustc on `root`, metadata only, for BPF (against the btf crate) or the host.
pub fn check(root: &Path, crate_name: &str, bpf: bool) -> Output {
    let tc = toolchain();
    let mut cmd = if bpf {
        let btf = btf_crate();
        let mut c = Command::new(&tc.bpf_rustc);
        c.args(["--target", BPF_TARGET])
            .arg("--extern")
            .arg(format!("btf={}", btf.rmeta.display()));
        for d in &btf.deps {
            c.arg("-L").arg(format!("dependency={}", d.display()));
        }
        c
    } else {
        Command::new("rustc")
    };
    let out_dir = root
        .parent()
        .unwrap()
        .join(if bpf { "out-bpf" } else { "out-host" });
    std::fs::create_dir_all(&out_dir).unwrap();
    cmd.args([
        "--edition",
        "2021",
        "--crate-type",
        "lib",
        "--emit=metadata",
    ])
    .args(["--crate-name", crate_name])
    .arg("--out-dir")
    .arg(&out_dir)
    .args(["-D", "warnings"])
    .arg(root)
    .env_remove("RUSTC_WRAPPER")
    .output()
    .unwrap()
}

/// `rustfmt --check --edition 2021 path`, or a panic showing the diff.
pub fn rustfmt_check(path: &Path) {
    let out = Command::new("rustfmt")
        .args(["--check", "--edition", "2021"])
        .arg(path)
        .output()
        .unwrap();
    if !out.status.success() {
        let diff = String::from_utf8_lossy(&out.stdout);
        let head: Vec<&str> = diff.lines().take(40).collect();
        panic!(
            "{} is not rustfmt-clean:\n{}{}",
            path.display(),
            head.join("\n"),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
