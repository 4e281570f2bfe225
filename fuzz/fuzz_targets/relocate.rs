//! Any object relocated against a small real target: never a panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static TARGET: OnceLock<Vec<u8>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let target = TARGET.get_or_init(|| {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/kernel-btf/btf_testmod.base.btf"))
            .expect("the testdata base BTF beside the repo")
    });
    let Ok(btf) = btfkit_model::Btf::parse(target) else { return };
    let t = btfkit_reloc::Target::new(&btf);
    if let Ok(r) = btfkit_reloc::relocate_object(data, &t) {
        let _ = btfkit_reloc::write::write_relocated(data, &r);
    }
});
