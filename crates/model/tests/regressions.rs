//! Inputs the fuzzers found (`fuzz/`), replayed on every test run: each must
//! parse or fail cleanly, and every dump must finish quickly and stay small.
//! (`crates/cli/tests/hostile.rs` runs every `btfkit` command on them too.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use btfkit_model::{Btf, BtfExt};

#[test]
fn fuzzer_findings_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let start = Instant::now();
        // Every file is tried as .BTF.ext too (the CLI's tests feed each one
        // to every command).
        if let Ok(ext) = BtfExt::parse(&data) {
            let again = BtfExt::parse(&ext.to_bytes()).unwrap();
            assert_eq!(again.core_relo.len(), ext.core_relo.len());
        }
        if let Ok(btf) = Btf::parse(&data) {
            let _ = btf.validate();
            let mut out = Vec::new();
            let _ = btfkit_model::dump::raw::write_all(&btf, &mut out);
            let mut c = Vec::new();
            let _ = btfkit_model::dump::c::write_all(&btf, &mut c);
            assert!(
                c.len() < 64 * data.len() + (1 << 20),
                "{}: {} bytes of C",
                path.display(),
                c.len()
            );
            Btf::parse(&btf.to_bytes()).unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{} took {:?}",
            path.display(),
            start.elapsed()
        );
        n += 1;
    }
    assert!(n >= 1);
}
