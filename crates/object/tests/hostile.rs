//! Hostile input: truncated and corrupted objects must give errors, never
//! panics, in parsing, instruction lookups, rewriting and scanning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use btfkit_object::{btf_from_elf, find_embedded_bpf_objects, BpfObject, ObjectRewriter};
use common::*;

/// Exercises everything a consumer might call on `data`; returns whether it parsed.
fn exercise(data: &[u8]) -> bool {
    let _ = btf_from_elf(data);
    let _ = find_embedded_bpf_objects(data);
    let Ok(object) = BpfObject::parse(data) else {
        return false;
    };
    let _ = object.btf();
    let _ = object.btf_ext();
    let _ = object.data_sections();
    for program in object.programs() {
        for function in &program.functions {
            let _ = program.function_bytes(function);
            for i in 0..function.insn_count().min(64) {
                let _ = object.function_insn(&function.name, i);
            }
        }
        for offset in (0..program.insns.len() as u64).step_by(8).take(64) {
            let _ = object.locate_insn(program.section_index, offset);
        }
    }
    if let Ok(mut rewriter) = ObjectRewriter::new(&object) {
        if let Ok(written) = rewriter.write() {
            // What we write from a parsed object parses again.
            let reparsed = BpfObject::parse(&written);
            assert!(
                reparsed.is_ok(),
                "rewrite of a parsed object does not parse: {reparsed:?}"
            );
        }
        for symbol in object.symbols().iter().filter(|s| s.is_undefined()) {
            rewriter.remove_relocations_against_symbol(symbol.index);
            let _ = rewriter.remove_symbol(symbol.index);
        }
        if let Some(section) = object.data_sections().first() {
            let _ = rewriter.remove_section(section.section_index);
        }
        let _ = rewriter.set_non_alloc_section(".BTF", vec![1, 2, 3]);
        if let Ok(written) = rewriter.write() {
            let _ = BpfObject::parse(&written);
        }
    }
    true
}

fn objects() -> Vec<(String, Vec<u8>)> {
    let dir = temp_dir();
    let mut out = Vec::new();
    for target in ["bpfel", "bpfeb"] {
        for name in ["sample", "markers"] {
            let path = compile(name, target, dir.path());
            out.push((format!("{name}.{target}"), std::fs::read(path).unwrap()));
        }
    }
    out
}

#[test]
fn truncation_at_every_offset_never_panics() {
    for (name, data) in objects() {
        assert!(exercise(&data), "{name} must parse whole");
        let mut errors = 0;
        for len in 0..data.len() {
            let truncated = &data[..len];
            let parsed = catch_unwind(AssertUnwindSafe(|| exercise(truncated)))
                .unwrap_or_else(|_| panic!("{name}: panic on truncation to {len} bytes"));
            if !parsed {
                errors += 1;
            }
        }
        // The section header table is at the end: every truncation fails.
        assert_eq!(errors, data.len(), "{name}");
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    for (name, data) in objects() {
        let mut copy = data.clone();
        let mut parsed = 0usize;
        let mut total = 0usize;
        for offset in 0..data.len() {
            for value in [
                0x00u8,
                0xff,
                data[offset] ^ 0x01,
                data[offset].wrapping_add(8),
            ] {
                if value == data[offset] {
                    continue;
                }
                copy[offset] = value;
                total += 1;
                let ok = catch_unwind(AssertUnwindSafe(|| exercise(&copy))).unwrap_or_else(|_| {
                    panic!("{name}: panic with byte {offset:#x} set to {value:#04x}")
                });
                parsed += usize::from(ok);
            }
            copy[offset] = data[offset];
        }
        eprintln!("{name}: {parsed} of {total} corruptions still parse");
        assert!(parsed < total);
    }
}

#[test]
fn errors_name_the_broken_part() {
    let (_, data) = objects().remove(0);
    let object = BpfObject::parse(&data).unwrap();
    // Point the relocation section of raw_tp/sys_enter at a symbol that does not exist.
    let rel = object
        .relocation_sections()
        .iter()
        .find(|r| r.name == ".relraw_tp/sys_enter")
        .unwrap();
    let header = &object.sections()[rel.index];
    let mut broken = data.clone();
    let info_at = header.offset as usize + 8 + 4; // high half of r_info of entry 0 (LE)
    broken[info_at..info_at + 4].copy_from_slice(&9999u32.to_le_bytes());
    let err = BpfObject::parse(&broken).unwrap_err().to_string();
    assert!(
        err.contains(".relraw_tp/sys_enter") && err.contains("9999"),
        "{err}"
    );
    // A section whose contents lie beyond the end of the file.
    let text = object.section_by_name(".text").unwrap().index;
    let shoff = u64::from_le_bytes(data[40..48].try_into().unwrap()) as usize;
    let size_at = shoff + text * 64 + 32;
    let mut broken = data.clone();
    broken[size_at..size_at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let err = BpfObject::parse(&broken).unwrap_err().to_string();
    assert!(err.contains(".text"), "{err}");
}
