//! Any bytes as BTF: generate Rust bindings in both layouts (every type, and
//! from one named root), never a panic, and the output stays proportional.
#![no_main]
use libfuzzer_sys::fuzz_target;

use btfkit_gen::{generate, Layout, Options};

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = btfkit_model::Btf::parse(data) else { return };
    let bound = 4096 * data.len() + (1 << 20);
    for layout in [Layout::Relocatable, Layout::Fixed] {
        let opts = Options { layout, ..Options::default() };
        if let Ok(out) = generate(&btf, &opts) {
            assert!(out.len() < bound, "{} bytes of Rust from {} bytes of BTF", out.len(), data.len());
        }
    }
    // From a root: the last named type (a different walk than "every type").
    let root = btf
        .own_type_ids()
        .rev()
        .filter_map(|id| btf.type_by_id(id).ok())
        .find_map(|t| btf.name(t.name_off()).ok().filter(|n| !n.is_empty()).map(str::to_owned));
    if let Some(root) = root {
        let layout = if data.len() % 2 == 0 { Layout::Fixed } else { Layout::Relocatable };
        let opts = Options { layout, roots: vec![root], ..Options::default() };
        let _ = generate(&btf, &opts);
    }
});
