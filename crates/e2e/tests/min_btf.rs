//! Tailored BTF (`btfkit-minbtf`) decides as the full BTF does: for every
//! libbpf-tools object and every example, against every kernel BTF of the test
//! data, the running kernel's and the test module's (split over its base),
//! btfkit's engine and libbpf 1.7 (the tailored file as `btf_custom_path`)
//! make the same decision for every relocation as with the full BTF, target
//! type ids and raw member indices excepted; the examples relocated with the
//! running kernel's tailored BTF load in the running kernel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use btfkit_e2e::corpus;
use btfkit_e2e::libbpf_oracle;
use btfkit_e2e::tailored_view::{engine_view, libbpf_view};
use btfkit_minbtf::{tailor, Output, Tailor};
use btfkit_model::Btf;
use btfkit_reloc::relocate::{relocate_object, Target};

use btfkit_testkit::data::{kernel_btf_dir as data_dir, vmlinux_targets as kernels};

/// (name, bytes) of every libbpf-tools object, every example (btfkit's link
/// step) and every example's clang twin.
fn objects() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for o in corpus::load_or_extract(&corpus::default_cache_dir()).unwrap() {
        out.push((o.tool.clone(), std::fs::read(&o.path).unwrap()));
    }
    assert!(
        out.len() > 50,
        "the libbpf-tools corpus has {} objects",
        out.len()
    );
    for ex in EXAMPLES {
        out.push((format!("examples/{ex}"), common::build_example(ex)));
    }
    for ex in TWINS {
        out.push((format!("examples/{ex} (clang)"), common::clang_twin(ex)));
    }
    out
}

/// The example crates built by `common::build_example` (kernel-types needs
/// bindings generated first; its relocations are those of task-core's kind).
const EXAMPLES: [&str; 4] = ["all-queries", "exec-events", "query-cost", "task-core"];
const TWINS: [&str; 3] = ["task-core", "all-queries", "query-cost"];

fn engine_same(what: &str, object: &[u8], full: &Target<'_>, tailored: &Target<'_>) -> usize {
    let a = relocate_object(object, full).unwrap();
    let b = relocate_object(object, tailored).unwrap();
    assert_eq!(a.decisions.len(), b.decisions.len(), "{what}");
    for (x, y) in a.decisions.iter().zip(&b.decisions) {
        assert_eq!(engine_view(x), engine_view(y), "{what}");
    }
    a.decisions.len()
}

#[test]
fn engine_decisions_per_object_and_kernel() {
    let objects = objects();
    let mut count = 0;
    for (label, path) in kernels() {
        let data = std::fs::read(&path).unwrap();
        let full = Btf::parse(&data).unwrap();
        let full_target = Target::new(&full);
        let tailor = Tailor::new(&full);
        for (name, bytes) in &objects {
            let t = tailor.tailor(&[(name, bytes)], Output::Standalone).unwrap();
            let min = Btf::parse(&t.btf).unwrap();
            assert!(
                t.btf.len() < data.len() / 20,
                "{name} on {label}: {} bytes",
                t.btf.len()
            );
            count += engine_same(
                &format!("{name} on {label}"),
                bytes,
                &full_target,
                &Target::new(&min),
            );
        }
    }
    eprintln!("{count} decisions equal");
}

/// The examples' and the module test program's relocations against the test
/// module's split BTF: tailored standalone, and tailored split over the base.
#[test]
fn engine_decisions_split_module() {
    let dir = data_dir();
    let base_bytes = std::fs::read(dir.join("btf_testmod.base.btf")).unwrap();
    let split_bytes = std::fs::read(dir.join("btf_testmod.split.btf")).unwrap();
    let base = Arc::new(Btf::parse(&base_bytes).unwrap());
    let full = Btf::parse_split(&split_bytes, base.clone()).unwrap();
    let full_target = Target::new(&full);
    let module = module_object();
    let named: Vec<(&str, &[u8])> = vec![("module.bpf.o", &module)];
    let t = tailor(&full, &named, Output::Standalone).unwrap();
    let min = Btf::parse(&t.btf).unwrap();
    let n = engine_same(
        "module, standalone",
        &module,
        &full_target,
        &Target::new(&min),
    );
    assert!(n > 0);
    let t = tailor(&full, &named, Output::SplitOverBase).unwrap();
    let min = Btf::parse_split(&t.btf, base).unwrap();
    engine_same(
        "module, split over base",
        &module,
        &full_target,
        &Target::new(&min),
    );
    assert!(t.btf.len() < split_bytes.len());
}

/// crates/reloc/tests/data/module.bpf.c compiled by clang-22.
fn module_object() -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reloc/tests/data/module.bpf.c");
    common::clang_bpf(&src, "minbtf-module.bpf.o", &[])
}

/// libbpf with the tailored BTF of every kernel (all objects at once, as one
/// tool ships it) decides as with the full BTF.
#[test]
fn libbpf_decisions_with_tailored_btf() {
    let objects = objects();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("minbtf-libbpf");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut paths = Vec::new();
    for (i, (_, bytes)) in objects.iter().enumerate() {
        let p = tmp.join(format!("obj{i}.o"));
        std::fs::write(&p, bytes).unwrap();
        paths.push(p);
    }
    let named: Vec<(&str, &[u8])> = objects
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let mut count = 0;
    for (label, path) in kernels() {
        let data = std::fs::read(&path).unwrap();
        let full = Btf::parse(&data).unwrap();
        let t = tailor(&full, &named, Output::Standalone).unwrap();
        let min_path = tmp.join(format!("{label}.min.btf"));
        std::fs::write(&min_path, &t.btf).unwrap();
        for ((name, _), obj) in objects.iter().zip(&paths) {
            let what = format!("{name} on {label}");
            let a = libbpf_oracle::relocate(obj, &path).unwrap();
            let b = libbpf_oracle::relocate(obj, &min_path).unwrap();
            assert_eq!(
                a.error.is_some(),
                b.error.is_some(),
                "{what}: {:?} / {:?}\n{}",
                a.error,
                b.error,
                b.log
            );
            assert_eq!(a.decisions.len(), b.decisions.len(), "{what}");
            for (x, y) in a.decisions.iter().zip(&b.decisions) {
                assert_eq!(libbpf_view(&x.decision), libbpf_view(&y.decision), "{what}");
                if x.decision.kind() != Some("target_type_id") {
                    assert_eq!(x.relocated, y.relocated, "{what}");
                }
            }
            count += a.decisions.len();
        }
    }
    eprintln!("{count} libbpf decisions equal");
}

/// `file` of crates/reloc/tests/data compiled by clang-22 into `out`.
fn clang_data(file: &str, out: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reloc/tests/data")
        .join(file);
    common::clang_bpf(&src, out, &[]);
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(out)
}

/// The engine's crafted program (every relocation kind, flavors, enums,
/// type_matches, candidate pruning) against its crafted targets (moved and
/// resized fields, missing ones, disagreeing candidates): same decisions with
/// the tailored target, in btfkit and in libbpf; the ambiguous relocations are
/// reported as failures and the tailored file still serves the others.
#[test]
fn crafted_rules_on_crafted_targets() {
    let obj_path = clang_data("rules.bpf.c", "minbtf-rules.bpf.o");
    let obj = std::fs::read(&obj_path).unwrap();
    for target in ["target_moved.c", "target_missing.c", "target_ambiguous.c"] {
        let target_path = clang_data(target, &format!("minbtf-{target}.o"));
        let target_obj = std::fs::read(&target_path).unwrap();
        let full = Btf::parse(btfkit_object::btf_from_elf(&target_obj).unwrap()).unwrap();
        let t = tailor(&full, &[("rules.bpf.o", &obj)], Output::Standalone).unwrap();
        let min = Btf::parse(&t.btf).unwrap();
        let n = engine_same(target, &obj, &Target::new(&full), &Target::new(&min));
        assert!(n >= 20, "{target}: {n} decisions");
        if target == "target_ambiguous.c" {
            assert!(!t.failures.is_empty(), "{target}: no failure reported");
            assert!(t.failures.len() < n, "{target}: every relocation failed");
        } else {
            assert!(t.failures.is_empty(), "{target}: {:?}", t.failures);
        }
        let min_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("minbtf-{target}.btf"));
        std::fs::write(&min_path, &t.btf).unwrap();
        let a = libbpf_oracle::relocate(&obj_path, &target_path).unwrap();
        let b = libbpf_oracle::relocate(&obj_path, &min_path).unwrap();
        assert_eq!(a.error.is_some(), b.error.is_some(), "{target}");
        assert_eq!(a.decisions.len(), b.decisions.len(), "{target}");
        assert!(!a.decisions.is_empty(), "{target}");
        for (x, y) in a.decisions.iter().zip(&b.decisions) {
            assert_eq!(
                libbpf_view(&x.decision),
                libbpf_view(&y.decision),
                "{target}"
            );
        }
    }
}

/// The running kernel: every object loads with its tailored BTF as libbpf's
/// `btf_custom_path` exactly when it loads with the full BTF there, and
/// btfkit's engine relocating with the tailored BTF (`btfkit relocate
/// --target min.btf`'s path) gives objects that load likewise.
#[test]
fn running_kernel_loads_with_tailored_btf() {
    common::require_root();
    let objects = objects();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("minbtf-load");
    std::fs::create_dir_all(&tmp).unwrap();
    let full_path = Path::new("/sys/kernel/btf/vmlinux");
    let data = std::fs::read(full_path).unwrap();
    let full = Btf::parse(&data).unwrap();
    let named: Vec<(&str, &[u8])> = objects
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let t = tailor(&full, &named, Output::Standalone).unwrap();
    let min_path = tmp.join("running.min.btf");
    std::fs::write(&min_path, &t.btf).unwrap();
    let min = Btf::parse(&t.btf).unwrap();
    let (full_target, min_target) = (Target::new(&full), Target::new(&min));
    let (mut loaded, mut differ) = (0, Vec::new());
    for (i, (name, bytes)) in objects.iter().enumerate() {
        let obj = tmp.join(format!("obj{i}.o"));
        std::fs::write(&obj, bytes).unwrap();
        let a = btfkit_e2e::custom_btf::load_with_custom_btf(&obj, full_path);
        let b = btfkit_e2e::custom_btf::load_with_custom_btf(&obj, &min_path);
        if a.is_ok() != b.is_ok() {
            differ.push(format!("{name} (libbpf): full {a:?} / tailored {b:?}"));
        }
        let mut engine = Vec::new();
        for (label, target) in [("full", &full_target), ("tailored", &min_target)] {
            let r = relocate_object(bytes, target).unwrap();
            let out = btfkit_reloc::write::write_relocated(bytes, &r).unwrap();
            let path = tmp.join(format!("obj{i}.{label}.o"));
            std::fs::write(&path, out).unwrap();
            engine.push(btfkit_e2e::custom_btf::load_with_custom_btf(&path, full_path).is_ok());
        }
        if engine[0] != engine[1] {
            differ.push(format!(
                "{name} (btfkit): full {} / tailored {}",
                engine[0], engine[1]
            ));
        }
        if a.is_ok() && engine[1] {
            loaded += 1;
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(
        loaded * 2 > objects.len(),
        "only {loaded} of {} objects load",
        objects.len()
    );
    eprintln!(
        "{loaded} of {} objects load with the tailored BTF (libbpf and btfkit)",
        objects.len()
    );
}
