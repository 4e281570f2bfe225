//! The generator on hostile BTF: malformed BTF is refused with the type it is
//! in, and the limits (`MAX_NAME_LEN`, `MAX_OUTPUT_PER_INPUT_BYTE`) are named
//! when hit. The CLI's `tests/hostile.rs` runs `btfkit gen` on the whole
//! regression corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use btfkit_gen::{generate, Error, Layout, Options, MAX_NAME_LEN, MAX_OUTPUT_PER_INPUT_BYTE};
use btfkit_model::{Btf, IntEncoding, NewMember, NewParam, NewType};

fn both(btf: &Btf<'_>) -> Vec<Result<String, Error>> {
    [Layout::Relocatable, Layout::Fixed]
        .into_iter()
        .map(|layout| {
            generate(
                btf,
                &Options {
                    layout,
                    ..Options::default()
                },
            )
        })
        .collect()
}

fn int(b: &mut Btf<'_>) -> u32 {
    b.add(&NewType::Int {
        name: "int",
        size: 4,
        encoding: IntEncoding(1),
        offset: 0,
        bits: 32,
    })
    .unwrap()
}

#[test]
fn malformed_btf_is_refused_with_the_type() {
    let mut b = Btf::new();
    b.add(&NewType::Typedef {
        name: "loop",
        target: 1,
    })
    .unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    for r in both(&btf) {
        assert_eq!(
            r.unwrap_err().to_string(),
            "malformed BTF: type [1]: reference chain loops or is deeper than the limit (max_resolve_depth, 32 by default)"
        );
    }
    let mut b = Btf::new();
    b.add(&NewType::Struct {
        name: "s",
        size: 4,
        members: vec![NewMember {
            name: "x",
            type_id: 77,
            bit_offset: 0,
            bitfield_size: 0,
        }],
    })
    .unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    for r in both(&btf) {
        assert_eq!(
            r.unwrap_err().to_string(),
            "malformed BTF: type [1]: refers to type id 77, past the last id 1"
        );
    }
}

#[test]
fn names_past_max_name_len_are_refused_by_name() {
    let long = "x".repeat(MAX_NAME_LEN + 1);
    let mut b = Btf::new();
    let i = int(&mut b);
    b.add(&NewType::Struct {
        name: "s",
        size: 4,
        members: vec![NewMember {
            name: &long,
            type_id: i,
            bit_offset: 0,
            bitfield_size: 0,
        }],
    })
    .unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    for r in both(&btf) {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Limit(_)));
        assert_eq!(
            e.to_string(),
            "limit exceeded: type [2]: member name of 1025 bytes is longer than 1024 (MAX_NAME_LEN)"
        );
    }
}

#[test]
fn output_past_the_budget_is_refused_by_name() {
    // One 1024-byte name shared by 6 structs of 1500 members each: 108 KB of
    // BTF whose Rust would be 86 times as large (each 12-byte member record
    // becomes a line with the name).
    let name = "y".repeat(MAX_NAME_LEN);
    let mut b = Btf::new();
    let i = int(&mut b);
    let members: Vec<NewMember> = (0..1500)
        .map(|n| NewMember {
            name: &name,
            type_id: i,
            bit_offset: n * 32,
            bitfield_size: 0,
        })
        .collect();
    for _ in 0..6 {
        b.add(&NewType::Struct {
            name: &name,
            size: 6000,
            members: members.clone(),
        })
        .unwrap();
    }
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    for r in both(&btf) {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Limit(_)), "{e}");
        assert!(
            e.to_string().ends_with(&format!(
                "({MAX_OUTPUT_PER_INPUT_BYTE} per byte of BTF, MAX_OUTPUT_PER_INPUT_BYTE)"
            )),
            "{e}"
        );
    }
}

#[test]
fn exponential_function_pointers_are_refused_by_the_budget() {
    // A prototype whose two parameters point to itself: valid BTF (the cycle
    // goes through a pointer) whose Rust type doubles with every level, 2^64
    // times over at the generator's nesting limit. The type is written into
    // the output budget, so it fails at once instead of running forever.
    let mut b = Btf::new();
    let param = NewParam {
        name: "",
        type_id: 2,
    };
    b.add(&NewType::FuncProto {
        ret: 0,
        params: vec![param.clone(), param],
    })
    .unwrap();
    b.add(&NewType::Ptr { target: 1 }).unwrap();
    b.add(&NewType::Struct {
        name: "s",
        size: 8,
        members: vec![NewMember {
            name: "f",
            type_id: 2,
            bit_offset: 0,
            bitfield_size: 0,
        }],
    })
    .unwrap();
    b.add(&NewType::Typedef {
        name: "fp",
        target: 2,
    })
    .unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    btf.validate().unwrap();
    let start = std::time::Instant::now();
    for r in both(&btf) {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Limit(_)), "{e}");
        assert!(e.to_string().contains("MAX_OUTPUT_PER_INPUT_BYTE"), "{e}");
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
