//! Type descriptors: what `#[btf::relocatable]` records about a type, the
//! ASCII record the link step reads (grammar in DESIGN.md), assembled at
//! compile time from the text the macro spells and the field types'
//! [`BtfField`] constants.

/// The BTF shape of a field's type.
#[derive(Debug)]
pub enum Ty {
    /// `void` (the pointee of `*const c_void`).
    Void,
    /// `bool`.
    Bool,
    /// An integer of `size` bytes.
    Int {
        /// Size in bytes.
        size: u32,
        /// Signedness.
        signed: bool,
    },
    /// A float of `size` bytes.
    Float(u32),
    /// A pointer.
    Ptr(&'static Ty),
    /// An array of `len` elements.
    Array(&'static Ty, u32),
    /// A reference to a relocatable struct, union or enum by name.
    Named(NamedKind, &'static str),
}

/// What a named reference names.
#[derive(Debug, Clone, Copy)]
pub enum NamedKind {
    /// A struct.
    Struct,
    /// A union.
    Union,
    /// An enum.
    Enum,
}

/// One piece of a record as `#[btf::relocatable]` spells it: text the macro
/// writes itself (names, punctuation, bitfield widths, anonymous markers), or
/// a field type it can only resolve through [`BtfField::TY`]. The static in
/// `.btfkit.types` is [`assemble`]d from them, so const evaluation only
/// copies text and walks the field types (a whole record built by `const
/// fn` from a descriptor cost about 5 ms per type).
#[derive(Debug)]
pub enum Piece {
    /// Literal record text.
    Text(&'static str),
    /// A field type (`*struct task_struct`, `[u1;16]`, grammar in DESIGN.md).
    Ty(&'static Ty),
}

/// Copies `s` into `buf` at `at`; returns the end.
const fn put(buf: &mut [u8], at: usize, s: &[u8]) -> usize {
    // (`copy_from_slice` is const only from Rust 1.87, past the MSRV.)
    let mut i = 0;
    while i < s.len() {
        buf[at + i] = s[i];
        i += 1;
    }
    at + s.len()
}

/// Number of decimal digits of `v`.
const fn digits(v: u64) -> usize {
    let mut n = 1;
    let mut v = v / 10;
    while v > 0 {
        n += 1;
        v /= 10;
    }
    n
}

/// Writes `v` in decimal into `buf` at `at`; returns the end.
const fn put_uint(buf: &mut [u8], at: usize, v: u64) -> usize {
    let end = at + digits(v);
    let mut i = end;
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    end
}

const fn kind_text(kind: NamedKind) -> &'static str {
    match kind {
        NamedKind::Struct => "struct ",
        NamedKind::Union => "union ",
        NamedKind::Enum => "enum ",
    }
}

/// Length of `t`'s encoding.
const fn ty_len(t: &Ty) -> usize {
    match t {
        Ty::Void | Ty::Bool => 4,
        Ty::Int { size, .. } | Ty::Float(size) => 1 + digits(*size as u64),
        Ty::Ptr(inner) => 1 + ty_len(inner),
        Ty::Array(elem, len) => 3 + ty_len(elem) + digits(*len as u64),
        Ty::Named(kind, name) => kind_text(*kind).len() + name.len(),
    }
}

/// Writes `t`'s encoding into `buf` at `at`; returns the end.
const fn put_ty(buf: &mut [u8], at: usize, t: &Ty) -> usize {
    match t {
        Ty::Void => put(buf, at, b"void"),
        Ty::Bool => put(buf, at, b"bool"),
        Ty::Int { size, signed } => {
            buf[at] = if *signed { b'i' } else { b'u' };
            put_uint(buf, at + 1, *size as u64)
        }
        Ty::Float(size) => {
            buf[at] = b'f';
            put_uint(buf, at + 1, *size as u64)
        }
        Ty::Ptr(inner) => {
            buf[at] = b'*';
            put_ty(buf, at + 1, inner)
        }
        Ty::Array(elem, len) => {
            buf[at] = b'[';
            let at = put_ty(buf, at + 1, elem);
            buf[at] = b';';
            let at = put_uint(buf, at + 1, *len as u64);
            buf[at] = b']';
            at + 1
        }
        Ty::Named(kind, name) => {
            let at = put(buf, at, kind_text(*kind).as_bytes());
            put(buf, at, name.as_bytes())
        }
    }
}

/// Length of the record `pieces` spell.
pub const fn pieces_len(pieces: &[Piece]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < pieces.len() {
        len += match &pieces[i] {
            Piece::Text(s) => s.len(),
            Piece::Ty(t) => ty_len(t),
        };
        i += 1;
    }
    len
}

/// The record `pieces` spell; `N` must be [`pieces_len`]`(pieces)`.
pub const fn assemble<const N: usize>(pieces: &[Piece]) -> [u8; N] {
    let mut buf = [0; N];
    let mut at = 0;
    let mut i = 0;
    while i < pieces.len() {
        at = match &pieces[i] {
            Piece::Text(s) => put(&mut buf, at, s.as_bytes()),
            Piece::Ty(t) => put_ty(&mut buf, at, t),
        };
        i += 1;
    }
    buf
}

/// Types that can be fields of relocatable types (and pointees of pointer
/// fields): their BTF shape, and the type used for compile-time path checks.
///
/// # Safety
/// `TY` must describe the type's C layout; `#[btf::relocatable]` implements it
/// for the types it defines, and this crate for primitives, pointers and arrays.
pub unsafe trait BtfField {
    /// The BTF shape.
    const TY: &'static Ty;
    /// The type that stands for it in path checks (a struct with the declared
    /// fields for relocatable types, the type itself otherwise).
    type Shadow;
}

macro_rules! ints {
    ($($t:ty => $size:expr, $signed:expr;)*) => {$(
        // SAFETY: the size and signedness are the type's own.
        unsafe impl BtfField for $t {
            const TY: &'static Ty = &Ty::Int { size: $size, signed: $signed };
            type Shadow = $t;
        }
    )*};
}

ints! {
    u8 => 1, false; i8 => 1, true; u16 => 2, false; i16 => 2, true;
    u32 => 4, false; i32 => 4, true; u64 => 8, false; i64 => 8, true;
    u128 => 16, false; i128 => 16, true;
    usize => core::mem::size_of::<usize>() as u32, false;
    isize => core::mem::size_of::<isize>() as u32, true;
}

// SAFETY: bool is one byte holding 0 or 1, like C's _Bool.
unsafe impl BtfField for bool {
    const TY: &'static Ty = &Ty::Bool;
    type Shadow = bool;
}
// SAFETY: IEEE single.
unsafe impl BtfField for f32 {
    const TY: &'static Ty = &Ty::Float(4);
    type Shadow = f32;
}
// SAFETY: IEEE double.
unsafe impl BtfField for f64 {
    const TY: &'static Ty = &Ty::Float(8);
    type Shadow = f64;
}
// SAFETY: only ever a pointee: C's void.
unsafe impl BtfField for core::ffi::c_void {
    const TY: &'static Ty = &Ty::Void;
    type Shadow = core::ffi::c_void;
}
// SAFETY: a pointer is one machine word pointing at T.
unsafe impl<T: BtfField> BtfField for *const T {
    const TY: &'static Ty = &Ty::Ptr(T::TY);
    type Shadow = *const T;
}
// SAFETY: as for *const T.
unsafe impl<T: BtfField> BtfField for *mut T {
    const TY: &'static Ty = &Ty::Ptr(T::TY);
    type Shadow = *mut T;
}
// SAFETY: an array is N consecutive elements, as in C.
unsafe impl<T: BtfField, const N: usize> BtfField for [T; N] {
    const TY: &'static Ty = &Ty::Array(T::TY, N as u32);
    type Shadow = [T::Shadow; N];
}

macro_rules! fn_ptrs {
    ($(($($arg:ident),*))*) => {$(
        // SAFETY: a nullable function pointer is one machine word, like C's.
        unsafe impl<R, $($arg),*> BtfField for Option<unsafe extern "C" fn($($arg),*) -> R> {
            const TY: &'static Ty = &Ty::Ptr(&Ty::Void);
            type Shadow = Self;
        }
    )*};
}
fn_ptrs! { () (A) (A, B) (A, B, C) (A, B, C, D) (A, B, C, D, E) (A, B, C, D, E, F) (A, B, C, D, E, F, G) }

/// Implemented by `#[btf::relocatable]` enums, for the compile-time check of
/// enum queries.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a #[btf::relocatable] enum",
    label = "enum queries take a #[btf::relocatable] enum"
)]
pub trait BtfEnum {
    /// A Rust enum with the same variant names (and nothing else).
    type Enumerators;
}

/// The pointee of a pointer field, for `->` in `core_read!` paths.
#[diagnostic::on_unimplemented(
    message = "`->` goes through a pointer field, and this one is `{Self}`",
    label = "not a pointer",
    note = "use `.` to go into a member, `[n]` into an array element"
)]
pub trait PtrTarget {
    /// The pointee.
    type Target: BtfField;
}
impl<T: BtfField> PtrTarget for *const T {
    type Target = T;
}
impl<T: BtfField> PtrTarget for *mut T {
    type Target = T;
}

/// Used only inside never-called path-check closures: the shadow of a pointer's target.
pub fn shadow_of_pointee<P: PtrTarget>(_: P) -> &'static <P::Target as BtfField>::Shadow {
    unreachable!("btf path checks are type-checked, never run")
}

/// An uninitialised value of the type a projection closure returns (the field's type).
pub fn uninit_for<S, V, F: FnOnce(&S) -> &V>(_: F) -> core::mem::MaybeUninit<V> {
    core::mem::MaybeUninit::uninit()
}

/// Implemented by `#[btf::relocatable]` structs and unions, for paths that
/// name a member of an anonymous member directly, as C does
/// (`sk.__sk_common.skc_dport`, `f.f_path`).
///
/// The shadow of such a type derefs to the shadows of its anonymous members,
/// chained depth-first (the order in which clang searches them): the shadow
/// of the first anonymous member derefs to its own anonymous members' and
/// then to the second one's, and so on. A field that a shadow lacks is then
/// found by rustc's autoderef, and a typo is still reported on its segment.
pub trait Hoist {
    /// This type's shadow, whose deref chain ends in `Next`.
    type Chain<Next>;
    /// The member names a path may use on this type, for the ambiguity check.
    const NAMES: &'static Names;
}

/// The member names of a struct or union: its own (anonymous members
/// excluded) and those its anonymous members hoist.
pub struct Names {
    /// Named members.
    pub own: &'static [&'static str],
    /// The anonymous members' names, in member order.
    pub anon: &'static [&'static Names],
}

/// How many times `name` is reachable in `n` without a member name (C's
/// lookup, which must find it once).
const fn count(n: &Names, name: &str) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < n.own.len() {
        if str_eq(n.own[i], name) {
            total += 1;
        }
        i += 1;
    }
    let mut j = 0;
    while j < n.anon.len() {
        total += count(n.anon[j], name);
        j += 1;
    }
    total
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Fails (at compile time) when a name under an anonymous member of `root`
/// is also the name of another member reachable from `root` (C rejects such
/// a type, and a path naming it would be ambiguous).
const fn check_under(root: &Names, n: &Names) {
    let mut i = 0;
    while i < n.own.len() {
        if count(root, n.own[i]) > 1 {
            ambiguous(n.own[i]);
        }
        i += 1;
    }
    let mut j = 0;
    while j < n.anon.len() {
        check_under(root, n.anon[j]);
        j += 1;
    }
}

/// Stops compilation with a message naming `name` (a const panic takes
/// only a `&str`, so the message is assembled here). It only ever runs in
/// const evaluation, where a panic is a compile error.
#[allow(clippy::panic)]
const fn ambiguous(name: &str) -> ! {
    const HEAD: &[u8] = b"ambiguous member name `";
    const TAIL: &[u8] =
        b"`: the type and its anonymous members hold it more than once, so a path cannot name it";
    let mut buf = [0u8; 256];
    let mut n = 0;
    let mut i = 0;
    while i < HEAD.len() {
        buf[n] = HEAD[i];
        n += 1;
        i += 1;
    }
    let name = name.as_bytes();
    i = 0;
    while i < name.len() && i < 128 {
        buf[n] = name[i];
        n += 1;
        i += 1;
    }
    i = 0;
    while i < TAIL.len() {
        buf[n] = TAIL[i];
        n += 1;
        i += 1;
    }
    let (msg, _) = buf.split_at(n);
    match core::str::from_utf8(msg) {
        Ok(s) => panic!("{}", s),
        Err(_) => panic!("ambiguous member name under an anonymous member"),
    }
}

/// The compile-time check `#[btf::relocatable]` emits for a type with
/// anonymous members: every name they hoist is unique in the type.
pub const fn check_hoisted_names(root: &Names) {
    let mut j = 0;
    while j < root.anon.len() {
        check_under(root, root.anon[j]);
        j += 1;
    }
}

/// Used only as the body of shadow `Deref`s, which path checks type-check
/// and never run.
pub fn never<'a, T>() -> &'a T {
    unreachable!("btf path checks are type-checked, never run")
}
