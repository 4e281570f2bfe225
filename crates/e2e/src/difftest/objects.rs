//! The objects a difftest relocates, and what their CO-RE records reach: root
//! types, the types and members along each access, enumerators. The generator
//! aims its mutations at these, and a variant is relocated only by the objects
//! whose records reach a type it changed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use btfkit_model::{Btf, BtfExt, CoreReloKind, Kind};
use btfkit_reloc::spec::essential_name;

/// One CO-RE record of an object, as the generator sees it.
#[derive(Debug, Clone)]
pub struct Record {
    /// ELF section of the instruction.
    pub section: String,
    /// Index among the section's records (libbpf's `relo #N`).
    pub relo: usize,
    /// Instruction index in the section.
    pub section_insn: usize,
    /// The kind.
    pub kind: CoreReloKind,
    /// Essential names of the named types along the access (root first).
    pub names: BTreeSet<String>,
}

/// An object under test.
#[derive(Debug, Clone)]
pub struct Object {
    /// A short name (`execsnoop`, `example:task-core`, `crafted:rules.bpf.c`).
    pub name: String,
    /// Its file (libbpf opens it by path).
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its CO-RE records.
    pub records: Vec<Record>,
    /// Union of the records' names.
    pub names: BTreeSet<String>,
    /// (essential struct/union name, member name) the records access.
    pub members: BTreeSet<(String, String)>,
    /// (essential enum name, enumerator) the records ask about.
    pub enumerators: BTreeSet<(String, String)>,
    /// Essential names of root types (with the local kind) that the records start from.
    pub roots: BTreeSet<(String, Kind)>,
}

impl Object {
    /// Reads an object and its records; `None` when it has no CO-RE records.
    pub fn load(name: &str, path: PathBuf) -> Result<Option<Object>, String> {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let parsed = btfkit_object::BpfObject::parse(&bytes).map_err(|e| format!("{name}: {e}"))?;
        let (Some(btf), Some(ext)) = (parsed.btf(), parsed.btf_ext()) else {
            return Ok(None);
        };
        let btf = Btf::parse(btf).map_err(|e| format!("{name}: .BTF: {e}"))?;
        let ext = BtfExt::parse(ext).map_err(|e| format!("{name}: {e}"))?;
        let mut object = Object {
            name: name.to_owned(),
            path,
            bytes: Vec::new(),
            records: Vec::new(),
            names: BTreeSet::new(),
            members: BTreeSet::new(),
            enumerators: BTreeSet::new(),
            roots: BTreeSet::new(),
        };
        for sec in &ext.core_relo.sections {
            let section = btf.name(sec.sec_name_off).unwrap_or("?").to_owned();
            for (relo, rec) in sec.records.iter().enumerate() {
                let access = btf.name(rec.access_str_off).unwrap_or("");
                let mut record = Record {
                    section: section.clone(),
                    relo,
                    section_insn: rec.insn_off as usize / 8,
                    kind: rec.kind,
                    names: BTreeSet::new(),
                };
                object.walk(&btf, rec.type_id, access, &mut record);
                object.names.extend(record.names.iter().cloned());
                object.records.push(record);
            }
        }
        if object.records.is_empty() {
            return Ok(None);
        }
        object.bytes = bytes;
        Ok(Some(object))
    }

    fn walk(&mut self, btf: &Btf<'_>, root: u32, access: &str, record: &mut Record) {
        let name_of = |id: u32| -> String {
            btf.type_by_id(id)
                .ok()
                .and_then(|t| btf.name(t.name_off()).ok())
                .map(|n| essential_name(n).to_owned())
                .unwrap_or_default()
        };
        // Names of `id` and of what its typedefs/qualifiers lead to.
        let add_names = |id: u32, record: &mut Record| {
            let mut id = id;
            for _ in 0..32 {
                let Ok(t) = btf.type_by_id(id) else { break };
                let n = name_of(id);
                if !n.is_empty() {
                    record.names.insert(n);
                }
                if t.is_mod_or_typedef() {
                    id = t.size_or_type();
                } else {
                    break;
                }
            }
        };
        add_names(root, record);
        if let Ok(t) = btf.type_by_id(root) {
            let n = name_of(root);
            if !n.is_empty() {
                self.roots.insert((n, t.kind()));
            }
        }
        let indices: Vec<usize> = access.split(':').filter_map(|s| s.parse().ok()).collect();
        match record.kind {
            CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue => {
                if let (Ok(t), Some(&i)) = (btf.skip_mods_and_typedefs(root), indices.first()) {
                    if let Some(v) = t.enum_values().nth(i) {
                        let ename = name_of(t.id());
                        if let Ok(vn) = btf.name(v.name_off) {
                            self.enumerators.insert((ename, vn.to_owned()));
                        }
                    }
                }
            }
            k if k.is_field() => {
                let mut cur = root;
                let mut owner = name_of(root);
                for &i in indices.iter().skip(1) {
                    let Ok(t) = btf.skip_mods_and_typedefs(cur) else {
                        break;
                    };
                    if t.is_composite() {
                        let own = name_of(t.id());
                        if !own.is_empty() {
                            owner = own;
                        }
                        let Some(m) = t.members().nth(i) else { break };
                        let mname = btf.name(m.name_off).unwrap_or("");
                        if !mname.is_empty() && !owner.is_empty() {
                            self.members.insert((owner.clone(), mname.to_owned()));
                        }
                        cur = m.type_id;
                    } else if t.kind() == Kind::Array {
                        cur = t.array().map_or(0, |a| a.elem_type);
                    } else {
                        break;
                    }
                    add_names(cur, record);
                }
            }
            _ => {}
        }
    }
}
