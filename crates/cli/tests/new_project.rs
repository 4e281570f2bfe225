//! `btfkit new` for each loader: the generated project builds (its build.rs
//! builds the BPF crate through btfkit-build) and, run as root, prints live
//! execs the test triggers, with the right pid, parent pid and comm. The
//! projects share one CARGO_TARGET_DIR under the workspace's target dir, so
//! aya and btfkit's crates are compiled once for all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `<workspace target>/new-projects`.
fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("new-projects")
}

/// Creates project `name` with `loader` (afresh) and builds it; returns the binary.
fn new_and_build(name: &str, loader: &str) -> PathBuf {
    let root = new_project(name, loader);
    build(&root, name, loader)
}

/// Creates project `name` with `loader` afresh; returns its root.
fn new_project(name: &str, loader: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["new", name, "--loader", loader, "--path"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "btfkit new {name} --loader {loader} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root
}

/// `cargo build` of the project at `root`; returns its binary `bin`.
fn build(root: &Path, bin: &str, what: &str) -> PathBuf {
    let start = Instant::now();
    // The host cargo the user has (rustup's), as `cargo run` would use; none
    // of btfkit's variables: btfkit-build finds the BPF toolchain itself.
    let out = Command::new("cargo")
        .current_dir(root)
        .args(["build", "--quiet"])
        .env("CARGO_TARGET_DIR", shared_target())
        .env_remove("RUSTC")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("BTFKIT_RUSTC")
        .env_remove("BTFKIT_CARGO")
        .env_remove("BTFKIT_TOOLS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo build of the {what} project failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{what} project: cargo build {:?}", start.elapsed());
    let bin = shared_target().join("debug").join(bin);
    assert!(bin.is_file(), "no binary at {}", bin.display());
    bin
}

/// Runs the tool for a few seconds, execs `/bin/true` meanwhile, and checks
/// that an event shows that child: its pid, our pid as parent, comm `true`.
/// Returns the tool's stderr.
fn sees_execs(bin: &Path, extra: &[&str]) -> String {
    assert!(
        is_root(),
        "this test loads BPF programs: run it as root (scripts/test.sh does)"
    );
    let mut tool = Command::new(bin)
        .args(["--seconds", "4"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let mut children = Vec::new();
    for _ in 0..5 {
        let child = Command::new("/bin/true").spawn().unwrap();
        children.push(child.id());
        let mut child = child;
        child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = tool.wait().unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    tool.stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    tool.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "{} failed:\n{stdout}\n{stderr}",
        bin.display()
    );
    let me = std::process::id();
    let seen: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 3
                && children.iter().any(|c| f[0] == c.to_string())
                && f[1] == me.to_string()
                && f.last() == Some(&"true")
        })
        .collect();
    assert!(
        !seen.is_empty(),
        "{} {extra:?}: no event for the /bin/true children {children:?} of {me}:\n{stdout}\n{stderr}",
        bin.display()
    );
    eprintln!(
        "{} {extra:?}: {} of {} execs seen, e.g. {}",
        bin.display(),
        seen.len(),
        children.len(),
        seen[0].trim()
    );
    stderr
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

/// The aya project, with kernel BTFs in its `btf/` (tailored at build time
/// and embedded): aya applies the linked object's CO-RE records against the
/// kernel's BTF, or against the running release's tailored BTF with
/// `--btf-release` (as on a kernel without BTF); or it loads the object
/// btfkit relocated for this kernel. An unknown release names those embedded.
#[test]
fn new_aya_project_runs_and_sees_execs_linked_pre_relocated_and_embedded_btf() {
    let name = "wf-new-aya";
    let root = new_project(name, "aya");
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let release = release.trim();
    let btf_dir = root.join(name).join("btf");
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux")
        .expect("this test embeds the running kernel's BTF: /sys/kernel/btf/vmlinux");
    std::fs::write(btf_dir.join(format!("{release}.btf")), &vmlinux).unwrap();
    // `../shared/testdata` beside the clone (as crates/gen's tests find it),
    // or the test bed's when the clone is a worktree elsewhere.
    let other = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from("/work/shared"),
    ]
    .into_iter()
    .map(|s| s.join("testdata/kernel-btf/vmlinux-6.1.0-47-amd64.btf"))
    .find(|p| p.is_file())
    .expect("kernel BTF testdata ../shared/testdata/kernel-btf (see TOOLCHAIN.md)");
    std::fs::create_dir_all(btf_dir.join("debian/12/x86_64")).unwrap();
    std::fs::copy(&other, btf_dir.join("debian/12/x86_64/6.1.0-47-amd64.btf")).unwrap();
    let bin = build(&root, name, "aya");
    sees_execs(&bin, &[]);
    sees_execs(&bin, &["--pre-relocated"]);
    let stderr = sees_execs(&bin, &["--btf-release", release]);
    let line = stderr
        .lines()
        .find(|l| l.contains("using the tailored BTF for") && l.contains(release))
        .unwrap_or_else(|| panic!("the tool does not say which BTF it used:\n{stderr}"));
    let size: usize = line
        .split('(')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {line:?}"));
    assert!(
        size > 0 && size < vmlinux.len() / 100,
        "tailored BTF of {size} bytes from {} bytes",
        vmlinux.len()
    );
    eprintln!("{line} (the kernel's: {} bytes)", vmlinux.len());
    let out = Command::new(&bin)
        .args(["--seconds", "0", "--btf-release", "0.0-nope"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("6.1.0-47-amd64") && err.contains(release),
        "an unknown release does not name those embedded:\n{err}"
    );
}

#[test]
fn new_libbpf_rs_project_runs_and_sees_execs() {
    // libbpf applies the CO-RE records.
    let bin = new_and_build("wf-new-libbpf", "libbpf-rs");
    sees_execs(&bin, &[]);
}

#[test]
fn new_btfkit_project_runs_and_sees_execs() {
    let bin = new_and_build("wf-new-btfkit", "btfkit");
    sees_execs(&bin, &[]);
}

#[test]
fn new_refuses_bad_names_and_existing_directories() {
    for name in ["Bad", "1x", "a b", "x-ebpf"] {
        let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
            .args(["new", name, "--path"])
            .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("wf-never"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name} accepted");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["new", "tmp", "--path", env!("CARGO_TARGET_TMPDIR")])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies `from` to `to`, replacing CLONE in every file with `clone`.
fn copy_fixture(from: &Path, to: &Path, clone: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_fixture(&path, &dest, clone);
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(dest, text.replace("CLONE", clone)).unwrap();
        }
    }
}

/// README's "Adding CO-RE to an existing aya project", followed on a small
/// aya project laid out as aya-template lays one out
/// (tests/data/aya-guide): it builds through btfkit-build and its aya user
/// space sees execs through btf CO-RE queries.
#[test]
fn aya_template_project_following_the_readme_guide_sees_execs() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let clone = manifest.join("../..").canonicalize().unwrap();
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wf-aya-guide");
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    copy_fixture(
        &manifest.join("tests/data/aya-guide"),
        &root,
        clone.to_str().unwrap(),
    );
    let readme = std::fs::read_to_string(clone.join("README.md")).unwrap();
    for step in [
        "resolver = \"3\"",
        "btfkit_build::BpfBuild::new(\"../myapp-ebpf\").run_or_exit();",
        "\"/myapp.bpf.o\"",
    ] {
        assert!(readme.contains(step), "README's aya guide lacks {step}");
    }
    let bin = build(&root, "myapp", "aya-template guide");
    sees_execs(&bin, &[]);
}
