//! bpftool's raw format (`bpftool btf dump file F`), byte for byte: one line
//! per type, `[id] KIND 'name' ...`, members, enumerators and parameters on
//! tab-indented lines below.

use std::io::{self, Write};

use crate::{Btf, Kind, Type};

fn name_or_anon<'b>(btf: &'b Btf<'_>, off: u32) -> &'b str {
    match btf.name(off) {
        Ok("") | Err(_) => "(anon)",
        Ok(s) => s,
    }
}

fn int_encoding(enc: u32) -> &'static str {
    match enc {
        0 => "(none)",
        1 => "SIGNED",
        2 => "CHAR",
        4 => "BOOL",
        _ => "UNKN",
    }
}

/// Writes every own type of `btf` (split BTF: only the split types) in
/// bpftool's raw format.
pub fn write_all(btf: &Btf<'_>, out: &mut impl Write) -> io::Result<()> {
    for id in btf.own_type_ids() {
        match btf.type_by_id(id) {
            Ok(ty) => write_type(btf, &ty, out)?,
            Err(e) => writeln!(out, "[{id}] <error: {e}>")?,
        }
    }
    Ok(())
}

/// Writes one type in bpftool's raw format.
pub fn write_type(btf: &Btf<'_>, ty: &Type<'_>, out: &mut impl Write) -> io::Result<()> {
    let kind = ty.kind();
    let name = name_or_anon(btf, ty.name_off());
    write!(out, "[{}] {} '{}'", ty.id(), kind.name(), name)?;
    match kind {
        Kind::Int => {
            let int = ty.int().unwrap_or(crate::Int {
                encoding: crate::IntEncoding(0),
                offset: 0,
                bits: 0,
            });
            writeln!(
                out,
                " size={} bits_offset={} nr_bits={} encoding={}",
                ty.size_or_type(),
                int.offset,
                int.bits,
                int_encoding(int.encoding.0)
            )
        }
        Kind::Ptr
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Typedef
        | Kind::TypeTag => writeln!(out, " type_id={}", ty.size_or_type()),
        Kind::Array => {
            let a = ty.array().unwrap_or(crate::Array {
                elem_type: 0,
                index_type: 0,
                nelems: 0,
            });
            writeln!(
                out,
                " type_id={} index_type_id={} nr_elems={}",
                a.elem_type, a.index_type, a.nelems
            )
        }
        Kind::Struct | Kind::Union => {
            writeln!(out, " size={} vlen={}", ty.size_or_type(), ty.vlen())?;
            for m in ty.members() {
                write!(
                    out,
                    "\t'{}' type_id={} bits_offset={}",
                    name_or_anon(btf, m.name_off),
                    m.type_id,
                    m.bit_offset
                )?;
                if m.bitfield_size > 0 {
                    write!(out, " bitfield_size={}", m.bitfield_size)?;
                }
                writeln!(out)?;
            }
            Ok(())
        }
        Kind::Enum | Kind::Enum64 => {
            let signed = ty.kflag();
            writeln!(
                out,
                " encoding={} size={} vlen={}",
                if signed { "SIGNED" } else { "UNSIGNED" },
                ty.size_or_type(),
                ty.vlen()
            )?;
            for v in ty.enum_values() {
                let n = name_or_anon(btf, v.name_off);
                match (kind, signed) {
                    (Kind::Enum, true) => writeln!(out, "\t'{n}' val={}", v.value as i32)?,
                    (Kind::Enum, false) => writeln!(out, "\t'{n}' val={}", v.value as u32)?,
                    (_, true) => writeln!(out, "\t'{n}' val={}LL", v.value as i64)?,
                    (_, false) => writeln!(out, "\t'{n}' val={}ULL", v.value)?,
                }
            }
            Ok(())
        }
        Kind::Fwd => writeln!(
            out,
            " fwd_kind={}",
            if ty.kflag() { "union" } else { "struct" }
        ),
        Kind::Func => writeln!(
            out,
            " type_id={} linkage={}",
            ty.size_or_type(),
            crate::Linkage(ty.vlen() as u32).func_name()
        ),
        Kind::FuncProto => {
            writeln!(out, " ret_type_id={} vlen={}", ty.size_or_type(), ty.vlen())?;
            for p in ty.params() {
                writeln!(
                    out,
                    "\t'{}' type_id={}",
                    name_or_anon(btf, p.name_off),
                    p.type_id
                )?;
            }
            Ok(())
        }
        Kind::Var => writeln!(
            out,
            " type_id={}, linkage={}",
            ty.size_or_type(),
            ty.linkage().unwrap_or(crate::Linkage(0)).var_name()
        ),
        Kind::Datasec => {
            writeln!(out, " size={} vlen={}", ty.size_or_type(), ty.vlen())?;
            for v in ty.datasec_vars() {
                write!(
                    out,
                    "\ttype_id={} offset={} size={}",
                    v.type_id, v.offset, v.size
                )?;
                match btf.type_by_id(v.type_id) {
                    Ok(t) => writeln!(
                        out,
                        " ({} '{}')",
                        t.kind().name(),
                        name_or_anon(btf, t.name_off())
                    )?,
                    Err(_) => writeln!(out)?,
                }
            }
            Ok(())
        }
        Kind::Float => writeln!(out, " size={}", ty.size_or_type()),
        Kind::DeclTag => writeln!(
            out,
            " type_id={} component_idx={}",
            ty.size_or_type(),
            ty.decl_tag_component().unwrap_or(-1)
        ),
        Kind::Void | Kind::Unknown(_) => writeln!(out, " kind={}", kind.raw()),
    }
}
