//! Whole kernels through the generator: the running kernel's BTF and each
//! vmlinux BTF in `../shared/testdata/kernel-btf/` (Debian 6.1 amd64, 6.1
//! cloud, 7.1 sorted by name with the 32-byte header), in both layouts.
//!
//! For each kernel the test generates every type in both modes, twice (the
//! text must be the same: deterministic), checks the header names the BTF
//! (path, size, SHA-256), runs `rustfmt --check --edition 2021` on both files,
//! and compiles them:
//!
//! - for `bpfel-unknown-none`, both modules in one crate
//!   (`pub mod relocatable; pub mod fixed;`) against the `btf` crate, with
//!   the BPF toolchain of `scripts/env.sh` (`BTFKIT_RUSTC`, Debian's rustc
//!   with a prebuilt BPF `core`);
//! - for the host, the fixed module alone as a crate (it needs only `core`).
//!
//! Both compilations are metadata-only (`--emit=metadata`, what `cargo check`
//! does): type checking, trait resolution, and const evaluation, so every
//! `const _: () = assert!(...)` layout assertion of the fixed module and
//! every descriptor static of the relocatable one is evaluated; only code
//! generation is skipped. `a_wrong_layout_assertion_fails_metadata_only_compilation`
//! proves that the assertions are evaluated this way, on both targets, by
//! planting a wrong offset. (A full debug build of the running kernel's two
//! modules for BPF takes about four times as long and produces a 250 MB rlib;
//! `crates/e2e/tests/kernel_gen_types.rs` builds and links generated types
//! into a program and runs it in the kernel.)
//!
//! Cost, measured on the CI machine kind (2 cores, other work running),
//! CPU time per kernel: generating both modes twice about 5 s (debug build
//! of the generator), rustfmt 5 s, the BPF compile of both modules 90 to
//! 120 s, the host compile of the fixed module about 25 s; 3 to 4 GB of memory
//! per compile. The four kernels run two at a time: about 5 minutes in all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use btfkit_gen::{generate, Btf, Layout, Options, Source};
use sha2::Digest;

const RUNNING: &str = "/sys/kernel/btf/vmlinux";
const BPF_TARGET: &str = "bpfel-unknown-none";

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/kernel-btf")
        .join(name)
}

fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("gen-kernels")
}

/// The compilers: `BTFKIT_RUSTC` (default `/usr/bin/rustc`) must have a BPF
/// `core`; the host one is `rustc` from `PATH`.
struct Toolchain {
    bpf_rustc: PathBuf,
    cargo: PathBuf,
}

fn toolchain() -> &'static Toolchain {
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
struct BtfCrate {
    /// `libbtf-*.rmeta` for bpfel-unknown-none.
    rmeta: PathBuf,
    /// `-L dependency=` directories (BPF deps, host proc macros).
    deps: Vec<PathBuf>,
}

/// `cargo check`s the `btf` crate for BPF once (a tiny crate depending on
/// it), so each kernel's compile is one rustc run that the tests can run in
/// parallel (cargo would serialize them on its build directory lock).
fn btf_crate() -> &'static BtfCrate {
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

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap();
    }
}

fn gen(btf: &Btf<'_>, layout: Layout, roots: &[&str], source: &Source) -> String {
    let opts = Options {
        layout,
        roots: roots.iter().map(|s| s.to_string()).collect(),
        source: Some(source.clone()),
    };
    generate(btf, &opts).unwrap_or_else(|e| panic!("{}: {e}", source.path))
}

/// A compiler run's output, or a panic showing the first errors.
fn expect_success(what: &str, out: &Output) {
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let head: Vec<&str> = stderr.lines().take(80).collect();
        panic!("{what} failed:\n{}", head.join("\n"));
    }
}

/// rustc on `root`, metadata only, for BPF (against the btf crate) or the host.
fn check(root: &Path, crate_name: &str, bpf: bool) -> Output {
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

fn rustfmt_check(path: &Path) {
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

/// Everything this file tests, for one kernel's BTF.
fn kernel(label: &str, path: &Path) {
    toolchain();
    let dir = work_dir().join(label);
    std::fs::create_dir_all(&dir).unwrap();
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let source = Source::new(path.display().to_string(), &data);
    let btf = Btf::parse(&data).unwrap();

    let start = Instant::now();
    let reloc = gen(&btf, Layout::Relocatable, &[], &source);
    let fixed = gen(&btf, Layout::Fixed, &[], &source);
    let gen_time = start.elapsed();
    // Deterministic: the same bytes, parsed again, give the same text.
    let copy = data.clone();
    let btf2 = Btf::parse(&copy).unwrap();
    let again = Source::new(path.display().to_string(), &copy);
    assert!(
        gen(&btf2, Layout::Relocatable, &[], &again) == reloc,
        "{label}: relocatable output differs between two runs"
    );
    assert!(
        gen(&btf2, Layout::Fixed, &[], &again) == fixed,
        "{label}: fixed output differs between two runs"
    );

    // The header names the BTF.
    let sha: String = sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for (mode, text) in [("relocatable", &reloc), ("fixed", &fixed)] {
        let header: Vec<&str> = text.lines().take(8).collect();
        let header = header.join("\n");
        for want in [
            format!("`btfkit gen --layout {mode}`"),
            format!("//! BTF: {}", path.display()),
            format!("//! BTF size: {} bytes, SHA-256 {sha}", data.len()),
            "//! Types: all".to_string(),
        ] {
            assert!(
                header.contains(&want),
                "{label} {mode}: the header lacks {want:?}:\n{header}"
            );
        }
    }

    let reloc_rs = dir.join("relocatable.rs");
    let fixed_rs = dir.join("fixed.rs");
    write_if_changed(&reloc_rs, &reloc);
    write_if_changed(&fixed_rs, &fixed);
    let lib = dir.join("lib.rs");
    write_if_changed(
        &lib,
        "#![no_std]\n/// `btfkit gen --layout relocatable`.\npub mod relocatable;\n\
         /// `btfkit gen --layout fixed`.\npub mod fixed;\n",
    );

    let start = Instant::now();
    rustfmt_check(&reloc_rs);
    rustfmt_check(&fixed_rs);
    let fmt_time = start.elapsed();

    let start = Instant::now();
    let crate_name = format!("gen_{}", label.replace(['-', '.'], "_"));
    expect_success(
        &format!("{label}: compiling both modules for {BPF_TARGET}"),
        &check(&lib, &crate_name, true),
    );
    let bpf_time = start.elapsed();

    let start = Instant::now();
    expect_success(
        &format!("{label}: compiling the fixed module for the host"),
        &check(&fixed_rs, &format!("{crate_name}_fixed"), false),
    );
    let host_time = start.elapsed();
    eprintln!(
        "{label}: {} + {} bytes; generate both twice {gen_time:?}x2, rustfmt {fmt_time:?}, \
         {BPF_TARGET} (both) {bpf_time:?}, host (fixed) {host_time:?}",
        reloc.len(),
        fixed.len()
    );
}

#[test]
fn running_kernel() {
    assert!(
        Path::new(RUNNING).exists(),
        "the running kernel has no {RUNNING} (CONFIG_DEBUG_INFO_BTF)"
    );
    kernel("running", Path::new(RUNNING));
}

#[test]
fn debian_6_1_amd64() {
    kernel("6.1-amd64", &testdata("vmlinux-6.1.0-47-amd64.btf"));
}

#[test]
fn debian_6_1_cloud() {
    kernel("6.1-cloud", &testdata("vmlinux-6.1.0-47-cloud.btf"));
}

#[test]
fn sorted_7_1_with_32_byte_header() {
    kernel("7.1-sorted", &testdata("vmlinux-7.1-sorted.btf"));
}

/// The compile checks above are metadata-only: this shows that they still
/// evaluate the layout assertions, on both targets, by compiling a fixed
/// module with one offset changed (and the unchanged one, which must pass).
#[test]
fn a_wrong_layout_assertion_fails_metadata_only_compilation() {
    let path = testdata("vmlinux-6.1.0-47-amd64.btf");
    let data = std::fs::read(&path).unwrap();
    let btf = Btf::parse(&data).unwrap();
    let source = Source::new(path.display().to_string(), &data);
    let text = gen(&btf, Layout::Fixed, &["list_head"], &source);
    let right = "assert!(offset_of!(list_head, prev) == 8);";
    assert!(text.contains(right), "{text}");
    let dir = work_dir().join("planted");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [
        ("good", text.clone()),
        (
            "planted",
            text.replace(right, "assert!(offset_of!(list_head, prev) == 7);"),
        ),
    ] {
        let root = dir.join(format!("{name}.rs"));
        write_if_changed(&root, &format!("#![no_std]\n{text}"));
        for bpf in [false, true] {
            let out = check(&root, name, bpf);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let target = if bpf { BPF_TARGET } else { "host" };
            if name == "good" {
                expect_success(&format!("the unchanged module ({target})"), &out);
            } else {
                assert!(
                    !out.status.success()
                        && stderr.contains("E0080")
                        && stderr.contains("offset_of!(list_head, prev) == 7"),
                    "the planted wrong offset was not caught ({target}):\n{stderr}"
                );
            }
        }
    }
}
