//! Parse → write is byte-identical on real kernel BTF, and parsed types decode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use btfkit_model::{Btf, Kind};

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/kernel-btf")
        .join(name)
}

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn roundtrip(path: &std::path::Path) {
    let data = read(path);
    let btf = Btf::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    btf.validate()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(btf.own_type_count() > 1000, "{}", path.display());
    assert!(
        btf.to_bytes() == data,
        "{}: round trip differs",
        path.display()
    );
}

#[test]
fn running_kernel_roundtrips() {
    roundtrip(std::path::Path::new("/sys/kernel/btf/vmlinux"));
}

#[test]
fn debian_6_1_kernels_roundtrip() {
    roundtrip(&shared("vmlinux-6.1.0-47-amd64.btf"));
    roundtrip(&shared("vmlinux-6.1.0-47-cloud.btf"));
}

#[test]
fn sorted_7_1_with_layout_header_roundtrips() {
    let path = shared("vmlinux-7.1-sorted.btf");
    roundtrip(&path);
    let data = read(&path);
    let btf = Btf::parse(&data).unwrap();
    assert_eq!(btf.header().hdr_len, 32);
    assert_eq!(btf.layout_section().len(), 80);
}

#[test]
fn split_module_btf_roundtrips_over_distilled_base() {
    let base_data = read(&shared("btf_testmod.base.btf"));
    let split_data = read(&shared("btf_testmod.split.btf"));
    let base = Arc::new(Btf::parse(&base_data).unwrap());
    let split = Btf::parse_split(&split_data, base.clone()).unwrap();
    split.validate().unwrap();
    assert_eq!(split.start_id(), base.last_id() + 1);
    assert!(split.to_bytes() == split_data);
    assert!(base.to_bytes() == base_data);
    // Split types refer to base types by id and to base strings by offset.
    let mut saw_base_ref = false;
    for id in split.own_type_ids() {
        let ty = split.type_by_id(id).unwrap();
        split.type_name(&ty).unwrap();
        if ty
            .ref_type()
            .is_some_and(|r| r != 0 && r < split.start_id())
        {
            saw_base_ref = true;
        }
    }
    assert!(saw_base_ref);
}

#[test]
fn task_struct_is_found_and_has_pid() {
    let data = read(std::path::Path::new("/sys/kernel/btf/vmlinux"));
    let btf = Btf::parse(&data).unwrap();
    let ids = btf.find_by_name_kind("task_struct", Kind::Struct);
    assert_eq!(ids.len(), 1);
    let ts = btf.type_by_id(ids[0]).unwrap();
    let pid = ts
        .members()
        .find(|m| btf.name(m.name_off).unwrap() == "pid")
        .expect("task_struct.pid");
    assert_eq!(btf.resolve_size(pid.type_id).unwrap(), 4);
    assert_eq!(pid.bit_offset % 8, 0);
}
