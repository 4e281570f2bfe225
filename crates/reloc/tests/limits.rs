//! The relocation engine's limits on hostile objects: each error names the
//! limit (`MAX_CORE_RELOS`, `MAX_ACCESS_STR_LEN`, `MAX_SPEC_LEN`), the
//! instruction and the offending offset; long names are cut in reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use btfkit_model::{Btf, BtfExt, CoreRelo, CoreReloKind, Endian};
use btfkit_object::{BpfObject, ObjectRewriter};
use btfkit_reloc::relocate::{MAX_ACCESS_STR_LEN, MAX_CORE_RELOS, MAX_REPORT_NAME_LEN};
use btfkit_reloc::{relocate_object, Target};

fn repo(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel),
    )
    .unwrap()
}

/// A clang-compiled object with core_relo records in `raw_tp/sys_enter`.
fn rules() -> Vec<u8> {
    repo("fuzz/seeds/relocate/rules.bpf.o")
}

fn target_btf() -> Vec<u8> {
    repo("fuzz/seeds/btf_parse/btf_testmod.base.btf")
}

/// `rules.bpf.o` with `strings` added to its `.BTF` and its core_relo records
/// replaced by `records(offsets of the added strings, section name offset)`.
fn object(strings: &[&str], records: impl Fn(&[u32], u32) -> Vec<CoreRelo>) -> Vec<u8> {
    let obj = rules();
    let parsed = BpfObject::parse(&obj).unwrap();
    let mut btf = Btf::parse(parsed.btf().unwrap()).unwrap();
    let offs: Vec<u32> = strings.iter().map(|s| btf.add_string(s).unwrap()).collect();
    let old = BtfExt::parse(parsed.btf_ext().unwrap()).unwrap();
    let sec = old.core_relo.sections[0].sec_name_off;
    let mut ext = BtfExt::new(Endian::Little);
    ext.core_relo.section_mut(sec).extend(records(&offs, sec));
    let mut rw = ObjectRewriter::new(&parsed).unwrap();
    rw.set_non_alloc_section(".BTF", btf.to_bytes()).unwrap();
    rw.set_non_alloc_section(".BTF.ext", ext.to_bytes())
        .unwrap();
    rw.write().unwrap()
}

fn relo(insn_off: u32, type_id: u32, access_str_off: u32) -> CoreRelo {
    CoreRelo {
        insn_off,
        type_id,
        access_str_off,
        kind: CoreReloKind::FieldByteOffset,
        tail: vec![],
    }
}

/// The first struct type of the object's BTF (a valid root for "0:0").
fn a_struct(obj: &[u8]) -> u32 {
    let parsed = BpfObject::parse(obj).unwrap();
    let btf = Btf::parse(parsed.btf().unwrap()).unwrap();
    btf.type_ids()
        .find(|&id| btf.type_by_id(id).unwrap().kind() == btfkit_model::Kind::Struct)
        .unwrap()
}

fn errors(obj: &[u8]) -> Vec<String> {
    let t = target_btf();
    let t = Btf::parse(&t).unwrap();
    let r = relocate_object(obj, &Target::new(&t)).unwrap();
    r.decisions
        .iter()
        .map(|d| d.error().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn more_than_max_core_relos_is_refused_by_name() {
    let obj = object(&["0"], |s, _| {
        (0..=MAX_CORE_RELOS as u32)
            .map(|_| relo(0, 1, s[0]))
            .collect()
    });
    let t = target_btf();
    let t = Btf::parse(&t).unwrap();
    let err = relocate_object(&obj, &Target::new(&t)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            ".BTF.ext has {} core_relo records, more than {MAX_CORE_RELOS} (MAX_CORE_RELOS)",
            MAX_CORE_RELOS + 1
        )
    );
}

#[test]
fn long_access_strings_are_refused_by_name() {
    let long = "0:".repeat(600) + "0";
    let deep = vec!["0"; 65].join(":");
    let obj0 = object(&[], |_, _| vec![]);
    let root = a_struct(&obj0);
    let obj = object(&[&long, &deep], |s, _| {
        vec![relo(0, root, s[0]), relo(8, root, s[1])]
    });
    let e = errors(&obj);
    assert_eq!(
        e[0],
        format!(
            "access string of 1201 bytes is longer than {MAX_ACCESS_STR_LEN} (MAX_ACCESS_STR_LEN)"
        )
    );
    assert_eq!(
        e[1],
        "access string \"0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:\"... \
         has 65 indices, more than 64 (MAX_SPEC_LEN)"
    );
}

#[test]
fn errors_name_the_instruction_and_offsets() {
    let obj0 = object(&[], |_, _| vec![]);
    let root = a_struct(&obj0);
    let obj = object(&["0:0"], |s, _| {
        vec![
            relo(0x00ff_fff8, root, s[0]),
            relo(3, root, s[0]),
            relo(0, root, 0x7fff_ffff),
            relo(0, 9999, s[0]),
        ]
    });
    let e = errors(&obj);
    assert!(
        e[0].starts_with(
            "instruction offset 16777208 is past the end of section raw_tp/sys_enter ("
        ),
        "{}",
        e[0]
    );
    assert_eq!(e[1], "instruction offset 3 is not a multiple of 8");
    assert_eq!(
        e[2],
        "access string: string offset 2147483647 is outside the string section"
    );
    assert!(e[3].contains("type id 9999 out of range"), "{}", e[3]);
}

#[test]
fn huge_names_are_cut_in_reports() {
    // One 100 KB name shared by a struct and its member: each record's report
    // would otherwise hold it twice.
    let name = "n".repeat(100_000);
    let obj = {
        let base = rules();
        let parsed = BpfObject::parse(&base).unwrap();
        let mut btf = Btf::parse(parsed.btf().unwrap()).unwrap();
        let int = btf
            .add(&btfkit_model::NewType::Int {
                name: "int",
                size: 4,
                encoding: btfkit_model::IntEncoding(1),
                offset: 0,
                bits: 32,
            })
            .unwrap();
        let s = btf
            .add(&btfkit_model::NewType::Struct {
                name: &name,
                size: 4,
                members: vec![btfkit_model::NewMember {
                    name: &name,
                    type_id: int,
                    bit_offset: 0,
                    bitfield_size: 0,
                }],
            })
            .unwrap();
        let access = btf.add_string("0:0").unwrap();
        let old = BtfExt::parse(parsed.btf_ext().unwrap()).unwrap();
        let sec = old.core_relo.sections[0].sec_name_off;
        let mut ext = BtfExt::new(Endian::Little);
        ext.core_relo
            .section_mut(sec)
            .extend((0..100).map(|_| relo(0, s, access)));
        let mut rw = ObjectRewriter::new(&parsed).unwrap();
        rw.set_non_alloc_section(".BTF", btf.to_bytes()).unwrap();
        rw.set_non_alloc_section(".BTF.ext", ext.to_bytes())
            .unwrap();
        rw.write().unwrap()
    };
    let t = target_btf();
    let t = Btf::parse(&t).unwrap();
    let r = relocate_object(&obj, &Target::new(&t)).unwrap();
    assert_eq!(r.decisions.len(), 100);
    for d in &r.decisions {
        assert!(d.local.len() <= MAX_REPORT_NAME_LEN, "{}", d.local.len());
        assert!(d.local.ends_with("..."));
        assert!(d.reason().unwrap_or("").len() <= MAX_REPORT_NAME_LEN);
    }
}
