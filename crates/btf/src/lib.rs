//! CO-RE (compile once, run everywhere) for Rust eBPF programs, on stable Rust.
//!
//! This crate mirrors the surface of Rust RFC 3966 (`core::btf` /
//! `core::arch::bpf` in its latest text), so that moving to the real compiler
//! intrinsics later is a change of path:
//!
//! ```ignore
//! #[btf::relocatable]
//! pub struct task_struct {
//!     pub pid: i32,
//!     pub tgid: i32,
//!     pub real_parent: *const task_struct,
//! }
//!
//! let off: Option<usize> = btf::field_byte_offset!(task_struct, tgid);
//! let ppid = unsafe { btf::core_read!(task: task_struct, real_parent, tgid) };
//! ```
//!
//! A `#[btf::relocatable]` type is only a reference point: its fields name
//! what the program wants; the kernel's own layout is found when the program
//! is loaded. The queries compile to markers that `btfkit link` (or
//! `btfkit build`) turns into the same `.BTF.ext` CO-RE relocations clang
//! writes for `__builtin_preserve_field_info`, which libbpf, aya and
//! cilium/ebpf apply when they load the object.
//!
//! # What a relocatable type allows on stable Rust
//!
//! - Its fields cannot be reached: `task.pid` and
//!   `core::mem::offset_of!(task_struct, pid)` do not compile (the type has no
//!   such fields). Use the queries and [`core_read!`].
//! - It is **not** unsized: an unsized type would make `*const task_struct` a
//!   fat pointer. Instead `size_of::<task_struct>()` is 0 and `align_of` is 1,
//!   never the kernel's size; [`type_size!`] gives the real one. On a future
//!   compiler with `extern type` or the RFC's intrinsics, those become errors.
//! - A path with a typo is a compile error pointing at the wrong segment.
//! - Every query is a compile error on non-BPF targets (the RFC's rule). For a
//!   type shared with user space, write
//!   `#[cfg_attr(target_arch = "bpf", btf::relocatable)]` on a `#[repr(C)]`
//!   struct: on the host it stays an ordinary struct.
//!
//! Field attributes: `#[btf(anon)]` marks an anonymous member (nameless in
//! BTF, as clang writes it for `vmlinux.h`): as in C, a path names its members
//! directly (`sk.__sk_common.skc_dport` crosses two anonymous members of
//! `sock_common`), or goes through it by its Rust name (`__anon_1.skc_dport`);
//! `#[btf(bits = N)]` a bitfield of N bits whose storage type is the field's
//! type; `#[btf(name = "self")]` a member whose BTF name differs from its Rust
//! name (paths use the Rust name). Raw identifiers lose their `r#` (`r#type`
//! is BTF `type`). Types named `name___flavor` relocate against `name`, as in
//! libbpf: the flavored name is kept verbatim in markers and descriptors and
//! the loader strips the suffix.
//!
//! # Results
//!
//! The `Option` queries ([`field_byte_offset!`], [`field_byte_size!`],
//! [`field_signed!`], [`type_size!`], [`enum_value!`]) are `None` when the
//! kernel lacks the member, type or enumerator: each is an existence
//! relocation plus the value relocation, as C writes
//! `bpf_core_field_exists(x) ? bpf_core_field_offset(x) : ...`.
//! [`type_id_target!`] is `None` for target id 0. The reads return
//! `Result<_, i64>` with the helper's negative errno (the string reads: `Ok` with
//! the length copied, NUL included).
//!
//! # How it compiles
//!
//! Each query is a call of an undefined `extern "C"` function whose link name
//! spells the query (`btfkit:v1:byte_off:task_struct:real_parent->tgid`), one
//! `call -1` instruction per relocation; each relocatable type leaves one
//! ASCII descriptor record in a `.btfkit.types` section. `btfkit link`
//! replaces the calls with `mov32 w0, <local value>` plus a CO-RE record and
//! drops the section, so an object must go through it before it is loaded.
//! The formats are in btfkit's DESIGN.md.
//!
//! Queries (all usable only in BPF code):
//! [`field_byte_offset!`], [`field_byte_size!`], [`field_exists!`],
//! [`field_signed!`], [`field_lshift_u64!`], [`field_rshift_u64!`],
//! [`type_exists!`], [`type_size!`], [`type_matches!`], [`type_id_local!`],
//! [`type_id_target!`], [`enum_value_exists!`], [`enum_value!`], and the reads
//! [`core_read!`], [`core_read_bitfield!`], [`core_read_user!`] and the string
//! reads [`core_read_str_into!`] and [`core_read_user_str_into!`] (a `char`
//! array field is the string; a `char *` field points at it).
#![no_std]

pub use btf_macros::{
    core_read, core_read_bitfield, core_read_str_into, core_read_user, core_read_user_str_into,
    enum_value, enum_value_exists, field_byte_offset, field_byte_size, field_exists,
    field_lshift_u64, field_rshift_u64, field_signed, opaque, relocatable, type_exists,
    type_id_local, type_id_target, type_matches, type_size,
};

/// Implemented by every `#[btf::relocatable]` type; queries require it.
///
/// # Safety
/// Only `#[btf::relocatable]` implements it, together with the descriptor the
/// link step reads.
pub unsafe trait Relocatable: __private::BtfField {
    /// The descriptor record the link step reads, in pieces (hidden: the
    /// format is btfkit's own).
    #[doc(hidden)]
    const PIECES: &'static [__private::Piece];
}

mod descriptor;

/// One hidden type per query, named after its macro (types and macros live in
/// different namespaces), so the off-BPF error reads `btf::field_byte_offset!
/// is only available when compiling for a BPF target`.
macro_rules! query_names {
    ($($name:ident)*) => {$(
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub struct $name;
    )*};
}
query_names! {
    field_byte_offset field_byte_size field_exists field_signed
    field_lshift_u64 field_rshift_u64 type_exists type_size type_matches
    type_id_local type_id_target enum_value_exists enum_value
    core_read core_read_bitfield core_read_user core_read_str_into
    core_read_user_str_into
}

#[doc(hidden)]
pub mod __private {
    pub use crate::descriptor::*;

    /// An existence, match or signedness answer as `bool`, without a compare
    /// or a mask.
    // `!= 0` (clippy's suggestion) costs the BPF program a compare-and-branch.
    #[allow(clippy::transmute_int_to_bool)]
    #[inline(always)]
    pub fn flag(v: u64) -> bool {
        // SAFETY: these relocations are 0 or 1 by definition: the link step
        // writes the local answer (0 or 1) and every CO-RE loader (libbpf,
        // aya, cilium/ebpf, btfkit) patches in 0 or 1, or poisons the
        // instruction so that it never runs.
        unsafe { core::hint::assert_unchecked(v <= 1) };
        // SAFETY: 0 and 1 are the two valid `bool` bit patterns.
        unsafe { core::mem::transmute::<u8, bool>(v as u8) }
    }

    /// A 32-bit answer (shift, type id) as `u32`, without a mask.
    #[inline(always)]
    pub fn low32(v: u64) -> u32 {
        // SAFETY: the link step replaces the marker with `mov32 w0, imm`, which
        // zero-extends: r0's upper half is zero whatever immediate a loader
        // patches in.
        unsafe { core::hint::assert_unchecked(v <= u64::from(u32::MAX)) };
        v as u32
    }

    /// The first half of libbpf's `BPF_CORE_READ_BITFIELD` rule: the member's
    /// storage bytes `raw` (in the low bytes of a `u64`) shifted left by the
    /// `lshift_u64` relocation, bringing the bitfield's top bit to bit 63.
    ///
    /// The shifts of [`bits_up`], [`bits_down`] and [`bits_down_signed`] are
    /// CO-RE shift relocations, always below 64 (the link step's local values
    /// are, and loaders poison a relocation they cannot resolve rather than
    /// patch a value), and the assumption drops Rust's shift masking.
    #[inline(always)]
    pub fn bits_up(raw: u64, lshift: u64) -> u64 {
        // SAFETY: CO-RE shift relocations are in 0..=63 (see above).
        unsafe { core::hint::assert_unchecked(lshift < 64) };
        raw << lshift
    }

    /// The second half for an unsigned member: a logical shift right by the
    /// `rshift_u64` relocation.
    #[inline(always)]
    pub fn bits_down(up: u64, rshift: u64) -> u64 {
        // SAFETY: CO-RE shift relocations are in 0..=63 (see [`bits_up`]).
        unsafe { core::hint::assert_unchecked(rshift < 64) };
        up >> rshift
    }

    /// The second half for a signed member: an arithmetic shift right.
    #[inline(always)]
    pub fn bits_down_signed(up: u64, rshift: u64) -> u64 {
        // SAFETY: CO-RE shift relocations are in 0..=63 (see [`bits_up`]).
        unsafe { core::hint::assert_unchecked(rshift < 64) };
        ((up as i64) >> rshift) as u64
    }

    /// Implemented for everything when compiling for BPF, for nothing
    /// elsewhere: every query requires `Q: BpfTarget` for the hidden type named
    /// after its macro (`btf::field_byte_offset`), so a query is a compile error off BPF. A trait bound (and not a
    /// `compile_error!`, which fires before type checking) lets a wrong path be
    /// reported first, on its segment.
    #[diagnostic::on_unimplemented(
        message = "{Self}! is only available when compiling for a BPF target (target_arch = \"bpf\")",
        label = "CO-RE relocations exist only in BPF objects",
        note = "build this code for bpfel-unknown-none or bpfeb-unknown-none; for a type shared with user space, write `#[cfg_attr(target_arch = \"bpf\", btf::relocatable)]`"
    )]
    pub trait BpfTarget {}
    #[cfg(target_arch = "bpf")]
    impl<Q> BpfTarget for Q {}

    /// Compiles to nothing; fails to compile off BPF targets.
    #[inline(always)]
    pub fn require_bpf_target<Q: BpfTarget>() {}

    /// Compiles to nothing; fails to compile when `T` is not relocatable.
    #[inline(always)]
    pub fn assert_relocatable<T: crate::Relocatable>() {}

    /// `bpf_probe_read_kernel` (helper 113): copies `size` bytes from kernel
    /// address `src` into `dst`. Returns 0 or a negative errno.
    ///
    /// # Safety
    /// `dst` must be valid for `size` bytes of writes. Only callable from BPF.
    #[inline(always)]
    pub unsafe fn probe_read_kernel(dst: *mut u8, size: u32, src: *const u8) -> i64 {
        // SAFETY: BPF helpers are called through their id; the kernel's
        // verifier checks the arguments. The caller guarantees `dst`.
        let helper: unsafe extern "C" fn(*mut u8, u32, *const u8) -> i64 =
            unsafe { core::mem::transmute(113usize) };
        unsafe { helper(dst, size, src) }
    }

    /// `bpf_probe_read_user` (helper 112): as [`probe_read_kernel`], from a
    /// user-space address.
    ///
    /// # Safety
    /// As [`probe_read_kernel`].
    #[inline(always)]
    pub unsafe fn probe_read_user(dst: *mut u8, size: u32, src: *const u8) -> i64 {
        // SAFETY: as in `probe_read_kernel`.
        let helper: unsafe extern "C" fn(*mut u8, u32, *const u8) -> i64 =
            unsafe { core::mem::transmute(112usize) };
        unsafe { helper(dst, size, src) }
    }

    /// `bpf_probe_read_kernel_str` (helper 115): copies a NUL-terminated
    /// string of at most `size` bytes (NUL included) from kernel address
    /// `src`. Returns its length with the NUL, or a negative errno.
    ///
    /// # Safety
    /// As [`probe_read_kernel`].
    #[inline(always)]
    pub unsafe fn probe_read_kernel_str(dst: *mut u8, size: u32, src: *const u8) -> i64 {
        // SAFETY: as in `probe_read_kernel`.
        let helper: unsafe extern "C" fn(*mut u8, u32, *const u8) -> i64 =
            unsafe { core::mem::transmute(115usize) };
        unsafe { helper(dst, size, src) }
    }

    /// `bpf_probe_read_user_str` (helper 114): as [`probe_read_kernel_str`],
    /// from a user-space address.
    ///
    /// # Safety
    /// As [`probe_read_kernel`].
    #[inline(always)]
    pub unsafe fn probe_read_user_str(dst: *mut u8, size: u32, src: *const u8) -> i64 {
        // SAFETY: as in `probe_read_kernel`.
        let helper: unsafe extern "C" fn(*mut u8, u32, *const u8) -> i64 =
            unsafe { core::mem::transmute(114usize) };
        unsafe { helper(dst, size, src) }
    }

    /// The field a string read ends on: a `char` array holds the string
    /// itself, a `char *` points at it.
    #[diagnostic::on_unimplemented(
        message = "a string is read from a `[u8; N]`/`[i8; N]` array or a `*const u8`/`*const i8` pointer field, and this one is `{Self}`",
        label = "not a string field"
    )]
    pub trait StrSource {
        /// The address of the string, given the field's address `field`;
        /// `USER` reads a pointer field's value with `bpf_probe_read_user`.
        ///
        /// # Safety
        /// Only callable from BPF.
        unsafe fn source<const USER: bool>(field: *const u8) -> Result<*const u8, i64>;
    }

    macro_rules! str_arrays {
        ($($t:ty)*) => {$(
            impl<const N: usize> StrSource for [$t; N] {
                #[inline(always)]
                unsafe fn source<const USER: bool>(field: *const u8) -> Result<*const u8, i64> {
                    Ok(field)
                }
            }
        )*};
    }
    str_arrays!(u8 i8);

    macro_rules! str_pointers {
        ($($t:ty)*) => {$(
            impl StrSource for $t {
                #[inline(always)]
                unsafe fn source<const USER: bool>(field: *const u8) -> Result<*const u8, i64> {
                    let mut p: usize = 0;
                    let dst = &mut p as *mut usize as *mut u8;
                    let size = core::mem::size_of::<usize>() as u32;
                    // SAFETY: `dst` is valid for one pointer-sized write.
                    let ret = unsafe {
                        if USER {
                            probe_read_user(dst, size, field)
                        } else {
                            probe_read_kernel(dst, size, field)
                        }
                    };
                    if ret != 0 {
                        Err(ret)
                    } else {
                        Ok(p as *const u8)
                    }
                }
            }
        )*};
    }
    str_pointers!(*const u8 *mut u8 *const i8 *mut i8);

    /// The string's address for the field a projection closure names (see
    /// [`StrSource`]).
    ///
    /// # Safety
    /// Only callable from BPF.
    #[inline(always)]
    pub unsafe fn str_source<S, V: StrSource, F: FnOnce(&S) -> &V, const USER: bool>(
        _: F,
        field: *const u8,
    ) -> Result<*const u8, i64> {
        // SAFETY: forwarded.
        unsafe { V::source::<USER>(field) }
    }
}
