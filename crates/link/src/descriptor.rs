//! Type descriptor records: the ASCII records `#[btf::relocatable]` leaves in
//! the `.btfkit.types` section (grammar in DESIGN.md), parsed as hostile input.

use crate::error::{LinkError, Result};

/// The prefix of every record (version 1 of the grammar).
pub const RECORD_PREFIX: &str = "BTFKIT1 ";
/// The section the records live in.
pub const TYPES_SECTION: &str = ".btfkit.types";

/// Most records accepted in one section.
pub const MAX_RECORDS: usize = 1 << 16;
/// Longest record accepted, in bytes.
pub const MAX_RECORD_LEN: usize = 1 << 20;
/// Deepest nesting of `*` and `[...]` in a field type.
pub const MAX_TYPE_DEPTH: usize = 32;
/// Longest name accepted.
pub const MAX_NAME_LEN: usize = 512;

/// A field's type as written in a descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    /// `void` (only behind a pointer).
    Void,
    /// `bool`: C `_Bool`.
    Bool,
    /// `iN` / `uN`: an integer of `size` bytes.
    Int {
        /// Size in bytes (1, 2, 4, 8, 16).
        size: u32,
        /// Signed.
        signed: bool,
    },
    /// `fN`: a float of `size` bytes.
    Float {
        /// Size in bytes (2, 4, 8, 16).
        size: u32,
    },
    /// `*T`.
    Ptr(Box<TypeRef>),
    /// `[T; LEN]`.
    Array(Box<TypeRef>, u32),
    /// `struct NAME`.
    Struct(String),
    /// `union NAME`.
    Union(String),
    /// `enum NAME`.
    Enum(String),
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeRef::Void => f.write_str("void"),
            TypeRef::Bool => f.write_str("bool"),
            TypeRef::Int { size, signed } => {
                write!(f, "{}{}", if *signed { 'i' } else { 'u' }, size)
            }
            TypeRef::Float { size } => write!(f, "f{size}"),
            TypeRef::Ptr(t) => write!(f, "*{t}"),
            TypeRef::Array(t, n) => write!(f, "[{t};{n}]"),
            TypeRef::Struct(n) => write!(f, "struct {n}"),
            TypeRef::Union(n) => write!(f, "union {n}"),
            TypeRef::Enum(n) => write!(f, "enum {n}"),
        }
    }
}

/// A struct or union field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name Rust code uses (for an anonymous member, e.g. `__anon_1`).
    pub name: String,
    /// An anonymous member: its BTF name is empty.
    pub anonymous: bool,
    /// The member's BTF name when it differs from `name` (`NAME@BTFNAME`,
    /// from `#[btf(name = "...")]`, e.g. `self_@self`); never with `anonymous`.
    pub btf_name: Option<String>,
    /// Its type (a bitfield's storage type).
    pub ty: TypeRef,
    /// Bitfield width in bits.
    pub bits: Option<u32>,
}

/// An enumerator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumerator {
    /// Its name.
    pub name: String,
    /// Its value (within `i64` for signed enums, `u64` for unsigned ones).
    pub value: i128,
}

/// What a record describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A struct and its fields in declaration order.
    Struct(Vec<Field>),
    /// A union and its fields.
    Union(Vec<Field>),
    /// An enum.
    Enum {
        /// Size in bytes (1, 2, 4, 8).
        size: u32,
        /// Signed values.
        signed: bool,
        /// Enumerators in declaration order.
        values: Vec<Enumerator>,
    },
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The type's name (its BTF name, flavor included).
    pub name: String,
    /// What it is.
    pub body: Body,
    /// Record number (0-based, over all `.btfkit.types` sections).
    pub record: usize,
    /// ELF section index it came from.
    pub section: usize,
    /// Byte offset of the record in its section.
    pub offset: usize,
}

impl Descriptor {
    /// `struct`, `union` or `enum`.
    pub fn keyword(&self) -> &'static str {
        match self.body {
            Body::Struct(_) => "struct",
            Body::Union(_) => "union",
            Body::Enum { .. } => "enum",
        }
    }
}

/// Parses the contents of a `.btfkit.types` section: records one after
/// another, zero padding between them skipped.
pub fn parse_section(data: &[u8]) -> Result<Vec<Descriptor>> {
    parse_section_at(data, 0, 0)
}

/// Like [`parse_section`] for ELF section `section`, numbering records from
/// `first_record` (bpf-linker keeps one `.btfkit.types` section per static).
pub fn parse_section_at(
    data: &[u8],
    section: usize,
    first_record: usize,
) -> Result<Vec<Descriptor>> {
    let mut out: Vec<Descriptor> = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        if data[pos] == 0 {
            pos += 1;
            continue;
        }
        let record = first_record + out.len();
        if out.len() >= MAX_RECORDS {
            return Err(LinkError::Descriptor {
                record,
                section,
                offset: pos,
                message: format!("more than {MAX_RECORDS} records"),
            });
        }
        let rest = &data[pos..];
        let end = rest
            .iter()
            .take(MAX_RECORD_LEN + 1)
            .position(|&b| b == b'\n')
            .ok_or_else(|| LinkError::Descriptor {
                record,
                section,
                offset: pos,
                message: if rest.len() > MAX_RECORD_LEN {
                    format!("record longer than {MAX_RECORD_LEN} bytes")
                } else {
                    "record does not end with a newline".to_string()
                },
            })?;
        let text = std::str::from_utf8(&rest[..end]).map_err(|e| LinkError::Descriptor {
            record,
            section,
            offset: pos + e.valid_up_to(),
            message: "record is not valid UTF-8".to_string(),
        })?;
        let mut descriptor = parse_record(text, record, pos).map_err(|e| match e {
            LinkError::Descriptor {
                record,
                offset,
                message,
                ..
            } => LinkError::Descriptor {
                record,
                section,
                offset,
                message,
            },
            other => other,
        })?;
        descriptor.section = section;
        out.push(descriptor);
        pos += end + 1;
    }
    Ok(out)
}

/// Parses one record (without its trailing newline). `offset` is the
/// record's position in its section, for error messages (the section
/// index is left 0; [`parse_section_at`] sets it).
pub fn parse_record(text: &str, record: usize, offset: usize) -> Result<Descriptor> {
    let mut p = Parser {
        text,
        pos: 0,
        record,
        base: offset,
    };
    if !text.starts_with(RECORD_PREFIX) {
        if text.starts_with("BTFKIT") {
            return Err(p.error("unsupported record version (this btfkit reads BTFKIT1)"));
        }
        return Err(p.error("record does not start with \"BTFKIT1 \""));
    }
    p.pos = RECORD_PREFIX.len();
    let keyword = p.word()?;
    let descriptor = match keyword {
        "struct" | "union" => {
            p.expect(" ")?;
            let name = p.name()?;
            p.expect("{")?;
            let mut fields = Vec::new();
            while !p.eat("}") {
                fields.push(p.field()?);
                if fields.len() > u16::MAX as usize {
                    return Err(p.error("more than 65535 fields"));
                }
            }
            let body = if keyword == "struct" {
                Body::Struct(fields)
            } else {
                Body::Union(fields)
            };
            Descriptor {
                name,
                body,
                record,
                section: 0,
                offset,
            }
        }
        "enum" => {
            p.expect(" ")?;
            let name = p.name()?;
            p.expect(":")?;
            let size_at = p.pos;
            let size = p.number()?;
            if !matches!(size, 1 | 2 | 4 | 8) {
                p.pos = size_at;
                return Err(p.error(&format!("enum size {size} is not 1, 2, 4 or 8")));
            }
            p.expect(":")?;
            let signed = if p.eat("s") {
                true
            } else if p.eat("u") {
                false
            } else {
                return Err(p.error("expected 's' or 'u' (enum signedness)"));
            };
            p.expect("{")?;
            let mut values = Vec::new();
            while !p.eat("}") {
                let name = p.name()?;
                p.expect("=")?;
                let value_at = p.pos;
                let value = p.integer()?;
                let bits = size as u32 * 8;
                let fits = if signed {
                    let min = -(1i128 << (bits - 1));
                    let max = (1i128 << (bits - 1)) - 1;
                    (min..=max).contains(&value)
                } else {
                    (0..(1i128 << bits)).contains(&value)
                };
                if !fits {
                    p.pos = value_at;
                    return Err(p.error(&format!(
                        "enumerator {name} = {value} does not fit a {} {size}-byte enum",
                        if signed { "signed" } else { "unsigned" }
                    )));
                }
                p.expect(";")?;
                values.push(Enumerator { name, value });
                if values.len() > u16::MAX as usize {
                    return Err(p.error("more than 65535 enumerators"));
                }
            }
            Descriptor {
                name,
                body: Body::Enum {
                    size: size as u32,
                    signed,
                    values,
                },
                record,
                section: 0,
                offset,
            }
        }
        other => return Err(p.error(&format!("expected struct, union or enum, found {other:?}"))),
    };
    if p.pos != text.len() {
        return Err(p.error("unexpected text after the closing '}'"));
    }
    Ok(descriptor)
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
    record: usize,
    base: usize,
}

impl<'t> Parser<'t> {
    fn error(&self, message: &str) -> LinkError {
        let rest = self.text.get(self.pos..).unwrap_or("");
        let near: String = rest.chars().take(24).collect();
        LinkError::Descriptor {
            section: 0,
            record: self.record,
            offset: self.base + self.pos,
            message: if near.is_empty() {
                format!("{message} (at the end of the record)")
            } else {
                format!("{message} (near {near:?})")
            },
        }
    }

    fn rest(&self) -> &'t str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<()> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(&format!("expected {token:?}")))
        }
    }

    /// A run of lower-case letters (a keyword).
    fn word(&mut self) -> Result<&'t str> {
        let rest = self.rest();
        let len = rest.bytes().take_while(|b| b.is_ascii_lowercase()).count();
        if len == 0 {
            return Err(self.error("expected a keyword"));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    /// An identifier: `[A-Za-z_][A-Za-z0-9_]*`.
    fn name(&mut self) -> Result<String> {
        let rest = self.rest();
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if len == 0 || rest.as_bytes()[0].is_ascii_digit() {
            return Err(self.error("expected a name"));
        }
        if len > MAX_NAME_LEN {
            return Err(self.error(&format!("name longer than {MAX_NAME_LEN} bytes")));
        }
        self.pos += len;
        Ok(rest[..len].to_string())
    }

    /// A decimal number without sign that fits `u32`.
    fn number(&mut self) -> Result<u64> {
        let rest = self.rest();
        let len = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return Err(self.error("expected a decimal number"));
        }
        let value: u64 = rest[..len]
            .parse()
            .ok()
            .filter(|v| *v <= u64::from(u32::MAX))
            .ok_or_else(|| self.error("number does not fit 32 bits"))?;
        self.pos += len;
        Ok(value)
    }

    /// A decimal integer, optionally negative, within `i64` ∪ `u64`.
    fn integer(&mut self) -> Result<i128> {
        let negative = self.eat("-");
        let rest = self.rest();
        let len = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || len > 20 {
            return Err(self.error("expected a decimal integer"));
        }
        let magnitude: i128 = rest[..len]
            .parse()
            .map_err(|_| self.error("expected a decimal integer"))?;
        let value = if negative { -magnitude } else { magnitude };
        if value < i128::from(i64::MIN) || value > i128::from(u64::MAX) {
            return Err(self.error("integer does not fit 64 bits"));
        }
        self.pos += len;
        Ok(value)
    }

    fn field(&mut self) -> Result<Field> {
        let anonymous = self.eat("?");
        let name = self.name()?;
        let btf_name = if self.eat("@") {
            if anonymous {
                return Err(
                    self.error("an anonymous member has no BTF name (`?` and `@` together)")
                );
            }
            Some(self.name()?)
        } else {
            None
        };
        self.expect(":")?;
        let ty = self.ty(0)?;
        let bits = if self.eat("/") {
            let at = self.pos;
            let bits = self.number()?;
            if bits == 0 || bits > 128 {
                self.pos = at;
                return Err(self.error(&format!("bitfield width {bits} is not in 1..=128")));
            }
            Some(bits as u32)
        } else {
            None
        };
        self.expect(";")?;
        Ok(Field {
            name,
            anonymous,
            btf_name,
            ty,
            bits,
        })
    }

    fn ty(&mut self, depth: usize) -> Result<TypeRef> {
        if depth > MAX_TYPE_DEPTH {
            return Err(self.error(&format!("type nested deeper than {MAX_TYPE_DEPTH} levels")));
        }
        if self.eat("*") {
            return Ok(TypeRef::Ptr(Box::new(self.ty(depth + 1)?)));
        }
        if self.eat("[") {
            let elem = self.ty(depth + 1)?;
            self.expect(";")?;
            let len = self.number()?;
            self.expect("]")?;
            return Ok(TypeRef::Array(Box::new(elem), len as u32));
        }
        let at = self.pos;
        let word = self.word()?;
        let sized = |p: &mut Parser<'_>, allowed: &[u64]| -> Result<u32> {
            let size = p.number()?;
            if !allowed.contains(&size) {
                p.pos = at;
                return Err(p.error(&format!("unsupported size {size}")));
            }
            Ok(size as u32)
        };
        Ok(match word {
            "void" => TypeRef::Void,
            "bool" => TypeRef::Bool,
            "i" => TypeRef::Int {
                size: sized(self, &[1, 2, 4, 8, 16])?,
                signed: true,
            },
            "u" => TypeRef::Int {
                size: sized(self, &[1, 2, 4, 8, 16])?,
                signed: false,
            },
            "f" => TypeRef::Float {
                size: sized(self, &[2, 4, 8, 16])?,
            },
            "struct" | "union" | "enum" => {
                self.expect(" ")?;
                let name = self.name()?;
                match word {
                    "struct" => TypeRef::Struct(name),
                    "union" => TypeRef::Union(name),
                    _ => TypeRef::Enum(name),
                }
            }
            other => {
                self.pos = at;
                return Err(self.error(&format!("unknown type {other:?}")));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_struct_with_every_type_form() {
        let text = "BTFKIT1 struct task_struct{pid:i4;flags:u4;real_parent:*struct task_struct;\
                    ?__anon_1:union task_anon;comm:[u1;16];b:bool;f:f8;v:*void;\
                    grid:[[i2;3];4];bf:u1/3;e:enum state;}\n";
        let descs = parse_section(text.as_bytes()).unwrap();
        assert_eq!(descs.len(), 1);
        let d = &descs[0];
        assert_eq!(d.name, "task_struct");
        let Body::Struct(fields) = &d.body else {
            panic!("not a struct")
        };
        let shown: Vec<String> = fields
            .iter()
            .map(|f| {
                format!(
                    "{}{}:{}{}",
                    if f.anonymous { "?" } else { "" },
                    f.name,
                    f.ty,
                    f.bits.map(|b| format!("/{b}")).unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "pid:i4",
                "flags:u4",
                "real_parent:*struct task_struct",
                "?__anon_1:union task_anon",
                "comm:[u1;16]",
                "b:bool",
                "f:f8",
                "v:*void",
                "grid:[[i2;3];4]",
                "bf:u1/3",
                "e:enum state",
            ]
        );
    }

    #[test]
    fn parses_a_member_btf_name() {
        let descs =
            parse_section(b"BTFKIT1 struct cgroup{self_@self:struct css;level:i4;}\n").unwrap();
        let Body::Struct(fields) = &descs[0].body else {
            panic!("not a struct")
        };
        assert_eq!(fields[0].name, "self_");
        assert_eq!(fields[0].btf_name.as_deref(), Some("self"));
        assert_eq!(fields[1].btf_name, None);
        assert!(err(b"BTFKIT1 struct a{?x@y:i4;}\n").contains("anonymous member has no BTF name"));
        assert!(err(b"BTFKIT1 struct a{x@:i4;}\n").contains("expected a name"));
    }

    #[test]
    fn parses_enums_and_skips_padding() {
        let data = b"BTFKIT1 enum state:4:s{A=1;B=-2;}\n\0\0\0BTFKIT1 enum big:8:u{X=18446744073709551615;}\n\0";
        let descs = parse_section(data).unwrap();
        assert_eq!(descs.len(), 2);
        assert_eq!(
            descs[0].body,
            Body::Enum {
                size: 4,
                signed: true,
                values: vec![
                    Enumerator {
                        name: "A".into(),
                        value: 1
                    },
                    Enumerator {
                        name: "B".into(),
                        value: -2
                    }
                ]
            }
        );
        assert_eq!(descs[1].offset, 37);
        assert_eq!(descs[1].record, 1);
    }

    fn err(data: &[u8]) -> String {
        parse_section(data).unwrap_err().to_string()
    }

    #[test]
    fn hostile_records_are_clear_errors() {
        assert!(err(b"BTFKIT1 struct a{x:i4;}").contains("newline"));
        assert!(err(b"BTFKIT2 struct a{}\n").contains("unsupported record version"));
        assert!(err(b"hello\n").contains("does not start"));
        assert!(err(b"BTFKIT1 struct a{x:i3;}\n").contains("unsupported size 3"));
        assert!(err(b"BTFKIT1 struct a{x:i4}\n").contains("expected \";\""));
        assert!(err(b"BTFKIT1 struct 1a{}\n").contains("expected a name"));
        assert!(err(b"BTFKIT1 struct a{}x\n").contains("after the closing"));
        assert!(err(b"BTFKIT1 enum e:4:u{A=-1;}\n").contains("does not fit"));
        assert!(err(b"BTFKIT1 enum e:1:s{A=128;}\n").contains("does not fit"));
        assert!(err(b"BTFKIT1 enum e:3:s{}\n").contains("enum size 3"));
        assert!(err(b"BTFKIT1 struct a{x:u4/0;}\n").contains("bitfield width 0"));
        assert!(err(b"BTFKIT1 struct a{x:[u4;99999999999];}\n").contains("32 bits"));
        assert!(err(b"BTFKIT1 struct a{x:i4;}\nBTFKIT1 struct b{\xff}\n")
            .contains("record #1 (.btfkit.types section #0, offset 0x29)"));
        let deep = format!("BTFKIT1 struct a{{x:{}i4;}}\n", "*".repeat(100));
        assert!(err(deep.as_bytes()).contains("deeper"));
        let long = format!("BTFKIT1 struct {}{{}}\n", "a".repeat(1000));
        assert!(err(long.as_bytes()).contains("longer"));
        // The record number and offset name the bad record.
        let e = err(b"BTFKIT1 struct a{}\n\0\0BTFKIT1 struct b{x:q;}\n");
        assert!(
            e.contains("record #1 (.btfkit.types section #0, offset 0x"),
            "{e}"
        );
        assert!(e.contains("unknown type \"q\""), "{e}");
    }

    #[test]
    fn fuzzed_prefixes_never_panic() {
        let good = b"BTFKIT1 struct t{pid:i4;?__anon_1:union u;c:[u1;16];p:*struct t;b:u4/3;}\nBTFKIT1 enum e:8:s{A=-9223372036854775808;}\n";
        for cut in 0..good.len() {
            let _ = parse_section(&good[..cut]);
            let mut flipped = good.to_vec();
            flipped[cut] ^= 0x5a;
            let _ = parse_section(&flipped);
        }
    }
}
