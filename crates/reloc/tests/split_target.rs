//! Relocating for a kernel module: the target is the module's split BTF on
//! top of its (distilled) base. Module types are found in the split part,
//! vmlinux types in the base, with ids numbered across both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use btfkit_model::{Btf, CoreReloKind as K, Kind};
use btfkit_reloc::{relocate_object, Target};

#[test]
fn module_and_base_types_resolve_in_split_btf() {
    let kernel_btf = btfkit_testkit::data::kernel_btf;
    let base_data = std::fs::read(kernel_btf("btf_testmod.base.btf")).unwrap();
    let split_data = std::fs::read(kernel_btf("btf_testmod.split.btf")).unwrap();
    let base = Arc::new(Btf::parse(&base_data).unwrap());
    let split = Btf::parse_split(&split_data, base.clone()).unwrap();

    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/module.bpf.c");
    let obj_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("module.bpf.o");
    let obj = btfkit_testkit::clang::compile(&src, &obj_path, &[]);

    let r = relocate_object(&obj, &Target::new(&split)).unwrap();
    let value = |kind: K, ty: &str| {
        let d = r
            .decisions
            .iter()
            .find(|d| d.kind == kind && d.local.contains(&format!(" {ty}")))
            .unwrap_or_else(|| panic!("no {kind} relocation of {ty}"));
        assert!(d.error().is_none(), "{d}");
        d.fixup.as_ref().unwrap().new_val
    };
    let arg2 = split.find_by_name_kind("bpf_testmod_struct_arg_2", Kind::Struct)[0];
    let task = split.find_by_name_kind("task_struct", Kind::Struct)[0];
    assert!(arg2 >= split.start_id(), "a module type");
    assert!(task < split.start_id(), "a base type");
    assert_eq!(r.decisions.len(), 4);
    assert_eq!(
        value(K::FieldByteOffset, "bpf_testmod_struct_arg_2"),
        8,
        "bpf_testmod_struct_arg_2.b is at byte 8 in the module"
    );
    assert_eq!(
        value(K::TypeSize, "task_struct"),
        split.resolve_size(task).unwrap(),
        "task_struct's size from the base"
    );
    assert_eq!(
        value(K::TypeIdTarget, "bpf_testmod_struct_arg_2"),
        arg2 as u64,
        "module type ids continue after the base's"
    );
    assert_eq!(value(K::TypeIdTarget, "task_struct"), task as u64);
}
