//! The kernel's own CO-RE test suite (`tools/testing/selftests/bpf`, `core_reloc`), built
//! from Debian's `linux-source-6.12` package into a cache, ready to relocate.
//!
//! [`Suite::prepare`] downloads the package once (`apt-get download`), extracts only the
//! files the suite needs, generates `bpf_helper_defs.h` with the package's
//! `scripts/bpf_doc.py`, compiles every `progs/test_core_reloc_*.c` for each requested
//! `-mcpu` and every `progs/btf__core_reloc_*.c` target the way the selftests' Makefile
//! does (clang-22, `-target bpf -O2 -g`), two compiles at a time, and reads the case table
//! of `prog_tests/core_reloc.c`. Everything lands under [`cache_dir`] and is reused:
//! objects are keyed by a hash of their sources and flags. Nothing of the kernel's source
//! is part of this repository.
//!
//! The case table is read by the C compiler itself: the macros, the case struct and the
//! `test_cases[]` array of `core_reloc.c` are cut out (by line, between known markers)
//! into a small host program that prints each case (names, flags, the expected input and
//! output bytes) one per line. [`Suite::case_files`] gives, per case and cpu version, the
//! compiled object and its target BTF file (an ELF whose `.BTF` is the target), which is
//! what a relocator needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The Debian package holding the suite.
pub const PACKAGE: &str = "linux-source-6.12";
/// The top directory inside the package's tarball.
const TOP: &str = "linux-source-6.12";
/// The selftests directory, relative to [`TOP`].
const SELFTESTS: &str = "tools/testing/selftests/bpf";
/// The compiler the selftests are built with here.
pub const CLANG: &str = "clang-22";
/// Bumped when the way objects are built changes (part of every cache key).
const RECIPE: &str = "core-selftests v1";

/// Why the suite could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A command failed or could not be started.
    #[error("{what}: {detail}")]
    Command {
        /// What was being done.
        what: String,
        /// The command's error output or why it could not run.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The extracted sources are not shaped as expected.
    #[error("{0}")]
    Layout(String),
}

type Result<T> = std::result::Result<T, SuiteError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SuiteError + '_ {
    move |source| SuiteError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The cache: `$BTFKIT_SELFTESTS_DIR`, else `$XDG_CACHE_HOME/btfkit/core-selftests`, else
/// `$HOME/.cache/btfkit/core-selftests`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BTFKIT_SELFTESTS_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| std::env::temp_dir().join("btfkit-cache"));
    base.join("btfkit/core-selftests")
}

/// One case of `core_reloc.c`'s `test_cases[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `.case_name` (`flavors`, `probed:bitfields`, ...).
    pub name: String,
    /// `.bpf_obj_file` (`test_core_reloc_flavors.bpf.o`).
    pub bpf_obj_file: String,
    /// `.btf_src_file` (`btf__core_reloc_flavors.bpf.o`); `None`: the running kernel's
    /// BTF (or a module's).
    pub btf_src_file: Option<String>,
    /// `.input`: the bytes the test puts into the program's `data.in`.
    pub input: Vec<u8>,
    /// `.output`: the bytes expected in `data.out` after a run.
    pub output: Vec<u8>,
    /// `.fails`: libbpf is expected to refuse the object (relocation or load).
    pub fails: bool,
    /// `.run_btfgen_fails`: the `btfgen` variant skips the case.
    pub run_btfgen_fails: bool,
    /// `.needs_testmod`: the target is `bpf_testmod.ko`'s BTF.
    pub needs_testmod: bool,
    /// `.relaxed_core_relocs`.
    pub relaxed_core_relocs: bool,
    /// `.prog_name`: the program to attach.
    pub prog_name: String,
    /// `.raw_tp_name`: its raw tracepoint (`None`: a `tp_btf` program).
    pub raw_tp_name: Option<String>,
    /// `.setup` is set: the expected output is computed by the test at run time (from
    /// the BTF), so [`Case::output`] is not the whole truth.
    pub has_setup: bool,
}

/// What a relocator needs for one case and cpu version.
#[derive(Debug, Clone)]
pub struct CaseFiles {
    /// The case.
    pub case: Case,
    /// The cpu version (`v2`, `v3`, `v4`).
    pub cpu: String,
    /// The compiled program (`test_core_reloc_*.bpf.o` for that cpu).
    pub object: PathBuf,
    /// The target BTF: a compiled `btf__core_reloc_*` object (its `.BTF`), or
    /// `/sys/kernel/btf/vmlinux` for the cases that name none.
    pub target_btf: PathBuf,
}

/// The prepared suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The extracted `linux-source-6.12` directory (only the suite's files).
    pub source: PathBuf,
    /// Every case of `test_cases[]`, in its order.
    pub cases: Vec<Case>,
    /// (cpu, `test_core_reloc_*.bpf.o` name) → compiled object.
    pub objects: BTreeMap<(String, String), PathBuf>,
    /// `btf__core_reloc_*.bpf.o` name → compiled target.
    pub targets: BTreeMap<String, PathBuf>,
    /// Where the time went.
    pub timings: Timings,
}

/// Time spent preparing the suite.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// `apt-get download` (zero when cached).
    pub download: Duration,
    /// Extracting the suite's files (zero when cached).
    pub extract: Duration,
    /// Compiling objects and the case dumper (cache hits are nearly free).
    pub compile: Duration,
    /// Objects actually compiled (not found in the cache).
    pub compiled: usize,
}

fn run(what: &str, command: &mut Command) -> Result<Vec<u8>> {
    let output = command.output().map_err(|e| SuiteError::Command {
        what: what.to_owned(),
        detail: format!("cannot run {command:?}: {e}"),
    })?;
    if !output.status.success() {
        return Err(SuiteError::Command {
            what: what.to_owned(),
            detail: format!(
                "{command:?} exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(output.stdout)
}

/// Writes `bytes` to `path` through a file of this process, renamed into place: two
/// runs sharing the cache never see a half-written file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let partial = part_path(path);
    std::fs::write(&partial, bytes).map_err(io(&partial))?;
    std::fs::rename(&partial, path).map_err(io(path))
}

/// `path` + `.part-<pid>`: this process's temporary name for `path`.
fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".part-{}", std::process::id()));
    path.with_file_name(name)
}

/// FNV-1a, 64 bits: a cache key stable across Rust versions.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for part in parts {
        for &byte in part.iter().chain([0xffu8].iter()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The package's `.deb` in `dir`, downloaded if absent.
fn download(dir: &Path) -> Result<PathBuf> {
    let find = || -> Result<Option<PathBuf>> {
        let mut found = None;
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with(&format!("{PACKAGE}_")) && name.ends_with(".deb") {
                found = Some(path);
            }
        }
        Ok(found)
    };
    if let Some(deb) = find()? {
        return Ok(deb);
    }
    let private = part_path(&dir.join("download"));
    std::fs::create_dir_all(&private).map_err(io(&private))?;
    run(
        &format!("downloading Debian package {PACKAGE} (needs apt sources with it)"),
        Command::new("apt-get")
            .args(["download", PACKAGE])
            .current_dir(&private),
    )?;
    for entry in std::fs::read_dir(&private).map_err(io(&private))? {
        let path = entry.map_err(io(&private))?.path();
        if let Some(name) = path.file_name() {
            std::fs::rename(&path, dir.join(name)).map_err(io(&path))?;
        }
    }
    std::fs::remove_dir_all(&private).map_err(io(&private))?;
    find()?.ok_or_else(|| SuiteError::Layout(format!("apt-get download left no {PACKAGE} .deb")))
}

/// The files of the tarball the suite needs (tar wildcards).
const WANTED: &[&str] = &[
    "tools/testing/selftests/bpf/progs/test_core_reloc_*",
    "tools/testing/selftests/bpf/progs/btf__core_reloc_*",
    "tools/testing/selftests/bpf/progs/core_reloc_types.h",
    "tools/testing/selftests/bpf/prog_tests/core_reloc.c",
    "tools/lib/bpf/*.h",
    "tools/include/uapi/*",
    "scripts/bpf_doc.py",
];

/// Extracts the suite's files from the `.deb` into `dir/linux-source-6.12` (once: a stamp
/// file names the `.deb` it came from).
fn extract(dir: &Path, deb: &Path) -> Result<(PathBuf, bool)> {
    let source = dir.join(TOP);
    let stamp = dir.join("extracted.stamp");
    let deb_name = deb
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(deb_name.as_str()) {
        return Ok((source, false));
    }
    let private = part_path(&dir.join("extract"));
    if private.exists() {
        std::fs::remove_dir_all(&private).map_err(io(&private))?;
    }
    std::fs::create_dir_all(&private).map_err(io(&private))?;
    let wanted: Vec<String> = WANTED.iter().map(|w| format!("'{TOP}/{w}'")).collect();
    let script = format!(
        "set -o pipefail; dpkg-deb --fsys-tarfile \"$1\" | tar -xO --wildcards '*/{TOP}.tar.xz' \
         | xz -dc -T2 | tar -x --wildcards {}",
        wanted.join(" ")
    );
    run(
        &format!("extracting the CO-RE selftests from {}", deb.display()),
        Command::new("bash")
            .args(["-c", &script, "extract"])
            .arg(deb)
            .current_dir(&private),
    )?;
    // Another run may have finished first: its copy is as good as ours.
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(deb_name.as_str()) {
        if source.exists() {
            std::fs::remove_dir_all(&source).map_err(io(&source))?;
        }
        std::fs::rename(private.join(TOP), &source).map_err(io(&source))?;
        write_atomic(&stamp, deb_name.as_bytes())?;
    }
    std::fs::remove_dir_all(&private).map_err(io(&private))?;
    Ok((source, true))
}

/// The clang flags of the selftests' Makefile (`BPF_CFLAGS` + `CLANG_CFLAGS`), for `cpu`.
fn bpf_cflags(source: &Path, stubs: &Path, cpu: &str) -> Vec<String> {
    let s = |p: &str| source.join(p).display().to_string();
    let mut flags: Vec<String> = [
        "-g",
        "-Wall",
        "-Werror",
        "-D__TARGET_ARCH_x86",
        "-mlittle-endian",
        "-std=gnu11",
        "-fno-strict-aliasing",
        "-Wno-compare-distinct-pointer-types",
        "-O2",
        "-target",
        "bpf",
    ]
    .iter()
    .map(|f| (*f).to_owned())
    .collect();
    flags.push(format!("-mcpu={cpu}"));
    for include in [
        format!("{SELFTESTS}/progs"),
        "tools/lib".into(),
        "tools/include/uapi".into(),
    ] {
        flags.push(format!("-I{}", s(&include)));
    }
    // The host's system headers (stdint.h & co.), as the Makefile's CLANG_SYS_INCLUDES;
    // glibc's gnu/stubs-32.h (asked for under -target bpf) is an empty stub.
    for dir in [
        stubs.display().to_string(),
        "/usr/local/include".into(),
        "/usr/include/x86_64-linux-gnu".into(),
        "/usr/include".into(),
    ] {
        flags.push("-idirafter".into());
        flags.push(dir);
    }
    flags
}

/// One compile job: source → object.
struct Job {
    source: PathBuf,
    output: PathBuf,
    flags: Vec<String>,
}

/// Runs `jobs` on two threads (the machine has two cores).
fn compile_all(jobs: Vec<Job>) -> Result<()> {
    let queue = Mutex::new(jobs);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let job = match queue.lock() {
                    Ok(mut q) => q.pop(),
                    Err(_) => None,
                };
                let Some(job) = job else { break };
                let partial = part_path(&job.output);
                let result = run(
                    &format!("compiling {}", job.source.display()),
                    Command::new(CLANG)
                        .args(&job.flags)
                        .arg("-c")
                        .arg(&job.source)
                        .arg("-o")
                        .arg(&partial),
                )
                .and_then(|_| std::fs::rename(&partial, &job.output).map_err(io(&job.output)));
                if let Err(e) = result {
                    if let Ok(mut errors) = errors.lock() {
                        errors.push(e);
                    }
                }
            });
        }
    });
    match errors.into_inner() {
        Ok(mut errors) if !errors.is_empty() => Err(errors.remove(0)),
        _ => Ok(()),
    }
}

/// The lines of `core_reloc.c` from the one starting with `from` up to (excluding) the
/// one starting with `to`, or through the first `};` line when `to` is `None`.
fn cut<'a>(lines: &[&'a str], from: &str, to: Option<&str>) -> Result<Vec<&'a str>> {
    let start = lines
        .iter()
        .position(|l| l.starts_with(from))
        .ok_or_else(|| SuiteError::Layout(format!("core_reloc.c: no line starting {from:?}")))?;
    let end = match to {
        Some(to) => lines[start..].iter().position(|l| l.starts_with(to)),
        None => lines[start..]
            .iter()
            .position(|l| *l == "};")
            .map(|e| e + 1),
    }
    .ok_or_else(|| SuiteError::Layout(format!("core_reloc.c: no end after {from:?}")))?;
    Ok(lines[start..start + end].to_vec())
}

/// The host program that prints `test_cases[]`.
fn dumper_source(core_reloc_c: &str) -> Result<String> {
    let lines: Vec<&str> = core_reloc_c.lines().collect();
    let macros = cut(
        &lines,
        "#define STRUCT_TO_CHAR_PTR",
        Some("struct core_reloc_test_case;"),
    )?;
    let case_struct = cut(
        &lines,
        "struct core_reloc_test_case;",
        Some("static int find_btf_type"),
    )?;
    let cases = cut(
        &lines,
        "static const struct core_reloc_test_case test_cases[]",
        None,
    )?;
    let mut out = String::from(
        "#include <stdio.h>\n#include <stdint.h>\n#include <stdbool.h>\n#include <stddef.h>\n\
         #include <sys/types.h>\n#include \"core_reloc_types.h\"\n\
         #define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))\n\
         struct bpf_testmod_test_read_ctx { char *buf; off_t off; size_t len; };\n",
    );
    for part in [&macros, &case_struct] {
        out.push_str(&part.join("\n"));
        out.push('\n');
    }
    for stub in [
        "setup_type_id_case_local",
        "setup_type_id_case_success",
        "setup_type_id_case_failure",
    ] {
        out.push_str(&format!(
            "static int {stub}(struct core_reloc_test_case *t) {{ (void)t; return 0; }}\n"
        ));
    }
    out.push_str(
        "static int __trigger_module_test_read(const struct core_reloc_test_case *t) \
         { (void)t; return 0; }\n",
    );
    out.push_str(&cases.join("\n"));
    out.push_str(
        r#"
static void hex(const char *p, int n) {
	printf("\t");
	for (int i = 0; p && i < n; i++) printf("%02x", (unsigned char)p[i]);
}
static const char *str(const char *s) { return s ? s : "-"; }
int main(void) {
	for (size_t i = 0; i < ARRAY_SIZE(test_cases); i++) {
		const struct core_reloc_test_case *t = &test_cases[i];
		printf("%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%d", t->case_name, t->bpf_obj_file,
		       str(t->btf_src_file), t->fails, t->run_btfgen_fails, t->needs_testmod,
		       t->relaxed_core_relocs, str(t->prog_name), str(t->raw_tp_name),
		       t->setup != NULL);
		hex(t->input, t->input_len);
		hex(t->output, t->output_len);
		printf("\n");
	}
	return 0;
}
"#,
    );
    Ok(out)
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    (0..text.len() / 2)
        .map(|i| {
            u8::from_str_radix(text.get(2 * i..2 * i + 2).unwrap_or("x"), 16)
                .map_err(|_| SuiteError::Layout(format!("case dumper: bad hex {text:?}")))
        })
        .collect()
}

fn parse_cases(text: &str) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, obj, btf, fails, btfgen, testmod, relaxed, prog, tp, setup, input, output] =
            f[..]
        else {
            return Err(SuiteError::Layout(format!(
                "case dumper: bad line {line:?}"
            )));
        };
        let opt = |s: &str| (s != "-").then(|| s.to_owned());
        cases.push(Case {
            name: name.to_owned(),
            bpf_obj_file: obj.to_owned(),
            btf_src_file: opt(btf),
            input: unhex(input)?,
            output: unhex(output)?,
            fails: fails == "1",
            run_btfgen_fails: btfgen == "1",
            needs_testmod: testmod == "1",
            relaxed_core_relocs: relaxed == "1",
            prog_name: prog.to_owned(),
            raw_tp_name: opt(tp),
            has_setup: setup == "1",
        });
    }
    Ok(cases)
}

/// `name.c` → `name.bpf.o` (the Makefile's object name).
fn object_name(source: &Path) -> String {
    let stem = source.file_stem().unwrap_or_default().to_string_lossy();
    format!("{stem}.bpf.o")
}

impl Suite {
    /// Prepares the suite in [`cache_dir`] for the cpu versions `cpus` (`["v2", "v3",
    /// "v4"]`): download, extract, compile (each step skipped when its result is cached).
    pub fn prepare(cpus: &[&str]) -> Result<Suite> {
        Self::prepare_in(&cache_dir(), cpus)
    }

    /// [`Suite::prepare`] with an explicit cache directory.
    pub fn prepare_in(dir: &Path, cpus: &[&str]) -> Result<Suite> {
        let mut timings = Timings::default();
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        // Absolute: commands run in other directories get these paths.
        let dir = &std::fs::canonicalize(dir).map_err(io(dir))?;
        let started = Instant::now();
        let deb = download(dir)?;
        timings.download = started.elapsed();
        let started = Instant::now();
        let (source, extracted) = extract(dir, &deb)?;
        if extracted {
            timings.extract = started.elapsed();
        } else {
            timings.download = Duration::ZERO;
        }
        let started = Instant::now();
        let selftests = source.join(SELFTESTS);
        let progs = selftests.join("progs");

        // bpf_helper_defs.h, as libbpf's Makefile makes it.
        let helper_defs = source.join("tools/lib/bpf/bpf_helper_defs.h");
        if !helper_defs.is_file() {
            let text = run(
                "generating bpf_helper_defs.h with scripts/bpf_doc.py (needs python3)",
                Command::new("python3")
                    .arg(source.join("scripts/bpf_doc.py"))
                    .args(["--header", "--file"])
                    .arg(source.join("tools/include/uapi/linux/bpf.h")),
            )?;
            write_atomic(&helper_defs, &text)?;
        }
        let stubs = dir.join("stubs");
        let stub = stubs.join("gnu/stubs-32.h");
        if !stub.is_file() {
            std::fs::create_dir_all(stubs.join("gnu")).map_err(io(&stubs))?;
            write_atomic(&stub, b"")?;
        }

        // Everything a program's compile depends on, besides its own source.
        let mut shared = Vec::new();
        for header in [progs.join("core_reloc_types.h"), helper_defs.clone()] {
            shared.push(std::fs::read(&header).map_err(io(&header))?);
        }
        for header in ["bpf_helpers.h", "bpf_core_read.h", "bpf_tracing.h"] {
            let path = source.join("tools/lib/bpf").join(header);
            shared.push(std::fs::read(&path).map_err(io(&path))?);
        }

        let mut programs = Vec::new();
        let mut targets_src = Vec::new();
        for entry in std::fs::read_dir(&progs).map_err(io(&progs))? {
            let path = entry.map_err(io(&progs))?.path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !name.ends_with(".c") {
                continue;
            }
            // test_core_reloc_module.c includes vmlinux.h and targets bpf_testmod.ko:
            // its two cases need the module (a VM), see the e2e README.
            if name.starts_with("test_core_reloc_") && name != "test_core_reloc_module.c" {
                programs.push(path);
            } else if name.starts_with("btf__core_reloc_") {
                targets_src.push(path);
            }
        }
        programs.sort();
        targets_src.sort();
        if programs.is_empty() || targets_src.is_empty() {
            return Err(SuiteError::Layout(format!(
                "{}: no test_core_reloc_*.c or btf__core_reloc_*.c",
                progs.display()
            )));
        }

        let out_dir = dir.join("objects");
        std::fs::create_dir_all(&out_dir).map_err(io(&out_dir))?;
        let mut jobs = Vec::new();
        let mut plan = |src: &Path, cpu: &str| -> Result<PathBuf> {
            let flags = bpf_cflags(&source, &stubs, cpu);
            let text = std::fs::read(src).map_err(io(src))?;
            let mut parts: Vec<&[u8]> = vec![RECIPE.as_bytes(), &text, CLANG.as_bytes()];
            parts.extend(shared.iter().map(Vec::as_slice));
            parts.extend(flags.iter().map(|f| f.as_bytes()));
            let key = fnv1a(&parts);
            let name = object_name(src);
            let output = out_dir.join(format!(
                "{}.{cpu}.{key:016x}.o",
                name.trim_end_matches(".bpf.o")
            ));
            if !output.is_file() {
                jobs.push(Job {
                    source: src.to_owned(),
                    output: output.clone(),
                    flags,
                });
            }
            Ok(output)
        };
        let mut objects = BTreeMap::new();
        for cpu in cpus {
            for src in &programs {
                objects.insert(((*cpu).to_owned(), object_name(src)), plan(src, cpu)?);
            }
        }
        let mut targets = BTreeMap::new();
        for src in &targets_src {
            // A target is only its types: one compile (v3, the Makefile's default).
            targets.insert(object_name(src), plan(src, "v3")?);
        }
        timings.compiled = jobs.len();
        compile_all(jobs)?;

        // The case table.
        let core_reloc = selftests.join("prog_tests/core_reloc.c");
        let text = std::fs::read_to_string(&core_reloc).map_err(io(&core_reloc))?;
        let dumper = dumper_source(&text)?;
        let key = fnv1a(&[RECIPE.as_bytes(), dumper.as_bytes()]);
        let table = dir.join(format!("cases.{key:016x}.tsv"));
        if !table.is_file() {
            let c = part_path(&dir.join("cases-dumper.c"));
            let exe = part_path(&dir.join("cases-dumper"));
            std::fs::write(&c, &dumper).map_err(io(&c))?;
            run(
                "compiling the case table of core_reloc.c (host program)",
                Command::new(CLANG)
                    .arg("-w")
                    .arg(format!("-I{}", progs.display()))
                    .args(["-x", "c"])
                    .arg(&c)
                    .arg("-o")
                    .arg(&exe),
            )?;
            let printed = run("printing the case table", &mut Command::new(&exe))?;
            for temporary in [&c, &exe] {
                std::fs::remove_file(temporary).map_err(io(temporary))?;
            }
            write_atomic(&table, &printed)?;
        }
        let table_text = std::fs::read_to_string(&table).map_err(io(&table))?;
        let cases = parse_cases(&table_text)?;
        timings.compile = started.elapsed();
        Ok(Suite {
            source,
            cases,
            objects,
            targets,
            timings,
        })
    }

    /// Per case (in table order, `needs_testmod` cases left out: their target is
    /// `bpf_testmod.ko`'s BTF), the compiled object for `cpu` and the target BTF file.
    pub fn case_files(&self, cpu: &str) -> Result<Vec<CaseFiles>> {
        let mut out = Vec::new();
        for case in self.cases.iter().filter(|c| !c.needs_testmod) {
            let object = self
                .objects
                .get(&(cpu.to_owned(), case.bpf_obj_file.clone()))
                .ok_or_else(|| {
                    SuiteError::Layout(format!(
                        "case {}: {} was not compiled for {cpu}",
                        case.name, case.bpf_obj_file
                    ))
                })?;
            let target_btf = match &case.btf_src_file {
                Some(name) => self.targets.get(name).cloned().ok_or_else(|| {
                    SuiteError::Layout(format!("case {}: no target {name}", case.name))
                })?,
                None => PathBuf::from("/sys/kernel/btf/vmlinux"),
            };
            out.push(CaseFiles {
                case: case.clone(),
                cpu: cpu.to_owned(),
                object: object.clone(),
                target_btf,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_case_table_is_cut_between_its_markers() {
        let text = "x\n#define STRUCT_TO_CHAR_PTR(s) s\n#define A 1\nstruct core_reloc_test_case;\n\
                    struct core_reloc_test_case { int a; };\nstatic int find_btf_type(void)\n{}\n\
                    static const struct core_reloc_test_case test_cases[] = {\n{ 1 },\n};\nint y;\n";
        let src = dumper_source(text).unwrap();
        assert!(src.contains("#define A 1"));
        assert!(src.contains("{ 1 },\n};"));
        assert!(!src.contains("find_btf_type"));
        assert!(!src.contains("int y;"));
        assert!(dumper_source("nothing").is_err());
    }

    #[test]
    fn case_lines_parse_and_bad_ones_are_errors() {
        let line = "flavors\tt.bpf.o\tb.bpf.o\t0\t1\t0\t0\tp\tsys_enter\t0\t2a00\t";
        let cases = parse_cases(line).unwrap();
        assert_eq!(cases[0].input, vec![0x2a, 0]);
        assert!(cases[0].output.is_empty());
        assert!(cases[0].run_btfgen_fails);
        assert!(parse_cases("a\tb").is_err());
        assert!(unhex("zz").is_err());
        assert_ne!(fnv1a(&[b"a", b"b"]), fnv1a(&[b"ab"]));
    }
}
