//! Any bytes as `.BTF.ext`: parse and write back.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ext) = btfkit_model::BtfExt::parse(data) {
        let again = btfkit_model::BtfExt::parse(&ext.to_bytes()).expect("written .BTF.ext parses");
        assert_eq!(again.core_relo.len(), ext.core_relo.len());
    }
});
