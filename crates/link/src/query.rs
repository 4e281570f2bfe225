//! Query markers: the names of the undefined functions the program-side
//! macros call, `btfkit:v1:<kind>:<type>:<access>` (grammar in DESIGN.md).

use btfkit_model::CoreReloKind;

use crate::error::{LinkError, Result};

/// Every marker symbol starts with this.
pub const MARKER_PREFIX: &str = "btfkit:";
/// Version 1 markers start with this.
pub const MARKER_PREFIX_V1: &str = "btfkit:v1:";
/// Longest marker accepted.
pub const MAX_MARKER_LEN: usize = 4096;
/// Most path segments and indices in one access.
pub const MAX_ACCESS_STEPS: usize = 256;

/// One step of a field access: a member name and the array indices after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Member name (for an anonymous member, its Rust-side name).
    pub name: String,
    /// `[n]` indices, in order.
    pub indices: Vec<u32>,
}

/// What a query asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A field path, split at `->` into hops; each hop is a list of `.`-separated segments.
    Field(Vec<Vec<Segment>>),
    /// The type itself.
    Type,
    /// An enumerator by name.
    Enumerator(String),
}

/// A parsed marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// The root type's name.
    pub type_name: String,
    /// What is asked.
    pub access: Access,
}

fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses a marker symbol name.
pub fn parse_marker(symbol: &str) -> Result<Query> {
    let fail = |message: String| LinkError::Marker {
        symbol: symbol.to_string(),
        message,
    };
    if symbol.len() > MAX_MARKER_LEN {
        return Err(fail(format!("longer than {MAX_MARKER_LEN} bytes")));
    }
    let Some(rest) = symbol.strip_prefix(MARKER_PREFIX_V1) else {
        return Err(fail(
            "unsupported marker version (this btfkit reads btfkit:v1:...)".to_string(),
        ));
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(kind), Some(type_name), Some(access)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(fail(
            "expected btfkit:v1:<kind>:<type>:<access>".to_string(),
        ));
    };
    let kind = CoreReloKind::from_short_name(kind)
        .ok_or_else(|| fail(format!("unknown relocation kind {kind:?}")))?;
    if !is_ident(type_name) {
        return Err(fail(format!(
            "type name {type_name:?} is not an identifier"
        )));
    }
    let access = if kind.is_field() {
        Access::Field(parse_field_access(access).map_err(fail)?)
    } else if kind.is_enumval() {
        if !is_ident(access) {
            return Err(fail(format!(
                "enumerator name {access:?} is not an identifier"
            )));
        }
        Access::Enumerator(access.to_string())
    } else {
        if !access.is_empty() {
            return Err(fail(format!(
                "a {kind} query takes no access path, found {access:?}"
            )));
        }
        Access::Type
    };
    Ok(Query {
        kind,
        type_name: type_name.to_string(),
        access,
    })
}

/// Parses `seg (('.' | '->') seg)*`, `seg = ident ('[' decimal ']')*`.
fn parse_field_access(text: &str) -> std::result::Result<Vec<Vec<Segment>>, String> {
    if text.is_empty() {
        return Err("a field query needs an access path".to_string());
    }
    let mut steps = 0usize;
    let mut hops = Vec::new();
    for hop in text.split("->") {
        let mut segments = Vec::new();
        for seg in hop.split('.') {
            let name_len = seg.find('[').unwrap_or(seg.len());
            let (name, mut indices_text) = seg.split_at(name_len);
            if !is_ident(name) {
                return Err(format!(
                    "access path {text:?}: {name:?} is not a member name"
                ));
            }
            let mut indices = Vec::new();
            while !indices_text.is_empty() {
                let Some(inner) = indices_text.strip_prefix('[') else {
                    return Err(format!("access path {text:?}: expected '[' in {seg:?}"));
                };
                let Some(close) = inner.find(']') else {
                    return Err(format!("access path {text:?}: missing ']' in {seg:?}"));
                };
                let digits = &inner[..close];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "access path {text:?}: index {digits:?} is not a decimal number"
                    ));
                }
                let index: u32 = digits.parse().map_err(|_| {
                    format!("access path {text:?}: index {digits} does not fit 32 bits")
                })?;
                indices.push(index);
                steps += 1;
                indices_text = &inner[close + 1..];
            }
            steps += 1;
            if steps > MAX_ACCESS_STEPS {
                return Err(format!(
                    "access path has more than {MAX_ACCESS_STEPS} steps"
                ));
            }
            segments.push(Segment {
                name: name.to_string(),
                indices,
            });
        }
        hops.push(segments);
    }
    Ok(hops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(name: &str, indices: &[u32]) -> Segment {
        Segment {
            name: name.into(),
            indices: indices.to_vec(),
        }
    }

    #[test]
    fn parses_every_access_form() {
        let q = parse_marker("btfkit:v1:byte_off:task_struct:pid").unwrap();
        assert_eq!(q.kind, CoreReloKind::FieldByteOffset);
        assert_eq!(q.type_name, "task_struct");
        assert_eq!(q.access, Access::Field(vec![vec![seg("pid", &[])]]));

        let q = parse_marker("btfkit:v1:byte_sz:task_struct:a.b[3][4].c->tgid").unwrap();
        assert_eq!(
            q.access,
            Access::Field(vec![
                vec![seg("a", &[]), seg("b", &[3, 4]), seg("c", &[])],
                vec![seg("tgid", &[])]
            ])
        );
        let q = parse_marker("btfkit:v1:type_size:task_struct___v1:").unwrap();
        assert_eq!(q.access, Access::Type);
        assert_eq!(q.type_name, "task_struct___v1");
        let q = parse_marker("btfkit:v1:enumval_value:state:ST_B").unwrap();
        assert_eq!(q.access, Access::Enumerator("ST_B".into()));
    }

    #[test]
    fn malformed_markers_are_errors() {
        for (marker, needle) in [
            ("btfkit:v2:byte_off:t:a", "unsupported marker version"),
            ("btfkit:v1:byte_off:t", "expected btfkit:v1"),
            ("btfkit:v1:offset:t:a", "unknown relocation kind"),
            ("btfkit:v1:byte_off:t:", "needs an access path"),
            ("btfkit:v1:byte_off:t:a..b", "not a member name"),
            ("btfkit:v1:byte_off:t:a[x]", "not a decimal"),
            ("btfkit:v1:byte_off:t:a[1", "missing ']'"),
            ("btfkit:v1:byte_off:t:a[99999999999]", "32 bits"),
            ("btfkit:v1:byte_off:t:a[1]b", "expected '['"),
            ("btfkit:v1:byte_off:t:a->", "not a member name"),
            ("btfkit:v1:type_size:t:a", "takes no access path"),
            ("btfkit:v1:enumval_value:e:", "not an identifier"),
            ("btfkit:v1:byte_off:1t:a", "not an identifier"),
        ] {
            let e = parse_marker(marker).unwrap_err().to_string();
            assert!(e.contains(needle), "{marker}: {e}");
        }
    }
}
