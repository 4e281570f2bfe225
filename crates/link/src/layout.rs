//! C layout of the described types: sizes, alignments and member offsets
//! as clang computes them for BPF (natural alignment, bitfields packed into
//! storage units of their declared type and never straddling one).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::descriptor::{Body, Descriptor, Field, TypeRef};
use crate::error::{LinkError, Result};

/// Size of a pointer on BPF.
pub const POINTER_SIZE: u64 = 8;
/// Largest type size accepted (BTF sizes are 32 bits).
pub const MAX_TYPE_SIZE: u64 = u32::MAX as u64;

/// Deepest nesting of structs and unions by value.
pub const MAX_NESTING: usize = 64;

/// Where a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberLayout {
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u64,
    /// Bitfield width, 0 when not a bitfield.
    pub bitfield_size: u32,
}

/// The layout of a struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Size in bytes (a multiple of `align`).
    pub size: u64,
    /// Alignment in bytes.
    pub align: u64,
    /// One entry per field, in declaration order.
    pub members: Vec<MemberLayout>,
}

/// The descriptors by name, with their layouts computed on demand.
#[derive(Debug, Default)]
pub struct TypeTable {
    descriptors: HashMap<String, Descriptor>,
    layouts: HashMap<String, Rc<Layout>>,
    in_progress: HashSet<String>,
}

fn round_up(value: u64, align: u64) -> Option<u64> {
    let align = align.max(1);
    value.checked_add(align - 1).map(|v| v / align * align)
}

impl TypeTable {
    /// Indexes the descriptors by name. Identical duplicates (the same type
    /// declared in two places) are merged; different ones are an error.
    pub fn new(descriptors: Vec<Descriptor>) -> Result<TypeTable> {
        let mut table = TypeTable::default();
        for d in descriptors {
            match table.descriptors.get(&d.name) {
                Some(prev) if prev.body == d.body => {}
                Some(prev) => {
                    return Err(LinkError::ConflictingDescriptors {
                        name: d.name.clone(),
                        first: prev.record,
                        second: d.record,
                    })
                }
                None => {
                    table.descriptors.insert(d.name.clone(), d);
                }
            }
        }
        Ok(table)
    }

    /// The descriptor named `name`.
    pub fn get(&self, name: &str) -> Option<&Descriptor> {
        self.descriptors.get(name)
    }

    /// Names of the structs and unions that anonymous members (`?`) hold by
    /// value: C has no name for them, so their BTF name is empty.
    pub fn anonymous_types(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        for d in self.descriptors.values() {
            if let Body::Struct(fields) | Body::Union(fields) = &d.body {
                for f in fields.iter().filter(|f| f.anonymous) {
                    if let TypeRef::Struct(n) | TypeRef::Union(n) = &f.ty {
                        out.insert(n.clone());
                    }
                }
            }
        }
        out
    }

    /// Number of distinct descriptors.
    pub fn len(&self) -> usize {
        self.descriptors.len()
    }

    /// No descriptors at all.
    pub fn is_empty(&self) -> bool {
        self.descriptors.is_empty()
    }

    /// The descriptor a named reference points at, checking its kind.
    /// `Ok(None)` when no record describes the name.
    pub fn resolve_named(&self, ty: &TypeRef) -> Result<Option<&Descriptor>> {
        let (name, want) = match ty {
            TypeRef::Struct(n) => (n, "struct"),
            TypeRef::Union(n) => (n, "union"),
            TypeRef::Enum(n) => (n, "enum"),
            _ => return Ok(None),
        };
        match self.descriptors.get(name) {
            Some(d) if d.keyword() == want => Ok(Some(d)),
            Some(d) => Err(LinkError::Layout {
                name: name.clone(),
                message: format!(
                    "referenced as {want} {name}, but record #{} describes a {}",
                    d.record,
                    d.keyword()
                ),
            }),
            None => Ok(None),
        }
    }

    /// Size and alignment of a field type, in bytes.
    pub fn size_align(&mut self, ty: &TypeRef) -> Result<(u64, u64)> {
        Ok(match ty {
            TypeRef::Void => {
                return Err(LinkError::Layout {
                    name: "void".into(),
                    message: "void has no size (only *void is allowed)".into(),
                })
            }
            TypeRef::Bool => (1, 1),
            TypeRef::Int { size, .. } | TypeRef::Float { size } => {
                (u64::from(*size), u64::from(*size))
            }
            TypeRef::Ptr(_) => (POINTER_SIZE, POINTER_SIZE),
            TypeRef::Array(elem, n) => {
                let (size, align) = self.size_align(elem)?;
                let total = size
                    .checked_mul(u64::from(*n))
                    .filter(|t| *t <= MAX_TYPE_SIZE)
                    .ok_or_else(|| LinkError::Layout {
                        name: ty.to_string(),
                        message: "array is larger than 4 GiB".into(),
                    })?;
                (total, align)
            }
            TypeRef::Struct(name) | TypeRef::Union(name) | TypeRef::Enum(name) => {
                let descriptor = self.resolve_named(ty)?.ok_or_else(|| LinkError::Layout {
                    name: name.clone(),
                    message: format!(
                        "{ty} is used by value but no #[btf::relocatable] type describes it"
                    ),
                })?;
                if let Body::Enum { size, .. } = descriptor.body {
                    (u64::from(size), u64::from(size))
                } else {
                    let layout = self.layout(name)?;
                    (layout.size, layout.align)
                }
            }
        })
    }

    /// The layout of the struct or union `name`.
    pub fn layout(&mut self, name: &str) -> Result<Rc<Layout>> {
        if let Some(l) = self.layouts.get(name) {
            return Ok(l.clone());
        }
        let descriptor = self
            .descriptors
            .get(name)
            .cloned()
            .ok_or_else(|| LinkError::Layout {
                name: name.to_string(),
                message: "no #[btf::relocatable] type describes it".into(),
            })?;
        let (fields, is_union) = match &descriptor.body {
            Body::Struct(f) => (f, false),
            Body::Union(f) => (f, true),
            Body::Enum { .. } => {
                return Err(LinkError::Layout {
                    name: name.to_string(),
                    message: "is an enum, not a struct or union".into(),
                })
            }
        };
        if self.in_progress.len() >= MAX_NESTING {
            return Err(LinkError::Layout {
                name: name.to_string(),
                message: format!("types nested by value more than {MAX_NESTING} levels deep"),
            });
        }
        if !self.in_progress.insert(name.to_string()) {
            return Err(LinkError::Layout {
                name: name.to_string(),
                message: "contains itself by value".into(),
            });
        }
        let result = self.compute(name, fields, is_union);
        self.in_progress.remove(name);
        let layout = Rc::new(result?);
        self.layouts.insert(name.to_string(), layout.clone());
        Ok(layout)
    }

    fn compute(&mut self, name: &str, fields: &[Field], is_union: bool) -> Result<Layout> {
        let fail = |message: String| LinkError::Layout {
            name: name.to_string(),
            message,
        };
        let mut members = Vec::with_capacity(fields.len());
        let mut end_bits: u64 = 0;
        let mut cursor: u64 = 0;
        let mut align: u64 = 1;
        for field in fields {
            let (size, field_align) = self.size_align(&field.ty)?;
            align = align.max(field_align);
            let end = if let Some(bits) = field.bits {
                let integral = matches!(
                    &field.ty,
                    TypeRef::Bool | TypeRef::Int { .. } | TypeRef::Enum(_)
                );
                if !integral {
                    return Err(fail(format!(
                        "bitfield {} has type {}, not an integer, bool or enum",
                        field.name, field.ty
                    )));
                }
                if u64::from(bits) > size * 8 {
                    return Err(fail(format!(
                        "bitfield {} is {bits} bits wide, more than its {}-bit type",
                        field.name,
                        size * 8
                    )));
                }
                let at = if is_union { 0 } else { cursor };
                // A bitfield that would straddle a storage unit of its
                // declared type starts at the next unit.
                let unit = field_align * 8;
                let at = if at / unit != (at + u64::from(bits) - 1) / unit {
                    round_up(at, unit).ok_or_else(|| fail("too large".into()))?
                } else {
                    at
                };
                members.push(MemberLayout {
                    bit_offset: at,
                    bitfield_size: bits,
                });
                at + u64::from(bits)
            } else {
                let at = if is_union {
                    0
                } else {
                    round_up(cursor, field_align * 8).ok_or_else(|| fail("too large".into()))?
                };
                members.push(MemberLayout {
                    bit_offset: at,
                    bitfield_size: 0,
                });
                at.checked_add(size * 8)
                    .ok_or_else(|| fail("too large".into()))?
            };
            if !is_union {
                cursor = end;
            }
            end_bits = end_bits.max(end);
            if end_bits > MAX_TYPE_SIZE * 8 {
                return Err(fail("is larger than 4 GiB".into()));
            }
        }
        let size = round_up(end_bits.div_ceil(8), align).ok_or_else(|| fail("too large".into()))?;
        if size > MAX_TYPE_SIZE {
            return Err(fail("is larger than 4 GiB".into()));
        }
        Ok(Layout {
            size,
            align,
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::parse_section;

    fn table(text: &str) -> TypeTable {
        TypeTable::new(parse_section(text.as_bytes()).unwrap()).unwrap()
    }

    fn offsets(layout: &Layout) -> Vec<(u64, u32)> {
        layout
            .members
            .iter()
            .map(|m| (m.bit_offset, m.bitfield_size))
            .collect()
    }

    /// The struct of the clang reference program in the tests (checked
    /// against clang-22's BTF for the same C declaration).
    #[test]
    fn struct_layout_matches_clang() {
        let mut t = table(
            "BTFKIT1 struct task_struct{pid:i4;tgid:i4;real_parent:*struct task_struct;\
             flag:u1/1;two:u1/3;bits:u4/20;?__anon_1:union anon;comm:[i1;16];in:[struct inner;2];\
             b:bool;sc:i1;s:i2;us:u2;l:i8;ul:u8;fp:*struct fwdonly;st:enum state;bg:enum big;}\n\
             BTFKIT1 union anon{ua:i4;ub:i8;}\n\
             BTFKIT1 struct inner{x:i4;y:u8;}\n\
             BTFKIT1 enum state:4:s{ST_A=1;ST_B=-2;}\n\
             BTFKIT1 enum big:8:u{BIG_A=4294967296;BIG_B=5;}\n",
        );
        let l = t.layout("task_struct").unwrap();
        assert_eq!((l.size, l.align), (128, 8));
        assert_eq!(
            offsets(&l),
            [
                (0, 0),
                (32, 0),
                (64, 0),
                (128, 1),
                (129, 3),
                (132, 20),
                (192, 0),
                (256, 0),
                (384, 0),
                (640, 0),
                (648, 0),
                (656, 0),
                (672, 0),
                (704, 0),
                (768, 0),
                (832, 0),
                (896, 0),
                (960, 0)
            ]
        );
        let u = t.layout("anon").unwrap();
        assert_eq!((u.size, u.align), (8, 8));
        assert_eq!(offsets(&u), [(0, 0), (0, 0)]);
    }

    #[test]
    fn bitfields_move_to_the_next_unit_instead_of_straddling() {
        let mut t = table("BTFKIT1 struct s{a:u4/30;b:u4/4;c:u1/7;d:u1/2;e:u8/40;}\n");
        let l = t.layout("s").unwrap();
        // b would straddle bit 32 → 32; c at 36..43 straddles byte 40 → 40;
        // d at 47..49 straddles byte 48 → 48; e (u64 unit) at 50..90
        // straddles 64 → 64. (clang-22 agrees.)
        assert_eq!(offsets(&l), [(0, 30), (32, 4), (40, 7), (48, 2), (64, 40)]);
        assert_eq!((l.size, l.align), (16, 8));
    }

    #[test]
    fn layout_errors() {
        let mut t = table(
            "BTFKIT1 struct a{b:struct b;}\nBTFKIT1 struct b{a:struct a;}\n\
             BTFKIT1 struct c{x:struct missing;}\nBTFKIT1 struct d{x:*i4/3;}\n\
             BTFKIT1 struct e{x:u1/9;}\nBTFKIT1 struct f{x:union e;}\nBTFKIT1 struct g{x:void;}\n",
        );
        for (name, needle) in [
            ("a", "contains itself"),
            ("c", "no #[btf::relocatable]"),
            ("d", "not an integer"),
            ("e", "more than its 8-bit"),
            ("f", "describes a struct"),
            ("g", "void has no size"),
        ] {
            let e = t.layout(name).unwrap_err().to_string();
            assert!(e.contains(needle), "{name}: {e}");
        }
        let conflict = TypeTable::new(
            parse_section(
                b"BTFKIT1 struct a{x:i4;}\nBTFKIT1 struct a{x:i8;}\nBTFKIT1 struct a{x:i4;}\n",
            )
            .unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(conflict.contains("records #0 and #1"), "{conflict}");
    }
}
