//! The long differential run of btfkit's engine against libbpf 1.7 on mutated kernels,
//! or one variant written to a file:
//!
//!     cargo run --release -p btfkit-e2e --example difftest -- --variants 20000 --seed 1
//!     cargo run -p btfkit-e2e --example difftest -- --seed 1 --variant 17 [--keep 0,2] --write-btf v.btf
//!
//! Objects: the libbpf-tools corpus, the crafted C objects of crates/reloc/tests/data
//! (compiled here), and every `*.o` in `--objects DIR` (default
//! `target/btfkit-difftest/objects`, where `cargo test -p btfkit-e2e --test difftest`
//! leaves the linked Rust examples). Needs root (libbpf probes the kernel).

use std::path::PathBuf;

use btfkit_e2e::difftest::{self, Base, Config, Object};

const USAGE: &str = "usage: difftest [--variants N] [--seed S] [--base VMLINUX_BTF] [--objects DIR] \
[--max-mutations N] [--reproducers N] [--progress N]\n       difftest --seed S --variant I [--keep I,J,...] --write-btf OUT";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut variants = 1000u64;
    let mut seed = 1u64;
    let mut base_path = difftest::default_base_btf();
    let mut objects_dir = difftest::default_objects_dir();
    let mut max_mutations = 4usize;
    let mut reproducers = 3usize;
    let mut progress = 100u64;
    let mut variant: Option<u64> = None;
    let mut keep: Option<Vec<usize>> = None;
    let mut write_btf: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--variants" => variants = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--base" => base_path = value()?.into(),
            "--objects" => objects_dir = value()?.into(),
            "--max-mutations" => max_mutations = value()?.parse()?,
            "--reproducers" => reproducers = value()?.parse()?,
            "--progress" => progress = value()?.parse()?,
            "--variant" => variant = Some(value()?.parse()?),
            "--keep" => {
                keep = Some(
                    value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::parse)
                        .collect::<Result<_, _>>()?,
                )
            }
            "--write-btf" => write_btf = Some(value()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    let kernel_bytes =
        std::fs::read(&base_path).map_err(|e| format!("{}: {e}", base_path.display()))?;
    let kernel = btfkit_model::Btf::parse(&kernel_bytes)?;
    let work = std::env::temp_dir().join(format!("btfkit-difftest-{}", std::process::id()));
    let crafted = difftest::default_objects_dir().join("../crafted");
    difftest::compile_crafted(&crafted)?;
    let mut objects: Vec<Object> = difftest::corpus_objects()?;
    objects.extend(difftest::objects_in(&crafted, "crafted")?);
    objects.extend(difftest::objects_in(&objects_dir, "object")?);
    let mut base = Base::new(&kernel, &objects);
    base.max_mutations = max_mutations;
    eprintln!(
        "base {}: {} types for {} objects ({} records); focus: {} types, {} members, {} enumerators",
        base_path.display(),
        base.types.types.len(),
        objects.len(),
        objects.iter().map(|o| o.records.len()).sum::<usize>(),
        base.focus.types.len(),
        base.focus.members.len(),
        base.focus.enumerators.len()
    );
    if let Some(out) = write_btf {
        let index = variant.ok_or("--write-btf needs --variant")?;
        let (mutations, mut types) = base.variant_at(seed, index);
        if let Some(keep) = keep {
            let chosen: Vec<_> = keep
                .iter()
                .filter_map(|&i| mutations.get(i).cloned())
                .collect();
            types = difftest::mutate::replay(&base.types, &chosen);
        }
        for (i, m) in mutations.iter().enumerate() {
            println!("{i}: {m}");
        }
        base.write(&types, &out)?;
        println!("wrote {}", out.display());
        let _ = std::fs::remove_dir_all(&work);
        return Ok(());
    }
    let config = Config {
        seed,
        variants,
        work_dir: work.clone(),
        progress_every: progress,
        reproducers_per_class: reproducers,
    };
    let summary = base.run(&objects, &config)?;
    let _ = std::fs::remove_dir_all(&work);
    println!("{summary}");
    for r in &summary.reproducers {
        println!("{r}");
    }
    Ok(())
}
