//! Parsing clang-22 output (little- and big-endian) and comparing sections,
//! symbols, relocations and programs with llvm-readelf-22.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use btfkit_object::{
    BpfObject, DataSectionKind, Endian, Insn, SymbolBinding, SymbolKind, R_BPF_64_32,
};
use common::*;

/// A function's name, offset and size.
type FunctionRow = (String, u64, u64);

fn check_against_readelf(target: &str, expected_endian: Endian) {
    let dir = temp_dir();
    let path = compile("sample", target, dir.path());
    let data = std::fs::read(&path).unwrap();
    let object = BpfObject::parse(&data).unwrap();
    assert_eq!(object.endian(), expected_endian);

    // Sections.
    let sections = readelf_sections(&path);
    assert_eq!(sections.len(), object.sections().len());
    for (ours, theirs) in object.sections().iter().zip(&sections) {
        assert_eq!(ours.index, theirs.index);
        assert_eq!(ours.name, theirs.name, "section #{}", ours.index);
        assert_eq!(ours.offset, theirs.offset, "offset of {}", theirs.name);
        assert_eq!(ours.size, theirs.size, "size of {}", theirs.name);
        assert_eq!(ours.entsize, theirs.entsize, "entsize of {}", theirs.name);
        assert_eq!(ours.link, theirs.link, "link of {}", theirs.name);
        assert_eq!(ours.info, theirs.info, "info of {}", theirs.name);
        assert_eq!(ours.addralign, theirs.align, "align of {}", theirs.name);
        assert_eq!(ours.is_alloc(), theirs.flags.contains('A'));
        assert_eq!(ours.is_executable(), theirs.flags.contains('X'));
        assert_eq!(ours.is_writable(), theirs.flags.contains('W'));
        assert_eq!(ours.is_nobits(), theirs.sh_type == "NOBITS");
        if !ours.is_nobits() {
            assert_eq!(ours.data.len() as u64, ours.size);
        }
    }

    // Symbols.
    let symbols = readelf_symbols(&path);
    assert_eq!(symbols.len(), object.symbols().len());
    for (ours, theirs) in object.symbols().iter().zip(&symbols) {
        assert_eq!(ours.index, theirs.index);
        assert_eq!(
            object.symbol_display_name(ours),
            theirs.name,
            "symbol #{}",
            ours.index
        );
        assert_eq!(ours.value, theirs.value, "value of {}", theirs.name);
        assert_eq!(ours.size, theirs.size, "size of {}", theirs.name);
        let kind = match ours.kind {
            SymbolKind::NoType => "NOTYPE",
            SymbolKind::Object => "OBJECT",
            SymbolKind::Func => "FUNC",
            SymbolKind::Section => "SECTION",
            SymbolKind::File => "FILE",
            SymbolKind::Other(_) => "?",
        };
        assert_eq!(kind, theirs.kind, "type of {}", theirs.name);
        let bind = match ours.binding {
            SymbolBinding::Local => "LOCAL",
            SymbolBinding::Global => "GLOBAL",
            SymbolBinding::Weak => "WEAK",
            SymbolBinding::Other(_) => "?",
        };
        assert_eq!(bind, theirs.bind, "binding of {}", theirs.name);
        let ndx = match (ours.section_index, ours.is_undefined(), ours.is_absolute()) {
            (Some(i), _, _) => i.to_string(),
            (None, true, _) => "UND".to_string(),
            (None, _, true) => "ABS".to_string(),
            (None, false, false) if ours.index == 0 => "UND".to_string(),
            _ => "?".to_string(),
        };
        assert_eq!(ndx, theirs.ndx, "section of {}", theirs.name);
    }

    // Relocations.
    let relocations = readelf_relocations(&path);
    let ours: Vec<ReadelfRelocation> = object
        .relocation_sections()
        .iter()
        .flat_map(|s| {
            s.relocations.iter().map(|r| ReadelfRelocation {
                section: s.name.to_string(),
                offset: r.offset,
                r_type: bpf_reloc_name(r.r_type).to_string(),
                symbol: r.symbol_name.to_string(),
            })
        })
        .collect();
    assert_eq!(ours, relocations);
    for section in object.relocation_sections() {
        assert!(!section.is_rela);
        assert_eq!(
            object.sections()[section.index].info as usize,
            section.target_section
        );
    }

    // Programs and their functions.
    let programs: Vec<(String, Vec<FunctionRow>)> = object
        .programs()
        .iter()
        .map(|p| {
            (
                p.name.to_string(),
                p.functions
                    .iter()
                    .map(|f| (f.name.to_string(), f.offset, f.size))
                    .collect(),
            )
        })
        .collect();
    let functions_of = |section: &str| -> Vec<FunctionRow> {
        let index = sections.iter().find(|s| s.name == section).unwrap().index;
        let mut f: Vec<_> = symbols
            .iter()
            .filter(|s| s.kind == "FUNC" && s.ndx == index.to_string())
            .map(|s| (s.name.clone(), s.value, s.size))
            .collect();
        f.sort_by_key(|f| f.1);
        f
    };
    assert_eq!(
        programs,
        vec![
            (".text".to_string(), functions_of(".text")),
            (
                "raw_tp/sys_enter".to_string(),
                functions_of("raw_tp/sys_enter")
            ),
            ("socket".to_string(), functions_of("socket")),
        ]
    );
    let names: Vec<&str> = object.programs()[1]
        .functions
        .iter()
        .map(|f| f.name.as_ref())
        .collect();
    assert_eq!(names, ["first_prog", "second_prog"]);
    let entry_points: Vec<(&str, &str)> = object
        .entry_points()
        .map(|(p, f)| (p.name.as_ref(), f.name.as_ref()))
        .collect();
    assert_eq!(
        entry_points,
        [
            ("raw_tp/sys_enter", "first_prog"),
            ("raw_tp/sys_enter", "second_prog"),
            ("socket", "third_prog")
        ]
    );
    assert_eq!(
        object.program_section_by_name("socket").unwrap().functions[0].name,
        "third_prog"
    );

    // Data sections.
    let data_sections: Vec<(String, DataSectionKind)> = object
        .data_sections()
        .iter()
        .map(|d| (d.name.to_string(), d.kind))
        .collect();
    assert_eq!(
        data_sections,
        [
            (".data", DataSectionKind::Data),
            (".rodata", DataSectionKind::Rodata),
            (".data.extra", DataSectionKind::Data),
            (".maps", DataSectionKind::Maps),
            ("license", DataSectionKind::License),
            (".bss", DataSectionKind::Bss),
        ]
        .map(|(n, k)| (n.to_string(), k))
    );
    assert_eq!(object.section_by_name("license").unwrap().data, b"GPL\0");

    // BTF bytes are handed out raw, with the magic in the object's byte order.
    let btf = object.btf().unwrap();
    let magic = match expected_endian {
        Endian::Little => [0x9f, 0xeb],
        Endian::Big => [0xeb, 0x9f],
    };
    assert_eq!(&btf[..2], &magic);
    assert_eq!(&object.btf_ext().unwrap()[..2], &magic);

    // Instruction naming: the call to global_helper in second_prog.
    let raw_tp = object.section_by_name("raw_tp/sys_enter").unwrap().index;
    let call = object
        .relocations_for(raw_tp)
        .find(|r| r.symbol_name == "global_helper")
        .unwrap();
    assert_eq!(call.r_type, R_BPF_64_32);
    let location = object.locate_insn(raw_tp, call.offset).unwrap();
    assert_eq!(location.function, "second_prog");
    let (_, second) = object.function("second_prog").unwrap();
    assert_eq!(
        location.insn_index as u64,
        (call.offset - second.offset) / 8
    );
    assert_eq!(location.section_insn_index as u64, call.offset / 8);
    let insn = object
        .function_insn("second_prog", location.insn_index)
        .unwrap();
    assert!(insn.is_call(), "{insn:?}");
    assert_eq!(insn.src_reg, 1, "a call of a BPF function has src_reg 1");
    assert_eq!(insn.imm, -1);
    assert!(object.function_insn("second_prog", 10_000).is_err());
    assert!(object.locate_insn(raw_tp, 3).is_err());
    assert!(object.locate_insn(raw_tp, 1 << 40).is_err());
    // The first instruction of each function decodes the same as objdump shows.
    let first = object.function_insn("first_prog", 0).unwrap();
    assert_eq!(
        Insn::decode(first.encode(expected_endian), expected_endian),
        first
    );
}

#[test]
fn little_endian_object_matches_readelf() {
    check_against_readelf("bpfel", Endian::Little);
}

#[test]
fn big_endian_object_matches_readelf() {
    check_against_readelf("bpfeb", Endian::Big);
}

#[test]
fn instruction_indices_match_objdump() {
    let dir = temp_dir();
    let path = compile("sample", "bpfel", dir.path());
    let data = std::fs::read(&path).unwrap();
    let object = BpfObject::parse(&data).unwrap();
    // llvm-objdump prints "<offset in section> <name>:" then per-line "<section insn index>:".
    let text = run(
        "llvm-objdump-22",
        &["-d", "--no-show-raw-insn", path.to_str().unwrap()],
    );
    let mut checked = 0;
    let mut section = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Disassembly of section ") {
            section = name.trim_end_matches(':').to_string();
            continue;
        }
        let Some((index, _)) = line.trim_start().split_once(':') else {
            continue;
        };
        let Ok(index) = index.parse::<u64>() else {
            continue;
        };
        let section_index = object.section_by_name(&section).unwrap().index;
        let location = object.locate_insn(section_index, index * 8).unwrap();
        assert_eq!(location.section_insn_index as u64, index);
        let (_, function) = object.function(location.function).unwrap();
        assert_eq!(function.offset / 8 + location.insn_index as u64, index);
        checked += 1;
    }
    assert!(checked > 50, "only {checked} instructions checked");
}

#[test]
fn rejects_non_bpf_and_non_elf() {
    assert!(matches!(
        BpfObject::parse(b"hello"),
        Err(btfkit_object::ObjectError::NotElf)
    ));
    let host = std::fs::read("/bin/true").unwrap();
    let err = BpfObject::parse(&host).unwrap_err();
    assert!(err.to_string().contains("e_machine"), "{err}");
}
