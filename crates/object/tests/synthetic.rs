//! Hand-built ELF64 BPF objects for what clang does not emit: `SHT_RELA`
//! relocations with addends, in both byte orders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use btfkit_object::{BpfObject, Endian, ObjectRewriter, R_BPF_64_32, R_BPF_64_64};
use common::*;

/// A minimal ET_REL with `.text` (4 instruction slots), `.data`, a RELA
/// section for `.text`, `.symtab` and `.strtab` (also the section name table).
fn build(endian: Endian) -> Vec<u8> {
    let u16b = |v: u16| endian.u16_bytes(v).to_vec();
    let u32b = |v: u32| endian.u32_bytes(v).to_vec();
    let u64b = |v: u64| endian.u64_bytes(v).to_vec();

    let mut strtab = vec![0u8];
    let mut name = |s: &str| {
        let at = strtab.len() as u32;
        strtab.extend_from_slice(s.as_bytes());
        strtab.push(0);
        at
    };
    let n_text = name(".text");
    let n_data = name(".data");
    let n_rela = name(".rela.text");
    let n_symtab = name(".symtab");
    let n_strtab = name(".strtab");
    let n_prog = name("prog");
    let n_var = name("var");
    let n_ext = name("ext_func");

    let text: Vec<u8> = [
        [0x18u8, 0x01, 0, 0, 0, 0, 0, 0], // r1 = var ll
        [0, 0, 0, 0, 0, 0, 0, 0],
        [
            0x85,
            if endian == Endian::Little { 0x10 } else { 0x01 },
            0,
            0,
            0xff,
            0xff,
            0xff,
            0xff,
        ],
        [0x95, 0, 0, 0, 0, 0, 0, 0],
    ]
    .concat();
    let data = vec![1u8, 2, 3, 4, 5, 6, 7, 8];
    let sym = |name: u32, info: u8, shndx: u16, value: u64, size: u64| {
        [
            u32b(name),
            vec![info, 0],
            u16b(shndx),
            u64b(value),
            u64b(size),
        ]
        .concat()
    };
    let symtab = [
        sym(0, 0, 0, 0, 0),
        sym(0, 3, 1, 0, 0),          // section symbol .text (local)
        sym(n_prog, 0x12, 1, 0, 32), // global func
        sym(n_var, 0x11, 2, 4, 4),   // global object
        sym(n_ext, 0x10, 0, 0, 0),   // global undefined
    ]
    .concat();
    let rela = |offset: u64, sym: u64, r_type: u64, addend: i64| {
        [u64b(offset), u64b(sym << 32 | r_type), u64b(addend as u64)].concat()
    };
    let rela_text = [
        rela(0, 3, R_BPF_64_64 as u64, 4),
        rela(16, 4, R_BPF_64_32 as u64, -8),
    ]
    .concat();

    // Layout: header, .text, .data, .rela.text, .symtab, .strtab, headers.
    let mut out = vec![0u8; 64];
    let place = |bytes: &[u8], align: usize, out: &mut Vec<u8>| {
        while out.len() % align != 0 {
            out.push(0);
        }
        let at = out.len() as u64;
        out.extend_from_slice(bytes);
        at
    };
    let o_text = place(&text, 8, &mut out);
    let o_data = place(&data, 4, &mut out);
    let o_rela = place(&rela_text, 8, &mut out);
    let o_symtab = place(&symtab, 8, &mut out);
    let o_strtab = place(&strtab, 1, &mut out);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let shoff = out.len() as u64;
    #[allow(clippy::too_many_arguments)]
    let shdr = |name: u32,
                ty: u32,
                flags: u64,
                off: u64,
                size: u64,
                link: u32,
                info: u32,
                align: u64,
                entsize: u64| {
        [
            u32b(name),
            u32b(ty),
            u64b(flags),
            u64b(0),
            u64b(off),
            u64b(size),
            u32b(link),
            u32b(info),
            u64b(align),
            u64b(entsize),
        ]
        .concat()
    };
    out.extend_from_slice(&[0u8; 64]);
    out.extend(shdr(n_text, 1, 6, o_text, text.len() as u64, 0, 0, 8, 0)); // 1
    out.extend(shdr(n_data, 1, 3, o_data, data.len() as u64, 0, 0, 4, 0)); // 2
    out.extend(shdr(
        n_rela,
        4,
        0x40,
        o_rela,
        rela_text.len() as u64,
        4,
        1,
        8,
        24,
    )); // 3
    out.extend(shdr(
        n_symtab,
        2,
        0,
        o_symtab,
        symtab.len() as u64,
        5,
        2,
        8,
        24,
    )); // 4
    out.extend(shdr(
        n_strtab,
        3,
        0,
        o_strtab,
        strtab.len() as u64,
        0,
        0,
        1,
        0,
    )); // 5

    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2;
    out[5] = if endian == Endian::Little { 1 } else { 2 };
    out[6] = 1;
    out[16..18].copy_from_slice(&u16b(1)); // ET_REL
    out[18..20].copy_from_slice(&u16b(247));
    out[20..24].copy_from_slice(&u32b(1));
    out[40..48].copy_from_slice(&u64b(shoff));
    out[52..54].copy_from_slice(&u16b(64));
    out[58..60].copy_from_slice(&u16b(64));
    out[60..62].copy_from_slice(&u16b(6));
    out[62..64].copy_from_slice(&u16b(5));
    out
}

#[test]
fn rela_objects_parse_and_rewrite() {
    let dir = temp_dir();
    for endian in [Endian::Little, Endian::Big] {
        let data = build(endian);
        let path = dir.path().join(format!("synthetic.{endian:?}.o"));
        std::fs::write(&path, &data).unwrap();
        let object = BpfObject::parse(&data).unwrap();
        assert_eq!(object.endian(), endian);
        let relocations = object.relocation_sections();
        assert_eq!(relocations.len(), 1);
        assert!(relocations[0].is_rela);
        let rows: Vec<_> = relocations[0]
            .relocations
            .iter()
            .map(|r| (r.offset, r.symbol_name.to_string(), r.r_type, r.addend))
            .collect();
        assert_eq!(
            rows,
            [
                (0, "var".to_string(), R_BPF_64_64, 4),
                (16, "ext_func".to_string(), R_BPF_64_32, -8)
            ]
        );
        // llvm-readelf agrees.
        let theirs = readelf_relocations(&path);
        assert_eq!(theirs.len(), 2);
        assert_eq!(theirs[1].symbol, "ext_func");
        let insn = object.function_insn("prog", 2).unwrap();
        assert_eq!((insn.code, insn.src_reg, insn.imm), (0x85, 1, -1));

        // Identity is byte-identical; dropping the extern renumbers nothing
        // before it and keeps the addend of the other entry.
        let written = ObjectRewriter::new(&object).unwrap().write().unwrap();
        assert!(written == data, "{endian:?}: identity rewrite differs");
        let mut rewriter = ObjectRewriter::new(&object).unwrap();
        let text = rewriter.section_index(".text").unwrap();
        rewriter.remove_relocation(text, 16).unwrap();
        rewriter.remove_symbol(4).unwrap();
        let var = rewriter.symbol_index("var").unwrap();
        assert_eq!(var, 3);
        // Removing `.data` with `var` in it would strand the ld_imm64.
        let mut stranded = rewriter.clone();
        stranded
            .remove_section(rewriter.section_index(".data").unwrap())
            .unwrap();
        assert!(stranded
            .write()
            .unwrap_err()
            .to_string()
            .contains("\"var\""));

        let edited = rewriter.write().unwrap();
        let out = dir.path().join(format!("edited.{endian:?}.o"));
        std::fs::write(&out, &edited).unwrap();
        let reparsed = BpfObject::parse(&edited).unwrap();
        assert_eq!(reparsed.symbols().len(), 4);
        let rows: Vec<_> = reparsed.relocation_sections()[0]
            .relocations
            .iter()
            .map(|r| (r.offset, r.symbol_name.to_string(), r.r_type, r.addend))
            .collect();
        assert_eq!(rows, [(0, "var".to_string(), R_BPF_64_64, 4)]);
        let symbols = readelf_symbols(&out);
        assert_eq!(
            symbols.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["", ".text", "prog", "var"]
        );
        assert_eq!(reparsed.first_global_symbol(), 2);
    }
}
