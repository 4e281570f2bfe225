//! The link step on damaged or unusual objects: errors name the section,
//! instruction and marker; an object without `.BTF` gets one (and a
//! `.BTF.ext` holding only core_relo) that libbpf's checks accept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use btfkit_model::{Btf, BtfExt};
use btfkit_object::BpfObject;
use common::*;

fn reference_object() -> Vec<u8> {
    std::fs::read(build_rust_fixture("rust-reference")).unwrap()
}

/// Replaces `from` by `to` (same length) inside section `section` only.
fn patch_in_section(data: &mut [u8], section: &str, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let object = BpfObject::parse(data).unwrap();
    let s = object.section_by_name(section).unwrap();
    let (start, end) = (s.offset as usize, (s.offset + s.size) as usize);
    drop(object);
    let at = data[start..end]
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{from:?} not in {section}"));
    data[start + at..start + at + to.len()].copy_from_slice(to);
}

#[test]
fn a_marker_relocation_not_on_call_minus_one_is_named() {
    let mut data = reference_object();
    let object = BpfObject::parse(&data).unwrap();
    let section = object.section_by_name("raw_tp/sys_enter").unwrap();
    let (offset, symbol) = object
        .relocations_for(section.index)
        .into_iter()
        .find(|r| r.symbol_name.starts_with("btfkit:"))
        .map(|r| (r.offset, r.symbol_name.to_string()))
        .unwrap();
    let at = (section.offset + offset) as usize;
    drop(object);
    data[at + 4] = 0x07; // call -1 → call with another immediate
    let err = btfkit_link::link(&data).unwrap_err().to_string();
    let insn = offset / 8;
    assert!(
        err.contains(&format!(
            "section \"raw_tp/sys_enter\", instruction #{insn} (offset {offset:#x}), marker {symbol:?}"
        )) && err.contains("expected the marker instruction call -1"),
        "{err}"
    );
}

#[test]
fn a_query_on_a_missing_member_is_named() {
    let mut data = reference_object();
    patch_in_section(
        &mut data,
        ".strtab",
        b"btfkit:v1:byte_off:task_struct:pid\0",
        b"btfkit:v1:byte_off:task_struct:pix\0",
    );
    let err = btfkit_link::link(&data).unwrap_err().to_string();
    assert!(
        err.contains("btfkit:v1:byte_off:task_struct:pix") && err.contains("has no member pix"),
        "{err}"
    );
}

#[test]
fn an_unknown_marker_version_is_refused() {
    let mut data = reference_object();
    patch_in_section(
        &mut data,
        ".strtab",
        b"btfkit:v1:byte_off:task_struct:pid\0",
        b"btfkit:v7:byte_off:task_struct:pid\0",
    );
    let err = btfkit_link::link(&data).unwrap_err().to_string();
    assert!(err.contains("unsupported marker version"), "{err}");
}

#[test]
fn an_object_without_btf_gets_btf_and_a_core_relo_only_btf_ext() {
    let path = build_rust_fixture_with("rust-kernel", "", "nobtf");
    let data = std::fs::read(path).unwrap();
    let object = BpfObject::parse(&data).unwrap();
    assert!(
        object.btf().is_none(),
        "built without --btf, yet it has .BTF"
    );
    let linked = btfkit_link::link(&data).unwrap();
    assert!(linked.created_btf && linked.created_btf_ext);
    let object = BpfObject::parse(&linked.object).unwrap();
    let btf = Btf::parse(object.btf().unwrap()).unwrap();
    btf.validate().unwrap();
    assert_eq!(btf.last_id() as usize, linked.local_types.len());
    let ext = BtfExt::parse(object.btf_ext().unwrap()).unwrap();
    assert!(ext.func_info.is_empty() && ext.line_info.is_empty());
    assert_eq!(ext.core_relo.len(), linked.relocations.len());
    let records = records(&linked.object);
    assert!(records
        .iter()
        .any(|r| r.kind == "byte_off" && r.access == "0:2" && r.type_name == "task_struct"));
}
