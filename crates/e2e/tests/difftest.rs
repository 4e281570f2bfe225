//! The differential test in CI: btfkit's engine against libbpf 1.7 on a few hundred
//! mutated kernels (see `btfkit_e2e::difftest`), over the libbpf-tools corpus, the
//! crafted C objects of crates/reloc/tests/data and the project's Rust examples.
//! Every libbpf decision must be equal, except the known classes while
//! `EXPECT_KNOWN_MISMATCH_CLASSES` is set. The long run is
//! `cargo run --release -p btfkit-e2e --example difftest -- --variants 20000 --seed 1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use btfkit_e2e::difftest::{self, Base, Class, Config, EXPECT_KNOWN_MISMATCH_CLASSES};

mod common;

/// The examples whose linked objects join the corpus.
const EXAMPLES: [&str; 4] = ["all-queries", "task-core", "exec-events", "query-cost"];

/// Variants in CI (variant 0, the unmutated base, is relocated by every object).
const VARIANTS: u64 = 300;

/// The run's seed (fixed: CI is reproducible; `BTFKIT_DIFFTEST_SEED` picks another).
const SEED: u64 = 0x5eed;

#[test]
fn engine_matches_libbpf_on_mutated_kernels() {
    common::require_root();
    let base_path = difftest::default_base_btf();
    assert!(
        base_path.is_file(),
        "the base kernel BTF {} is missing (the kernel BTF test data; set BTFKIT_DIFFTEST_BASE)",
        base_path.display()
    );
    // The Rust examples, linked, where the long-run command finds them too.
    let objects_dir = difftest::default_objects_dir();
    std::fs::create_dir_all(&objects_dir).unwrap();
    for name in EXAMPLES {
        let linked = common::build_example(name);
        std::fs::write(objects_dir.join(format!("example-{name}.o")), linked).unwrap();
    }
    let crafted = objects_dir.join("../crafted");
    difftest::compile_crafted(&crafted).unwrap();

    let mut objects = difftest::corpus_objects().unwrap();
    let corpus = objects.len();
    objects.extend(difftest::objects_in(&crafted, "crafted").unwrap());
    objects.extend(difftest::objects_in(&objects_dir, "object").unwrap());
    assert!(
        corpus >= 45,
        "only {corpus} corpus objects with CO-RE records"
    );
    assert!(
        objects.len() >= corpus + 2 + EXAMPLES.len(),
        "objects: {:?}",
        objects.iter().map(|o| &o.name).collect::<Vec<_>>()
    );

    let kernel_bytes = std::fs::read(&base_path).unwrap();
    let kernel = btfkit_model::Btf::parse(&kernel_bytes).unwrap();
    let base = Base::new(&kernel, &objects);
    let seed = std::env::var("BTFKIT_DIFFTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let config = Config {
        seed,
        variants: VARIANTS,
        work_dir: std::env::temp_dir().join(format!("btfkit-difftest-ci-{}", std::process::id())),
        progress_every: 0,
        reproducers_per_class: 2,
    };
    let summary = base.run(&objects, &config).unwrap();
    let _ = std::fs::remove_dir_all(&config.work_dir);
    eprintln!("{summary}");
    for r in &summary.reproducers {
        eprintln!("{r}");
    }

    // The run covered what it claims to.
    assert_eq!(summary.variants, VARIANTS);
    let records: usize = objects.iter().map(|o| o.records.len()).sum();
    assert!(
        summary.tally.compared >= records * 5,
        "only {} decisions compared",
        summary.tally.compared
    );
    assert!(summary.tally.poisoned > 0 && summary.tally.patched > 0);
    for class in [
        "Reorder",
        "RemoveMember",
        "RenameMember",
        "Resize",
        "FlipSign",
        "Bitfield",
        "Wrap",
        "FlavorCopy",
        "EnumTo64",
        "RemoveType",
    ] {
        assert!(
            summary.by_mutation.contains_key(class),
            "no {class} mutation in {VARIANTS} variants: {:?}",
            summary.by_mutation
        );
    }

    let shown: Vec<String> = summary.reproducers.iter().map(|r| r.to_string()).collect();
    if EXPECT_KNOWN_MISMATCH_CLASSES {
        assert_eq!(
            summary.by_class.get(&Class::Other).copied().unwrap_or(0),
            0,
            "mismatches outside the known classes A and B:\n{}",
            shown.join("\n")
        );
    } else {
        assert_eq!(
            summary.mismatches(),
            0,
            "btfkit and libbpf disagree:\n{}",
            shown.join("\n")
        );
    }
}
