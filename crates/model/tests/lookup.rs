//! Lookups by name across base and split BTF, and after the builder adds types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use btfkit_model::{Btf, IntEncoding, Kind, NewType};

#[test]
fn name_index_follows_added_types() {
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
    assert_eq!(b.find_by_name("int"), vec![int]);
    assert!(b.find_by_name("pid_t").is_empty());
    // The index now exists; additions must show up in it.
    let t1 = b
        .add(&NewType::Typedef {
            name: "pid_t",
            target: int,
        })
        .unwrap();
    let t2 = b
        .add(&NewType::Typedef {
            name: "pid_t",
            target: int,
        })
        .unwrap();
    assert_eq!(b.find_by_name("pid_t"), vec![t1, t2]);
    assert_eq!(b.find_by_name_kind("pid_t", Kind::Typedef), vec![t1, t2]);
    assert!(b.find_by_name_kind("pid_t", Kind::Struct).is_empty());
    assert!(b.find_by_name("").is_empty());
}

#[test]
fn split_lookup_sees_base_then_own_types() {
    let mut base = Btf::new();
    let int = base
        .add(&NewType::Int {
            name: "int",
            size: 4,
            encoding: IntEncoding(1),
            offset: 0,
            bits: 32,
        })
        .unwrap();
    base.add(&NewType::Typedef {
        name: "u",
        target: int,
    })
    .unwrap();
    let base_bytes = base.to_bytes();
    let base = Arc::new(Btf::parse(&base_bytes).unwrap());
    let mut split = Btf::new_split(base.clone());
    let own = split
        .add(&NewType::Typedef {
            name: "u",
            target: int,
        })
        .unwrap();
    assert_eq!(split.find_by_name("u"), vec![2, own]);
    let split_bytes = split.to_bytes();
    let reparsed = Btf::parse_split(&split_bytes, base).unwrap();
    assert_eq!(reparsed.find_by_name("u"), vec![2, own]);
    assert_eq!(
        reparsed
            .type_name(&reparsed.type_by_id(own).unwrap())
            .unwrap(),
        "u"
    );
}

#[test]
fn owned_parse_shares_one_buffer_and_round_trips() {
    let data = std::fs::read("/sys/kernel/btf/vmlinux").expect("the running kernel's BTF");
    let btf = Btf::parse_owned(data.clone()).unwrap();
    assert_eq!(btf.find_by_name_kind("task_struct", Kind::Struct).len(), 1);
    assert!(btf.to_bytes() == data);
    let borrowed = Btf::parse(&data).unwrap();
    let owned = borrowed.to_static().unwrap();
    drop(borrowed);
    assert_eq!(owned.last_id(), btf.last_id());
}
