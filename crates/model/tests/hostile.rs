//! Malformed BTF gives an error, never a panic or unbounded allocation:
//! truncation at every offset, corrupted counts, out-of-range ids and string
//! offsets, reference cycles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use btfkit_model::{Btf, BtfExt, Error, IntEncoding, Linkage, NewMember, NewParam, NewType};

/// A small BTF with one of most kinds.
fn sample() -> Vec<u8> {
    let mut b = Btf::new();
    let int = b
        .add(&NewType::Int {
            name: "int",
            size: 4,
            encoding: IntEncoding(IntEncoding::SIGNED),
            offset: 0,
            bits: 32,
        })
        .unwrap();
    let ptr = b.add(&NewType::Ptr { target: 0 }).unwrap();
    let arr = b
        .add(&NewType::Array {
            elem: int,
            index: int,
            nelems: 4,
        })
        .unwrap();
    let s = b
        .add(&NewType::Struct {
            name: "s",
            size: 32,
            members: vec![
                NewMember {
                    name: "a",
                    type_id: int,
                    bit_offset: 0,
                    bitfield_size: 3,
                },
                NewMember {
                    name: "p",
                    type_id: ptr,
                    bit_offset: 64,
                    bitfield_size: 0,
                },
                NewMember {
                    name: "arr",
                    type_id: arr,
                    bit_offset: 128,
                    bitfield_size: 0,
                },
            ],
        })
        .unwrap();
    let proto = b
        .add(&NewType::FuncProto {
            ret: int,
            params: vec![NewParam {
                name: "x",
                type_id: s,
            }],
        })
        .unwrap();
    b.add(&NewType::Func {
        name: "f",
        proto,
        linkage: Linkage(1),
    })
    .unwrap();
    b.add(&NewType::Typedef {
        name: "s_t",
        target: s,
    })
    .unwrap();
    b.to_bytes()
}

#[test]
fn sample_parses_and_validates() {
    let data = sample();
    let btf = Btf::parse(&data).unwrap();
    btf.validate().unwrap();
    assert_eq!(btf.last_id(), 7);
    assert_eq!(btf.to_bytes(), data);
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    let data = sample();
    for len in 0..data.len() {
        let cut = &data[..len];
        match Btf::parse(cut) {
            Err(_) => {}
            Ok(btf) => {
                // A cut inside the string section may still frame correctly only
                // if it ends at a NUL; then validation must catch dangling names.
                let _ = btf.validate();
            }
        }
    }
}

#[test]
fn every_single_byte_corruption_is_handled() {
    let data = sample();
    for i in 0..data.len() {
        for v in [0x00, 0xff, 0x7f, 0x80, 0x13] {
            let mut bad = data.clone();
            bad[i] = v;
            if let Ok(btf) = Btf::parse(&bad) {
                let _ = btf.validate();
                for id in btf.type_ids() {
                    if let Ok(t) = btf.type_by_id(id) {
                        let _ = btf.type_name(&t);
                        let _ = btf.resolve_size(id);
                        let _ = btf.resolve_align(id);
                        let _ = btf.skip_mods_and_typedefs(id);
                        t.members().for_each(drop);
                        t.params().for_each(drop);
                        t.enum_values().for_each(drop);
                    }
                }
                let _ = btf.find_by_name("s");
            }
        }
    }
}

#[test]
fn huge_vlen_is_truncation_not_allocation() {
    let mut data = sample();
    // Type 4 (struct s) starts after int (16 bytes), ptr (12) and array (24): at 24 + 52.
    let at = 24 + 16 + 12 + 24 + 4;
    data[at] = 0xff;
    data[at + 1] = 0xff;
    let err = Btf::parse(&data).unwrap_err();
    assert!(matches!(err, Error::BadType { id: 4, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "type [4]: truncated record: STRUCT with vlen 65535 needs 786432 bytes at offset 52 of the type section, 92 left"
    );
}

#[test]
fn type_id_out_of_range_is_reported() {
    let mut b = Btf::new();
    b.add(&NewType::Ptr { target: 99 }).unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    let err = btf.validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "type [1]: refers to type id 99, past the last id 1"
    );
    assert!(btf.type_by_id(2).is_err());
}

#[test]
fn string_offset_out_of_range_is_reported() {
    let mut data = sample();
    // name_off of type 1 (int) → far past the strings.
    data[24..28].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    let btf = Btf::parse(&data).unwrap();
    let err = btf.validate().unwrap_err();
    assert!(err.to_string().contains("string offset 16777215"), "{err}");
}

#[test]
fn self_referential_typedef_is_a_cycle() {
    let mut b = Btf::new();
    b.add(&NewType::Typedef {
        name: "loop",
        target: 1,
    })
    .unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    assert!(matches!(btf.validate(), Err(Error::Cycle(1))));
    assert!(matches!(
        btf.skip_mods_and_typedefs(1),
        Err(Error::Cycle(1))
    ));
    assert!(btf.resolve_size(1).is_err());
}

#[test]
fn struct_containing_itself_by_value_is_a_cycle_but_through_pointer_is_fine() {
    let mut b = Btf::new();
    let node = b
        .add(&NewType::Struct {
            name: "node",
            size: 8,
            members: vec![NewMember {
                name: "next",
                type_id: 2,
                bit_offset: 0,
                bitfield_size: 0,
            }],
        })
        .unwrap();
    b.add(&NewType::Ptr { target: node }).unwrap();
    let data = b.to_bytes();
    Btf::parse(&data).unwrap().validate().unwrap();

    let mut b = Btf::new();
    b.add(&NewType::Struct {
        name: "bad",
        size: 8,
        members: vec![NewMember {
            name: "me",
            type_id: 1,
            bit_offset: 0,
            bitfield_size: 0,
        }],
    })
    .unwrap();
    let data = b.to_bytes();
    assert!(matches!(
        Btf::parse(&data).unwrap().validate(),
        Err(Error::Cycle(1))
    ));
}

#[test]
fn array_of_2_pow_32_elements_overflows_cleanly() {
    let mut b = Btf::new();
    let big = b
        .add(&NewType::Int {
            name: "long",
            size: 8,
            encoding: IntEncoding(1),
            offset: 0,
            bits: 64,
        })
        .unwrap();
    let a1 = b
        .add(&NewType::Array {
            elem: big,
            index: big,
            nelems: u32::MAX,
        })
        .unwrap();
    let a2 = b
        .add(&NewType::Array {
            elem: a1,
            index: big,
            nelems: u32::MAX,
        })
        .unwrap();
    let a3 = b
        .add(&NewType::Array {
            elem: a2,
            index: big,
            nelems: u32::MAX,
        })
        .unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    assert_eq!(btf.resolve_size(a1).unwrap(), 8 * u32::MAX as u64);
    assert!(btf.resolve_size(a3).is_err());
}

#[test]
fn struct_with_65535_members_round_trips() {
    let mut b = Btf::new();
    let int = b
        .add(&NewType::Int {
            name: "int",
            size: 4,
            encoding: IntEncoding(1),
            offset: 0,
            bits: 32,
        })
        .unwrap();
    let names: Vec<String> = (0..65535).map(|i| format!("m{i}")).collect();
    let members = names
        .iter()
        .enumerate()
        .map(|(i, n)| NewMember {
            name: n,
            type_id: int,
            bit_offset: i as u32 * 32,
            bitfield_size: 0,
        })
        .collect();
    let s = b
        .add(&NewType::Struct {
            name: "wide",
            size: 65535 * 4,
            members,
        })
        .unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    btf.validate().unwrap();
    assert_eq!(btf.type_by_id(s).unwrap().members().len(), 65535);
    let too_many: Vec<NewMember> = (0..65536)
        .map(|_| NewMember {
            name: "x",
            type_id: int,
            bit_offset: 0,
            bitfield_size: 0,
        })
        .collect();
    assert!(b
        .add(&NewType::Struct {
            name: "wider",
            size: 4,
            members: too_many
        })
        .is_err());
}

#[test]
fn bad_headers_are_reported() {
    let data = sample();
    assert!(matches!(Btf::parse(&[]), Err(Error::Truncated { .. })));
    assert!(matches!(Btf::parse(b"ELF\0"), Err(Error::BadMagic(_))));
    let mut v = data.clone();
    v[2] = 2;
    assert!(matches!(Btf::parse(&v), Err(Error::BadVersion(2))));
    let mut v = data.clone();
    v[4..8].copy_from_slice(&4u32.to_le_bytes());
    assert!(matches!(Btf::parse(&v), Err(Error::BadHeader(_))));
    let mut v = data.clone();
    v[12..16].copy_from_slice(&u32::MAX.to_le_bytes()); // type_len
    assert!(matches!(Btf::parse(&v), Err(Error::BadHeader(_))));
}

#[test]
fn big_endian_btf_reads_like_little_endian() {
    let mut b = Btf::new_with_endian(btfkit_model::Endian::Big);
    let int = b
        .add(&NewType::Int {
            name: "int",
            size: 4,
            encoding: IntEncoding(1),
            offset: 0,
            bits: 32,
        })
        .unwrap();
    b.add(&NewType::Struct {
        name: "s",
        size: 4,
        members: vec![NewMember {
            name: "x",
            type_id: int,
            bit_offset: 0,
            bitfield_size: 0,
        }],
    })
    .unwrap();
    let data = b.to_bytes();
    assert_eq!(&data[..2], &[0xeb, 0x9f]);
    let btf = Btf::parse(&data).unwrap();
    btf.validate().unwrap();
    let s = btf.type_by_id(2).unwrap();
    assert_eq!(btf.type_name(&s).unwrap(), "s");
    assert_eq!(s.size(), Some(4));
    assert_eq!(btf.name(s.members().next().unwrap().name_off).unwrap(), "x");
    assert_eq!(btf.to_bytes(), data);
}

#[test]
fn btf_ext_truncations_and_zero_sized_records_are_errors() {
    let mut ext = BtfExt::new(btfkit_model::Endian::Little);
    ext.func_info.section_mut(1).push(btfkit_model::FuncInfo {
        insn_off: 0,
        type_id: 3,
        tail: vec![],
    });
    ext.core_relo.section_mut(1).push(btfkit_model::CoreRelo {
        insn_off: 8,
        type_id: 2,
        access_str_off: 5,
        kind: btfkit_model::CoreReloKind::FieldByteOffset,
        tail: vec![],
    });
    let data = ext.to_bytes();
    let back = BtfExt::parse(&data).unwrap();
    assert_eq!(back.to_bytes(), data);
    assert_eq!(back.core_relo.len(), 1);
    for len in 0..data.len() {
        let _ = BtfExt::parse(&data[..len]);
    }
    // rec_size 0.
    let mut v = data.clone();
    let core_off = 32 + u32::from_le_bytes(v[24..28].try_into().unwrap()) as usize;
    v[core_off..core_off + 4].copy_from_slice(&0u32.to_le_bytes());
    assert!(BtfExt::parse(&v)
        .unwrap_err()
        .to_string()
        .contains("rec_size 0"));
    // num_info 0.
    let mut v = data.clone();
    v[core_off + 8..core_off + 12].copy_from_slice(&0u32.to_le_bytes());
    assert!(BtfExt::parse(&v)
        .unwrap_err()
        .to_string()
        .contains("zero records"));
}

#[test]
fn longer_ext_records_keep_their_tail() {
    // Hand-encode a .BTF.ext whose core_relo records are 20 bytes.
    let mut v = Vec::new();
    v.extend_from_slice(&[0x9f, 0xeb, 1, 0]);
    v.extend_from_slice(&32u32.to_le_bytes());
    for w in [0u32, 0, 0, 0, 0, 4 + 8 + 20] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    for w in [20u32, 1, 1, 8, 2, 5, 0, 0xdead_beef] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    let ext = BtfExt::parse(&v).unwrap();
    assert_eq!(ext.core_relo.rec_size, 20);
    assert_eq!(
        ext.core_relo.sections[0].records[0].tail,
        0xdead_beefu32.to_le_bytes()
    );
    assert_eq!(ext.to_bytes(), v);
}

// Limits (DESIGN.md, "Limits"): each error names the limit it hit.

#[test]
fn limit_max_types_is_named() {
    let mut b = Btf::new();
    for _ in 0..10 {
        b.add(&NewType::Ptr { target: 0 }).unwrap();
    }
    let data = b.to_bytes();
    let limits = btfkit_model::Limits {
        max_types: 5,
        ..Default::default()
    };
    let err = Btf::parse_with(&data, None, limits).unwrap_err();
    assert!(matches!(err, Error::Limit(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "limit exceeded: more than 5 types (max_types)"
    );
    assert_eq!(btfkit_model::Limits::default().max_types, 1 << 24);
}

#[test]
fn limit_max_strings_len_is_named() {
    let data = sample();
    let limits = btfkit_model::Limits {
        max_strings_len: 8,
        ..Default::default()
    };
    let err = Btf::parse_with(&data, None, limits).unwrap_err();
    assert!(matches!(err, Error::Limit(_)), "{err}");
    assert!(
        err.to_string()
            .ends_with("bytes is larger than 8 (max_strings_len)"),
        "{err}"
    );
    assert_eq!(btfkit_model::Limits::default().max_strings_len, 1 << 28);
}

#[test]
fn limit_max_resolve_depth_is_named() {
    // 40 typedefs in a chain: deeper than 32, but no loop.
    let mut b = Btf::new();
    let mut prev = b
        .add(&NewType::Int {
            name: "int",
            size: 4,
            encoding: IntEncoding(1),
            offset: 0,
            bits: 32,
        })
        .unwrap();
    for _ in 0..40 {
        prev = b
            .add(&NewType::Typedef {
                name: "t",
                target: prev,
            })
            .unwrap();
    }
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    let err = btf.resolve_size(prev).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("type [{prev}]: reference chain loops or is deeper than the limit (max_resolve_depth, 32 by default)")
    );
    assert!(btf.skip_mods_and_typedefs(prev).is_err());
    // 30 deep is fine.
    assert_eq!(btf.resolve_size(31).unwrap(), 4);
}

#[test]
fn limit_members_per_type_is_the_format_s_65535() {
    let mut b = Btf::new();
    let members: Vec<NewMember> = (0..65536)
        .map(|_| NewMember {
            name: "x",
            type_id: 0,
            bit_offset: 0,
            bitfield_size: 0,
        })
        .collect();
    let err = b
        .add(&NewType::Struct {
            name: "wider",
            size: 4,
            members,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot build type: 65536 members exceed the BTF maximum of 65535"
    );
}

#[test]
fn limit_ext_records_is_named() {
    // One func_info subsection of 2^24 + 1 records of 8 bytes (134 MB of
    // zeros, untouched pages: the count is checked before any record is read).
    let n: u32 = (1 << 24) + 1;
    let func_len = 4 + 8 + n * 8;
    let mut v = vec![0u8; 32 + func_len as usize];
    let mut put = |at: usize, w: u32| v[at..at + 4].copy_from_slice(&w.to_le_bytes());
    put(0, 0x0001_eb9f);
    put(4, 32);
    // func_info [0, func_len), line_info and core_relo empty after it.
    for (at, w) in [
        (8, 0),
        (12, func_len),
        (16, func_len),
        (20, 0),
        (24, func_len),
        (28, 0),
    ] {
        put(at, w);
    }
    put(32, 8); // rec_size
    put(36, 1); // sec_name_off
    put(40, n); // num_info
    let err = BtfExt::parse(&v).unwrap_err();
    assert!(matches!(err, Error::Limit(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "limit exceeded: func_info has more than 16777216 records (MAX_EXT_RECORDS)"
    );
}
