//! Rewriting clang-22 objects: the identity rewrite, removals of sections,
//! relocations and symbols, patched instructions and replaced BTF sections,
//! checked with llvm-readelf-22, bpftool and (as root) the kernel loader.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use btfkit_object::{BpfObject, Insn, ObjectRewriter, R_BPF_64_32};
use common::*;

#[test]
fn identity_rewrite_is_byte_identical_and_equivalent() {
    let dir = temp_dir();
    for target in ["bpfel", "bpfeb"] {
        for name in ["sample", "markers"] {
            let path = compile(name, target, dir.path());
            let data = std::fs::read(&path).unwrap();
            let object = BpfObject::parse(&data).unwrap();
            let written = ObjectRewriter::new(&object).unwrap().write().unwrap();
            let out = dir.path().join(format!("{name}.{target}.identity.o"));
            std::fs::write(&out, &written).unwrap();
            assert_eq!(readelf_sections(&out), readelf_sections(&path));
            assert_eq!(readelf_symbols(&out), readelf_symbols(&path));
            assert_eq!(readelf_relocations(&out), readelf_relocations(&path));
            if target == "bpfel" {
                assert_eq!(bpftool_btf_dump(&out), bpftool_btf_dump(&path));
            }
            // LLVM lays an object out exactly as the rewriter does.
            assert!(written == data, "{name} {target}: identity rewrite differs");
        }
    }
}

#[test]
fn identity_rewrite_loads() {
    let dir = temp_dir();
    let path = compile("sample", "bpfel", dir.path());
    let data = std::fs::read(&path).unwrap();
    let object = BpfObject::parse(&data).unwrap();
    let out = dir.path().join("identity.o");
    std::fs::write(&out, ObjectRewriter::new(&object).unwrap().write().unwrap()).unwrap();
    assert_eq!(
        bpftool_loadall(&out, "identity"),
        ["first_prog", "second_prog", "third_prog"]
    );
}

/// Does to `markers.bpf.c` what the btfkit link step does: every marker call
/// becomes `mov64 r0, imm`, its relocation and symbol go, and the
/// `.btfkit.types` section goes with its symbols.
fn link_like_rewrite(data: &[u8]) -> Vec<u8> {
    let object = BpfObject::parse(data).unwrap();
    let endian = object.endian();
    let mut rewriter = ObjectRewriter::new(&object).unwrap();
    let mut value = 100;
    for symbol in object.symbols().iter().filter(|s| s.is_undefined()) {
        assert!(symbol.name.starts_with("btfkit_marker_"), "{}", symbol.name);
        for section in object.relocation_sections() {
            for relocation in section
                .relocations
                .iter()
                .filter(|r| r.symbol_index == symbol.index)
            {
                assert_eq!(relocation.r_type, R_BPF_64_32);
                let mov = Insn {
                    code: 0xb7,
                    dst_reg: 0,
                    src_reg: 0,
                    off: 0,
                    imm: value,
                };
                value += 1;
                rewriter
                    .patch_section(
                        section.target_section,
                        relocation.offset,
                        &mov.encode(endian),
                    )
                    .unwrap();
                rewriter
                    .remove_relocation(section.target_section, relocation.offset)
                    .unwrap();
            }
        }
        rewriter.remove_symbol(symbol.index).unwrap();
    }
    let types = rewriter.section_index(".btfkit.types").unwrap();
    rewriter.remove_section(types).unwrap();
    rewriter.write().unwrap()
}

#[test]
fn removing_markers_and_type_section() {
    let dir = temp_dir();
    for target in ["bpfel", "bpfeb"] {
        let path = compile("markers", target, dir.path());
        let data = std::fs::read(&path).unwrap();
        let written = link_like_rewrite(&data);
        let out = dir.path().join(format!("markers.{target}.linked.o"));
        std::fs::write(&out, &written).unwrap();

        // Sections: `.btfkit.types` is gone, everything else is the same, in order.
        let before = readelf_sections(&path);
        let after = readelf_sections(&out);
        let expected: Vec<(String, String, u64, String, u64)> = before
            .iter()
            .filter(|s| s.name != ".btfkit.types")
            .map(|s| {
                (
                    s.name.clone(),
                    s.sh_type.clone(),
                    s.size,
                    s.flags.clone(),
                    s.align,
                )
            })
            .collect();
        let actual: Vec<(String, String, u64, String, u64)> = after
            .iter()
            .map(|s| {
                let size = if s.name == ".symtab" {
                    s.size + 5 * 24
                } else if s.name == ".llvm_addrsig" {
                    before.iter().find(|b| b.name == s.name).unwrap().size
                } else if s.name.starts_with(".rel") {
                    // Compared entry by entry below.
                    before.iter().find(|b| b.name == s.name).unwrap().size
                } else if s.name == ".strtab" {
                    // Rebuilt without the removed symbols' and section's
                    // names: smaller, checked below.
                    let old = before.iter().find(|b| b.name == s.name).unwrap().size;
                    assert!(s.size < old, ".strtab {} is not below {old}", s.size);
                    old
                } else {
                    s.size
                };
                (
                    s.name.clone(),
                    s.sh_type.clone(),
                    size,
                    s.flags.clone(),
                    s.align,
                )
            })
            .collect();
        assert_eq!(actual, expected);
        // sh_link / sh_info point at the same sections by name.
        let name_of = |list: &[ReadelfSection], index: u32| {
            list.iter()
                .find(|s| s.index == index as usize)
                .unwrap()
                .name
                .clone()
        };
        for s in after.iter().filter(|s| s.sh_type == "REL") {
            let b = before.iter().find(|b| b.name == s.name).unwrap();
            assert_eq!(name_of(&after, s.info), name_of(&before, b.info));
            assert_eq!(name_of(&after, s.link), ".symtab");
        }

        // Symbols: the markers, the descriptors and the section symbol are gone.
        let gone = [
            "btfkit_marker_size",
            "btfkit_marker_off",
            "descriptor_a",
            "descriptor_b",
            ".btfkit.types",
        ];
        let section_name_before = |ndx: &str| {
            ndx.parse::<u32>()
                .map(|i| name_of(&before, i))
                .unwrap_or(ndx.to_string())
        };
        let section_name_after = |ndx: &str| {
            ndx.parse::<u32>()
                .map(|i| name_of(&after, i))
                .unwrap_or(ndx.to_string())
        };
        let expected: Vec<_> = readelf_symbols(&path)
            .into_iter()
            .filter(|s| !gone.contains(&s.name.as_str()))
            .map(|s| {
                (
                    s.name,
                    s.kind,
                    s.bind,
                    s.value,
                    s.size,
                    section_name_before(&s.ndx),
                )
            })
            .collect();
        let actual: Vec<_> = readelf_symbols(&out)
            .into_iter()
            .map(|s| {
                (
                    s.name,
                    s.kind,
                    s.bind,
                    s.value,
                    s.size,
                    section_name_after(&s.ndx),
                )
            })
            .collect();
        assert_eq!(actual, expected);

        // Relocations: the marker calls' are gone; those of non-allocated
        // sections against the removed symbols are dropped; the rest stay.
        let expected: Vec<_> = readelf_relocations(&path)
            .into_iter()
            .filter(|r| !gone.contains(&r.symbol.as_str()))
            .collect();
        assert_eq!(readelf_relocations(&out), expected);

        // The address-significance list follows the renumbered symbols.
        let expected: Vec<String> = readelf_addrsig(&path)
            .into_iter()
            .filter(|s| !gone.contains(&s.as_str()))
            .collect();
        assert_eq!(readelf_addrsig(&out), expected);
        assert_eq!(expected.len(), 3);

        // The patched instructions.
        let object = BpfObject::parse(&written).unwrap();
        let first = object.function_insn("marker_prog", 0).unwrap();
        assert_eq!((first.code, first.dst_reg, first.imm), (0xb7, 0, 100));
        let third = object.function_insn("marker_prog", 2).unwrap();
        assert_eq!((third.code, third.dst_reg, third.imm), (0xb7, 0, 101));
        assert!(object.section_by_name(".btfkit.types").is_none());

        // BTF is untouched.
        if target == "bpfel" {
            assert_eq!(bpftool_btf_dump(&out), bpftool_btf_dump(&path));
        }
    }
}

#[test]
fn linked_object_loads_in_the_kernel() {
    let dir = temp_dir();
    let path = compile("markers", "bpfel", dir.path());
    let data = std::fs::read(&path).unwrap();
    let object = BpfObject::parse(&data).unwrap();
    // libbpf 1.1 refuses an object whose BTF has a DATASEC for a section
    // that is gone ("Invalid size for section .btfkit.types"): the link step
    // rewrites .BTF; this crate cannot, so the test drops BTF altogether.
    let mut rewriter_input = link_like_rewrite(&data);
    let linked = BpfObject::parse(&rewriter_input).unwrap();
    let mut rewriter = ObjectRewriter::new(&linked).unwrap();
    for name in [".BTF.ext", ".BTF"] {
        let index = rewriter.section_index(name).unwrap();
        rewriter.remove_section(index).unwrap();
    }
    rewriter_input = rewriter.write().unwrap();
    let out = dir.path().join("markers.linked.o");
    std::fs::write(&out, &rewriter_input).unwrap();
    assert!(object.btf().is_some());
    assert_eq!(
        bpftool_loadall(&out, "linked"),
        ["marker_prog", "plain_prog"]
    );
}

#[test]
fn replacing_and_adding_btf_sections() {
    let dir = temp_dir();
    let path = compile("sample", "bpfel", dir.path());
    let data = std::fs::read(&path).unwrap();
    let object = BpfObject::parse(&data).unwrap();
    let btf = object.btf().unwrap().to_vec();
    let btf_ext = object.btf_ext().unwrap().to_vec();

    // Remove both, then add them back: they come back as clang emits them.
    let mut rewriter = ObjectRewriter::new(&object).unwrap();
    for name in [".BTF", ".BTF.ext"] {
        let index = rewriter.section_index(name).unwrap();
        rewriter.remove_section(index).unwrap();
    }
    let stripped = rewriter.write().unwrap();
    let stripped_object = BpfObject::parse(&stripped).unwrap();
    assert!(stripped_object.btf().is_none());
    let mut rewriter = ObjectRewriter::new(&stripped_object).unwrap();
    let btf_index = rewriter.set_non_alloc_section(".BTF", btf.clone()).unwrap();
    let ext_index = rewriter
        .set_non_alloc_section(".BTF.ext", btf_ext.clone())
        .unwrap();
    assert_eq!(ext_index, btf_index + 1);
    let out = dir.path().join("readded.o");
    std::fs::write(&out, rewriter.write().unwrap()).unwrap();
    let readded = std::fs::read(&out).unwrap();
    let readded_object = BpfObject::parse(&readded).unwrap();
    assert_eq!(readded_object.btf().unwrap(), &btf[..]);
    assert_eq!(readded_object.btf_ext().unwrap(), &btf_ext[..]);
    let sections = readelf_sections(&out);
    for name in [".BTF", ".BTF.ext"] {
        let s = sections.iter().find(|s| s.name == name).unwrap();
        assert_eq!(
            (s.sh_type.as_str(), s.flags.as_str(), s.align),
            ("PROGBITS", "", 4)
        );
        assert_eq!(s.offset % 4, 0);
    }
    assert_eq!(bpftool_btf_dump(&out), bpftool_btf_dump(&path));
    assert_eq!(
        bpftool_loadall(&out, "readded"),
        ["first_prog", "second_prog", "third_prog"]
    );

    // Replacing an existing `.BTF.ext` drops its stale relocation section.
    let mut rewriter = ObjectRewriter::new(&object).unwrap();
    let mut bigger = btf_ext.clone();
    bigger.extend_from_slice(&[0; 12]);
    rewriter
        .set_non_alloc_section(".BTF.ext", bigger.clone())
        .unwrap();
    let out = dir.path().join("replaced.o");
    std::fs::write(&out, rewriter.write().unwrap()).unwrap();
    let replaced = std::fs::read(&out).unwrap();
    let replaced_object = BpfObject::parse(&replaced).unwrap();
    assert_eq!(replaced_object.btf_ext().unwrap(), &bigger[..]);
    assert!(replaced_object.section_by_name(".rel.BTF.ext").is_none());
    assert!(replaced_object.section_by_name(".rel.BTF").is_some());
    assert_eq!(
        readelf_relocations(&out),
        readelf_relocations(&path)
            .into_iter()
            .filter(|r| r.section != ".rel.BTF.ext")
            .collect::<Vec<_>>()
    );
}

#[test]
fn edits_that_would_break_the_object_are_refused() {
    let dir = temp_dir();
    let path = compile("sample", "bpfel", dir.path());
    let data = std::fs::read(&path).unwrap();
    let object = BpfObject::parse(&data).unwrap();

    // A symbol still used by code.
    let mut rewriter = ObjectRewriter::new(&object).unwrap();
    let counters = rewriter.symbol_index("counters").unwrap();
    rewriter.remove_symbol(counters).unwrap();
    let err = rewriter.write().unwrap_err().to_string();
    assert!(
        err.contains("counters") && err.contains("raw_tp/sys_enter"),
        "{err}"
    );
    // ... is fine once its relocations are gone: the map load in code,
    // and the references from .rel.debug_addr and .rel.BTF.
    assert_eq!(rewriter.remove_relocations_against_symbol(counters), 3);
    rewriter.write().unwrap();

    let mut rewriter = ObjectRewriter::new(&object).unwrap();
    let text = rewriter.section_index(".text").unwrap();
    assert!(rewriter.replace_section_data(text, vec![0; 8]).is_err());
    assert!(rewriter.patch_section(text, 0x78, &[0; 8]).is_err());
    let symtab = rewriter.section_index(".symtab").unwrap();
    assert!(rewriter.remove_section(symtab).is_err());
    let strtab = rewriter.section_index(".strtab").unwrap();
    assert!(rewriter.remove_section(strtab).is_err());
    assert!(rewriter.replace_section_data(symtab, vec![]).is_err());
    assert!(rewriter.remove_symbol(0).is_err());
    assert!(rewriter.remove_symbol(10_000).is_err());
    assert!(rewriter.remove_relocation(text, 0x8).is_err());
    let bss = rewriter.section_index(".bss").unwrap();
    assert!(rewriter.patch_section(bss, 0, &[1]).is_err());
    let rodata = rewriter.section_index(".rodata").unwrap();
    assert!(rewriter.set_non_alloc_section(".rodata", vec![]).is_err());
    // Removing .text strands the calls into it from raw_tp/sys_enter.
    rewriter.remove_section(text).unwrap();
    let err = rewriter.write().unwrap_err().to_string();
    assert!(err.contains("removed symbol"), "{err}");
    let _ = rodata;
}
