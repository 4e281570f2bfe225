//! `btfkit dump`: print the types of a BTF file, BPF object, vmlinux or .ko.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use btfkit_model::Btf;

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// bpftool's raw format (`bpftool btf dump file F`), byte for byte.
    Raw,
    /// Compilable C declarations (a `vmlinux.h`), like bpftool's `format c`.
    C,
}

/// Arguments of `btfkit dump`.
#[derive(clap::Args)]
pub struct Args {
    /// Raw BTF (e.g. /sys/kernel/btf/vmlinux), a BPF object, a vmlinux ELF or a .ko.
    pub file: PathBuf,
    /// Base BTF for split BTF (a module's BTF on top of vmlinux).
    #[arg(long, short = 'B')]
    pub base: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "raw")]
    pub format: Format,
    /// JSON instead of text: `{"types": [...]}` with bpftool's `-j` field names. Unlike
    /// bpftool, unsigned 32-bit enum values above 2^31 are not sign-extended.
    #[arg(long)]
    pub json: bool,
}

fn name_or_anon(btf: &Btf<'_>, off: u32) -> String {
    match btf.name(off) {
        Ok("") | Err(_) => "(anon)".to_string(),
        Ok(s) => s.to_string(),
    }
}

/// One type as JSON, with the field names bpftool's `-j` output uses.
fn type_json(btf: &Btf<'_>, ty: &btfkit_model::Type<'_>) -> serde_json::Value {
    use btfkit_model::Kind;
    use serde_json::{json, Map, Value};
    let kind = ty.kind();
    let mut v = Map::new();
    v.insert("id".into(), json!(ty.id()));
    v.insert("kind".into(), json!(kind.name()));
    v.insert("name".into(), json!(name_or_anon(btf, ty.name_off())));
    let mut put = |k: &str, val: Value| {
        v.insert(k.into(), val);
    };
    match kind {
        Kind::Int => {
            let int = ty.int();
            put("size", json!(ty.size_or_type()));
            put("bits_offset", json!(int.map_or(0, |i| i.offset)));
            put("nr_bits", json!(int.map_or(0, |i| i.bits)));
            let enc = match int.map_or(0, |i| i.encoding.0) {
                0 => "(none)",
                1 => "SIGNED",
                2 => "CHAR",
                4 => "BOOL",
                _ => "UNKN",
            };
            put("encoding", json!(enc));
        }
        Kind::Ptr
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Typedef
        | Kind::TypeTag => put("type_id", json!(ty.size_or_type())),
        Kind::Array => {
            if let Some(a) = ty.array() {
                put("type_id", json!(a.elem_type));
                put("index_type_id", json!(a.index_type));
                put("nr_elems", json!(a.nelems));
            }
        }
        Kind::Struct | Kind::Union => {
            put("size", json!(ty.size_or_type()));
            put("vlen", json!(ty.vlen()));
            let members: Vec<Value> = ty
                .members()
                .map(|m| {
                    let mut o = json!({
                        "name": name_or_anon(btf, m.name_off),
                        "type_id": m.type_id,
                        "bits_offset": m.bit_offset,
                    });
                    if m.bitfield_size > 0 {
                        o["bitfield_size"] = json!(m.bitfield_size);
                    }
                    o
                })
                .collect();
            put("members", json!(members));
        }
        Kind::Enum | Kind::Enum64 => {
            let signed = ty.kflag();
            put(
                "encoding",
                json!(if signed { "SIGNED" } else { "UNSIGNED" }),
            );
            put("size", json!(ty.size_or_type()));
            put("vlen", json!(ty.vlen()));
            let values: Vec<Value> = ty
                .enum_values()
                .map(|e| {
                    let val = if signed {
                        json!(e.value as i64)
                    } else {
                        json!(e.value)
                    };
                    json!({ "name": name_or_anon(btf, e.name_off), "val": val })
                })
                .collect();
            put("values", json!(values));
        }
        Kind::Fwd => put(
            "fwd_kind",
            json!(if ty.kflag() { "union" } else { "struct" }),
        ),
        Kind::Func => {
            put("type_id", json!(ty.size_or_type()));
            put(
                "linkage",
                json!(btfkit_model::Linkage(ty.vlen() as u32).func_name()),
            );
        }
        Kind::FuncProto => {
            put("ret_type_id", json!(ty.size_or_type()));
            put("vlen", json!(ty.vlen()));
            let params: Vec<Value> = ty
                .params()
                .map(|p| json!({ "name": name_or_anon(btf, p.name_off), "type_id": p.type_id }))
                .collect();
            put("params", json!(params));
        }
        Kind::Var => {
            put("type_id", json!(ty.size_or_type()));
            put(
                "linkage",
                json!(ty.linkage().map_or("(unknown)", |l| l.var_name())),
            );
        }
        Kind::Datasec => {
            put("size", json!(ty.size_or_type()));
            put("vlen", json!(ty.vlen()));
            let vars: Vec<Value> = ty
                .datasec_vars()
                .map(|d| json!({ "type_id": d.type_id, "offset": d.offset, "size": d.size }))
                .collect();
            put("vars", json!(vars));
        }
        Kind::Float => put("size", json!(ty.size_or_type())),
        Kind::DeclTag => {
            put("type_id", json!(ty.size_or_type()));
            put(
                "component_idx",
                json!(ty.decl_tag_component().unwrap_or(-1)),
            );
        }
        Kind::Void | Kind::Unknown(_) => {}
    }
    Value::Object(v)
}

/// Streams `{"types":[...]}`, one type at a time.
fn write_json(btf: &Btf<'_>, out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"{\"types\":[")?;
    for (i, id) in btf.own_type_ids().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        let ty = btf
            .type_by_id(id)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        serde_json::to_writer(&mut *out, &type_json(btf, &ty))?;
    }
    out.write_all(b"]}\n")
}

/// The BTF bytes of `path`: the file itself when it is raw BTF, else its `.BTF` section.
pub fn btf_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if btfkit_object::is_elf(&data) {
        let btf = btfkit_object::btf_from_elf(&data)
            .with_context(|| format!("{}: no usable .BTF section", path.display()))?;
        Ok(btf.to_vec())
    } else if btfkit_object::is_raw_btf(&data) {
        Ok(data)
    } else {
        bail!("{}: neither raw BTF nor an ELF file", path.display())
    }
}

/// Runs `btfkit dump`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data = btf_bytes(&args.file)?;
    let base_data = args.base.as_deref().map(btf_bytes).transpose()?;
    let base = base_data
        .as_deref()
        .map(|b| Btf::parse(b).map(Arc::new))
        .transpose()
        .context("base BTF")?;
    let btf = match base {
        Some(base) => Btf::parse_split(&data, base),
        None => Btf::parse(&data),
    }
    .with_context(|| format!("{}", args.file.display()))?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = match (args.json, args.format) {
        (true, _) => write_json(&btf, &mut out),
        (false, Format::Raw) => btfkit_model::dump::raw::write_all(&btf, &mut out),
        (false, Format::C) => btfkit_model::dump::c::write_all(&btf, &mut out),
    }
    .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing the dump"),
    }
}
