//! `btfkit min-btf` beside `bpftool gen min_core_btf`, in one run: output
//! size per kernel (all objects in one file, and object by object), time of the
//! whole command per kernel (in turns), and a tree of every kernel in one
//! command against bpftool once per kernel.
//!
//! `cargo run --release -p btfkit-bench --bin min-btf -- [--runs N] [EXTRA.o ...]`
//! Objects: the libbpf-tools corpus (`target/btfkit-corpus`, or
//! `$BTFKIT_CORPUS_DIR`; made by the e2e tests) plus any given. Kernels:
//! `/sys/kernel/btf/vmlinux` and the vmlinux files of the kernel BTF test data
//! (`$BTFKIT_KERNEL_BTF_DIR`). Prints a markdown table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(cmd: &mut Command) -> anyhow::Result<f64> {
    let start = Instant::now();
    let out = cmd.output().with_context(|| format!("{cmd:?}"))?;
    let t = start.elapsed().as_secs_f64() * 1e3;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(t)
}

fn btfkit_bin() -> anyhow::Result<PathBuf> {
    let p = root().join("target/release/btfkit");
    if !p.is_file() {
        bail!(
            "{} is missing: cargo build --release -p btfkit",
            p.display()
        );
    }
    Ok(p)
}

fn main() -> anyhow::Result<()> {
    let mut runs = 7;
    let mut extra = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().context("--runs N")?.parse()?;
        } else {
            extra.push(PathBuf::from(a));
        }
    }
    let corpus = std::env::var_os("BTFKIT_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/btfkit-corpus"));
    let mut objects: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .with_context(|| {
            format!(
                "{} (run the e2e tests to extract the corpus)",
                corpus.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    objects.sort();
    let n_corpus = objects.len();
    objects.extend(extra);
    let data = std::env::var_os("BTFKIT_KERNEL_BTF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/testdata/kernel-btf"));
    let mut kernels = vec![(
        "running (6.18)".to_owned(),
        PathBuf::from("/sys/kernel/btf/vmlinux"),
    )];
    for k in [
        "vmlinux-6.1.0-47-amd64.btf",
        "vmlinux-6.1.0-47-cloud.btf",
        "vmlinux-7.1-sorted.btf",
    ] {
        kernels.push((k.trim_end_matches(".btf").to_owned(), data.join(k)));
    }
    let btfkit = btfkit_bin()?;
    let tmp = std::env::temp_dir().join(format!("btfkit-bench-minbtf-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let bytes: Vec<Vec<u8>> = objects
        .iter()
        .map(std::fs::read)
        .collect::<Result<_, _>>()?;
    let named: Vec<(String, &[u8])> = objects
        .iter()
        .zip(&bytes)
        .map(|(p, b)| (p.display().to_string(), b.as_slice()))
        .collect();
    let named: Vec<(&str, &[u8])> = named.iter().map(|(n, b)| (n.as_str(), *b)).collect();

    println!(
        "Objects: {} ({} libbpf-tools objects{}). Medians of {runs} runs, commands in turns (btfkit, bpftool, ...).\n",
        objects.len(),
        n_corpus,
        if objects.len() > n_corpus { format!(" + {} more", objects.len() - n_corpus) } else { String::new() }
    );
    println!("| kernel | full BTF | btfkit min-btf, all objects | bpftool, all objects | size ratio | object by object: btfkit total / bpftool total (objects larger than bpftool's) | time btfkit | time bpftool | time ratio |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, path) in &kernels {
        let full_len = std::fs::metadata(path)?.len();
        let (ours, theirs) = (tmp.join("ours.btf"), tmp.join("theirs.btf"));
        let (mut t_ours, mut t_theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            t_ours.push(run(Command::new(&btfkit)
                .args(["min-btf", "--btf"])
                .arg(path)
                .arg("-o")
                .arg(&ours)
                .args(&objects))?);
            t_theirs.push(run(Command::new("bpftool")
                .args(["gen", "min_core_btf"])
                .arg(path)
                .arg(&theirs)
                .args(&objects))?);
        }
        let (s_ours, s_theirs) = (
            std::fs::metadata(&ours)?.len(),
            std::fs::metadata(&theirs)?.len(),
        );
        // Object by object.
        let full_bytes = std::fs::read(path)?;
        let full = btfkit_model::Btf::parse(&full_bytes)?;
        let (mut sum_ours, mut sum_theirs, mut larger) = (0u64, 0u64, 0);
        for (obj, one) in objects.iter().zip(&named) {
            let t = btfkit_minbtf::tailor(
                &full,
                std::slice::from_ref(one),
                btfkit_minbtf::Output::Standalone,
            )?;
            run(Command::new("bpftool")
                .args(["gen", "min_core_btf"])
                .arg(path)
                .arg(&theirs)
                .arg(obj))?;
            let b = std::fs::metadata(&theirs)?.len();
            sum_ours += t.btf.len() as u64;
            sum_theirs += b;
            if t.btf.len() as u64 > b {
                larger += 1;
            }
        }
        let (a, b) = (median(t_ours), median(t_theirs));
        println!(
            "| {label} | {full_len} | {s_ours} B | {s_theirs} B | {:.2}× | {sum_ours} / {sum_theirs} B ({larger}) | {a:.1} ms | {b:.1} ms | {:.2}× |",
            s_ours as f64 / s_theirs as f64,
            a / b
        );
    }

    // A tree of every kernel, in one command, beside bpftool once per kernel.
    let tree = tmp.join("tree");
    for (label, path) in &kernels {
        let dir = tree
            .join("bench")
            .join(label.replace(' ', "_"))
            .join("x86_64");
        std::fs::create_dir_all(&dir)?;
        std::fs::copy(
            path,
            dir.join(format!("{}.btf", label.replace([' ', '(', ')'], ""))),
        )?;
    }
    let out = tmp.join("tree-out");
    let (mut t_ours, mut t_ours1, mut t_theirs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&out);
        t_ours.push(run(Command::new(&btfkit)
            .args(["min-btf", "--btf-dir"])
            .arg(&tree)
            .arg("--out-dir")
            .arg(&out)
            .args(&objects))?);
        let _ = std::fs::remove_dir_all(&out);
        t_ours1.push(run(Command::new(&btfkit)
            .args(["min-btf", "-j", "1", "--btf-dir"])
            .arg(&tree)
            .arg("--out-dir")
            .arg(&out)
            .args(&objects))?);
        let start = Instant::now();
        for (_, path) in &kernels {
            run(Command::new("bpftool")
                .args(["gen", "min_core_btf"])
                .arg(path)
                .arg(tmp.join("theirs.btf"))
                .args(&objects))?;
        }
        t_theirs.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let b = median(t_theirs);
    println!();
    println!(
        "| whole corpus over a tree of {} kernels | btfkit | bpftool, once per kernel | ratio |",
        kernels.len()
    );
    println!("|---|---|---|---|");
    let a = median(t_ours);
    println!(
        "| `btfkit min-btf --btf-dir` (2 jobs) | {a:.1} ms | {b:.1} ms | {:.2}× |",
        a / b
    );
    let a1 = median(t_ours1);
    println!(
        "| `btfkit min-btf --btf-dir -j 1` | {a1:.1} ms | {b:.1} ms | {:.2}× |",
        a1 / b
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
