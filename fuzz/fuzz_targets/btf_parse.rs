//! Any bytes as BTF: parse, validate, walk every type, look up names, write back.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = btfkit_model::Btf::parse(data) {
        let _ = btf.validate();
        for id in btf.type_ids() {
            if let Ok(t) = btf.type_by_id(id) {
                let _ = btf.type_name(&t);
                let _ = btf.resolve_size(id);
                let _ = btf.resolve_align(id);
                let _ = btf.skip_mods_and_typedefs(id);
                t.members().for_each(drop);
                t.enum_values().for_each(drop);
                t.params().for_each(drop);
            }
        }
        let _ = btf.find_by_name("task_struct");
        let mut out = Vec::new();
        let _ = btfkit_model::dump::raw::write_all(&btf, &mut out);
        let _ = btfkit_model::dump::c::write_all(&btf, &mut out);
        btfkit_model::Btf::parse(&btf.to_bytes()).expect("written BTF parses again");
    }
});
