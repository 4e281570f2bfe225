//! `btfkit new NAME [--loader aya|libbpf-rs|btfkit]`: a complete CO-RE project laid
//! out like aya-template: `NAME-ebpf` (the BPF program), `NAME-vmlinux`
//! (kernel bindings from this kernel's BTF, their own crate so that edits of
//! the program do not recompile them), `NAME-common` (the event layout) and
//! `NAME` (user space, whose `build.rs` builds the BPF crate with
//! btfkit-build and embeds the object). `cargo run` in it (as root) prints
//! live execs. btfkit's crates are used by path from this clone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use btfkit_gen::{Layout, Options, Source};
use btfkit_model::Btf;

/// Which library loads the program in user space.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Loader {
    /// aya 0.14 (aya-ebpf 0.2.1 in the program, a BPF ring buffer); aya applies the CO-RE records.
    Aya,
    /// libbpf-rs 0.27 on libbpf 1.7 (aya-ebpf's BTF-defined ring buffer in the program); libbpf applies the CO-RE records.
    LibbpfRs,
    /// btfkit's engine relocates, btfkit-loader loads (events in a `.bss` ring of slots).
    Btfkit,
}

impl Loader {
    fn name(self) -> &'static str {
        match self {
            Loader::Aya => "aya",
            Loader::LibbpfRs => "libbpf-rs",
            Loader::Btfkit => "btfkit",
        }
    }
}

/// Arguments of `btfkit new`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The project's name: lowercase ASCII letters, digits, `-` and `_`,
    /// starting with a letter. A directory of that name is created.
    pub name: String,
    /// Which library loads the program in user space.
    #[arg(long, value_enum, default_value = "aya")]
    pub loader: Loader,
    /// Where to create the project (default: ./NAME); must not exist.
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Kernel BTF for the bindings.
    #[arg(long, default_value = "/sys/kernel/btf/vmlinux")]
    pub btf: PathBuf,
    /// The btfkit clone whose crates the project uses by path (default: the
    /// clone this binary was built from).
    #[arg(long, value_name = "DIR")]
    pub btfkit_path: Option<PathBuf>,
}

/// The kernel types the template reads (and what they reach).
const ROOTS: &[&str] = &["task_struct", "cred"];

/// The files that differ per loader, from `templates/<dir>`.
macro_rules! loader_files {
    ($dir:literal) => {
        [
            (
                "@-ebpf/Cargo.toml",
                include_str!(concat!("../../templates/", $dir, "/ebpf.toml")),
            ),
            (
                "@-ebpf/src/main.rs",
                include_str!(concat!("../../templates/", $dir, "/ebpf_main.rs")),
            ),
            (
                "@/Cargo.toml",
                include_str!(concat!("../../templates/", $dir, "/user.toml")),
            ),
            (
                "@/src/main.rs",
                include_str!(concat!("../../templates/", $dir, "/user_main.rs")),
            ),
        ]
    };
}

/// `(path in the project, template)`; `@` stands for the project's name.
fn files(loader: Loader) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("Cargo.toml", include_str!("../../templates/workspace.toml")),
        (".gitignore", include_str!("../../templates/gitignore")),
        ("README.md", include_str!("../../templates/README.md")),
        (
            "@-common/Cargo.toml",
            include_str!("../../templates/common/Cargo.toml"),
        ),
        (
            "@-common/src/lib.rs",
            include_str!("../../templates/common/src_lib.rs"),
        ),
        (
            "@-vmlinux/Cargo.toml",
            include_str!("../../templates/vmlinux/Cargo.toml"),
        ),
        (
            "@-vmlinux/src/lib.rs",
            include_str!("../../templates/vmlinux/src_lib.rs"),
        ),
        ("@/build.rs", include_str!("../../templates/build.rs")),
        (
            "@/btf/README.md",
            include_str!("../../templates/btf_README.md"),
        ),
    ];
    v.extend(match loader {
        Loader::Aya => loader_files!("aya"),
        Loader::LibbpfRs => loader_files!("libbpf-rs"),
        Loader::Btfkit => loader_files!("btfkit"),
    });
    v
}

fn valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !name.ends_with("-ebpf")
}

/// The btfkit clone: `--btfkit-path`, else the one this binary was built from.
fn btfkit_clone(arg: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = arg
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let dir = dir.canonicalize().with_context(|| {
        format!(
            "the btfkit clone {} is gone; pass --btfkit-path",
            dir.display()
        )
    })?;
    if !dir.join("crates/btf/Cargo.toml").is_file() {
        bail!(
            "{} is not a btfkit clone (no crates/btf); pass --btfkit-path",
            dir.display()
        );
    }
    Ok(dir)
}

/// Runs `btfkit new`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !valid_name(&args.name) {
        bail!(
            "`{}` is not a usable project name: lowercase ASCII letters, digits, `-`, `_`, \
             starting with a letter, not ending in -ebpf",
            args.name
        );
    }
    let root = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let clone = btfkit_clone(args.btfkit_path.as_deref())?;
    let clone_str = clone
        .to_str()
        .context("the btfkit clone's path is not UTF-8")?
        .replace('\\', "/");
    let data = super::dump::btf_bytes(&args.btf)?;
    let btf = Btf::parse(&data).with_context(|| args.btf.display().to_string())?;
    let opts = Options {
        layout: Layout::Relocatable,
        roots: ROOTS.iter().map(|s| s.to_string()).collect(),
        source: Some(Source::new(args.btf.display().to_string(), &data)),
        include_safe: false,
        // What the roots only point to stays opaque: 78 relocatable types
        // instead of 2,116 for `task_struct`, a cold build in seconds.
        opaque_pointees: true,
    };
    let bindings = btfkit_gen::generate(&btf, &opts)
        .with_context(|| format!("generating bindings from {}", args.btf.display()))?;

    let crate_ident = args.name.replace('-', "_");
    let fill = |text: &str| {
        text.replace("{{name}}", &args.name)
            .replace("{{crate}}", &crate_ident)
            .replace("{{btfkit}}", &clone_str)
            .replace("{{loader}}", args.loader.name())
            .replace("{{roots}}", &ROOTS.join(" "))
    };
    let mut written = Vec::new();
    for (path, template) in files(args.loader) {
        written.push((path.replace('@', &args.name), fill(template)));
    }
    written.push((format!("{}-vmlinux/src/vmlinux.rs", args.name), bindings));
    for (path, text) in &written {
        let path = root.join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "btfkit new: created {} ({} loader; btfkit's crates by path from {clone_str}).\n\
         Next: cd {} && cargo run     (as root: it loads a BPF program)",
        root.display(),
        args.loader.name(),
        root.display()
    );
    Ok(ExitCode::SUCCESS)
}
