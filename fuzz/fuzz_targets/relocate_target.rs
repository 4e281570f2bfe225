//! A real object (clang's `rules.bpf.o`, 23 records of every kind) relocated
//! against any bytes as the target BTF: candidate lookup, type matching and
//! fixups on hostile target types, never a panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static OBJECT: OnceLock<Vec<u8>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let object = OBJECT.get_or_init(|| {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/relocate/rules.bpf.o"))
            .expect("the seed object")
    });
    let Ok(btf) = btfkit_model::Btf::parse(data) else { return };
    let t = btfkit_reloc::Target::new(&btf);
    if let Ok(r) = btfkit_reloc::relocate_object(object, &t) {
        let _ = btfkit_reloc::write::write_relocated(object, &r);
    }
});
