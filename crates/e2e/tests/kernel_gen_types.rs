//! `examples/kernel-types` in the running kernel: a program on `task_struct`,
//! `mm_struct`, `file`, `socket` and `sock` as `btfkit gen` writes them.
//!
//! The bindings are generated here, at test time, from the running kernel's
//! BTF (by `btfkit_gen::generate`, the library behind `btfkit gen`) into the
//! example's `src/vmlinux.rs` (gitignored; rewritten only when it changes).
//! Naming six types pulls in what `task_struct` reaches: about 2,100
//! relocatable types and 200 typedefs, 0.8 MB of Rust on kernel 6.18, which
//! the example's release build for `bpfel-unknown-none` compiles and links in
//! about 20 s (the whole file: about 40 s).
//!
//! The program is then relocated by btfkit's engine and loaded by
//! btfkit-loader, and relocated and loaded by libbpf 1.7; both run it with
//! BPF_PROG_TEST_RUN (in this thread), and every value it read must equal
//! what user space knows: `gettid()`, `getpid()`, `getppid()`,
//! `/proc/thread-self/comm`, `/proc/self/stat`, `lseek`, `fstat`, `fcntl`,
//! `getsockname`, `getsockopt`, and offsets and sizes from the kernel's BTF.
//!
//! Its C twin, compiled by clang-22 on a `vmlinux.h` from bpftool, must carry
//! the same CO-RE records: in particular the reads through anonymous members
//! (`mm->start_code` is in `mm_struct`'s anonymous struct, `skc_num` in an
//! anonymous struct inside an anonymous union of `sock_common`), which Rust
//! writes flat as C does, get clang's access strings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Instant;

use btfkit_model::{Btf, BtfExt};

mod common;
use btfkit_e2e::libbpf_leg::LibbpfObject;
use common::kernel_types::{check, Fixtures, ROOTS};
use common::require_root;

/// Writes the example's `src/vmlinux.rs` from the running kernel's BTF.
fn generate_bindings() {
    let start = Instant::now();
    common::generate_bindings(ROOTS, "kernel-types/src/vmlinux.rs", false);
    eprintln!("kernel-types: generated bindings in {:?}", start.elapsed());
}

/// Generates the bindings, builds and links the example, once per test run.
fn linked_object() -> &'static [u8] {
    static OBJ: OnceLock<Vec<u8>> = OnceLock::new();
    OBJ.get_or_init(|| {
        generate_bindings();
        let start = Instant::now();
        let obj = common::build_example("kernel-types");
        eprintln!("kernel-types: built and linked in {:?}", start.elapsed());
        obj
    })
}

#[test]
fn generated_types_through_btfkit_engine_and_loader() {
    require_root();
    let obj = linked_object();
    let loaded = common::load_with_btfkit(obj);
    let fx = Fixtures::new("btfkit");
    loaded.map(".data").unwrap().write(&fx.inputs()).unwrap();
    loaded.program("kernel_types").unwrap().test_run().unwrap();
    check("btfkit", &loaded.map(".bss").unwrap().read().unwrap(), &fx);
}

#[test]
fn generated_types_through_libbpf() {
    require_root();
    let obj = linked_object();
    let fx = Fixtures::new("libbpf");
    let mut leg = LibbpfObject::open(obj, "kernel-types").unwrap();
    leg.set_global("INPUTS", &fx.inputs()).unwrap();
    leg.load().unwrap_or_else(|e| panic!("{e}"));
    common::assert_libbpf_relocated_every_record(obj, leg.log());
    leg.test_run("kernel_types").unwrap();
    check("libbpf", &leg.read_global("RESULTS").unwrap(), &fx);
}

/// (kind, root type name, access string) of every record, and each root type's
/// shape (member names in order, bitfield widths).
type Records = (
    BTreeSet<(String, String, String)>,
    BTreeMap<String, Vec<String>>,
);

fn records(object: &[u8]) -> Records {
    let obj = btfkit_object::BpfObject::parse(object).unwrap();
    let btf = Btf::parse(obj.btf().unwrap()).unwrap();
    let ext = BtfExt::parse(obj.btf_ext().unwrap()).unwrap();
    let mut set = BTreeSet::new();
    let mut shapes = BTreeMap::new();
    for r in ext.core_relo.sections.iter().flat_map(|s| &s.records) {
        let t = btf.type_by_id(r.type_id).unwrap();
        let name = btf.type_name(&t).unwrap().to_string();
        set.insert((
            r.kind.short_name().to_string(),
            name.clone(),
            btf.name(r.access_str_off).unwrap().to_string(),
        ));
        let shape: Vec<String> = t
            .members()
            .map(|m| {
                let bits = if m.bitfield_size > 0 {
                    format!(":{}", m.bitfield_size)
                } else {
                    String::new()
                };
                format!("{}{bits}", btf.name(m.name_off).unwrap())
            })
            .collect();
        shapes.insert(name, shape);
    }
    (set, shapes)
}

#[test]
fn generated_types_have_the_records_clang_writes_through_vmlinux_h() {
    let (rust_set, rust_shapes) = records(linked_object());
    let (c_set, c_shapes) = records(&common::clang_twin_on_vmlinux_h("kernel-types"));
    assert_eq!(
        rust_set,
        c_set,
        "records differ\n only in Rust: {:?}\n only in C: {:?}",
        rust_set.difference(&c_set).collect::<Vec<_>>(),
        c_set.difference(&rust_set).collect::<Vec<_>>()
    );
    assert_eq!(rust_shapes, c_shapes, "local type shapes differ");
    // The reads through anonymous members are among them: mm_struct's fields
    // are one anonymous member deep, skc_num two (union, then struct).
    let depth = |ty: &str, min: usize| {
        rust_set
            .iter()
            .filter(|(_, t, a)| t == ty && a.split(':').count() > min)
            .count()
    };
    assert!(depth("mm_struct", 2) >= 10, "{rust_set:?}");
    assert!(depth("sock", 4) >= 2, "{rust_set:?}");
}
