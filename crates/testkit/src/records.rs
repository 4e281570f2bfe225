//! Reading a BPF object back for comparison: its CO-RE records with their
//! context (function, relocated immediate, type name, access string), the
//! shapes of local types, and instruction counts.

use std::collections::HashSet;

use btfkit_model::{Btf, BtfExt, Kind, TypeId};
use btfkit_object::{BpfObject, Insn};

/// A CO-RE record read back from an object, with its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The program section.
    pub section: String,
    /// The function holding the instruction.
    pub function: String,
    /// The instruction's byte offset in its section.
    pub insn_off: u32,
    /// libbpf's short name of the relocation kind.
    pub kind: String,
    /// The root type's id in the object's BTF.
    pub type_id: TypeId,
    /// The root type's name.
    pub type_name: String,
    /// The access string.
    pub access: String,
    /// The immediate of the relocated instruction (ld_imm64: both halves).
    pub imm: i64,
}

impl Record {
    /// What must be equal between clang and btfkit.
    pub fn key(&self) -> (String, String, String, String) {
        (
            self.function.clone(),
            self.kind.clone(),
            self.type_name.clone(),
            self.access.clone(),
        )
    }
}

/// The CO-RE records of the object `data`, in `.BTF.ext` order.
pub fn records(data: &[u8]) -> Vec<Record> {
    let object = BpfObject::parse(data).unwrap();
    let btf = Btf::parse(object.btf().expect("no .BTF")).unwrap();
    let ext = BtfExt::parse(object.btf_ext().expect("no .BTF.ext")).unwrap();
    let mut out = Vec::new();
    for section in &ext.core_relo.sections {
        let name = btf.name(section.sec_name_off).unwrap();
        let program = object
            .program_section_by_name(name)
            .unwrap_or_else(|| panic!("core_relo section {name} is not a program"));
        for r in &section.records {
            let function = program
                .function_at(u64::from(r.insn_off))
                .map(|f| f.name.to_string())
                .unwrap_or_default();
            let index = r.insn_off as usize / 8;
            let insn = Insn::decode(program.insn_bytes(index).unwrap(), object.endian());
            let imm = if insn.is_ld_imm64() {
                let hi = Insn::decode(program.insn_bytes(index + 1).unwrap(), object.endian());
                ((hi.imm as u32 as u64) << 32 | insn.imm as u32 as u64) as i64
            } else {
                i64::from(insn.imm)
            };
            let ty = btf.type_by_id(r.type_id).unwrap();
            out.push(Record {
                section: name.to_string(),
                function,
                insn_off: r.insn_off,
                kind: r.kind.short_name().to_string(),
                type_id: r.type_id,
                type_name: btf.type_name(&ty).unwrap().to_string(),
                access: btf.name(r.access_str_off).unwrap().to_string(),
                imm,
            });
        }
    }
    out
}

/// A type's shape: kinds, names, sizes, members (names, order, offsets,
/// bitfields) and enumerators, following by-value members and arrays;
/// pointers show their pointee's kind and name only.
pub fn shape(btf: &Btf<'_>, id: TypeId) -> String {
    let mut seen = HashSet::new();
    let mut out = String::new();
    shape_into(btf, id, 0, &mut seen, &mut out);
    out
}

fn shape_into(
    btf: &Btf<'_>,
    id: TypeId,
    depth: usize,
    seen: &mut HashSet<TypeId>,
    out: &mut String,
) {
    let pad = "  ".repeat(depth);
    if id == 0 {
        out.push_str("void");
        return;
    }
    let ty = btf.type_by_id(id).unwrap();
    let name = btf.type_name(&ty).unwrap();
    match ty.kind() {
        Kind::Int => {
            let int = ty.int().unwrap();
            out.push_str(&format!(
                "INT '{name}' size={} bits={} enc={}",
                ty.size().unwrap(),
                int.bits,
                int.encoding.0
            ));
        }
        Kind::Ptr => {
            let target = ty.ref_type().unwrap();
            if target == 0 {
                out.push_str("PTR -> void");
            } else {
                let t = btf.type_by_id(target).unwrap();
                out.push_str(&format!(
                    "PTR -> {} '{}'",
                    t.kind().name(),
                    btf.type_name(&t).unwrap()
                ));
            }
        }
        Kind::Array => {
            let a = ty.array().unwrap();
            let index = btf.type_by_id(a.index_type).unwrap();
            out.push_str(&format!(
                "ARRAY[{}] index '{}' of ",
                a.nelems,
                btf.type_name(&index).unwrap()
            ));
            shape_into(btf, a.elem_type, depth, seen, out);
        }
        Kind::Struct | Kind::Union => {
            out.push_str(&format!(
                "{} '{name}' size={}",
                ty.kind().name(),
                ty.size().unwrap()
            ));
            if !seen.insert(id) {
                out.push_str(" (again)");
                return;
            }
            out.push_str(" {\n");
            for m in ty.members() {
                out.push_str(&format!(
                    "{pad}  '{}' @{} bits={}: ",
                    btf.name(m.name_off).unwrap(),
                    m.bit_offset,
                    m.bitfield_size
                ));
                shape_into(btf, m.type_id, depth + 1, seen, out);
                out.push('\n');
            }
            out.push_str(&format!("{pad}}}"));
        }
        Kind::Enum | Kind::Enum64 => {
            out.push_str(&format!(
                "{} '{name}' size={} signed={} {{",
                ty.kind().name(),
                ty.size().unwrap(),
                ty.kflag()
            ));
            for v in ty.enum_values() {
                out.push_str(&format!(
                    " {}={}",
                    btf.name(v.name_off).unwrap(),
                    v.value as i64
                ));
            }
            out.push_str(" }");
        }
        Kind::Fwd => out.push_str(&format!(
            "FWD '{name}' {}",
            if ty.kflag() { "union" } else { "struct" }
        )),
        other => out.push_str(&format!("{} '{name}'", other.name())),
    }
}

/// The local type shape of every root type named in `records`, by name.
pub fn root_shapes(data: &[u8], records: &[Record]) -> Vec<(String, String)> {
    let object = BpfObject::parse(data).unwrap();
    let btf = Btf::parse(object.btf().unwrap()).unwrap();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for r in records {
        if seen.insert(r.type_name.clone()) {
            out.push((r.type_name.clone(), shape(&btf, r.type_id)));
        }
    }
    out.sort();
    out
}

/// Instruction count of function `name`.
pub fn function_insns(data: &[u8], name: &str) -> usize {
    let object = BpfObject::parse(data).unwrap();
    let (_, f) = object
        .function(name)
        .unwrap_or_else(|| panic!("no function {name}"));
    f.insn_count()
}

/// Prints both record lists side by side.
pub fn show_records(title: &str, records: &[Record]) -> String {
    let mut out = format!("{title}:\n");
    for r in records {
        out.push_str(&format!(
            "  {:<14} +{:#06x} <{}> [{}] {} {} imm={}\n",
            r.function, r.insn_off, r.kind, r.type_id, r.type_name, r.access, r.imm
        ));
    }
    out
}
