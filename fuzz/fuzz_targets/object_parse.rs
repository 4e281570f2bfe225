//! Any bytes as a BPF ELF object: parse, locate every instruction, rewrite.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(obj) = btfkit_object::BpfObject::parse(data) {
        for p in obj.programs() {
            for i in 0..p.insn_count().min(4096) {
                let _ = obj.locate_insn(p.section_index, (i * 8) as u64);
            }
        }
        if let Ok(rw) = btfkit_object::ObjectRewriter::new(&obj) {
            if let Ok(out) = rw.write() {
                btfkit_object::BpfObject::parse(&out).expect("a rewritten object parses");
            }
        }
    }
});
