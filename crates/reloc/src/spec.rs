//! Access specs: a relocation's access string (`0:1:2`) resolved against a BTF
//! (the local program's, or a candidate in the target), and essential names.

use btfkit_model::{Btf, CoreReloKind, IntEncoding, Kind, TypeId};

use crate::Error;

/// Deepest access path libbpf accepts (`BPF_CORE_SPEC_MAX_LEN`).
pub const MAX_SPEC_LEN: usize = 64;

/// One named step of a spec: a member by name, an array element, or an enumerator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accessor {
    /// The struct/union/array/enum the step is taken in.
    pub type_id: TypeId,
    /// Member, element or enumerator index.
    pub idx: u32,
    /// Member or enumerator name; `None` for an array element.
    pub name: Option<String>,
}

/// A resolved access: named steps, every raw index, and the bit offset reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The root type id.
    pub root_type_id: TypeId,
    /// Named steps (anonymous members are only in `raw`).
    pub accessors: Vec<Accessor>,
    /// Every index of the access string.
    pub raw: Vec<u32>,
    /// Bit offset from the root.
    pub bit_offset: u64,
}

impl Spec {
    /// The access string, `0:1:2`.
    pub fn raw_string(&self) -> String {
        self.raw
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// Length of `name` without its `___flavor` suffix (libbpf: the last `X___Y`).
pub fn essential_name_len(name: &str) -> usize {
    let b = name.as_bytes();
    let n = b.len();
    if n < 5 {
        return n;
    }
    for i in (0..=n - 5).rev() {
        if b[i] != b'_' && &b[i + 1..i + 4] == b"___" && b[i + 4] != b'_' {
            return i + 1;
        }
    }
    n
}

/// `name` without its flavor.
pub fn essential_name(name: &str) -> &str {
    &name[..essential_name_len(name)]
}

fn err(msg: impl Into<String>) -> Error {
    Error::Spec(msg.into())
}

/// `at + idx * size * 8` bits, or an error when it does not fit in 64 bits
/// (hostile BTF: elements of 2^32 × 2^32 bytes).
pub(crate) fn bit_pos(at: u64, idx: u32, size: u64) -> Result<u64, Error> {
    (idx as u64)
        .checked_mul(size)
        .and_then(|b| b.checked_mul(8))
        .and_then(|b| b.checked_add(at))
        .ok_or_else(|| {
            err(format!(
                "offset of element {idx} of {size} bytes overflows 64 bits"
            ))
        })
}

/// Resolves the local access string of a relocation (libbpf's `bpf_core_parse_spec`).
pub fn parse_spec(
    btf: &Btf<'_>,
    root: TypeId,
    access: &str,
    kind: CoreReloKind,
) -> Result<Spec, Error> {
    // Quoted in errors: at most 64 bytes of it.
    let quoted = || {
        let mut end = access.len().min(64);
        while !access.is_char_boundary(end) {
            end -= 1;
        }
        let more = if end < access.len() { "..." } else { "" };
        format!("{:?}{more}", &access[..end])
    };
    let count = access.split(':').count();
    if count > MAX_SPEC_LEN {
        return Err(err(format!(
            "access string {} has {count} indices, more than {MAX_SPEC_LEN} (MAX_SPEC_LEN)",
            quoted()
        )));
    }
    let raw: Vec<u32> = access
        .split(':')
        .map(|s| {
            s.parse::<u32>().map_err(|_| {
                err(format!(
                    "access string {} is not a list of indices",
                    quoted()
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let mut spec = Spec {
        root_type_id: root,
        accessors: Vec::new(),
        raw: raw.clone(),
        bit_offset: 0,
    };
    if kind.is_type() {
        if raw != [0] {
            return Err(err(format!(
                "type relocation with access {access:?} (expected \"0\")"
            )));
        }
        return Ok(spec);
    }
    let (mut id, t) = skip(btf, root)?;
    if kind.is_enumval() {
        if raw.len() != 1 || !matches!(t.kind(), Kind::Enum | Kind::Enum64) {
            return Err(err(format!(
                "enum relocation on a non-enum or with access {access:?}"
            )));
        }
        let v = t
            .enum_values()
            .nth(raw[0] as usize)
            .ok_or_else(|| err(format!("enumerator {} out of range", raw[0])))?;
        spec.accessors.push(Accessor {
            type_id: id,
            idx: raw[0],
            name: Some(btf.name(v.name_off)?.to_string()),
        });
        return Ok(spec);
    }
    // Field relocation: the first index is pointer arithmetic on the root.
    let size = btf.resolve_size(id)?;
    spec.accessors.push(Accessor {
        type_id: id,
        idx: raw[0],
        name: None,
    });
    spec.bit_offset = bit_pos(0, raw[0], size)?;
    for &idx in &raw[1..] {
        let (tid, t) = skip(btf, id)?;
        id = tid;
        match t.kind() {
            Kind::Struct | Kind::Union => {
                let m = t
                    .members()
                    .nth(idx as usize)
                    .ok_or_else(|| err(format!("member {idx} out of range in type [{id}]")))?;
                spec.bit_offset = spec.bit_offset.saturating_add(m.bit_offset as u64);
                let name = btf.name(m.name_off)?;
                if !name.is_empty() {
                    spec.accessors.push(Accessor {
                        type_id: id,
                        idx,
                        name: Some(name.to_string()),
                    });
                }
                id = m.type_id;
            }
            Kind::Array => {
                let a = t.array().ok_or_else(|| err("truncated array"))?;
                let (eid, _) = skip(btf, a.elem_type)?;
                let esz = btf.resolve_size(eid)?;
                spec.accessors.push(Accessor {
                    type_id: eid,
                    idx,
                    name: None,
                });
                spec.bit_offset = bit_pos(spec.bit_offset, idx, esz)?;
                id = eid;
            }
            other => {
                return Err(err(format!(
                    "access {access:?} steps into a {}",
                    other.name()
                )))
            }
        }
    }
    Ok(spec)
}

/// Skips typedefs and modifiers.
pub(crate) fn skip<'b>(
    btf: &'b Btf<'_>,
    id: TypeId,
) -> Result<(TypeId, btfkit_model::Type<'b>), Error> {
    let t = btf.skip_mods_and_typedefs(id)?;
    Ok((t.id(), t))
}

/// libbpf's C-like rendering of a spec: `[12] struct task_struct.real_parent (0:54 @ offset 1432)`.
pub fn format_spec(btf: &Btf<'_>, spec: &Spec, kind: CoreReloKind) -> String {
    let Ok(root) = btf.type_by_id(spec.root_type_id) else {
        return format!("[{}] <bad type>", spec.root_type_id);
    };
    let name = match btf.name(root.name_off()) {
        Ok("") | Err(_) => "<anon>",
        Ok(n) => n,
    };
    let mut s = format!(
        "[{}] {} {name}",
        spec.root_type_id,
        root.kind().name().to_lowercase()
    );
    if kind.is_type() {
        return s;
    }
    if kind.is_enumval() {
        if let (Some(&idx), Ok(t)) = (
            spec.raw.first(),
            btf.skip_mods_and_typedefs(spec.root_type_id),
        ) {
            if let Some(v) = t.enum_values().nth(idx as usize) {
                let n = btf.name(v.name_off).unwrap_or("");
                let val = match (t.kind(), t.kflag()) {
                    (Kind::Enum, true) => (v.value as i32).to_string(),
                    (Kind::Enum, false) => (v.value as u32).to_string(),
                    (_, true) => (v.value as i64).to_string(),
                    (_, false) => v.value.to_string(),
                };
                s.push_str(&format!("::{n} = {val}"));
            }
        }
        return s;
    }
    for (i, acc) in spec.accessors.iter().enumerate() {
        match &acc.name {
            Some(n) => s.push_str(&format!(".{n}")),
            None if i > 0 || acc.idx > 0 => s.push_str(&format!("[{}]", acc.idx)),
            None => {}
        }
    }
    if spec.bit_offset % 8 != 0 {
        s.push_str(&format!(
            " ({} @ offset {}.{})",
            spec.raw_string(),
            spec.bit_offset / 8,
            spec.bit_offset % 8
        ));
    } else {
        s.push_str(&format!(
            " ({} @ offset {})",
            spec.raw_string(),
            spec.bit_offset / 8
        ));
    }
    s
}

/// A spec's short name for reasons: `struct task_struct.pid`, `enum e::A`,
/// `struct sock` (no ids, offsets or values).
pub fn spec_name(btf: &Btf<'_>, spec: &Spec, kind: CoreReloKind) -> String {
    let Ok(root) = btf.type_by_id(spec.root_type_id) else {
        return format!("[{}]", spec.root_type_id);
    };
    let name = match btf.name(root.name_off()) {
        Ok("") | Err(_) => "<anon>",
        Ok(n) => n,
    };
    let mut s = format!("{} {name}", root.kind().name().to_lowercase());
    if kind.is_enumval() {
        if let Some(acc) = spec.accessors.first() {
            s.push_str(&format!("::{}", acc.name.as_deref().unwrap_or("?")));
        }
    } else if kind.is_field() {
        for (i, acc) in spec.accessors.iter().enumerate() {
            match &acc.name {
                Some(n) => s.push_str(&format!(".{n}")),
                None if i > 0 || acc.idx > 0 => s.push_str(&format!("[{}]", acc.idx)),
                None => {}
            }
        }
    }
    s
}

/// What the field a spec ends at is, in words: `8-byte unsigned int`,
/// `4-byte signed int`, `3-bit bitfield`, `8-byte pointer`, `4-byte enum`.
/// Signedness as libbpf judges it for resizing (encoding exactly `SIGNED`).
pub fn field_desc(btf: &Btf<'_>, spec: &Spec) -> String {
    let Some(acc) = spec.accessors.last() else {
        return "field".into();
    };
    let type_id = if acc.name.is_some() {
        let Some(m) = btf
            .type_by_id(acc.type_id)
            .ok()
            .and_then(|t| t.members().nth(acc.idx as usize))
        else {
            return "field".into();
        };
        if m.bitfield_size > 0 {
            return format!("{}-bit bitfield", m.bitfield_size);
        }
        m.type_id
    } else {
        acc.type_id
    };
    let Ok(t) = btf.skip_mods_and_typedefs(type_id) else {
        return "field".into();
    };
    let size = btf.resolve_size(t.id()).unwrap_or(0);
    let what = match t.kind() {
        Kind::Int if t.int().is_some_and(|i| i.encoding.0 == IntEncoding::SIGNED) => {
            "signed int".to_string()
        }
        Kind::Int => "unsigned int".to_string(),
        Kind::Ptr => "pointer".to_string(),
        k => k.name().to_lowercase(),
    };
    format!("{size}-byte {what}")
}
