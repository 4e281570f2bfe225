//! Rust identifiers for BTF names: keyword escapes, sanitising, and
//! per-scope deduplication.

/// Rust keywords (strict and reserved, 2015–2024 editions) that need `r#`.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers: they get a trailing `_`.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Names of Rust primitive types: a generated type with such a name shadows
/// the primitive, so primitive uses are then written `::core::primitive::X`.
pub(crate) const PRIMITIVES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64", "bool", "char", "str",
];

/// The plain identifier for a C name: characters outside `[A-Za-z0-9_]`
/// become `_`, a leading digit gets a `_` prefix, and names that cannot be
/// raw identifiers get a trailing `_`. Keywords are left bare: see [`ident`].
pub(crate) fn plain(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        s.push_str("__unnamed");
    }
    if s.as_bytes()[0].is_ascii_digit() {
        s.insert(0, '_');
    }
    if NOT_RAW.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// Whether a plain identifier needs `r#`.
pub(crate) fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// The Rust spelling of a plain identifier (`r#type` for `type`).
pub(crate) fn ident(plain: &str) -> String {
    if is_keyword(plain) {
        format!("r#{plain}")
    } else {
        plain.to_string()
    }
}

/// FxHash (rustc's hasher): fast for short identifier keys; the input is
/// names from a BTF file, and collisions only cost time, never correctness.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`FxHasher`]s.
pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;
/// A `HashMap` with [`FxHasher`].
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
/// A `HashSet` with [`FxHasher`].
pub(crate) type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;

/// A set of taken plain identifiers in one namespace.
#[derive(Default)]
pub(crate) struct Scope {
    taken: FxHashSet<String>,
    /// Next suffix to try per (name, separator), so numbering stays linear.
    next: FxHashMap<String, u64>,
}

impl Scope {
    /// Takes `name` if free; returns whether it was.
    pub(crate) fn try_take(&mut self, name: &str) -> bool {
        if self.taken.contains(name) {
            return false;
        }
        self.taken.insert(name.to_string());
        true
    }

    /// Takes `name`, or the first free `name{sep}N` for N = 2, 3, ...
    pub(crate) fn take_numbered(&mut self, name: &str, sep: &str) -> String {
        if self.try_take(name) {
            return name.to_string();
        }
        let key = format!("{name}{sep}");
        let mut n = self.next.get(&key).copied().unwrap_or(2);
        loop {
            let candidate = format!("{key}{n}");
            n += 1;
            if self.try_take(&candidate) {
                self.next.insert(key, n);
                return candidate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_ident() {
        assert_eq!(ident(&plain("type")), "r#type");
        assert_eq!(ident(&plain("self")), "self_");
        assert_eq!(ident(&plain("Self")), "Self_");
        assert_eq!(ident(&plain("9p")), "_9p");
        assert_eq!(ident(&plain("a.b<c>")), "a_b_c_");
        assert_eq!(ident(&plain("pid")), "pid");
    }

    #[test]
    fn numbered() {
        let mut s = Scope::default();
        assert_eq!(s.take_numbered("a", "___"), "a");
        assert_eq!(s.take_numbered("a", "___"), "a___2");
        assert_eq!(s.take_numbered("a", "___"), "a___3");
    }
}
