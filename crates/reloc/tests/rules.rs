//! libbpf's CO-RE rules, one named case each, on BTF built with the model's
//! builder: local and target types differ the way kernels differ.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use btfkit_model::{Btf, CoreReloKind as K, IntEncoding, NewEnumValue, NewMember, NewType, TypeId};
use btfkit_object::Endian;
use btfkit_reloc::compute::{calc, match_candidate, types_compat, types_match, Fixup};
use btfkit_reloc::patch::{patch_insn, Patched, PoisonCause, POISON_HELPER};
use btfkit_reloc::spec::{essential_name, parse_spec};

fn int(b: &mut Btf<'static>, name: &str, size: u32, signed: bool) -> TypeId {
    b.add(&NewType::Int {
        name,
        size,
        encoding: IntEncoding(signed as u32),
        offset: 0,
        bits: size * 8,
    })
    .unwrap()
}

fn member(name: &str, type_id: TypeId, bit_offset: u32) -> NewMember<'_> {
    NewMember {
        name,
        type_id,
        bit_offset,
        bitfield_size: 0,
    }
}

/// Local: struct task { int pid; unsigned flag:3; short tgid; }.
/// Target: struct task { long pad; union { int pid; } ; unsigned x:5, flag:3; int tgid; }.
fn pair() -> (Btf<'static>, TypeId, Btf<'static>, TypeId) {
    let mut l = Btf::new();
    let li = int(&mut l, "int", 4, true);
    let lu = int(&mut l, "unsigned int", 4, false);
    let ls = int(&mut l, "short", 2, true);
    let lt = l
        .add(&NewType::Struct {
            name: "task",
            size: 12,
            members: vec![
                member("pid", li, 0),
                NewMember {
                    name: "flag",
                    type_id: lu,
                    bit_offset: 32,
                    bitfield_size: 3,
                },
                member("tgid", ls, 64),
            ],
        })
        .unwrap();
    let mut t = Btf::new();
    let ti = int(&mut t, "int", 4, true);
    let tu = int(&mut t, "unsigned int", 4, false);
    let tl = int(&mut t, "long", 8, true);
    let anon = t
        .add(&NewType::Union {
            name: "",
            size: 4,
            members: vec![member("pid", ti, 0)],
        })
        .unwrap();
    let tt = t
        .add(&NewType::Struct {
            name: "task",
            size: 24,
            members: vec![
                member("pad", tl, 0),
                member("", anon, 64),
                NewMember {
                    name: "x",
                    type_id: tu,
                    bit_offset: 96,
                    bitfield_size: 5,
                },
                NewMember {
                    name: "flag",
                    type_id: tu,
                    bit_offset: 101,
                    bitfield_size: 3,
                },
                member("tgid", ti, 128),
            ],
        })
        .unwrap();
    (l, lt, t, tt)
}

fn fixup(access: &str, kind: K) -> Fixup {
    let (l, lt, t, tt) = pair();
    let spec = parse_spec(&l, lt, access, kind).unwrap();
    let target = match_candidate(&l, &spec, kind, &t, tt).unwrap();
    calc(&l, &spec, &t, target.as_ref(), kind).unwrap()
}

#[test]
fn flavor_is_cut_at_the_last_triple_underscore() {
    for (name, essential) in [
        ("task_struct___v1", "task_struct"),
        ("a___b___c", "a___b"),
        ("plain", "plain"),
        ("___x", "___x"),
        ("x____y", "x____y"),
    ] {
        assert_eq!(essential_name(name), essential, "{name}");
    }
}

#[test]
fn member_found_through_an_anonymous_union() {
    let f = fixup("0:0", K::FieldByteOffset);
    assert_eq!((f.orig_val, f.new_val, f.poison), (0, 8, false));
}

#[test]
fn integers_of_other_sizes_are_compatible_and_signed_resize_poisons_loads() {
    let f = fixup("0:2", K::FieldByteOffset);
    assert_eq!((f.orig_val, f.new_val), (8, 16));
    assert_eq!((f.orig_sz, f.new_sz), (2, 4));
    // A signed short growing to int cannot be loaded with a resized load.
    assert!(f.fail_memsz_adjust);
    assert_eq!(fixup("0:2", K::FieldByteSize).new_val, 4);
    assert_eq!(fixup("0:2", K::FieldSigned).new_val, 1);
}

#[test]
fn bitfield_offset_size_and_shifts_follow_libbpf() {
    // Target flag: bits 101..104, in the 4-byte unit at byte 12.
    assert_eq!(fixup("0:1", K::FieldByteOffset).new_val, 12);
    assert_eq!(fixup("0:1", K::FieldByteSize).new_val, 4);
    assert_eq!(fixup("0:1", K::FieldLshiftU64).new_val, 64 - (101 + 3 - 96));
    assert_eq!(fixup("0:1", K::FieldRshiftU64).new_val, 61);
    assert!(
        !fixup("0:1", K::FieldByteOffset).validate,
        "bitfield offsets are not validated"
    );
    assert!(fixup("0:1", K::FieldRshiftU64).validate, "right shifts are");
}

#[test]
fn missing_field_exists_is_zero_but_offset_poisons() {
    let (mut l, _, t, tt) = pair();
    let li = l.find_by_name("int")[0];
    let lt2 = l
        .add(&NewType::Struct {
            name: "task",
            size: 8,
            members: vec![member("nope", li, 0)],
        })
        .unwrap();
    let exists = parse_spec(&l, lt2, "0:0", K::FieldExists).unwrap();
    assert!(match_candidate(&l, &exists, K::FieldExists, &t, tt)
        .unwrap()
        .is_none());
    let f = calc(&l, &exists, &t, None, K::FieldExists).unwrap();
    assert_eq!((f.orig_val, f.new_val, f.poison), (1, 0, false));
    let off = parse_spec(&l, lt2, "0:0", K::FieldByteOffset).unwrap();
    assert!(calc(&l, &off, &t, None, K::FieldByteOffset).unwrap().poison);
}

#[test]
fn type_relocations_without_target_are_zero_not_poison() {
    let (l, lt, t, _) = pair();
    for kind in [K::TypeExists, K::TypeSize, K::TypeIdTarget, K::TypeMatches] {
        let spec = parse_spec(&l, lt, "0", kind).unwrap();
        let f = calc(&l, &spec, &t, None, kind).unwrap();
        assert_eq!((f.new_val, f.poison), (0, false), "{kind}");
    }
}

#[test]
fn types_compat_is_looser_than_types_match() {
    let (l, lt, t, tt) = pair();
    assert!(types_compat(&l, lt, &t, tt).unwrap());
    // Local `tgid` is a short, the target's an int: not a match.
    assert!(!types_match(&l, lt, &t, tt).unwrap());
}

#[test]
fn enum_values_match_by_essential_name() {
    let mut l = Btf::new();
    let le = l
        .add(&NewType::Enum {
            name: "pid_type",
            size: 4,
            signed: false,
            values: vec![NewEnumValue {
                name: "PIDTYPE_SID___old",
                value: 9,
            }],
        })
        .unwrap();
    let mut t = Btf::new();
    let te = t
        .add(&NewType::Enum64 {
            name: "pid_type",
            size: 8,
            signed: true,
            values: vec![NewEnumValue {
                name: "PIDTYPE_SID",
                value: -3,
            }],
        })
        .unwrap();
    let spec = parse_spec(&l, le, "0", K::EnumvalValue).unwrap();
    let m = match_candidate(&l, &spec, K::EnumvalValue, &t, te)
        .unwrap()
        .expect("enum and enum64 are compatible");
    let f = calc(&l, &spec, &t, Some(&m), K::EnumvalValue).unwrap();
    assert_eq!((f.orig_val, f.new_val as i64), (9, -3));
}

fn insn(code: u8, regs: u8, off: i16, imm: i32) -> Vec<u8> {
    let mut v = vec![code, regs];
    v.extend_from_slice(&off.to_le_bytes());
    v.extend_from_slice(&imm.to_le_bytes());
    v
}

#[test]
fn patching_checks_the_original_value_and_rewrites_each_form() {
    let f = Fixup {
        kind: K::FieldByteOffset,
        orig_val: 8,
        new_val: 16,
        poison: false,
        validate: true,
        fail_memsz_adjust: false,
        orig_sz: 2,
        new_sz: 4,
    };
    // mov64 r0, 8 → 16
    let mut alu = insn(0xb7, 0x00, 0, 8);
    assert!(
        matches!(patch_insn(&mut alu, 0, &f, Endian::Little).unwrap(),
        Patched::Applied(n) if n.contains("imm 8 -> 16"))
    );
    assert_eq!(i32::from_le_bytes(alu[4..8].try_into().unwrap()), 16);
    // The wrong original value is refused.
    let mut wrong = insn(0xb7, 0x00, 0, 7);
    assert!(patch_insn(&mut wrong, 0, &f, Endian::Little)
        .unwrap_err()
        .to_string()
        .contains("unexpected insn #0"));
    // ldxh r1, [r2+8] → ldxw r1, [r2+16]
    let mut ldx = insn(0x69, 0x21, 8, 0);
    let note = patch_insn(&mut ldx, 0, &f, Endian::Little).unwrap();
    assert!(
        matches!(&note, Patched::Applied(n) if n.contains("mem_sz 2 -> 4")),
        "{note:?}"
    );
    assert_eq!((ldx[0], i16::from_le_bytes([ldx[2], ldx[3]])), (0x61, 16));
    // A poisoned ld_imm64 poisons both halves.
    let p = Fixup { poison: true, ..f };
    let mut ld = insn(0x18, 0x01, 0, 8);
    ld.extend(insn(0, 0, 0, 0));
    assert_eq!(
        patch_insn(&mut ld, 0, &p, Endian::Little).unwrap(),
        Patched::Poisoned(PoisonCause::NoTarget)
    );
    for half in ld.chunks(8) {
        assert_eq!(
            (half[0], i32::from_le_bytes(half[4..8].try_into().unwrap())),
            (0x85, POISON_HELPER)
        );
    }
    // An unsafe resize poisons the load instead of patching it.
    let bad = Fixup {
        fail_memsz_adjust: true,
        ..f
    };
    let mut ldx = insn(0x69, 0x21, 8, 0);
    assert_eq!(
        patch_insn(&mut ldx, 0, &bad, Endian::Little).unwrap(),
        Patched::Poisoned(PoisonCause::MemSize {
            class: 1,
            insn_bytes: 2
        })
    );
    assert_eq!(ldx[0], 0x85);
}

/// libbpf resizes a load unless an int's encoding is exactly `SIGNED`: a
/// `SIGNED | CHAR` char (as pahole may encode one) counts as unsigned, a
/// `SIGNED` one does not.
#[test]
fn resize_is_refused_only_for_an_encoding_of_exactly_signed() {
    let one = |encoding: u32| {
        let mut l = Btf::new();
        let lc = l
            .add(&NewType::Int {
                name: "char",
                size: 1,
                encoding: IntEncoding(encoding),
                offset: 0,
                bits: 8,
            })
            .unwrap();
        let ls = l
            .add(&NewType::Struct {
                name: "s",
                size: 1,
                members: vec![member("c", lc, 0)],
            })
            .unwrap();
        let mut t = Btf::new();
        let tu = int(&mut t, "unsigned short", 2, false);
        let ts = t
            .add(&NewType::Struct {
                name: "s",
                size: 2,
                members: vec![member("c", tu, 0)],
            })
            .unwrap();
        let spec = parse_spec(&l, ls, "0:0", K::FieldByteOffset).unwrap();
        let target = match_candidate(&l, &spec, K::FieldByteOffset, &t, ts).unwrap();
        calc(&l, &spec, &t, target.as_ref(), K::FieldByteOffset).unwrap()
    };
    assert!(one(IntEncoding::SIGNED).fail_memsz_adjust);
    assert!(!one(IntEncoding::SIGNED | IntEncoding::CHAR).fail_memsz_adjust);
    assert!(!one(IntEncoding::CHAR).fail_memsz_adjust);
    assert!(!one(0).fail_memsz_adjust);
}
