//! Rust identifiers for BTF names: keyword escapes, sanitising, and
//! per-scope deduplication.

use std::borrow::Cow;

/// Rust keywords (strict and reserved, 2015–2024 editions) that need `r#`.
#[cfg(test)]
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

/// The plain identifier for a C name, borrowed when the name already is one
/// (the usual case): the same text as [`plain`].
#[cfg(test)]
pub(crate) fn plain_cow(raw: &str) -> Cow<'_, str> {
    let clean = raw.bytes().all(is_ident_byte);
    plain_known(raw, clean)
}

/// [`plain_cow`] when whether every byte of `raw` is [`is_ident_byte`] is known.
pub(crate) fn plain_known(raw: &str, ident_bytes: bool) -> Cow<'_, str> {
    let b = raw.as_bytes();
    if ident_bytes && !b.is_empty() && !b[0].is_ascii_digit() && !NOT_RAW.contains(&raw) {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(plain(raw))
    }
}

/// Whether a byte may be in a plain identifier: `[A-Za-z0-9_]`.
pub(crate) fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The NUL-terminated string at `start` of `table`: its length, and whether
/// all its bytes are [`is_ident_byte`]; `None` without a NUL. Eight bytes at
/// a time (names are short: cheaper than a vectorised search).
pub(crate) fn scan_name(table: &[u8], start: usize) -> Option<(usize, bool)> {
    scan::<true>(table, start)
}

/// The length of the NUL-terminated string at `start` of `table` (the first
/// part of [`scan_name`]).
pub(crate) fn scan_len(table: &[u8], start: usize) -> Option<usize> {
    scan::<false>(table, start).map(|(len, _)| len)
}

fn scan<const CLASSIFY: bool>(table: &[u8], start: usize) -> Option<(usize, bool)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut clean = true;
    let mut i = start;
    while let Some(chunk) = table.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let v = u64::from_le_bytes(w);
        // The lowest set bit marks the first zero byte exactly.
        let zero = v.wrapping_sub(ONES) & !v & HIGH;
        let n = if zero == 0 {
            8
        } else {
            (zero.trailing_zeros() / 8) as usize
        };
        if CLASSIFY {
            for &c in &chunk[..n] {
                clean &= is_ident_byte(c);
            }
        }
        if zero != 0 {
            return Some((i + n - start, clean));
        }
        i += 8;
    }
    for (k, &c) in table.get(i..)?.iter().enumerate() {
        if c == 0 {
            return Some((i + k - start, clean));
        }
        if CLASSIFY {
            clean &= is_ident_byte(c);
        }
    }
    None
}

/// Whether a plain identifier needs `r#`.
pub(crate) fn is_keyword(s: &str) -> bool {
    // One comparison per length instead of a scan of [`KEYWORDS`] (the test
    // below checks that both agree).
    matches!(
        s,
        "abstract"
            | "as"
            | "async"
            | "await"
            | "become"
            | "box"
            | "break"
            | "const"
            | "continue"
            | "do"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "final"
            | "fn"
            | "for"
            | "gen"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "macro"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "override"
            | "priv"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "try"
            | "type"
            | "typeof"
            | "unsafe"
            | "unsized"
            | "use"
            | "virtual"
            | "where"
            | "while"
            | "yield"
    )
}

/// The Rust spelling of a plain identifier (`r#type` for `type`).
#[cfg(test)]
pub(crate) fn ident(plain: &str) -> String {
    if is_keyword(plain) {
        format!("r#{plain}")
    } else {
        plain.to_string()
    }
}

/// [`ident`], borrowing when no `r#` is needed.
pub(crate) fn ident_cow(plain: Cow<'_, str>) -> Cow<'_, str> {
    if is_keyword(&plain) {
        Cow::Owned(format!("r#{plain}"))
    } else {
        plain
    }
}

/// Appends the Rust spelling of a plain identifier.
pub(crate) fn push_ident(s: &mut String, plain: &str) {
    if is_keyword(plain) {
        s.push_str("r#");
    }
    s.push_str(plain);
}

/// The bit of a primitive in a [`PRIMITIVES`] set.
pub(crate) fn primitive_bit(name: &str) -> Option<u32> {
    PRIMITIVES
        .iter()
        .position(|p| *p == name)
        .map(|i| 1u32 << i)
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

/// A set of taken plain identifiers in one namespace, each with a tag
/// (who took it; [`NO_TAG`] but for [`Scope::try_take_tagged`]).
#[derive(Default)]
pub(crate) struct Scope<'s> {
    taken: FxHashMap<Cow<'s, str>, u8>,
    /// Next suffix to try per (name, separator), so numbering stays linear.
    next: FxHashMap<String, u64>,
}

impl<'s> Scope<'s> {
    /// An empty scope with room for about `n` names.
    pub(crate) fn with_capacity(n: usize) -> Scope<'s> {
        Scope {
            taken: FxHashMap::with_capacity_and_hasher(n, FxBuild::default()),
            next: FxHashMap::default(),
        }
    }

    /// How many names the scope has room for without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.taken.capacity()
    }

    /// Takes `name` if free; returns whether it was.
    pub(crate) fn try_take(&mut self, name: &str) -> bool {
        if self.taken.contains_key(name) {
            return false;
        }
        self.taken.insert(Cow::Owned(name.to_string()), NO_TAG);
        true
    }

    /// [`Scope::try_take`] without a copy of a borrowed name.
    pub(crate) fn try_take_cow(&mut self, name: Cow<'s, str>) -> bool {
        self.try_take_tagged(name, NO_TAG).is_none()
    }

    /// Takes `name` with `tag` if free (`None`); else the tag of whoever
    /// has it.
    pub(crate) fn try_take_tagged(&mut self, name: Cow<'s, str>, tag: u8) -> Option<u8> {
        if let Some(&t) = self.taken.get(&*name) {
            return Some(t);
        }
        self.taken.insert(name, tag);
        None
    }

    /// Takes `name`, or the first free `name{sep}N` for N = 2, 3, ...
    pub(crate) fn take_numbered(&mut self, name: &str, sep: &str) -> String {
        if self.try_take(name) {
            return name.to_string();
        }
        self.take_suffixed(name, sep)
    }

    /// [`Scope::take_numbered`], borrowing the name when it is free.
    pub(crate) fn take_numbered_cow(&mut self, name: Cow<'s, str>, sep: &str) -> Cow<'s, str> {
        if self.taken.contains_key(&*name) {
            return Cow::Owned(self.take_suffixed(&name, sep));
        }
        self.taken.insert(name.clone(), NO_TAG);
        name
    }

    /// The first free `name{sep}N` for N = 2, 3, ..., taken.
    fn take_suffixed(&mut self, name: &str, sep: &str) -> String {
        let mut key = String::with_capacity(name.len() + sep.len());
        key.push_str(name);
        key.push_str(sep);
        let mut n = self.next.get(&key).copied().unwrap_or(2);
        let mut candidate = String::with_capacity(key.len() + 4);
        loop {
            candidate.clear();
            candidate.push_str(&key);
            push_u64(&mut candidate, n);
            n += 1;
            if self.try_take(&candidate) {
                self.next.insert(key, n);
                return candidate;
            }
        }
    }
}

/// The tag of names taken without one.
pub(crate) const NO_TAG: u8 = u8::MAX;

/// Gives each name (the second of each pair; the first is the raw name it
/// came from) the name [`Scope::take_numbered`] would give it, in order, in a
/// fresh scope: unchanged when they are all distinct (the usual case, found
/// without a hash table for short lists).
pub(crate) fn dedup_in_order<'s>(names: &mut [(&'s str, Cow<'s, str>)], sep: &str) {
    let n = names.len();
    let distinct = if n <= 8 {
        names
            .iter()
            .enumerate()
            .all(|(i, a)| names[..i].iter().all(|b| a.1 != b.1))
    } else if n <= 256 {
        // Distinct hashes: distinct names (equal hashes take the exact way).
        let mut hashes = [0u64; 256];
        for (h, name) in hashes.iter_mut().zip(names.iter()) {
            *h = fx_hash(&name.1);
        }
        let hashes = &mut hashes[..n];
        hashes.sort_unstable();
        hashes.windows(2).all(|w| w[0] != w[1])
    } else {
        let mut seen: FxHashSet<&str> = FxHashSet::with_capacity_and_hasher(n, FxBuild::default());
        names.iter().all(|n| seen.insert(&n.1))
    };
    if distinct {
        return;
    }
    let mut scope = Scope::with_capacity(names.len());
    for n in names.iter_mut() {
        n.1 = scope.take_numbered_cow(std::mem::take(&mut n.1), sep);
    }
}

/// The [`FxHasher`] hash of a name's bytes.
fn fx_hash(name: &str) -> u64 {
    use std::hash::Hasher as _;
    let mut h = FxHasher::default();
    h.write(name.as_bytes());
    h.finish()
}

pub(crate) use btfkit_model::dump::decimal::{push_i64, push_u64};

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
    fn keywords_and_cows() {
        for k in KEYWORDS {
            assert!(is_keyword(k), "{k}");
        }
        for w in ["typ", "types", "r#type", "", "Self", "self", "u8", "_"] {
            assert_eq!(is_keyword(w), KEYWORDS.contains(&w), "{w}");
        }
        for raw in [
            "", "pid", "type", "self", "Self", "super", "crate", "_", "__", "9p", "a.b", "é", "x_2",
        ] {
            assert_eq!(plain_cow(raw), plain(raw), "{raw:?}");
            assert_eq!(ident_cow(plain_cow(raw)), ident(&plain(raw)), "{raw:?}");
        }
        assert!(matches!(plain_cow("pid"), Cow::Borrowed(_)));
        let table = b"\0pid\0a.b\0exactly_8\0a_somewhat_longer_name_0123\0\xC3\xA9\0tail";
        let mut off = 0;
        while off < table.len() {
            let want = table[off..].iter().position(|&c| c == 0);
            let got = scan_name(table, off);
            assert_eq!(got.map(|g| g.0), want, "at {off}");
            assert_eq!(scan_len(table, off), want, "at {off}");
            if let (Some((len, clean)), Some(_)) = (got, want) {
                assert_eq!(
                    clean,
                    table[off..off + len].iter().all(|&c| is_ident_byte(c))
                );
            }
            off += 1;
        }
    }

    #[test]
    fn dedup_matches_a_scope() {
        let lists: &[&[&str]] = &[
            &["a", "b", "c"],
            &["a", "a", "a_2", "a", "b"],
            &["x_2", "x", "x", "x_2_2", "x_2"],
            &["p"; 40],
            &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "a"],
            &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"],
        ];
        for list in lists {
            let mut scope = Scope::default();
            let want: Vec<String> = list.iter().map(|n| scope.take_numbered(n, "_")).collect();
            let mut got: Vec<(&str, Cow<'_, str>)> =
                list.iter().map(|n| (*n, Cow::Borrowed(*n))).collect();
            dedup_in_order(&mut got, "_");
            let got: Vec<&str> = got.iter().map(|g| &*g.1).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn numbered() {
        let mut s = Scope::default();
        assert_eq!(s.take_numbered("a", "___"), "a");
        assert_eq!(s.take_numbered("a", "___"), "a___2");
        assert_eq!(s.take_numbered("a", "___"), "a___3");
    }
}
