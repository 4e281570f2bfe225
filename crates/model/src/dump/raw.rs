//! bpftool's raw format (`bpftool btf dump file F`), byte for byte: one line
//! per type, `[id] KIND 'name' ...`, members, enumerators and parameters on
//! tab-indented lines below.
//!
//! Split BTF prints only its own types, numbered after the base's, as bpftool
//! does with `-B`. Names are written as their bytes (bpftool does not check
//! UTF-8); an empty name or a bad offset is `(anon)`.

use std::io::{self, Write};

use super::name_bytes;
use crate::{Btf, Kind, Linkage, Type};

/// bpftool's word for an INT encoding (several bits set is `UNKN`, as in bpftool).
pub(crate) fn int_encoding_name(enc: u32) -> &'static str {
    match enc {
        0 => "(none)",
        1 => "SIGNED",
        2 => "CHAR",
        4 => "BOOL",
        _ => "UNKN",
    }
}

/// Writes `'name'`.
fn quoted(out: &mut impl Write, btf: &Btf<'_>, off: u32) -> io::Result<()> {
    out.write_all(b"'")?;
    out.write_all(name_bytes(btf, off))?;
    out.write_all(b"'")
}

/// Writes every own type of `btf` (split BTF: only the split types) in
/// bpftool's raw format.
pub fn write_all(btf: &Btf<'_>, out: &mut impl Write) -> io::Result<()> {
    for id in btf.own_type_ids() {
        let ty = btf
            .type_by_id(id)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("type [{id}]: {e}")))?;
        write_type(btf, &ty, out)?;
    }
    Ok(())
}

/// Writes one type (its line and any member lines) in bpftool's raw format.
pub fn write_type(btf: &Btf<'_>, ty: &Type<'_>, out: &mut impl Write) -> io::Result<()> {
    let kind = ty.kind();
    write!(out, "[{}] {} ", ty.id(), kind.name())?;
    quoted(out, btf, ty.name_off())?;
    let size_or_type = ty.size_or_type();
    match kind {
        Kind::Int => {
            let (offset, bits, encoding) = ty
                .int()
                .map_or((0, 0, 0), |i| (i.offset, i.bits, i.encoding.0));
            writeln!(
                out,
                " size={size_or_type} bits_offset={offset} nr_bits={bits} encoding={}",
                int_encoding_name(encoding)
            )
        }
        Kind::Ptr
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Typedef
        | Kind::TypeTag => writeln!(out, " type_id={size_or_type}"),
        Kind::Array => {
            let (elem, index, n) = ty
                .array()
                .map_or((0, 0, 0), |a| (a.elem_type, a.index_type, a.nelems));
            writeln!(out, " type_id={elem} index_type_id={index} nr_elems={n}")
        }
        Kind::Struct | Kind::Union => {
            writeln!(out, " size={size_or_type} vlen={}", ty.vlen())?;
            for m in ty.members() {
                out.write_all(b"\t")?;
                quoted(out, btf, m.name_off)?;
                write!(out, " type_id={} bits_offset={}", m.type_id, m.bit_offset)?;
                // Only kflag members carry a size; bpftool prints it when non-zero.
                if m.bitfield_size > 0 {
                    write!(out, " bitfield_size={}", m.bitfield_size)?;
                }
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Kind::Enum | Kind::Enum64 => {
            let signed = ty.kflag();
            writeln!(
                out,
                " encoding={} size={size_or_type} vlen={}",
                if signed { "SIGNED" } else { "UNSIGNED" },
                ty.vlen()
            )?;
            for v in ty.enum_values() {
                out.write_all(b"\t")?;
                quoted(out, btf, v.name_off)?;
                match (kind, signed) {
                    (Kind::Enum, true) => writeln!(out, " val={}", v.value as i32)?,
                    (Kind::Enum, false) => writeln!(out, " val={}", v.value as u32)?,
                    (_, true) => writeln!(out, " val={}LL", v.value as i64)?,
                    (_, false) => writeln!(out, " val={}ULL", v.value)?,
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
            " type_id={size_or_type} linkage={}",
            Linkage(u32::from(ty.vlen())).func_name()
        ),
        Kind::FuncProto => {
            writeln!(out, " ret_type_id={size_or_type} vlen={}", ty.vlen())?;
            for p in ty.params() {
                out.write_all(b"\t")?;
                quoted(out, btf, p.name_off)?;
                writeln!(out, " type_id={}", p.type_id)?;
            }
            Ok(())
        }
        // bpftool's one comma in the raw format.
        Kind::Var => writeln!(
            out,
            " type_id={size_or_type}, linkage={}",
            ty.linkage().unwrap_or(Linkage(u32::MAX)).var_name()
        ),
        Kind::Datasec => {
            writeln!(out, " size={size_or_type} vlen={}", ty.vlen())?;
            for v in ty.datasec_vars() {
                write!(
                    out,
                    "\ttype_id={} offset={} size={}",
                    v.type_id, v.offset, v.size
                )?;
                // bpftool names the variable (or function) each entry points at.
                match btf.type_by_id(v.type_id) {
                    Ok(t) => {
                        write!(out, " ({} ", t.kind().name())?;
                        quoted(out, btf, t.name_off())?;
                        out.write_all(b")\n")?;
                    }
                    Err(_) => out.write_all(b"\n")?,
                }
            }
            Ok(())
        }
        Kind::Float => writeln!(out, " size={size_or_type}"),
        Kind::DeclTag => writeln!(
            out,
            " type_id={size_or_type} component_idx={}",
            ty.decl_tag_component().unwrap_or(-1)
        ),
        Kind::Void | Kind::Unknown(_) => writeln!(out, " kind={}", kind.raw()),
    }
}
