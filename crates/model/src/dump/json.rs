//! bpftool's JSON (`bpftool -j btf dump file F`): `{"types":[...]}` with one
//! object per type, in bpftool's field names and field order, streamed one type
//! at a time.
//!
//! Byte for byte what bpftool 7.1 prints, with one deliberate difference:
//! bpftool sign-extends the values of *unsigned* 32-bit enumerators at or above
//! 2^31 to 64 bits in JSON (`2147483648` comes out as `18446744071562067968`);
//! here they keep their value, as in bpftool's text output. Strings are
//! escaped per RFC 8259 (bpftool leaves most control characters raw) and
//! names that are not UTF-8 are written with U+FFFD replacements.

use std::io::{self, Write};

use super::name_bytes;
use crate::{Btf, Kind, Linkage, Type};

/// Writes every own type of `btf` (split BTF: only the split types) as
/// `{"types":[...]}` followed by a newline.
pub fn write_all(btf: &Btf<'_>, out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"{\"types\":[")?;
    for (i, id) in btf.own_type_ids().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        let ty = btf
            .type_by_id(id)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("type [{id}]: {e}")))?;
        write_type(btf, &ty, out)?;
    }
    out.write_all(b"]}\n")
}

/// Writes one type as a JSON object (no trailing separator).
pub fn write_type(btf: &Btf<'_>, ty: &Type<'_>, out: &mut impl Write) -> io::Result<()> {
    let kind = ty.kind();
    write!(out, "{{\"id\":{},\"kind\":", ty.id())?;
    write_str(out, kind.name().as_bytes())?;
    out.write_all(b",\"name\":")?;
    write_str(out, name_bytes(btf, ty.name_off()))?;
    let size_or_type = ty.size_or_type();
    match kind {
        Kind::Int => {
            let (offset, bits, encoding) = ty
                .int()
                .map_or((0, 0, 0), |i| (i.offset, i.bits, i.encoding.0));
            write!(
                out,
                ",\"size\":{size_or_type},\"bits_offset\":{offset},\"nr_bits\":{bits},\"encoding\":\"{}\"",
                super::raw::int_encoding_name(encoding)
            )?;
        }
        Kind::Ptr
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Typedef
        | Kind::TypeTag => {
            write!(out, ",\"type_id\":{size_or_type}")?;
        }
        Kind::Array => {
            let (elem, index, n) = ty
                .array()
                .map_or((0, 0, 0), |a| (a.elem_type, a.index_type, a.nelems));
            write!(
                out,
                ",\"type_id\":{elem},\"index_type_id\":{index},\"nr_elems\":{n}"
            )?;
        }
        Kind::Struct | Kind::Union => {
            write!(
                out,
                ",\"size\":{size_or_type},\"vlen\":{},\"members\":[",
                ty.vlen()
            )?;
            for (i, m) in ty.members().enumerate() {
                out.write_all(if i > 0 { b",{\"name\":" } else { b"{\"name\":" })?;
                write_str(out, name_bytes(btf, m.name_off))?;
                write!(
                    out,
                    ",\"type_id\":{},\"bits_offset\":{}",
                    m.type_id, m.bit_offset
                )?;
                if m.bitfield_size > 0 {
                    write!(out, ",\"bitfield_size\":{}", m.bitfield_size)?;
                }
                out.write_all(b"}")?;
            }
            out.write_all(b"]")?;
        }
        Kind::Enum | Kind::Enum64 => {
            let signed = ty.kflag();
            write!(
                out,
                ",\"encoding\":\"{}\",\"size\":{size_or_type},\"vlen\":{},\"values\":[",
                if signed { "SIGNED" } else { "UNSIGNED" },
                ty.vlen()
            )?;
            for (i, v) in ty.enum_values().enumerate() {
                out.write_all(if i > 0 { b",{\"name\":" } else { b"{\"name\":" })?;
                write_str(out, name_bytes(btf, v.name_off))?;
                match (kind, signed) {
                    (Kind::Enum, true) => write!(out, ",\"val\":{}}}", v.value as i32)?,
                    (Kind::Enum, false) => write!(out, ",\"val\":{}}}", v.value as u32)?,
                    (_, true) => write!(out, ",\"val\":{}}}", v.value as i64)?,
                    (_, false) => write!(out, ",\"val\":{}}}", v.value)?,
                }
            }
            out.write_all(b"]")?;
        }
        Kind::Fwd => {
            let fwd_kind = if ty.kflag() { "union" } else { "struct" };
            write!(out, ",\"fwd_kind\":\"{fwd_kind}\"")?;
        }
        Kind::Func => {
            let linkage = Linkage(u32::from(ty.vlen())).func_name();
            write!(out, ",\"type_id\":{size_or_type},\"linkage\":\"{linkage}\"")?;
        }
        Kind::FuncProto => {
            write!(
                out,
                ",\"ret_type_id\":{size_or_type},\"vlen\":{},\"params\":[",
                ty.vlen()
            )?;
            for (i, p) in ty.params().enumerate() {
                out.write_all(if i > 0 { b",{\"name\":" } else { b"{\"name\":" })?;
                write_str(out, name_bytes(btf, p.name_off))?;
                write!(out, ",\"type_id\":{}}}", p.type_id)?;
            }
            out.write_all(b"]")?;
        }
        Kind::Var => {
            let linkage = ty.linkage().unwrap_or(Linkage(u32::MAX)).var_name();
            write!(out, ",\"type_id\":{size_or_type},\"linkage\":\"{linkage}\"")?;
        }
        Kind::Datasec => {
            write!(
                out,
                ",\"size\":{size_or_type},\"vlen\":{},\"vars\":[",
                ty.vlen()
            )?;
            for (i, v) in ty.datasec_vars().enumerate() {
                let sep = if i > 0 { "," } else { "" };
                write!(
                    out,
                    "{sep}{{\"type_id\":{},\"offset\":{},\"size\":{}}}",
                    v.type_id, v.offset, v.size
                )?;
            }
            out.write_all(b"]")?;
        }
        Kind::Float => write!(out, ",\"size\":{size_or_type}")?,
        Kind::DeclTag => {
            let component = ty.decl_tag_component().unwrap_or(-1);
            write!(
                out,
                ",\"type_id\":{size_or_type},\"component_idx\":{component}"
            )?;
        }
        Kind::Void | Kind::Unknown(_) => {}
    }
    out.write_all(b"}")
}

/// Writes `bytes` as a JSON string: quoted, escaped, invalid UTF-8 replaced.
fn write_str(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(b"\"")?;
    let text = String::from_utf8_lossy(bytes);
    let mut plain_from = 0;
    for (i, c) in text.char_indices() {
        let escaped: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.write_all(&text.as_bytes()[plain_from..i])?;
        match escaped {
            Some(e) => out.write_all(e.as_bytes())?,
            None => write!(out, "\\u{:04x}", c as u32)?,
        }
        plain_from = i + c.len_utf8();
    }
    out.write_all(&text.as_bytes()[plain_from..])?;
    out.write_all(b"\"")
}
