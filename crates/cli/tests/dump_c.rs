//! `btfkit dump --format c` compiles with clang-22 for BPF and reproduces the
//! BTF's layouts: a global of every named struct and union is compiled with
//! `-g`, and each one's size and member offsets in clang's BTF must equal the
//! input's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use btfkit_model::{Btf, Kind};

/// name → (size, [(member name, bit offset, bitfield size)]) of uniquely named structs/unions.
type Layouts = HashMap<String, (u32, Vec<(String, u32, u32)>)>;

fn layouts(btf: &Btf<'_>) -> Layouts {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Layouts::new();
    for id in btf.type_ids() {
        let t = btf.type_by_id(id).unwrap();
        if t.name_off() == 0 {
            continue;
        }
        // struct, union and enum tags share one namespace in C.
        if matches!(t.kind(), Kind::Enum | Kind::Enum64) {
            *seen
                .entry(btf.type_name(&t).unwrap().to_string())
                .or_default() += 1;
            continue;
        }
        if !matches!(t.kind(), Kind::Struct | Kind::Union) {
            continue;
        }
        *seen
            .entry(btf.type_name(&t).unwrap().to_string())
            .or_default() += 1;
        let name = format!(
            "{} {}",
            if t.kind() == Kind::Struct {
                "struct"
            } else {
                "union"
            },
            btf.type_name(&t).unwrap()
        );
        let members = t
            .members()
            .map(|m| {
                (
                    btf.name(m.name_off).unwrap().to_string(),
                    m.bit_offset,
                    m.bitfield_size,
                )
            })
            .collect();
        out.insert(name, (t.size_or_type(), members));
    }
    // Duplicated names are renamed `___N` by the dump; compare the unique ones.
    out.retain(|name, _| seen[name.split_once(' ').map_or(name.as_str(), |n| n.1)] == 1);
    out
}

fn check_kernel(path: &Path) {
    let tag = path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace('.', "_");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dump-c-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_btfkit"))
        .args(["dump", "--format", "c"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("vmlinux.h"), &out.stdout).unwrap();

    let data = std::fs::read(path).unwrap();
    let input = Btf::parse(&data).unwrap();
    let want = layouts(&input);
    let mut c = String::from("#include \"vmlinux.h\"\n");
    for (i, (name, (size, _))) in want.iter().enumerate() {
        if *size > 0 {
            writeln!(c, "{name} __v{i};").unwrap();
        }
    }
    std::fs::write(dir.join("all.c"), c).unwrap();
    let obj = dir.join("all.o");
    let cc = Command::new("clang-22")
        .args([
            "-target",
            "bpf",
            "-g",
            "-c",
            "-w",
            "-fms-extensions",
            "-DBTFKIT_MS_EXTENSIONS",
        ])
        .arg("-I")
        .arg(&dir)
        .arg(dir.join("all.c"))
        .arg("-o")
        .arg(&obj)
        .output()
        .expect("clang-22 is required (scripts/setup.sh installs it)");
    assert!(
        cc.status.success(),
        "{}: the C dump does not compile:\n{}",
        path.display(),
        String::from_utf8_lossy(&cc.stderr)
            .lines()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let obj_data = std::fs::read(&obj).unwrap();
    let compiled_btf = btfkit_object::btf_from_elf(&obj_data).unwrap();
    let compiled = layouts(&Btf::parse(compiled_btf).unwrap());
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (name, (size, members)) in &want {
        // A va_list member: the kernel's is x86's 24-byte struct, the BPF
        // target's is a pointer (bpftool's vmlinux.h has the same difference).
        if *size == 0 || name == "struct warn_args" {
            continue;
        }
        let Some((csize, cmembers)) = compiled.get(name) else {
            wrong.push(format!("{name}: missing from the compiled BTF"));
            continue;
        };
        // Members added only as padding have no name in BTF; compare named ones.
        let named: Vec<_> = cmembers
            .iter()
            .filter(|m| m.0 != "__btfkit_union_pad")
            .cloned()
            .collect();
        if csize != size || &named != members {
            let first = members
                .iter()
                .zip(&named)
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!(" first member: {a:?} vs compiled {b:?}"))
                .unwrap_or_default();
            wrong.push(format!("{name}: size {size} vs compiled {csize}{first}"));
        }
        checked += 1;
    }
    assert!(
        wrong.is_empty(),
        "{}: {} of {checked} layouts differ, e.g.:\n{}",
        path.display(),
        wrong.len(),
        wrong
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        checked > 1000,
        "{}: only {checked} structs checked",
        path.display()
    );
    // Without -fms-extensions the header must compile too.
    let plain = Command::new("clang-22")
        .args(["-target", "bpf", "-c", "-w"])
        .arg("-I")
        .arg(&dir)
        .arg(dir.join("all.c"))
        .arg("-o")
        .arg(dir.join("plain.o"))
        .output()
        .unwrap();
    assert!(
        plain.status.success(),
        "{}: the C dump does not compile without -fms-extensions:\n{}",
        path.display(),
        String::from_utf8_lossy(&plain.stderr)
            .lines()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    for key in [
        "struct task_struct",
        "struct sk_buff",
        "struct file",
        "struct mm_struct",
        "struct sock",
    ] {
        assert!(want.contains_key(key), "{key} is in every kernel");
    }
}

use btfkit_testkit::data::kernel_btf;

#[test]
fn running_kernel_c_dump_compiles_with_its_layouts() {
    check_kernel(Path::new("/sys/kernel/btf/vmlinux"));
}

#[test]
fn debian_6_1_amd64_c_dump_compiles_with_its_layouts() {
    check_kernel(&kernel_btf("vmlinux-6.1.0-47-amd64.btf"));
}

#[test]
fn debian_6_1_cloud_c_dump_compiles_with_its_layouts() {
    check_kernel(&kernel_btf("vmlinux-6.1.0-47-cloud.btf"));
}

#[test]
fn kernel_7_1_c_dump_compiles_with_its_layouts() {
    check_kernel(&kernel_btf("vmlinux-7.1-sorted.btf"));
}
