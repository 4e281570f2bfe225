//! The fixed layout against C itself: `tests/data/layouts.h` holds the shapes
//! kernel BTF has (bitfields of every width and signedness across storage
//! units and after `int : 0`, enum and `_Bool` bitfields, bitfields in a
//! union, packed and over-aligned structs, anonymous unions and structs,
//! flexible and zero-length arrays, keyword member names, function pointers,
//! forward declarations, type tags, typedef chains, enum64 of both
//! signednesses, a struct and a typedef of one name, a struct named `u16`).
//!
//! clang-22 compiles it for BPF (its BTF is what the generator reads) and, as
//! `tests/data/layouts.c`, for the host; the fixed-layout bindings compile
//! into `tests/data/layouts.rs`, the same program in Rust. Each side fills a
//! `struct everything` (C by its members, Rust by the fields and bitfield
//! setters) and prints every member from bytes (C by its members, Rust by the
//! fields and bitfield getters): C's bytes shown by Rust, and Rust's bytes
//! shown by C, must print what C's bytes shown by C print. The layout
//! assertions check offsets; this checks the bits inside bitfields, which no
//! assertion sees. The relocatable bindings of the same BTF compile for BPF.
//! About a second.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use btfkit_gen::{generate, Btf, Layout, Options, Source};

mod common;
use common::*;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn clang(args: &[&str], out: &Path) {
    let st = Command::new("clang-22")
        .args(args)
        .arg(format!("-I{}", data("").display()))
        .arg(data("layouts.c"))
        .arg("-o")
        .arg(out)
        .status()
        .expect("clang-22 is required (scripts/setup.sh installs it)");
    assert!(st.success(), "clang-22 {args:?} failed on layouts.c");
}

/// Runs `bin mode` with `input` on standard input; returns standard output.
fn run(bin: &Path, mode: &str, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(bin)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} {mode} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn fixed_layout_reads_and_writes_the_bytes_c_does() {
    toolchain();
    let dir = work_dir().join("c-layouts");
    std::fs::create_dir_all(&dir).unwrap();

    // The BTF, from clang's BPF object.
    let obj = dir.join("layouts.bpf.o");
    clang(&["-target", "bpf", "-g", "-c", "-DBTF_ONLY"], &obj);
    let elf = std::fs::read(&obj).unwrap();
    let parsed = btfkit_object::BpfObject::parse(&elf).unwrap();
    let raw = parsed.btf().expect("clang wrote no .BTF");
    let btf = Btf::parse(raw).unwrap();
    let gen = |layout| {
        let opts = Options {
            layout,
            roots: vec!["everything".into()],
            source: Some(Source::new("layouts.bpf.o", raw)),
            include_safe: false,
            opaque_pointees: false,
        };
        generate(&btf, &opts).unwrap()
    };

    // The Rust program on the fixed bindings.
    write_if_changed(&dir.join("gen.rs"), &gen(Layout::Fixed));
    rustfmt_check(&dir.join("gen.rs"));
    let main = std::fs::read_to_string(data("layouts.rs")).unwrap();
    write_if_changed(&dir.join("layouts.rs"), &main);
    let rust_bin = dir.join("layouts-rust");
    let out = Command::new("rustc")
        .args(["--edition", "2021", "-O", "-D", "warnings", "-o"])
        .arg(&rust_bin)
        .arg(dir.join("layouts.rs"))
        .env_remove("RUSTC_WRAPPER")
        .output()
        .unwrap();
    expect_success(
        "compiling tests/data/layouts.rs on the fixed bindings",
        &out,
    );

    // The C program.
    let c_bin = dir.join("layouts-c");
    clang(&["-O1", "-Wall", "-Werror"], &c_bin);

    let c_bytes = run(&c_bin, "fill", b"");
    let rust_bytes = run(&rust_bin, "fill", b"");
    let c_shows_c = String::from_utf8(run(&c_bin, "show", &c_bytes)).unwrap();
    assert!(c_shows_c.contains("b.e=-305419896\n"), "{c_shows_c}");
    let rust_shows_c = String::from_utf8(run(&rust_bin, "show", &c_bytes)).unwrap();
    let c_shows_rust = String::from_utf8(run(&c_bin, "show", &rust_bytes)).unwrap();
    let diff = |a: &str, b: &str| {
        a.lines()
            .zip(b.lines())
            .filter(|(x, y)| x != y)
            .map(|(x, y)| format!("C {x}  vs  {y}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        c_shows_c,
        rust_shows_c,
        "Rust reads C's bytes differently:\n{}",
        diff(&c_shows_c, &rust_shows_c)
    );
    assert_eq!(
        c_shows_c,
        c_shows_rust,
        "Rust writes other bytes than C:\n{}",
        diff(&c_shows_c, &c_shows_rust)
    );
    assert_eq!(c_bytes, rust_bytes, "the filled structs differ in padding");

    // The relocatable bindings of the same BTF, with the fixed ones, for BPF.
    write_if_changed(&dir.join("relocatable.rs"), &gen(Layout::Relocatable));
    rustfmt_check(&dir.join("relocatable.rs"));
    write_if_changed(
        &dir.join("lib.rs"),
        "#![no_std]\n/// Relocatable.\npub mod relocatable;\n/// Fixed.\n#[path = \"gen.rs\"]\npub mod fixed;\n",
    );
    expect_success(
        &format!("compiling both modules for {BPF_TARGET}"),
        &check(&dir.join("lib.rs"), "c_layouts", true),
    );
}
