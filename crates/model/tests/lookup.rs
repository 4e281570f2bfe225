//! Lookups by name across base and split BTF, and after the builder adds types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use btfkit_model::{Btf, IntEncoding, Kind, NewType};

/// A new BTF holding `int`, and its id.
fn btf_with_int() -> (Btf<'static>, u32) {
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
    (b, int)
}

#[test]
fn name_index_follows_added_types() {
    let (mut b, int) = btf_with_int();
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

/// The name index answers like a scan of every type: on the running kernel's
/// BTF and the test kernels (tens of thousands of names, hash buckets of every
/// fill), for every name and for names no type has.
#[test]
fn name_index_agrees_with_a_scan_of_every_type() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/kernel-btf"
    );
    let mut files = vec![std::path::PathBuf::from("/sys/kernel/btf/vmlinux")];
    for entry in std::fs::read_dir(dir).expect("../shared/testdata/kernel-btf beside the repo") {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("vmlinux")
        {
            files.push(path);
        }
    }
    let mut checked = 0;
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let Ok(btf) = Btf::parse(&data) else {
            continue; // not raw BTF (an ELF, compressed): other tests cover it
        };
        let mut by_name: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
        for id in btf.type_ids() {
            let t = btf.type_by_id(id).unwrap();
            if t.name_off() != 0 {
                by_name
                    .entry(btf.type_name(&t).unwrap())
                    .or_default()
                    .push(id);
            }
        }
        assert!(by_name.len() > 10_000, "{}", path.display());
        for (name, ids) in &by_name {
            assert_eq!(&btf.find_by_name(name), ids, "{name} in {}", path.display());
            let structs: Vec<u32> = ids
                .iter()
                .copied()
                .filter(|&id| btf.type_by_id(id).unwrap().kind() == Kind::Struct)
                .collect();
            assert_eq!(btf.find_by_name_kind(name, Kind::Struct), structs);
            let absent = format!("{name}__absent");
            assert!(btf.find_by_name(&absent).is_empty() || by_name.contains_key(absent.as_str()));
        }
        checked += 1;
    }
    assert!(checked >= 4, "{checked} kernel BTFs checked");
}

/// Types added after the index exists land in the right bucket.
#[test]
fn name_index_buckets_follow_many_added_types() {
    let (mut b, int) = btf_with_int();
    assert_eq!(b.find_by_name("int"), vec![int]);
    let mut added = Vec::new();
    for i in 0..3000 {
        let name = format!("t{i}");
        added.push((
            name.clone(),
            b.add(&NewType::Typedef {
                name: &name,
                target: int,
            })
            .unwrap(),
        ));
    }
    for (name, id) in &added {
        assert_eq!(b.find_by_name(name), vec![*id], "{name}");
    }
    assert_eq!(b.find_by_name("int"), vec![int]);
}
