//! Names of anonymous members' types: the parent's name and the member's
//! first named member of its own, else the first found depth-first, so a
//! leading anonymous member does not repeat its anonymous parent's suffix
//! (`mm_struct__mm_count__mm_count` before).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use btfkit_gen::{generate, Layout, Options};
use btfkit_model::{Btf, IntEncoding, NewMember, NewType};

fn member(name: &str, type_id: u32, bit_offset: u32) -> NewMember<'_> {
    NewMember {
        name,
        type_id,
        bit_offset,
        bitfield_size: 0,
    }
}

#[test]
fn anonymous_members_are_named_after_their_own_first_member() {
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
    // struct mm { struct { struct { int mm_count; }; int mm_mt; }; };
    let inner = b
        .add(&NewType::Struct {
            name: "",
            size: 4,
            members: vec![member("mm_count", int, 0)],
        })
        .unwrap();
    let outer = b
        .add(&NewType::Struct {
            name: "",
            size: 8,
            members: vec![member("", inner, 0), member("mm_mt", int, 32)],
        })
        .unwrap();
    b.add(&NewType::Struct {
        name: "mm",
        size: 8,
        members: vec![member("", outer, 0)],
    })
    .unwrap();
    // struct sc { union { int skc_portpair; struct { int skc_dport; }; }; };
    let ports = b
        .add(&NewType::Struct {
            name: "",
            size: 4,
            members: vec![member("skc_dport", int, 0)],
        })
        .unwrap();
    let pair = b
        .add(&NewType::Union {
            name: "",
            size: 4,
            members: vec![member("skc_portpair", int, 0), member("", ports, 0)],
        })
        .unwrap();
    b.add(&NewType::Struct {
        name: "sc",
        size: 4,
        members: vec![member("", pair, 0)],
    })
    .unwrap();
    let data = b.to_bytes();
    let btf = Btf::parse(&data).unwrap();
    let text = generate(
        &btf,
        &Options {
            layout: Layout::Relocatable,
            ..Options::default()
        },
    )
    .unwrap();
    for name in [
        "pub struct mm__mm_mt ",
        "pub struct mm__mm_mt__mm_count ",
        "pub union sc__skc_portpair ",
        "pub struct sc__skc_portpair__skc_dport ",
    ] {
        assert!(text.contains(name), "no `{name}` in:\n{text}");
    }
    assert!(!text.contains("mm_count__mm_count"), "{text}");
}
