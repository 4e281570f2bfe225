//! Resolving a query against the described types: clang's access string
//! (`0:3:1`) and the local value libbpf computes for the local type.

use btfkit_model::CoreReloKind;

use crate::descriptor::{Body, TypeRef};
use crate::error::{LinkError, Result};
use crate::layout::TypeTable;
use crate::query::{Access, Query, Segment};

/// The value the marker's instruction gets before any relocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalValue {
    /// A known constant (as libbpf's 64-bit value).
    Const(u64),
    /// The local BTF id of the root type (known once types are planned).
    LocalTypeId,
}

/// A query resolved against the local layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The relocation's root type (for `->` paths, the last pointee).
    pub root: String,
    /// clang's access string.
    pub access: String,
    /// The local value.
    pub value: LocalValue,
    /// The value is a signed 32-bit quantity (the value of a signed enum's
    /// enumerator), so the marker becomes `mov64`, which sign-extends its
    /// immediate; every other value is an unsigned 32-bit one and becomes
    /// `mov32`, which zero-extends (see [`crate::link`]).
    pub signed_value: bool,
}

/// What the last step of a field path reached.
enum Last {
    Member { ty: TypeRef, bitfield_size: u32 },
    ArrayElement { ty: TypeRef },
}

struct Walk {
    indices: Vec<u64>,
    bit_offset: u64,
    last: Last,
}

/// Resolves `query` (from marker `symbol`) for a little- or big-endian object.
pub fn resolve(
    table: &mut TypeTable,
    query: &Query,
    symbol: &str,
    big_endian: bool,
) -> Result<Resolution> {
    let fail = |message: String| LinkError::Query {
        symbol: symbol.to_string(),
        message,
    };
    let descriptor = table.get(&query.type_name).ok_or_else(|| {
        fail(format!(
            "no #[btf::relocatable] type named {:?} is described in .btfkit.types",
            query.type_name
        ))
    })?;
    let kind = query.kind;
    match &query.access {
        Access::Type => {
            if matches!(kind, CoreReloKind::TypeIdLocal | CoreReloKind::TypeIdTarget) {
                return Ok(Resolution {
                    root: query.type_name.clone(),
                    access: "0".into(),
                    value: LocalValue::LocalTypeId,
                    signed_value: false,
                });
            }
            let value = match kind {
                CoreReloKind::TypeSize => match descriptor.body {
                    Body::Enum { size, .. } => u64::from(size),
                    _ => table.layout(&query.type_name)?.size,
                },
                _ => 1,
            };
            Ok(Resolution {
                root: query.type_name.clone(),
                access: "0".into(),
                value: LocalValue::Const(value),
                signed_value: false,
            })
        }
        Access::Enumerator(name) => {
            let Body::Enum {
                size,
                signed,
                values,
            } = &descriptor.body
            else {
                return Err(fail(format!(
                    "{} is a {}, not an enum",
                    query.type_name,
                    descriptor.keyword()
                )));
            };
            let index = values.iter().position(|v| v.name == *name).ok_or_else(|| {
                fail(format!("enum {} has no enumerator {name}", query.type_name))
            })?;
            let value = if kind == CoreReloKind::EnumvalValue {
                let raw = values[index].value;
                if *size < 8 {
                    // A 32-bit BTF enum stores the low 32 bits; libbpf reads
                    // them as a signed 32-bit value.
                    i64::from(raw as u32 as i32) as u64
                } else if *signed {
                    raw as i64 as u64
                } else {
                    raw as u64
                }
            } else {
                1
            };
            Ok(Resolution {
                root: query.type_name.clone(),
                access: index.to_string(),
                value: LocalValue::Const(value),
                signed_value: kind == CoreReloKind::EnumvalValue && *signed,
            })
        }
        Access::Field(hops) => {
            let mut root = query.type_name.clone();
            let Some((last_hop, earlier)) = hops.split_last() else {
                return Err(fail("empty access path".into()));
            };
            for hop in earlier {
                let walk = walk(table, &root, hop).map_err(&fail)?;
                let ty = match walk.last {
                    Last::Member { ty, .. } | Last::ArrayElement { ty } => ty,
                };
                root = match &ty {
                    TypeRef::Ptr(inner) => match &**inner {
                        TypeRef::Struct(n) | TypeRef::Union(n)
                            if table.resolve_named(inner)?.is_some() =>
                        {
                            n.clone()
                        }
                        _ => {
                            return Err(fail(format!(
                                "'->' after {}: {ty} does not point to a #[btf::relocatable] struct or union",
                                show_path(hop)
                            )))
                        }
                    },
                    _ => {
                        return Err(fail(format!(
                            "'->' after {}: it is {ty}, not a pointer",
                            show_path(hop)
                        )))
                    }
                };
            }
            let walk = walk(table, &root, last_hop).map_err(&fail)?;
            let access = walk
                .indices
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(":");
            let value = field_value(table, kind, &walk, big_endian).map_err(&fail)?;
            Ok(Resolution {
                root,
                access,
                value: LocalValue::Const(value),
                signed_value: false,
            })
        }
    }
}

fn show_path(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| {
            let mut out = s.name.clone();
            for i in &s.indices {
                out.push_str(&format!("[{i}]"));
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// How deep [`find_member`] follows anonymous members (the access string
/// holds at most 64 indices anyway).
const MAX_ANON_DEPTH: usize = 32;

/// One member step of a resolved name: its index in its parent, its bit
/// offset there, its type and bitfield size.
struct Step {
    index: usize,
    bit_offset: u64,
    ty: TypeRef,
    bitfield_size: u32,
}

/// The member `name` of the struct or union `owner`, as C finds it: a member
/// of that name (anonymous ones by their Rust name, `__anon_1`), else a
/// member of an anonymous struct or union member, searched depth-first at any
/// depth, as clang does (its access string then holds the index of every
/// anonymous member crossed). `None` when there is none; an error when the
/// name is ambiguous (C rejects such a type; a Rust declaration may hold one).
fn find_member(
    table: &mut TypeTable,
    owner: &str,
    name: &str,
    depth: usize,
) -> std::result::Result<Option<Vec<Step>>, String> {
    if depth > MAX_ANON_DEPTH {
        return Err(format!(
            "anonymous members nested more than {MAX_ANON_DEPTH} deep under {owner}"
        ));
    }
    let fields = match table.get(owner).map(|d| &d.body) {
        Some(Body::Struct(f) | Body::Union(f)) => f.clone(),
        _ => {
            return Err(format!(
                "{owner} has no descriptor, so member {name} cannot be found"
            ))
        }
    };
    let layout = table.layout(owner).map_err(|e| e.to_string())?;
    let place = |index: usize| {
        layout
            .members
            .get(index)
            .map(|p| (p.bit_offset, p.bitfield_size))
            .ok_or_else(|| format!("{owner}: member {} has no layout", fields[index].name))
    };
    if let Some(index) = fields.iter().position(|f| f.name == name) {
        let (bit_offset, bitfield_size) = place(index)?;
        return Ok(Some(vec![Step {
            index,
            bit_offset,
            ty: fields[index].ty.clone(),
            bitfield_size,
        }]));
    }
    let mut found: Option<(Vec<Step>, String)> = None;
    for (index, f) in fields.iter().enumerate().filter(|(_, f)| f.anonymous) {
        let inner = match &f.ty {
            TypeRef::Struct(n) | TypeRef::Union(n) => n.clone(),
            _ => continue,
        };
        let (bit_offset, bitfield_size) = place(index)?;
        if let Some(rest) = find_member(table, &inner, name, depth + 1)? {
            if let Some((_, first)) = &found {
                return Err(format!(
                    "member {name} of {owner} is ambiguous: it is in anonymous members {first} and {}",
                    f.name
                ));
            }
            let mut steps = vec![Step {
                index,
                bit_offset,
                ty: f.ty.clone(),
                bitfield_size,
            }];
            steps.extend(rest);
            found = Some((steps, f.name.clone()));
        }
    }
    Ok(found.map(|(steps, _)| steps))
}

/// Walks `segments` from the struct or union `root`: member indices, array
/// indices and the bit offset, as clang's access string and libbpf's spec.
fn walk(
    table: &mut TypeTable,
    root: &str,
    segments: &[Segment],
) -> std::result::Result<Walk, String> {
    let root_ty = match table.get(root).map(|d| &d.body) {
        Some(Body::Struct(_)) => TypeRef::Struct(root.to_string()),
        Some(Body::Union(_)) => TypeRef::Union(root.to_string()),
        Some(Body::Enum { .. }) => return Err(format!("{root} is an enum; it has no fields")),
        None => return Err(format!("no #[btf::relocatable] type named {root:?}")),
    };
    let mut indices = vec![0u64];
    let mut bit_offset = 0u64;
    let mut current = root_ty;
    let mut last = None;
    for segment in segments {
        let name = match &current {
            TypeRef::Struct(n) | TypeRef::Union(n) => n.clone(),
            other => {
                return Err(format!(
                    "cannot take member {} of {other} (not a struct or union)",
                    segment.name
                ))
            }
        };
        let steps = find_member(table, &name, &segment.name, 0)?.ok_or_else(|| {
            format!(
                "{current} has no member {} (nor has any anonymous member in it)",
                segment.name
            )
        })?;
        for step in steps {
            indices.push(step.index as u64);
            bit_offset += step.bit_offset;
            current = step.ty.clone();
            last = Some(Last::Member {
                ty: step.ty,
                bitfield_size: step.bitfield_size,
            });
        }
        for &i in &segment.indices {
            let TypeRef::Array(elem, n) = &current else {
                return Err(format!(
                    "[{i}] after {}: it is {current}, not an array",
                    segment.name
                ));
            };
            if *n != 0 && i >= *n {
                return Err(format!(
                    "index [{i}] is out of bounds of {} ({current})",
                    segment.name
                ));
            }
            let (elem_size, _) = table.size_align(elem).map_err(|e| e.to_string())?;
            indices.push(u64::from(i));
            bit_offset = u64::from(i)
                .checked_mul(elem_size * 8)
                .and_then(|b| b.checked_add(bit_offset))
                .ok_or("offset overflows")?;
            let elem = (**elem).clone();
            current = elem.clone();
            last = Some(Last::ArrayElement { ty: elem });
        }
    }
    let last = last.ok_or("empty access path")?;
    Ok(Walk {
        indices,
        bit_offset,
        last,
    })
}

/// The local value of a field relocation, as libbpf computes it for the
/// local spec.
fn field_value(
    table: &mut TypeTable,
    kind: CoreReloKind,
    walk: &Walk,
    big_endian: bool,
) -> std::result::Result<u64, String> {
    if kind == CoreReloKind::FieldExists {
        return Ok(1);
    }
    let bit_off = walk.bit_offset;
    let (ty, bitfield_size) = match &walk.last {
        Last::ArrayElement { ty } => {
            let (size, _) = table.size_align(ty).map_err(|e| e.to_string())?;
            return match kind {
                CoreReloKind::FieldByteOffset => Ok(bit_off / 8),
                CoreReloKind::FieldByteSize => Ok(size),
                other => Err(format!(
                    "a {other} relocation cannot apply to an array element (libbpf refuses it)"
                )),
            };
        }
        Last::Member { ty, bitfield_size } => (ty, u64::from(*bitfield_size)),
    };
    let (type_size, _) = table.size_align(ty).map_err(|e| e.to_string())?;
    let (byte_off, byte_sz, bit_sz) = if bitfield_size > 0 {
        // The smallest load of the storage type's size (doubling as needed)
        // that covers the bitfield.
        let mut byte_sz = type_size.max(1);
        let mut byte_off = bit_off / 8 / byte_sz * byte_sz;
        while bit_off + bitfield_size - byte_off * 8 > byte_sz * 8 {
            if byte_sz >= 8 {
                return Err("the bitfield cannot be read with a 64-bit load".into());
            }
            byte_sz *= 2;
            byte_off = bit_off / 8 / byte_sz * byte_sz;
        }
        (byte_off, byte_sz, bitfield_size)
    } else {
        (bit_off / 8, type_size, type_size * 8)
    };
    let shift_check = || {
        if bit_sz > 64 || byte_sz > 8 {
            Err(format!(
                "a {kind} relocation needs a field of at most 8 bytes ({byte_sz} here)"
            ))
        } else {
            Ok(())
        }
    };
    match kind {
        CoreReloKind::FieldByteOffset => Ok(byte_off),
        CoreReloKind::FieldByteSize => Ok(byte_sz),
        CoreReloKind::FieldSigned => Ok(u64::from(is_signed(table, ty))),
        CoreReloKind::FieldLshiftU64 => {
            shift_check()?;
            Ok(if big_endian {
                (8 - byte_sz) * 8 + (bit_off - byte_off * 8)
            } else {
                64 - (bit_off + bit_sz - byte_off * 8)
            })
        }
        CoreReloKind::FieldRshiftU64 => {
            shift_check()?;
            Ok(64 - bit_sz)
        }
        other => Err(format!("{other} is not a field relocation")),
    }
}

fn is_signed(table: &TypeTable, ty: &TypeRef) -> bool {
    match ty {
        TypeRef::Int { signed, .. } => *signed,
        TypeRef::Enum(name) => matches!(
            table.get(name).map(|d| &d.body),
            Some(Body::Enum { signed: true, .. })
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::parse_section;
    use crate::query::parse_marker;

    /// The same declarations as the clang reference program
    /// (`tests/clang/reference.bpf.c`); expectations are clang-22's records
    /// and libbpf's local values for them.
    const TYPES: &str =
        "BTFKIT1 struct task_struct{pid:i4;tgid:i4;real_parent:*struct task_struct;\
         flag:u1/1;two:u1/3;bits:u4/20;?__anon_1:union anon;comm:[i1;16];in:[struct inner;2];\
         b:bool;sc:i1;s:i2;us:u2;l:i8;ul:u8;fp:*struct fwdonly;st:enum state;bg:enum big;}\n\
         BTFKIT1 union anon{ua:i4;ub:i8;}\n\
         BTFKIT1 struct inner{x:i4;y:u8;}\n\
         BTFKIT1 enum state:4:s{ST_A=1;ST_B=-2;}\n\
         BTFKIT1 enum big:8:u{BIG_A=4294967296;BIG_B=5;}\n";

    fn resolve_marker(marker: &str) -> Result<(String, String, LocalValue)> {
        let mut table = TypeTable::new(parse_section(TYPES.as_bytes()).unwrap()).unwrap();
        let q = parse_marker(marker)?;
        let r = resolve(&mut table, &q, marker, false)?;
        Ok((r.root, r.access, r.value))
    }

    fn check(marker: &str, root: &str, access: &str, value: u64) {
        let got = resolve_marker(marker).unwrap();
        assert_eq!(
            got,
            (
                root.to_string(),
                access.to_string(),
                LocalValue::Const(value)
            ),
            "{marker}"
        );
    }

    #[test]
    fn access_strings_and_local_values() {
        check(
            "btfkit:v1:byte_off:task_struct:pid",
            "task_struct",
            "0:0",
            0,
        );
        check(
            "btfkit:v1:field_exists:task_struct:tgid",
            "task_struct",
            "0:1",
            1,
        );
        check(
            "btfkit:v1:byte_sz:task_struct:comm",
            "task_struct",
            "0:7",
            16,
        );
        check(
            "btfkit:v1:byte_off:task_struct:__anon_1.ub",
            "task_struct",
            "0:6:1",
            24,
        );
        check(
            "btfkit:v1:byte_off:task_struct:in[1].y",
            "task_struct",
            "0:8:1:1",
            72,
        );
        check(
            "btfkit:v1:byte_off:task_struct:comm[3]",
            "task_struct",
            "0:7:3",
            35,
        );
        check(
            "btfkit:v1:byte_sz:task_struct:comm[3]",
            "task_struct",
            "0:7:3",
            1,
        );
        check(
            "btfkit:v1:byte_off:task_struct:real_parent",
            "task_struct",
            "0:2",
            8,
        );
        check(
            "btfkit:v1:byte_off:task_struct:real_parent->tgid",
            "task_struct",
            "0:1",
            4,
        );
        check(
            "btfkit:v1:byte_off:task_struct:real_parent->real_parent->in[1]",
            "task_struct",
            "0:8:1",
            64,
        );
        check("btfkit:v1:signed:task_struct:sc", "task_struct", "0:10", 1);
        check("btfkit:v1:signed:task_struct:us", "task_struct", "0:12", 0);
        check("btfkit:v1:signed:task_struct:st", "task_struct", "0:16", 1);
        check("btfkit:v1:signed:task_struct:bg", "task_struct", "0:17", 0);
        check(
            "btfkit:v1:byte_off:task_struct:bg",
            "task_struct",
            "0:17",
            120,
        );
        // Bitfields: libbpf's local computation (clang's own immediates for
        // byte_off/byte_sz use the record alignment; see the crate docs).
        check(
            "btfkit:v1:byte_off:task_struct:bits",
            "task_struct",
            "0:5",
            16,
        );
        check(
            "btfkit:v1:byte_sz:task_struct:bits",
            "task_struct",
            "0:5",
            4,
        );
        check(
            "btfkit:v1:lshift_u64:task_struct:two",
            "task_struct",
            "0:4",
            60,
        );
        check(
            "btfkit:v1:rshift_u64:task_struct:two",
            "task_struct",
            "0:4",
            61,
        );
        check(
            "btfkit:v1:lshift_u64:task_struct:bits",
            "task_struct",
            "0:5",
            64 - 24,
        );
        check(
            "btfkit:v1:rshift_u64:task_struct:bits",
            "task_struct",
            "0:5",
            44,
        );
        check(
            "btfkit:v1:lshift_u64:task_struct:s",
            "task_struct",
            "0:11",
            48,
        );
        check(
            "btfkit:v1:rshift_u64:task_struct:s",
            "task_struct",
            "0:11",
            48,
        );
        // Type and enum queries.
        check("btfkit:v1:type_exists:task_struct:", "task_struct", "0", 1);
        check("btfkit:v1:type_matches:task_struct:", "task_struct", "0", 1);
        check("btfkit:v1:type_size:task_struct:", "task_struct", "0", 128);
        check("btfkit:v1:type_size:state:", "state", "0", 4);
        check(
            "btfkit:v1:enumval_value:state:ST_B",
            "state",
            "1",
            (-2i64) as u64,
        );
        check("btfkit:v1:enumval_exists:big:BIG_B", "big", "1", 1);
        check("btfkit:v1:enumval_value:big:BIG_A", "big", "0", 1 << 32);
        assert_eq!(
            resolve_marker("btfkit:v1:local_type_id:inner:").unwrap(),
            ("inner".into(), "0".into(), LocalValue::LocalTypeId)
        );
    }

    #[test]
    fn names_inside_anonymous_members_resolve_as_clang_does() {
        const ANON: &str = "BTFKIT1 struct outer{a:i4;?__anon_1:union u1;?__anon_2:struct s2;}\n\
             BTFKIT1 union u1{x:i4;?__anon_1:struct s3;}\n\
             BTFKIT1 struct s3{y:i8;z:i4;}\n\
             BTFKIT1 struct s2{w:i2;}\n\
             BTFKIT1 struct dup{?__anon_1:struct s2;?__anon_2:struct s2;}\n";
        let mut table = TypeTable::new(parse_section(ANON.as_bytes()).unwrap()).unwrap();
        let mut run = |m: &str| {
            resolve(&mut table, &parse_marker(m).unwrap(), m, false)
                .map(|r| (r.access, r.value))
                .map_err(|e| e.to_string())
        };
        for (path, access, offset) in [
            ("z", "0:1:1:1", 16),
            ("y", "0:1:1:0", 8),
            ("x", "0:1:0", 8),
            ("w", "0:2:0", 24),
            // The Rust names of anonymous members still work, and mix.
            ("__anon_1.z", "0:1:1:1", 16),
            ("__anon_1.__anon_1.z", "0:1:1:1", 16),
            ("__anon_2.w", "0:2:0", 24),
        ] {
            let m = format!("btfkit:v1:byte_off:outer:{path}");
            assert_eq!(
                run(&m).unwrap(),
                (access.to_string(), LocalValue::Const(offset)),
                "{m}"
            );
        }
        let e = run("btfkit:v1:byte_off:outer:q").unwrap_err();
        assert!(e.contains("has no member q"), "{e}");
        let e = run("btfkit:v1:byte_off:dup:w").unwrap_err();
        assert!(e.contains("member w of dup is ambiguous"), "{e}");
    }

    #[test]
    fn big_endian_lshift() {
        let mut table = TypeTable::new(parse_section(TYPES.as_bytes()).unwrap()).unwrap();
        let m = "btfkit:v1:lshift_u64:task_struct:two";
        let r = resolve(&mut table, &parse_marker(m).unwrap(), m, true).unwrap();
        // byte_sz 1 at byte 16, bit 129: (8-1)*8 + 1.
        assert_eq!(r.value, LocalValue::Const(57));
    }

    #[test]
    fn query_errors_name_the_problem() {
        for (marker, needle) in [
            (
                "btfkit:v1:byte_off:nope:pid",
                "no #[btf::relocatable] type named \"nope\"",
            ),
            ("btfkit:v1:byte_off:task_struct:nope", "has no member nope"),
            ("btfkit:v1:byte_off:task_struct:pid[1]", "not an array"),
            ("btfkit:v1:byte_off:task_struct:comm[16]", "out of bounds"),
            ("btfkit:v1:byte_off:task_struct:pid->x", "not a pointer"),
            (
                "btfkit:v1:byte_off:task_struct:fp->x",
                "does not point to a #[btf::relocatable]",
            ),
            (
                "btfkit:v1:byte_off:task_struct:pid.x",
                "not a struct or union",
            ),
            ("btfkit:v1:signed:task_struct:comm[1]", "array element"),
            ("btfkit:v1:lshift_u64:task_struct:comm", "at most 8 bytes"),
            ("btfkit:v1:enumval_value:task_struct:A", "not an enum"),
            ("btfkit:v1:enumval_value:state:ST_C", "no enumerator ST_C"),
            ("btfkit:v1:byte_off:state:x", "is an enum"),
        ] {
            let e = resolve_marker(marker).unwrap_err().to_string();
            assert!(e.contains(needle), "{marker}: {e}");
            assert!(e.contains(marker), "{marker}: {e}");
        }
    }
}
