//! The differential test of btfkit's relocation engine against libbpf 1.7 on
//! mutated kernels.
//!
//! - [`types`]: an editable copy of the types the objects' records reach (from a
//!   kernel BTF; from an object's own BTF when the kernel lacks one), encoded
//!   with the model's builder.
//! - [`mutate`]: seeded mutations (members reordered, removed, renamed, resized,
//!   sign-flipped, made bitfields, wrapped in anonymous structs/unions; arrays
//!   resized; pointer ↔ integer; flavored copies; ENUM ↔ ENUM64, enums shrunk,
//!   enumerators dropped or renumbered; types removed), several per variant.
//! - [`objects`]: the objects and what their records reach.
//! - [`compare`]: every libbpf decision against btfkit's, classified.
//!
//! A variant is its seed: [`Base::variant`] regenerates it, and a mismatch is
//! shrunk ([`Base::shrink`]) by dropping mutations while it stays.

pub mod compare;
pub mod mutate;
pub mod objects;
pub mod types;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use btfkit_model::{Btf, Kind};
use btfkit_reloc::spec::essential_name;

pub use compare::{Class, Mismatch, Tally};
pub use mutate::{Focus, Mutation};
pub use objects::Object;
use types::{Importer, Types};

/// Whether classes A and B (the engine's two known mismatches before its
/// single-outcome and ENUM/ENUM64 fixes) are tolerated. `false` since both
/// fixes landed: every decision must be equal; `true` only to bisect old code.
pub const EXPECT_KNOWN_MISMATCH_CLASSES: bool = false;

/// The unmutated variant and what the generator aims at.
pub struct Base {
    /// The types every variant starts from.
    pub types: Types,
    /// What mutations aim at.
    pub focus: Focus,
    /// The most mutations in one variant.
    pub max_mutations: usize,
}

/// Does a local kind look for target types of kind `k`?
fn same_kind(local: Kind, k: Kind) -> bool {
    match local {
        Kind::Enum | Kind::Enum64 => matches!(k, Kind::Enum | Kind::Enum64),
        _ => local == k,
    }
}

impl Base {
    /// The types the records of `objects` reach, taken from `kernel` (from the
    /// object's own BTF for those the kernel lacks).
    pub fn new(kernel: &Btf<'_>, objects: &[Object]) -> Base {
        let mut roots: BTreeMap<String, (Kind, usize)> = BTreeMap::new();
        for (i, o) in objects.iter().enumerate() {
            for (name, kind) in &o.roots {
                roots.entry(name.clone()).or_insert((*kind, i));
            }
        }
        let names: BTreeSet<String> = roots.keys().cloned().collect();
        let full = |n: &str| names.contains(essential_name(n));
        let mut types = Types::default();
        let mut from_kernel = Importer::new(kernel);
        let mut missing: Vec<(String, Kind, usize)> = Vec::new();
        for (name, (kind, obj)) in &roots {
            let found = kernel.find_by_name(name).into_iter().find(|&id| {
                kernel
                    .type_by_id(id)
                    .is_ok_and(|t| same_kind(*kind, t.kind()))
            });
            match found {
                Some(id) => {
                    from_kernel.import(&mut types, id, &full);
                }
                None => missing.push((name.clone(), *kind, *obj)),
            }
        }
        for (name, kind, obj) in missing {
            let Some(local) = objects[obj].local_btf() else {
                continue;
            };
            let local = match Btf::parse(&local) {
                Ok(b) => b,
                Err(_) => continue,
            };
            let id = (1..=local.last_id()).find(|&id| {
                local.type_by_id(id).is_ok_and(|t| {
                    same_kind(kind, t.kind())
                        && local
                            .name(t.name_off())
                            .is_ok_and(|n| essential_name(n) == name)
                })
            });
            if let Some(id) = id {
                Importer::new(&local).import(&mut types, id, &full);
            }
        }
        let mut focus = Focus::default();
        let mut members = BTreeSet::new();
        let mut enumerators = BTreeSet::new();
        let mut focus_types = BTreeSet::new();
        for o in objects {
            members.extend(o.members.iter().cloned());
            enumerators.extend(o.enumerators.iter().cloned());
            focus_types.extend(o.names.iter().cloned());
        }
        focus.members = members.into_iter().collect();
        focus.enumerators = enumerators.into_iter().collect();
        focus.types = focus_types
            .into_iter()
            .filter(|n| types.find(n).is_some())
            .collect();
        Base {
            types,
            focus,
            max_mutations: 4,
        }
    }

    /// The mutations and types of the variant with `seed`.
    pub fn variant(&self, seed: u64) -> (Vec<Mutation>, Types) {
        mutate::generate(seed, &self.types, &self.focus, self.max_mutations)
    }

    /// Variant `index` of a run seeded with `seed`: index 0 is the unmutated base
    /// (every object is relocated against it), the others [`Base::variant`] of
    /// their own seed.
    pub fn variant_at(&self, seed: u64, index: u64) -> (Vec<Mutation>, Types) {
        if index == 0 {
            (Vec::new(), self.types.clone())
        } else {
            self.variant(mutate::variant_seed(seed, index))
        }
    }
}

impl Object {
    /// The object's own `.BTF`.
    pub fn local_btf(&self) -> Option<Vec<u8>> {
        let parsed = btfkit_object::BpfObject::parse(&self.bytes).ok()?;
        parsed.btf().map(<[u8]>::to_vec)
    }
}

/// Relocates `object` against the BTF in `btf_path` (raw bytes `btf`) by both and
/// compares.
pub fn run_one(
    object: &Object,
    btf: &[u8],
    btf_path: &Path,
    mutations: &[Mutation],
) -> (Tally, Vec<Mismatch>) {
    let oracle = match crate::libbpf_oracle::relocate(&object.path, btf_path) {
        Ok(r) => r,
        Err(e) => {
            let m = Mismatch {
                object: object.name.clone(),
                program: String::new(),
                section: String::new(),
                relo: 0,
                kind: String::new(),
                local: String::new(),
                libbpf: e.to_string(),
                btfkit: String::new(),
                detail: "the oracle did not run".into(),
                class: Class::Other,
            };
            return (Tally::default(), vec![m]);
        }
    };
    let ours = Btf::parse(btf)
        .map_err(|e| format!("target BTF: {e}"))
        .and_then(|target| {
            let target = btfkit_reloc::Target::new(&target);
            btfkit_reloc::relocate_object(&object.bytes, &target).map_err(|e| e.to_string())
        });
    compare::compare(object, &oracle, &ours, mutations)
}

/// A mismatch with what reproduces it.
#[derive(Debug, Clone)]
pub struct Reproducer {
    /// The run's seed.
    pub seed: u64,
    /// The variant's index in the run.
    pub variant: u64,
    /// The variant's mutations.
    pub mutations: Vec<Mutation>,
    /// Indices (into `mutations`) of the fewest that still show the mismatch.
    pub shrunk: Vec<usize>,
    /// The mismatch (on the shrunk variant).
    pub mismatch: Mismatch,
    /// The object's file.
    pub object_path: PathBuf,
}

impl std::fmt::Display for Reproducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.mismatch)?;
        writeln!(
            f,
            "  seed {} variant {} mutations:",
            self.seed, self.variant
        )?;
        for (i, m) in self.mutations.iter().enumerate() {
            let keep = if self.shrunk.contains(&i) { "*" } else { " " };
            writeln!(f, "   {keep}{i}: {m}")?;
        }
        let keep = self
            .shrunk
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",");
        writeln!(
            f,
            "  shrunk (*): cargo run -p btfkit-e2e --example difftest -- --seed {} --variant {} --keep {keep} --write-btf variant.btf",
            self.seed, self.variant
        )?;
        write!(
            f,
            "  then: btfkit explain --target variant.btf {}   (libbpf: cargo run -p btfkit-e2e --example libbpf_oracle -- {} variant.btf)",
            self.object_path.display(),
            self.object_path.display()
        )
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Config {
    /// The run's seed.
    pub seed: u64,
    /// Variants to run (indices `0..variants`).
    pub variants: u64,
    /// Where variant BTF files are written.
    pub work_dir: PathBuf,
    /// Print progress every this many variants (0: never).
    pub progress_every: u64,
    /// Shrink and keep at most this many reproducers per class.
    pub reproducers_per_class: usize,
}

/// A run's result.
#[derive(Debug, Default)]
pub struct Summary {
    /// Variants run.
    pub variants: u64,
    /// (object, variant) pairs relocated.
    pub runs: u64,
    /// Decision counts.
    pub tally: Tally,
    /// Mismatching decisions per class.
    pub by_class: BTreeMap<Class, usize>,
    /// Mismatching decisions per class and relocation kind.
    pub by_kind: BTreeMap<(Class, String), usize>,
    /// Mutations applied per mutation class (its first word).
    pub by_mutation: BTreeMap<String, usize>,
    /// Shrunk reproducers (a few per class).
    pub reproducers: Vec<Reproducer>,
    /// Time taken.
    pub elapsed: Duration,
}

impl Summary {
    /// Mismatches of every class.
    pub fn mismatches(&self) -> usize {
        self.by_class.values().sum()
    }

    /// Mismatches not in a known class.
    pub fn unexpected(&self) -> usize {
        if EXPECT_KNOWN_MISMATCH_CLASSES {
            self.by_class.get(&Class::Other).copied().unwrap_or(0)
        } else {
            self.mismatches()
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.tally;
        writeln!(
            f,
            "{} variants, {} object relocations, {:.1}s",
            self.variants,
            self.runs,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(
            f,
            "libbpf decisions compared: {} (patched {}, poisoned {}, failed {}); undecided after a libbpf failure: {}",
            t.compared, t.patched, t.poisoned, t.failed, t.undecided
        )?;
        writeln!(f, "equal: {}; mismatches: {}", t.equal, self.mismatches())?;
        for (class, n) in &self.by_class {
            write!(f, "  class {class}: {n} (")?;
            let kinds: Vec<String> = self
                .by_kind
                .iter()
                .filter(|((c, _), _)| c == class)
                .map(|((_, k), n)| format!("{k} {n}"))
                .collect();
            writeln!(f, "{})", kinds.join(", "))?;
        }
        write!(f, "mutations applied:")?;
        for (m, n) in &self.by_mutation {
            write!(f, " {m} {n};")?;
        }
        Ok(())
    }
}

fn mutation_class(m: &Mutation) -> String {
    format!("{m:?}")
        .split([' ', '{'])
        .next()
        .unwrap_or("?")
        .to_owned()
}

impl Base {
    /// Writes the variant's BTF to `path`; returns its bytes.
    pub fn write(&self, types: &Types, path: &Path) -> Result<Vec<u8>, String> {
        let bytes = types
            .encode()
            .map_err(|e| format!("encoding a variant: {e}"))?;
        std::fs::write(path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(bytes)
    }

    /// The objects a variant's mutations can affect.
    fn affected<'o>(objects: &'o [Object], mutations: &[Mutation]) -> Vec<&'o Object> {
        objects
            .iter()
            .filter(|o| mutations.iter().any(|m| o.names.contains(m.touches())))
            .collect()
    }

    /// The fewest of `mutations` (indices) under which `object` still mismatches at
    /// (section, relo) in the same class.
    pub fn shrink(
        &self,
        object: &Object,
        mutations: &[Mutation],
        mismatch: &Mismatch,
        path: &Path,
    ) -> (Vec<usize>, Mismatch) {
        let mut keep: Vec<usize> = (0..mutations.len()).collect();
        let mut last = mismatch.clone();
        for drop in (0..mutations.len()).rev() {
            let trial: Vec<usize> = keep.iter().copied().filter(|&i| i != drop).collect();
            let chosen: Vec<Mutation> = trial.iter().map(|&i| mutations[i].clone()).collect();
            let types = mutate::replay(&self.types, &chosen);
            let Ok(bytes) = self.write(&types, path) else {
                continue;
            };
            let (_, found) = run_one(object, &bytes, path, &chosen);
            if let Some(m) = found.into_iter().find(|m| {
                m.section == mismatch.section
                    && m.relo == mismatch.relo
                    && m.class == mismatch.class
            }) {
                keep = trial;
                last = m;
            }
        }
        (keep, last)
    }

    /// Runs `config.variants` variants over `objects`.
    pub fn run(&self, objects: &[Object], config: &Config) -> Result<Summary, String> {
        std::fs::create_dir_all(&config.work_dir)
            .map_err(|e| format!("{}: {e}", config.work_dir.display()))?;
        let path = config.work_dir.join("variant.btf");
        let shrink_path = config.work_dir.join("shrink.btf");
        let start = Instant::now();
        let mut summary = Summary::default();
        let mut shown: HashMap<Class, usize> = HashMap::new();
        for v in 0..config.variants {
            let (mutations, types) = self.variant_at(config.seed, v);
            for m in &mutations {
                *summary.by_mutation.entry(mutation_class(m)).or_default() += 1;
            }
            let bytes = self.write(&types, &path)?;
            // The unmutated base is variant "none": every object once, first.
            let affected: Vec<&Object> = if v == 0 {
                objects.iter().collect()
            } else {
                Self::affected(objects, &mutations)
            };
            for object in affected {
                summary.runs += 1;
                let (tally, found) = run_one(object, &bytes, &path, &mutations);
                summary.tally += tally;
                for m in found {
                    *summary.by_class.entry(m.class).or_default() += 1;
                    *summary
                        .by_kind
                        .entry((m.class, m.kind.clone()))
                        .or_default() += 1;
                    let n = shown.entry(m.class).or_default();
                    if *n < config.reproducers_per_class {
                        *n += 1;
                        let (shrunk, mismatch) = self.shrink(object, &mutations, &m, &shrink_path);
                        let r = Reproducer {
                            seed: config.seed,
                            variant: v,
                            mutations: mutations.clone(),
                            shrunk,
                            mismatch,
                            object_path: object.path.clone(),
                        };
                        if config.progress_every > 0 {
                            eprintln!("{r}");
                        }
                        summary.reproducers.push(r);
                    }
                }
            }
            summary.variants = v + 1;
            if config.progress_every > 0 && (v + 1) % config.progress_every == 0 {
                eprintln!(
                    "[{:>7.1}s] {} variants, {} relocations, {} decisions, {} mismatches {:?}",
                    start.elapsed().as_secs_f64(),
                    v + 1,
                    summary.runs,
                    summary.tally.compared,
                    summary.mismatches(),
                    summary.by_class
                );
            }
        }
        summary.elapsed = start.elapsed();
        Ok(summary)
    }
}

/// The 61 libbpf-tools objects of the corpus, with records.
pub fn corpus_objects() -> Result<Vec<Object>, String> {
    let corpus = crate::corpus::load_or_extract(&crate::corpus::default_cache_dir())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for c in corpus {
        let name = format!(
            "{}:{}",
            c.tool,
            c.path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        if let Some(o) = Object::load(&name, c.path.clone())? {
            out.push(o);
        }
    }
    Ok(out)
}

/// Every object file (`*.o`) in `dir`, with records (none if `dir` is absent).
pub fn objects_in(dir: &Path, prefix: &str) -> Result<Vec<Object>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = format!(
            "{prefix}:{}",
            p.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        if let Some(o) = Object::load(&name, p)? {
            out.push(o);
        }
    }
    Ok(out)
}

/// Where the CI test leaves the linked examples and compiled crafted objects for
/// the long-run command: `target/btfkit-difftest/objects`.
pub fn default_objects_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/btfkit-difftest/objects")
}

/// The default base kernel: a fixed test-data vmlinux (reproducible on any machine
/// that has the test data), `$BTFKIT_DIFFTEST_BASE` if set.
pub fn default_base_btf() -> PathBuf {
    std::env::var_os("BTFKIT_DIFFTEST_BASE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/testdata/kernel-btf/vmlinux-7.1-sorted.btf")
        })
}

/// The crafted C objects of the engine's tests (`crates/reloc/tests/data/*.bpf.c`)
/// compiled by clang-22 into `out_dir`.
pub fn compile_crafted(out_dir: &Path) -> Result<(), String> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reloc/tests/data");
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let entries = std::fs::read_dir(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    for e in entries.filter_map(Result::ok) {
        let src = e.path();
        let Some(name) = src.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".bpf.c") else {
            continue;
        };
        clang_bpf(&src, &out_dir.join(format!("crafted-{stem}.o")), &[])?;
    }
    Ok(())
}

/// Compiles the BPF C file `src` into `out` with clang-22 (`-O2 -g`, the host's
/// multiarch headers for libbpf's `<bpf/...>`) and the `extra` arguments.
pub use btfkit_testkit::clang::clang_bpf;
