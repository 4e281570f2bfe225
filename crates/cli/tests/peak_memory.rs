//! Peak memory on the largest hand-made inputs, measured by a counting global
//! allocator: parsing BTF, `.BTF.ext` and objects needs at most a small
//! multiple of the input (beyond the input itself); relocating and generating
//! bindings stay within the documented bounds (DESIGN.md, "Limits").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use btfkit_model::{
    Btf, BtfExt, CoreRelo, CoreReloKind, Endian, FuncInfo, IntEncoding, NewMember, NewType,
};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes allocated at the peak of `f`, beyond what was live before it.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - before)
}

fn check(what: &str, input: usize, peak: usize, factor: usize) {
    println!(
        "{what}: input {input} bytes, peak {peak} bytes ({:.2}x)",
        peak as f64 / input as f64
    );
    assert!(
        peak <= factor * input + (64 << 10),
        "{what}: peak {peak} bytes for {input} bytes of input (more than {factor}x)"
    );
}

fn int(b: &mut Btf<'_>) -> u32 {
    b.add(&NewType::Int {
        name: "int",
        size: 4,
        encoding: IntEncoding(1),
        offset: 0,
        bits: 32,
    })
    .unwrap()
}

/// Parse, validate, decode every type and member, look a name up.
fn parse_and_walk(data: &[u8]) {
    let btf = Btf::parse(data).unwrap();
    let _ = btf.validate();
    let mut n = 0usize;
    for id in btf.type_ids() {
        let t = btf.type_by_id(id).unwrap();
        n += t.members().count() + t.enum_values().count() + t.params().count();
        let _ = btf.resolve_size(id);
    }
    assert!(n > 0 || btf.own_type_count() > 0);
    let _ = btf.find_by_name("nothing_has_this_name");
}

fn repo(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel),
    )
    .unwrap()
}

// One test: the counters are process-wide, so cases run one after the other.
#[test]
fn peak_memory_is_a_small_multiple_of_the_input() {
    // A struct of 65535 members (786 KB).
    let mut b = Btf::new();
    let i = int(&mut b);
    let names: Vec<String> = (0..65535).map(|n| format!("m{n}")).collect();
    b.add(&NewType::Struct {
        name: "wide",
        size: 65535 * 4,
        members: names
            .iter()
            .enumerate()
            .map(|(n, name)| NewMember {
                name,
                type_id: i,
                bit_offset: n as u32 * 32,
                bitfield_size: 0,
            })
            .collect(),
    })
    .unwrap();
    let wide = b.to_bytes();
    drop(b);
    let ((), peak) = peak_of(|| parse_and_walk(&wide));
    check("BTF, struct of 65535 members", wide.len(), peak, 2);

    // 500,000 named typedefs (about 8 MB): per-type index and name index.
    let mut b = Btf::new();
    let i = int(&mut b);
    for n in 0..500_000u32 {
        let name = format!("t{n}");
        b.add(&NewType::Typedef {
            name: &name,
            target: i,
        })
        .unwrap();
    }
    let many = b.to_bytes();
    drop(b);
    let ((), peak) = peak_of(|| parse_and_walk(&many));
    check("BTF, 500k named types", many.len(), peak, 3);

    // Arrays of 2^32 elements nested 3 deep, and a 1000-deep typedef chain
    // (sizes overflow and loops past the depth limit: errors, no allocation).
    let mut b = Btf::new();
    let i = int(&mut b);
    let mut prev = i;
    for _ in 0..3 {
        prev = b
            .add(&NewType::Array {
                elem: prev,
                index: i,
                nelems: u32::MAX,
            })
            .unwrap();
    }
    for _ in 0..1000 {
        prev = b
            .add(&NewType::Typedef {
                name: "t",
                target: prev,
            })
            .unwrap();
    }
    let deep = b.to_bytes();
    drop(b);
    let ((), peak) = peak_of(|| parse_and_walk(&deep));
    check(
        "BTF, huge arrays and a deep typedef chain",
        deep.len(),
        peak,
        4,
    );

    // One 10 KB name shared by the 20,000 members of a struct (250 KB): the C
    // dump stops at its budget instead of buffering 200 MB of C.
    let name = "n".repeat(10_000);
    let mut b = Btf::new();
    let i = int(&mut b);
    b.add(&NewType::Struct {
        name: "s",
        size: 80_000,
        members: (0..20_000u32)
            .map(|n| NewMember {
                name: &name,
                type_id: i,
                bit_offset: n * 32,
                bitfield_size: 0,
            })
            .collect(),
    })
    .unwrap();
    let shared = b.to_bytes();
    drop(b);
    let btf = Btf::parse(&shared).unwrap();
    let (r, peak) = peak_of(|| btfkit_model::dump::c::write_all(&btf, &mut std::io::sink()));
    assert!(r.is_err());
    check(
        "C dump, one long name for 20k members",
        shared.len(),
        peak,
        16,
    );
    drop(btf);

    // .BTF.ext: 1,000,000 core_relo records (16 MB) and 1,000,000 func_info
    // records (8 MB): a decoded record is 48 or 32 bytes (3 and 4 times its
    // encoding).
    let mut ext = BtfExt::new(Endian::Little);
    ext.core_relo
        .section_mut(1)
        .extend((0..1_000_000u32).map(|n| CoreRelo {
            insn_off: n * 8,
            type_id: 1,
            access_str_off: 1,
            kind: CoreReloKind::FieldByteOffset,
            tail: vec![],
        }));
    let relos = ext.to_bytes();
    drop(ext);
    let (parsed, peak) = peak_of(|| BtfExt::parse(&relos).unwrap().core_relo.len());
    assert_eq!(parsed, 1_000_000);
    check(".BTF.ext, 1M core_relo records", relos.len(), peak, 4);
    let mut ext = BtfExt::new(Endian::Little);
    ext.func_info
        .section_mut(1)
        .extend((0..1_000_000u32).map(|n| FuncInfo {
            insn_off: n * 8,
            type_id: 1,
            tail: vec![],
        }));
    let funcs = ext.to_bytes();
    drop(ext);
    let (parsed, peak) = peak_of(|| BtfExt::parse(&funcs).unwrap().func_info.len());
    assert_eq!(parsed, 1_000_000);
    check(".BTF.ext, 1M func_info records", funcs.len(), peak, 5);

    // An object: the rules program with the 65535-member BTF and 100,000
    // core_relo records on it: parsing, then relocating (one report per
    // record, each bounded by MAX_REPORT_NAME_LEN).
    let obj = repo("fuzz/seeds/relocate/rules.bpf.o");
    let parsed = btfkit_object::BpfObject::parse(&obj).unwrap();
    let old = BtfExt::parse(parsed.btf_ext().unwrap()).unwrap();
    let sec = old.core_relo.sections[0].sec_name_off;
    let mut btf = Btf::parse(parsed.btf().unwrap()).unwrap();
    let access = btf.add_string("0:1").unwrap();
    let mut ext = BtfExt::new(Endian::Little);
    ext.core_relo
        .section_mut(sec)
        .extend((0..100_000u32).map(|n| CoreRelo {
            insn_off: (n % 8) * 8,
            type_id: 1 + n % 20,
            access_str_off: access,
            kind: CoreReloKind::FieldByteOffset,
            tail: vec![],
        }));
    let mut rw = btfkit_object::ObjectRewriter::new(&parsed).unwrap();
    rw.set_non_alloc_section(".BTF", btf.to_bytes()).unwrap();
    rw.set_non_alloc_section(".BTF.ext", ext.to_bytes())
        .unwrap();
    let big = rw.write().unwrap();
    drop((rw, btf, ext, old, parsed));
    let (_, peak) = peak_of(|| {
        let o = btfkit_object::BpfObject::parse(&big).unwrap();
        o.programs().len()
    });
    check("object, 1.6 MB of .BTF.ext", big.len(), peak, 2);
    let target = repo("fuzz/seeds/btf_parse/btf_testmod.base.btf");
    let target = Btf::parse(&target).unwrap();
    let t = btfkit_reloc::Target::new(&target);
    let (r, peak) = peak_of(|| btfkit_reloc::relocate_object(&big, &t).unwrap());
    assert_eq!(r.decisions.len(), 100_000);
    drop(r);
    // Each 16-byte record becomes a Decision (about 430 bytes with its texts).
    check("relocating 100k records", big.len(), peak, 48);

    // Bindings for the 65535-member struct, both layouts.
    let btf = Btf::parse(&wide).unwrap();
    for layout in [btfkit_gen::Layout::Relocatable, btfkit_gen::Layout::Fixed] {
        let opts = btfkit_gen::Options {
            layout,
            ..Default::default()
        };
        let (out, peak) = peak_of(|| btfkit_gen::generate(&btf, &opts).unwrap().len());
        println!("gen {layout:?}: {out} bytes of Rust");
        check(
            &format!("gen {layout:?}, struct of 65535 members"),
            wide.len(),
            peak,
            24,
        );
    }
}
