//! The whole job from a user-space crate's `build.rs`: build the BPF crate,
//! link it, write the object to `OUT_DIR`, tell cargo when to rerun, and
//! turn a missing tool into a `cargo:warning` that names the fix; with
//! [`BpfBuild::tailor_btf`], also tailor a folder of kernel BTFs to the
//! objects and embed them (`OUT_DIR/tailored_btf.rs`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::cargo::{build_crate, feature_note, BuildOptions};
use crate::toolchain::find_toolchain;

/// Builds a BPF crate from a `build.rs` (like aya-build), always with the
/// release profile (BPF programs are verified, and debug code rarely is).
#[derive(Debug, Clone)]
pub struct BpfBuild {
    dir: PathBuf,
    btf_dir: Option<PathBuf>,
}

/// Variables that change what the BPF build does.
const ENV: [&str; 6] = [
    "BTFKIT_BPF_TARGET_DIR",
    "BTFKIT_RUSTC",
    "BTFKIT_CARGO",
    "BTFKIT_TOOLS",
    "BTFKIT_RUSTFLAGS",
    "PATH",
];

impl BpfBuild {
    /// The BPF crate in `dir` (relative to the calling crate's
    /// `CARGO_MANIFEST_DIR`).
    pub fn new(dir: impl AsRef<Path>) -> BpfBuild {
        BpfBuild {
            dir: dir.as_ref().to_path_buf(),
            btf_dir: None,
        }
    }

    /// Also tailors every kernel BTF under `dir` (relative to
    /// `CARGO_MANIFEST_DIR`; `<release>.btf` or `.btf.tar.xz` files, at any
    /// depth as in BTFHub) to the built objects, and writes
    /// `OUT_DIR/tailored_btf.rs`: `pub static TAILORED_BTF: &[(&str, &[u8])]`,
    /// `(release, tailored BTF)` pairs sorted by release (empty when `dir`
    /// has none), for `include!` in `main.rs`.
    pub fn tailor_btf(mut self, dir: impl AsRef<Path>) -> BpfBuild {
        self.btf_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Builds and links the BPF crate; writes `OUT_DIR/<binary>.bpf.o` per
    /// BPF binary and returns those paths. Prints `cargo:rerun-if-changed`
    /// for the BPF crate's sources (and its path dependencies'), so cargo
    /// reruns this only when they change.
    pub fn run(&self) -> anyhow::Result<Vec<PathBuf>> {
        let out_dir = PathBuf::from(
            std::env::var_os("OUT_DIR").context("OUT_DIR is not set: call this from build.rs")?,
        );
        let base = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_default();
        let dir = base.join(&self.dir);
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            bail!("no BPF crate at {} (no Cargo.toml)", dir.display());
        }
        for var in ENV {
            println!("cargo:rerun-if-env-changed={var}");
        }
        for file in ["Cargo.toml", "Cargo.lock", "src"] {
            println!("cargo:rerun-if-changed={}", dir.join(file).display());
        }
        let toolchain = find_toolchain()?;
        if let Some((_, note)) = feature_note(&toolchain, &manifest) {
            println!("cargo:warning={note}");
        }
        let options = BuildOptions {
            release: true,
            target_dir: Some(bpf_target_dir(&out_dir)),
            quiet_feature_note: true,
        };
        let artifacts = build_crate(&toolchain, &manifest, &options)?;
        let mut written = Vec::new();
        for artifact in artifacts {
            for dep in dep_info(&artifact) {
                println!("cargo:rerun-if-changed={}", dep.display());
            }
            let stem = artifact
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "bpf".into());
            let output = out_dir.join(format!("{stem}.bpf.o"));
            let data = std::fs::read(&artifact)
                .with_context(|| format!("reading {}", artifact.display()))?;
            let linked = btfkit_link::link(&data)
                .with_context(|| format!("btfkit link of {}", artifact.display()))?;
            std::fs::write(&output, &linked.object)
                .with_context(|| format!("writing {}", output.display()))?;
            written.push(output);
        }
        if let Some(btf_dir) = &self.btf_dir {
            let arch = std::env::var("CARGO_CFG_TARGET_ARCH")
                .unwrap_or_else(|_| std::env::consts::ARCH.to_owned());
            embed_tailored(&base.join(btf_dir), &out_dir, &written, &arch)?;
        }
        Ok(written)
    }

    /// [`BpfBuild::run`], or `cargo:warning` lines with the error and its
    /// fix and exit status 1 (the build stops there).
    pub fn run_or_exit(&self) -> Vec<PathBuf> {
        match self.run() {
            Ok(paths) => paths,
            Err(error) => {
                for line in format!("{error:#}").lines() {
                    println!("cargo:warning=btfkit-build: {line}");
                }
                eprintln!("btfkit-build: {error:#}");
                std::process::exit(1);
            }
        }
    }
}

/// Tailors each kernel BTF under `btf_dir` to `objects`, writes each to
/// `OUT_DIR/btf/<release>.btf` and `OUT_DIR/tailored_btf.rs` listing them.
/// Files in a BTFHub `<arch>` directory for another machine than `arch` (the
/// target's, as `uname -m` spells it) are left out; two files for one release
/// are an error.
fn embed_tailored(
    btf_dir: &Path,
    out_dir: &Path,
    objects: &[PathBuf],
    arch: &str,
) -> anyhow::Result<()> {
    use btfkit_minbtf::release::btfhub_arch;
    use btfkit_minbtf::tree::{find_kernels, kernel_of, unpack, Format};
    println!("cargo:rerun-if-changed={}", btf_dir.display());
    let kernels = if btf_dir.is_dir() {
        find_kernels(btf_dir).with_context(|| format!("listing {}", btf_dir.display()))?
    } else {
        Vec::new()
    };
    let objects = objects
        .iter()
        .map(|o| std::fs::read(o).with_context(|| format!("reading {}", o.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let objects: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
    // (release, path under btf_dir, format), one per release, this machine's.
    let mut chosen: Vec<(&str, &PathBuf, Format)> = Vec::new();
    for rel in &kernels {
        let (Some(release), Some(format)) = (kernel_of(rel), Format::of(rel)) else {
            continue;
        };
        let dir = rel
            .parent()
            .and_then(Path::file_name)
            .and_then(|d| d.to_str());
        if dir.is_some_and(|d| {
            matches!(d, "x86_64" | "arm64" | "aarch64") && d != arch && d != btfhub_arch(arch)
        }) {
            continue;
        }
        if let Some((_, first, _)) = chosen.iter().find(|(r, _, _)| *r == release) {
            bail!(
                "two kernel BTFs for release {release} in {}: {} and {}",
                btf_dir.display(),
                first.display(),
                rel.display()
            );
        }
        chosen.push((release, rel, format));
    }
    chosen.sort_by_key(|c| c.0);
    let out = out_dir.join("btf");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut entries = Vec::new();
    for (release, rel, format) in chosen {
        let path = btf_dir.join(rel);
        let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let full = unpack(&raw, format)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("unpacking {}", path.display()))?;
        let tailored = btfkit_minbtf::tailor_bytes(&full, None, &objects)
            .with_context(|| format!("tailoring {}", path.display()))?;
        let file = out.join(format!("{release}.btf"));
        std::fs::write(&file, &tailored).with_context(|| format!("writing {}", file.display()))?;
        entries.push((release, file));
    }
    let mut rs = String::from(
        "/// `(kernel release, BTF tailored to the BPF objects)`, sorted by release.\n\
         pub static TAILORED_BTF: &[(&str, &[u8])] = &[\n",
    );
    for (release, file) in &entries {
        let file = file.to_string_lossy();
        rs.push_str(&format!("    ({release:?}, include_bytes!({file:?})),\n"));
    }
    rs.push_str("];\n");
    let rs_path = out_dir.join("tailored_btf.rs");
    std::fs::write(&rs_path, rs).with_context(|| format!("writing {}", rs_path.display()))?;
    Ok(())
}

/// Where the BPF build goes: `$BTFKIT_BPF_TARGET_DIR`, else `btfkit-bpf` in
/// the calling build's target dir (`OUT_DIR` is
/// `<target>/<profile>/build/<pkg>-<hash>/out`), shared by the debug and
/// release builds of user space and by the projects that share a
/// `CARGO_TARGET_DIR`; else `OUT_DIR/bpf-target`.
fn bpf_target_dir(out_dir: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("BTFKIT_BPF_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let target = out_dir.ancestors().nth(4);
    let shape_ok = out_dir.ends_with("out")
        && out_dir
            .ancestors()
            .nth(2)
            .is_some_and(|build| build.ends_with("build"));
    match target {
        Some(target) if shape_ok => target.join("btfkit-bpf"),
        _ => out_dir.join("bpf-target"),
    }
}

/// The source files cargo's dep-info (`<artifact>.d`) lists for `artifact`:
/// the crate's own and its path dependencies' (not registry crates').
fn dep_info(artifact: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(artifact.with_extension("d")) else {
        return Vec::new();
    };
    let mut deps = Vec::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once(": ") else {
            continue;
        };
        // Spaces inside a path are written `\ `.
        let mut current = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        deps.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                _ => current.push(c),
            }
        }
        if !current.is_empty() {
            deps.push(PathBuf::from(current));
        }
    }
    deps
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dep_info_lists_every_source_with_escaped_spaces() {
        let dir = std::env::temp_dir().join(format!("btfkit-build-depinfo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let artifact = dir.join("prog");
        std::fs::write(
            artifact.with_extension("d"),
            "/t/prog: /p/src/main.rs /p/my\\ dir/lib.rs\n\n/t/x.d: /p/src/main.rs\n",
        )
        .unwrap();
        let deps = dep_info(&artifact);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            deps,
            [
                PathBuf::from("/p/src/main.rs"),
                PathBuf::from("/p/my dir/lib.rs"),
                PathBuf::from("/p/src/main.rs"),
            ]
        );
        assert!(dep_info(Path::new("/nonexistent/prog")).is_empty());
    }

    #[test]
    fn tailored_btf_lists_nothing_without_kernels_and_refuses_two_for_one_release() {
        let dir = std::env::temp_dir().join(format!("btfkit-build-embed-{}", std::process::id()));
        let (btf, out) = (dir.join("btf"), dir.join("out"));
        std::fs::create_dir_all(btf.join("a/x86_64")).unwrap();
        std::fs::create_dir_all(btf.join("b/x86_64")).unwrap();
        std::fs::create_dir_all(btf.join("a/arm64")).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        // Only another machine's kernel: nothing to tailor, an empty list.
        std::fs::write(btf.join("a/arm64/5.4.0-1.btf"), b"not read").unwrap();
        embed_tailored(&btf, &out, &[], "x86_64").unwrap();
        let rs = std::fs::read_to_string(out.join("tailored_btf.rs")).unwrap();
        assert!(
            rs.contains("TAILORED_BTF: &[(&str, &[u8])] = &[\n];"),
            "{rs}"
        );
        // The same release twice for this machine: an error naming both.
        std::fs::write(btf.join("a/x86_64/5.4.0-1.btf"), b"x").unwrap();
        std::fs::write(btf.join("b/x86_64/5.4.0-1.btf"), b"x").unwrap();
        let error = embed_tailored(&btf, &out, &[], "x86_64").unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            format!("{error:#}").contains("two kernel BTFs for release 5.4.0-1"),
            "{error:#}"
        );
    }

    #[test]
    fn the_bpf_build_goes_beside_the_callers_profiles() {
        assert_eq!(
            bpf_target_dir(Path::new("/t/debug/build/app-0123/out")),
            PathBuf::from("/t/btfkit-bpf")
        );
        assert_eq!(
            bpf_target_dir(Path::new("/elsewhere/out-dir")),
            PathBuf::from("/elsewhere/out-dir/bpf-target")
        );
    }
}
