//! Equivalence with clang: `testdata/reference.bpf.c` (clang-22 +
//! bpf_core_read.h) and `testdata/rust-reference` (the same program as
//! btfkit's markers and descriptors, linked by [`btfkit_link::link`]) must
//! carry the same CO-RE records: kinds, root type names, access strings,
//! local type shapes and local values (apart from the documented
//! divergences). Also reports the instruction counts of four query forms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;

struct Pair {
    clang: Vec<u8>,
    rust: Vec<u8>,
    linked: btfkit_link::LinkOutput,
}

fn build_pair() -> Pair {
    let clang = compile_c(&testdata().join("reference.bpf.c"));
    let path = build_rust_fixture("rust-reference");
    let rust = std::fs::read(&path).unwrap();
    let linked = btfkit_link::link(&rust).unwrap();
    Pair {
        clang,
        rust: linked.object.clone(),
        linked,
    }
}

fn by_key(records: &[Record]) -> BTreeMap<(String, String, String, String), Vec<Record>> {
    let mut map: BTreeMap<_, Vec<Record>> = BTreeMap::new();
    for r in records {
        map.entry(r.key()).or_default().push(r.clone());
    }
    map
}

#[test]
fn records_types_and_values_match_clang() {
    let pair = build_pair();
    let clang = records(&pair.clang);
    let rust = records(&pair.rust);
    let both = format!(
        "{}{}",
        show_records("clang-22", &clang),
        show_records("btfkit link", &rust)
    );
    assert_eq!(rust.len(), pair.linked.relocations.len(), "{both}");

    // Same records per function: kind, root type, access string. (The Rust
    // program may repeat a record where rustc duplicated a marker call.)
    let (c_keys, r_keys) = (by_key(&clang), by_key(&rust));
    let c_set: Vec<_> = c_keys.keys().collect();
    let r_set: Vec<_> = r_keys.keys().collect();
    assert_eq!(c_set, r_set, "record sets differ\n{both}");

    // Same local values, except where btfkit follows libbpf and clang does not.
    let mut divergences = Vec::new();
    for (key, c_recs) in &c_keys {
        let c = &c_recs[0];
        for r in &r_keys[key] {
            let expected = match (c.kind.as_str(), c.access.as_str()) {
                // Ids differ between the objects: each must be its own record's type id.
                ("local_type_id", _) => {
                    assert_eq!(c.imm, i64::from(c.type_id), "{both}");
                    i64::from(r.type_id)
                }
                // task_struct.bits (a bitfield): clang's byte_sz is the record's
                // alignment (8), libbpf's local value the storage size (4).
                ("byte_sz", "0:5") => {
                    divergences.push(format!(
                        "{} <byte_sz> {} {}: clang {} vs btfkit {} (libbpf's local rule)",
                        c.function, c.type_name, c.access, c.imm, r.imm
                    ));
                    4
                }
                _ => c.imm,
            };
            assert_eq!(
                r.imm, expected,
                "local value of {key:?}: clang {}, btfkit {}\n{both}",
                c.imm, r.imm
            );
        }
    }

    // Same local type shapes.
    let c_shapes = root_shapes(&pair.clang, &clang);
    let r_shapes = root_shapes(&pair.rust, &rust);
    for ((c_name, c_shape), (r_name, r_shape)) in c_shapes.iter().zip(&r_shapes) {
        assert_eq!(c_name, r_name);
        assert_eq!(
            c_shape, r_shape,
            "local type {c_name} differs\n--- clang-22:\n{c_shape}\n--- btfkit:\n{r_shape}"
        );
    }
    assert_eq!(c_shapes.len(), r_shapes.len());

    eprintln!("{both}");
    for d in &divergences {
        eprintln!("divergence: {d}");
    }
    for (name, shape) in &r_shapes {
        eprintln!("local type {name}:\n{shape}");
    }
}

#[test]
fn instruction_counts_against_clang() {
    let pair = build_pair();
    let mut table = String::from("instruction counts (btfkit markers vs clang-22):\n");
    let mut counts = Vec::new();
    for function in [
        "offset_option",
        "field_exists",
        "read_one_hop",
        "read_two_hops",
    ] {
        let ours = function_insns(&pair.rust, function);
        let theirs = function_insns(&pair.clang, function);
        table.push_str(&format!("  {function:<14} {ours:>3} vs {theirs:>3}\n"));
        counts.push((function, ours, theirs));
    }
    eprintln!("{table}");
    // One marker becomes one instruction, like clang's: a bare query costs the same.
    assert_eq!(counts[1].1, counts[1].2, "{table}");
    for (function, ours, theirs) in counts {
        assert!(
            ours <= theirs + 6,
            "{function}: {ours} instructions vs clang's {theirs}\n{table}"
        );
    }
}

#[test]
fn nothing_of_the_mechanism_remains() {
    let pair = build_pair();
    let object = btfkit_object::BpfObject::parse(&pair.rust).unwrap();
    assert!(object.section_by_name(".btfkit.types").is_none());
    assert!(object
        .symbols()
        .iter()
        .all(|s| !s.name.starts_with("btfkit:")));
    for rel in object.relocation_sections() {
        for r in &rel.relocations {
            assert!(
                !r.symbol_name.starts_with("btfkit:") && r.symbol_name != ".btfkit.types",
                "stray relocation {r:?}"
            );
        }
    }
    // The existing BTF's `__ARRAY_SIZE_TYPE__` is reused, not duplicated,
    // and the descriptor statics' VARs, arrays and DATASEC are gone.
    let btf = btfkit_model::Btf::parse(object.btf().unwrap()).unwrap();
    assert_eq!(
        btf.find_by_name_kind("__ARRAY_SIZE_TYPE__", btfkit_model::Kind::Int)
            .len(),
        1
    );
    for id in btf.type_ids() {
        let ty = btf.type_by_id(id).unwrap();
        let name = btf.type_name(&ty).unwrap();
        assert!(
            !(ty.kind() == btfkit_model::Kind::Var && name.contains("TASK_STRUCT")),
            "descriptor VAR [{id}] {name} is still in .BTF"
        );
    }

    // And with LLVM's own tools.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-reference.linked.o");
    std::fs::write(&path, &pair.rust).unwrap();
    let readelf = std::process::Command::new("llvm-readelf-22")
        .args(["-S", "-s", "-r"])
        .arg(&path)
        .output()
        .expect("prerequisite missing: llvm-readelf-22 (apt-get install llvm-22)");
    assert!(readelf.status.success());
    let text = String::from_utf8_lossy(&readelf.stdout);
    assert!(
        !text.contains("btfkit"),
        "llvm-readelf-22 still sees btfkit:\n{text}"
    );
    assert!(!text.contains(" UND btfkit"), "{text}");
    let objdump = std::process::Command::new("llvm-objdump-22")
        .args(["-d", "-r"])
        .arg(&path)
        .output()
        .expect("prerequisite missing: llvm-objdump-22 (apt-get install llvm-22)");
    assert!(objdump.status.success());
    let text = String::from_utf8_lossy(&objdump.stdout);
    assert!(
        !text.contains("call -0x1") && !text.contains("btfkit"),
        "markers left in the code:\n{text}"
    );
    assert!(
        text.contains("CO-RE <byte_off>"),
        "llvm-objdump-22 sees no CO-RE records:\n{text}"
    );
    // The unlinked object did have them.
    let unlinked = std::fs::read(build_rust_fixture("rust-reference")).unwrap();
    assert!(btfkit_object::BpfObject::parse(&unlinked)
        .unwrap()
        .section_by_name(".btfkit.types")
        .is_some());
}

/// DWARF goes unless asked to stay; everything else is the same object:
/// sections, records and code. Line_info keeps a record at every function
/// start, no record of inlined `core` code elsewhere, and trimmed texts.
#[test]
fn dwarf_goes_by_default_and_line_info_is_lean() {
    let path = build_rust_fixture("rust-reference");
    let rust = std::fs::read(&path).unwrap();
    let lean = btfkit_link::link(&rust).unwrap().object;
    let kept = btfkit_link::link_with(&rust, &btfkit_link::LinkOptions { keep_debug: true })
        .unwrap()
        .object;
    let names = |data: &[u8]| -> Vec<String> {
        btfkit_object::BpfObject::parse(data)
            .unwrap()
            .sections()
            .iter()
            .map(|s| s.name.to_string())
            .collect()
    };
    let (lean_names, kept_names) = (names(&lean), names(&kept));
    assert!(
        kept_names.iter().any(|n| n == ".debug_info"),
        "{kept_names:?}"
    );
    assert!(
        lean_names.iter().all(|n| !n.contains(".debug_")),
        "{lean_names:?}"
    );
    let without_debug: Vec<&String> = kept_names
        .iter()
        .filter(|n| !n.contains(".debug_"))
        .collect();
    assert_eq!(lean_names.iter().collect::<Vec<_>>(), without_debug);
    assert_eq!(records(&lean), records(&kept));
    assert!(
        lean.len() * 2 < kept.len(),
        "{} vs {} bytes",
        lean.len(),
        kept.len()
    );
    // Stripping again changes nothing.
    assert_eq!(btfkit_link::strip_debug(&lean).unwrap(), lean);

    let object = btfkit_object::BpfObject::parse(&lean).unwrap();
    let btf = btfkit_model::Btf::parse(object.btf().unwrap()).unwrap();
    let ext = btfkit_model::BtfExt::parse(object.btf_ext().unwrap()).unwrap();
    assert!(!ext.line_info.is_empty());
    for section in &ext.line_info.sections {
        let starts: Vec<u32> = ext
            .func_info
            .sections
            .iter()
            .filter(|f| {
                btf.name(f.sec_name_off).unwrap() == btf.name(section.sec_name_off).unwrap()
            })
            .flat_map(|f| f.records.iter().map(|r| r.insn_off))
            .collect();
        assert_eq!(section.records.first().map(|r| r.insn_off), Some(0));
        for start in &starts {
            assert!(section.records.iter().any(|r| r.insn_off == *start));
        }
        for pair in section.records.windows(2) {
            assert!(pair[0].insn_off < pair[1].insn_off);
        }
        for r in &section.records {
            let file = btf.name(r.file_name_off).unwrap();
            let text = btf.name(r.line_off).unwrap();
            assert_eq!(text, text.trim(), "untrimmed line text");
            assert!(
                !file.contains("/library/core/") || starts.contains(&r.insn_off),
                "a record of inlined core code at insn {}: {file}",
                r.insn_off / 8
            );
        }
    }
}
