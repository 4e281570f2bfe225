//! Procedural macros behind the `btf` crate: `#[relocatable]` and the CO-RE
//! queries. See the `btf` crate for the user documentation and DESIGN.md for
//! the marker and descriptor formats they produce.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{bracketed, parse_macro_input, Expr, Ident, LitInt, Token, Type};

mod relocatable;

/// Marks a struct, union or fieldless enum as a BTF-relocatable reference type.
#[proc_macro_attribute]
pub fn relocatable(attr: TokenStream, item: TokenStream) -> TokenStream {
    relocatable::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares a struct or union that relocatable types only point to, with no
/// members of its own (`btfkit gen --opaque-pointees`): `#[btf::opaque] pub
/// struct mm_struct;`, `#[btf::opaque(union)] pub struct foo;`.
#[proc_macro_attribute]
pub fn opaque(attr: TokenStream, item: TokenStream) -> TokenStream {
    relocatable::expand_opaque(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// One step of an access path.
enum Seg {
    /// `.name` (or the first name).
    Field(Ident),
    /// `[n]`.
    Index(LitInt),
    /// `->name`: through a pointer field to its pointee.
    Arrow(Ident),
}

/// `a.b[3].c->d`.
struct FieldPath {
    segs: Vec<Seg>,
    span: Span,
}

fn strip_raw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

impl Parse for FieldPath {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let span = input.span();
        let first: Ident = input.parse()?;
        let mut segs = vec![Seg::Field(first)];
        loop {
            if input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                segs.push(Seg::Field(input.parse()?));
            } else if input.peek(Token![->]) {
                input.parse::<Token![->]>()?;
                segs.push(Seg::Arrow(input.parse()?));
            } else if input.peek(syn::token::Bracket) {
                let content;
                bracketed!(content in input);
                let n: LitInt = content.parse()?;
                n.base10_parse::<u32>()?;
                segs.push(Seg::Index(n));
            } else {
                break;
            }
        }
        Ok(FieldPath { segs, span })
    }
}

impl FieldPath {
    /// The access as the marker spells it (`a.b[3].c->d`).
    fn marker_access(&self) -> String {
        let mut out = String::new();
        for (i, seg) in self.segs.iter().enumerate() {
            match seg {
                Seg::Field(id) if i == 0 => out.push_str(&strip_raw(id)),
                Seg::Field(id) => {
                    out.push('.');
                    out.push_str(&strip_raw(id));
                }
                Seg::Index(n) => out.push_str(&format!("[{}]", n.base10_digits())),
                Seg::Arrow(id) => {
                    out.push_str("->");
                    out.push_str(&strip_raw(id));
                }
            }
        }
        out
    }

    /// The name of the shadow reference a projection starts from. It carries
    /// the first segment's span (call-site hygiene: nothing else in the
    /// expansion is named like it), so the projection up to any segment spans
    /// only the user's text: `a.b` for `a.b->c` through a non-pointer, not
    /// the whole macro call (spans of different hygiene contexts do not join).
    fn root(&self) -> Ident {
        let span = match self.segs.first() {
            Some(Seg::Field(id) | Seg::Arrow(id)) => id.span(),
            Some(Seg::Index(n)) => n.span(),
            None => self.span,
        };
        Ident::new("__btf_shadow", span)
    }

    /// `&<shadow projection>` from the shadow reference [`Self::root`], with
    /// the user's spans on each segment so a wrong one is reported where it is
    /// written.
    fn projection(&self) -> TokenStream2 {
        let root = self.root();
        let mut expr = quote!(#root);
        for seg in &self.segs {
            expr = match seg {
                Seg::Field(id) => quote_spanned!(id.span()=> #expr.#id),
                Seg::Index(n) => quote_spanned!(n.span()=> #expr[#n]),
                Seg::Arrow(id) => quote_spanned!(id.span()=>
                    ::btf::__private::shadow_of_pointee(#expr).#id),
            };
        }
        quote!(&#expr)
    }
}

/// The BTF name of a type path: its last segment, `r#` stripped.
fn type_name(ty: &Type) -> syn::Result<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .filter(|s| s.arguments.is_empty())
            .map(|s| strip_raw(&s.ident))
            .ok_or_else(|| {
                syn::Error::new(ty.span(), "expected the name of a #[btf::relocatable] type")
            }),
        _ => Err(syn::Error::new(
            ty.span(),
            "expected the name of a #[btf::relocatable] type",
        )),
    }
}

/// The off-BPF check: a trait bound (see `btf::__private::BpfTarget`) whose
/// message names the query. It is reported after any path error.
fn host_error(macro_name: &str) -> TokenStream2 {
    let query = format_ident!("{}", macro_name);
    quote! {
        ::btf::__private::require_bpf_target::<::btf::#query>();
    }
}

/// Declares marker functions and returns their identifiers.
fn markers(kinds_and_access: &[(&str, String)], ty_name: &str) -> (TokenStream2, Vec<Ident>) {
    let mut decls = TokenStream2::new();
    let mut idents = Vec::new();
    for (i, (kind, access)) in kinds_and_access.iter().enumerate() {
        let ident = format_ident!("__btf_q{}", i);
        let symbol = format!("btfkit:v1:{kind}:{ty_name}:{access}");
        decls.extend(quote! {
            #[link_name = #symbol]
            fn #ident() -> ::core::primitive::u64;
        });
        idents.push(ident);
    }
    (quote!(unsafe extern "C" { #decls }), idents)
}

macro_rules! call {
    ($id:expr) => {{
        let id = $id;
        quote!((unsafe { #id() }))
    }};
}

/// The block every query expands to: the host-target error, the relocatable
/// check, a compile-time `check` (path or enumerator), the markers for `kinds`
/// (all with `access`), and the value built from the marker calls.
fn query_block(
    ty: &Type,
    macro_name: &str,
    kinds: &[&str],
    access: &str,
    check: TokenStream2,
    span: Span,
    value: impl FnOnce(&[TokenStream2]) -> TokenStream2,
) -> TokenStream {
    let name = match type_name(ty) {
        Ok(n) => n,
        Err(e) => return e.into_compile_error().into(),
    };
    let spec: Vec<(&str, String)> = kinds.iter().map(|k| (*k, access.to_string())).collect();
    let (decls, idents) = markers(&spec, &name);
    let calls: Vec<TokenStream2> = idents.iter().map(|i| call!(i)).collect();
    let value = value(&calls);
    let host = host_error(macro_name);
    quote_spanned! {span=>
        {
            ::btf::__private::assert_relocatable::<#ty>();
            #check
            #host
            #decls
            #value
        }
    }
    .into()
}

/// `T, path`.
struct FieldQuery {
    ty: Type,
    path: FieldPath,
}

impl Parse for FieldQuery {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let ty = input.parse()?;
        input.parse::<Token![,]>()?;
        let path = input.parse()?;
        input.parse::<Option<Token![,]>>()?;
        Ok(FieldQuery { ty, path })
    }
}

fn field_query(
    input: TokenStream,
    macro_name: &str,
    kinds: &[&str],
    value: impl FnOnce(&[TokenStream2]) -> TokenStream2,
) -> TokenStream {
    let q = parse_macro_input!(input as FieldQuery);
    let ty = &q.ty;
    let root = q.path.root();
    let projection = q.path.projection();
    let check = quote! {
        let _ = |#root: &<#ty as ::btf::__private::BtfField>::Shadow| {
            let _ = #projection;
        };
    };
    query_block(
        ty,
        macro_name,
        kinds,
        &q.path.marker_access(),
        check,
        q.path.span,
        value,
    )
}

/// `field_byte_offset!(T, path) -> Option<usize>`: the member's byte offset in the
/// target kernel's `T`, or `None` when the kernel has no such member.
#[proc_macro]
pub fn field_byte_offset(input: TokenStream) -> TokenStream {
    field_query(
        input,
        "field_byte_offset",
        &["field_exists", "byte_off"],
        |c| {
            let (e, v) = (&c[0], &c[1]);
            quote!(if #e != 0 { ::core::option::Option::Some(#v as ::core::primitive::usize) } else { ::core::option::Option::None })
        },
    )
}

/// `field_byte_size!(T, path) -> Option<usize>`: the member's size in bytes.
#[proc_macro]
pub fn field_byte_size(input: TokenStream) -> TokenStream {
    field_query(
        input,
        "field_byte_size",
        &["field_exists", "byte_sz"],
        |c| {
            let (e, v) = (&c[0], &c[1]);
            quote!(if #e != 0 { ::core::option::Option::Some(#v as ::core::primitive::usize) } else { ::core::option::Option::None })
        },
    )
}

/// `field_exists!(T, path) -> bool`.
#[proc_macro]
pub fn field_exists(input: TokenStream) -> TokenStream {
    field_query(input, "field_exists", &["field_exists"], |c| {
        let e = &c[0];
        quote!(::btf::__private::flag(#e))
    })
}

/// `field_signed!(T, path) -> Option<bool>`: whether the member is a signed integer.
#[proc_macro]
pub fn field_signed(input: TokenStream) -> TokenStream {
    field_query(input, "field_signed", &["field_exists", "signed"], |c| {
        let (e, v) = (&c[0], &c[1]);
        quote!(if #e != 0 { ::core::option::Option::Some(::btf::__private::flag(#v)) } else { ::core::option::Option::None })
    })
}

/// `field_lshift_u64!(T, path) -> u32`: left shift that brings a bitfield's top bit to bit 63.
#[proc_macro]
pub fn field_lshift_u64(input: TokenStream) -> TokenStream {
    field_query(input, "field_lshift_u64", &["lshift_u64"], |c| {
        let v = &c[0];
        quote!(::btf::__private::low32(#v))
    })
}

/// `field_rshift_u64!(T, path) -> u32`: right shift that then brings the bitfield to bit 0.
#[proc_macro]
pub fn field_rshift_u64(input: TokenStream) -> TokenStream {
    field_query(input, "field_rshift_u64", &["rshift_u64"], |c| {
        let v = &c[0];
        quote!(::btf::__private::low32(#v))
    })
}

/// `T` alone.
struct TypeQuery {
    ty: Type,
}

impl Parse for TypeQuery {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let ty = input.parse()?;
        input.parse::<Option<Token![,]>>()?;
        Ok(TypeQuery { ty })
    }
}

fn type_query(
    input: TokenStream,
    macro_name: &str,
    kinds: &[&str],
    value: impl FnOnce(&[TokenStream2]) -> TokenStream2,
) -> TokenStream {
    let q = parse_macro_input!(input as TypeQuery);
    query_block(
        &q.ty,
        macro_name,
        kinds,
        "",
        TokenStream2::new(),
        Span::call_site(),
        value,
    )
}

/// `type_exists!(T) -> bool`: whether the target kernel has a compatible type.
#[proc_macro]
pub fn type_exists(input: TokenStream) -> TokenStream {
    type_query(input, "type_exists", &["type_exists"], |c| {
        let e = &c[0];
        quote!(::btf::__private::flag(#e))
    })
}

/// `type_matches!(T) -> bool`: whether the target kernel's type matches `T`
/// (libbpf's stricter TYPE_MATCHES; aya cannot load objects that use it).
#[proc_macro]
pub fn type_matches(input: TokenStream) -> TokenStream {
    type_query(input, "type_matches", &["type_matches"], |c| {
        let e = &c[0];
        quote!(::btf::__private::flag(#e))
    })
}

/// `type_size!(T) -> Option<usize>`: the target type's size in bytes.
#[proc_macro]
pub fn type_size(input: TokenStream) -> TokenStream {
    type_query(input, "type_size", &["type_exists", "type_size"], |c| {
        let (e, v) = (&c[0], &c[1]);
        quote!(if #e != 0 { ::core::option::Option::Some(#v as ::core::primitive::usize) } else { ::core::option::Option::None })
    })
}

/// `type_id_local!(T) -> u32`: `T`'s id in the program's own BTF.
#[proc_macro]
pub fn type_id_local(input: TokenStream) -> TokenStream {
    type_query(input, "type_id_local", &["local_type_id"], |c| {
        let v = &c[0];
        quote!(::btf::__private::low32(#v))
    })
}

/// `type_id_target!(T) -> Option<u32>`: the matching type's id in the kernel's BTF.
#[proc_macro]
pub fn type_id_target(input: TokenStream) -> TokenStream {
    type_query(input, "type_id_target", &["target_type_id"], |c| {
        let v = &c[0];
        quote!(match ::btf::__private::low32(#v) { 0 => ::core::option::Option::None, id => ::core::option::Option::Some(id) })
    })
}

/// `E, VARIANT`.
struct EnumQuery {
    ty: Type,
    variant: Ident,
}

impl Parse for EnumQuery {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let ty = input.parse()?;
        input.parse::<Token![,]>()?;
        let variant = input.parse()?;
        input.parse::<Option<Token![,]>>()?;
        Ok(EnumQuery { ty, variant })
    }
}

fn enum_query(
    input: TokenStream,
    macro_name: &str,
    kinds: &[&str],
    value: impl FnOnce(&[TokenStream2]) -> TokenStream2,
) -> TokenStream {
    let q = parse_macro_input!(input as EnumQuery);
    let ty = &q.ty;
    let variant = strip_raw(&q.variant);
    let enumerator = &q.variant;
    let check = quote! {
        let _ = <#ty as ::btf::__private::BtfEnum>::Enumerators::#enumerator;
    };
    query_block(
        ty,
        macro_name,
        kinds,
        &variant,
        check,
        Span::call_site(),
        value,
    )
}

/// `enum_value_exists!(E, V) -> bool`: whether the kernel's enum has enumerator `V`.
#[proc_macro]
pub fn enum_value_exists(input: TokenStream) -> TokenStream {
    enum_query(input, "enum_value_exists", &["enumval_exists"], |c| {
        let e = &c[0];
        quote!(::btf::__private::flag(#e))
    })
}

/// `enum_value!(E, V) -> Option<i64>`: the kernel's value of enumerator `V`.
#[proc_macro]
pub fn enum_value(input: TokenStream) -> TokenStream {
    enum_query(
        input,
        "enum_value",
        &["enumval_exists", "enumval_value"],
        |c| {
            let (e, v) = (&c[0], &c[1]);
            quote!(if #e != 0 { ::core::option::Option::Some(#v as ::core::primitive::i64) } else { ::core::option::Option::None })
        },
    )
}

/// `ptr: T, hop, hop, ...` where each hop is a path and all but the last name pointers.
struct CoreRead {
    ptr: Expr,
    ty: Type,
    hops: Vec<FieldPath>,
}

impl Parse for CoreRead {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let ptr = Expr::parse_without_eager_brace(input)?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        let mut hops = Vec::new();
        while input.parse::<Option<Token![,]>>()?.is_some() {
            if input.is_empty() {
                break;
            }
            hops.push(input.parse()?);
        }
        if hops.is_empty() {
            return Err(input
                .error("core_read! needs at least one field: core_read!(ptr: Type, field, ...)"));
        }
        Ok(CoreRead { ptr, ty, hops })
    }
}

/// The projections and marker accesses of each hop of a core_read chain.
fn chain(c: &CoreRead) -> Vec<(FieldPath, String)> {
    let mut out = Vec::new();
    let mut segs: Vec<Seg> = Vec::new();
    for (i, hop) in c.hops.iter().enumerate() {
        for (j, seg) in hop.segs.iter().enumerate() {
            let seg = match seg {
                Seg::Field(id) if j == 0 && i > 0 => Seg::Arrow(id.clone()),
                Seg::Field(id) => Seg::Field(id.clone()),
                Seg::Index(n) => Seg::Index(n.clone()),
                Seg::Arrow(id) => Seg::Arrow(id.clone()),
            };
            segs.push(seg);
        }
        let path = FieldPath {
            segs: segs
                .iter()
                .map(|s| match s {
                    Seg::Field(id) => Seg::Field(id.clone()),
                    Seg::Index(n) => Seg::Index(n.clone()),
                    Seg::Arrow(id) => Seg::Arrow(id.clone()),
                })
                .collect(),
            span: hop.span,
        };
        let access = path.marker_access();
        out.push((path, access));
    }
    out
}

/// `core_read!(ptr: T, a, b, c)`: like libbpf's `BPF_CORE_READ(ptr, a, b, c)`,
/// reads `ptr->a->b->c` with `bpf_probe_read_kernel`, each offset relocated.
/// `ptr` is a `*const T` (or anything that coerces to it: `*mut T`, `&T`);
/// every hop but the last names a pointer field, and each hop may itself be a
/// path (`a.b[2].c`). Returns `Result<FieldType, i64>` (the helper's negative
/// errno), the field type inferred from the declaration.
///
/// # Safety
/// Must be used in an `unsafe` block: it reads kernel memory at addresses
/// derived from `ptr`.
#[proc_macro]
pub fn core_read(input: TokenStream) -> TokenStream {
    let c = parse_macro_input!(input as CoreRead);
    read_chain(&c, "core_read", false, None)
}

/// `core_read_user!(ptr: T, a, b, c)`: like libbpf's `BPF_CORE_READ_USER`,
/// [`core_read!`] with `bpf_probe_read_user` for every hop (the offsets are
/// still relocated against the kernel's types).
///
/// # Safety
/// Must be used in an `unsafe` block: it reads user memory at addresses
/// derived from `ptr`.
#[proc_macro]
pub fn core_read_user(input: TokenStream) -> TokenStream {
    let c = parse_macro_input!(input as CoreRead);
    read_chain(&c, "core_read_user", true, None)
}

/// `dst, ptr: T, hops...`.
struct StrInto {
    dst: Expr,
    read: CoreRead,
}

impl Parse for StrInto {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let dst = input.parse()?;
        input.parse::<Token![,]>()?;
        let read = input.parse()?;
        Ok(StrInto { dst, read })
    }
}

/// `core_read_str_into!(dst, ptr: T, a, b, c)`: like libbpf's
/// `BPF_CORE_READ_STR_INTO`, follows the pointers as [`core_read!`] does and
/// reads the string the last hop names with `bpf_probe_read_kernel_str` into
/// `dst: &mut [u8]`. For a `char` array field the string is the field itself;
/// for a `char *` field (where libbpf's macro would read the pointer's bytes)
/// it is what the pointer points at. Returns `Result<usize, i64>`: the length
/// copied, NUL included, or the helper's negative errno.
///
/// # Safety
/// Must be used in an `unsafe` block: it reads kernel memory.
#[proc_macro]
pub fn core_read_str_into(input: TokenStream) -> TokenStream {
    let c = parse_macro_input!(input as StrInto);
    read_chain(&c.read, "core_read_str_into", false, Some(&c.dst))
}

/// `core_read_user_str_into!(dst, ptr: T, a, b, c)`: like libbpf's
/// `BPF_CORE_READ_USER_STR_INTO`, [`core_read_str_into!`] with
/// `bpf_probe_read_user` and `bpf_probe_read_user_str`.
///
/// # Safety
/// Must be used in an `unsafe` block: it reads user memory.
#[proc_macro]
pub fn core_read_user_str_into(input: TokenStream) -> TokenStream {
    let c = parse_macro_input!(input as StrInto);
    read_chain(&c.read, "core_read_user_str_into", true, Some(&c.dst))
}

/// The expansion of the chained reads: every hop read with
/// `bpf_probe_read_kernel` (`user`: `bpf_probe_read_user`), the last one
/// either as a value or, given `str_dst`, as a string into it.
fn read_chain(c: &CoreRead, macro_name: &str, user: bool, str_dst: Option<&Expr>) -> TokenStream {
    let ty = &c.ty;
    let name = match type_name(ty) {
        Ok(n) => n,
        Err(e) => return e.into_compile_error().into(),
    };
    let hops = chain(c);
    let spec: Vec<(&str, String)> = hops.iter().map(|(_, a)| ("byte_off", a.clone())).collect();
    let (decls, idents) = markers(&spec, &name);
    let ptr = &c.ptr;
    let (read, read_str) = if user {
        (quote!(probe_read_user), quote!(probe_read_user_str))
    } else {
        (quote!(probe_read_kernel), quote!(probe_read_kernel_str))
    };
    let mut steps = TokenStream2::new();
    let last = hops.len() - 1;
    for (i, ((path, _), q)) in hops.iter().zip(&idents).enumerate() {
        let root = path.root();
        let projection = path.projection();
        // From the second hop on, the offset marker comes before the load of the
        // previous hop's pointer: the marker call clobbers r1-r5, and this order
        // lets the loaded pointer go straight into the helper's argument register.
        let addr = if i == 0 {
            quote!(__btf_p.wrapping_add(unsafe { #q() } as ::core::primitive::usize))
        } else {
            quote! {{
                let __btf_off = unsafe { #q() } as ::core::primitive::usize;
                (__btf_v.assume_init() as *const ::core::primitive::u8).wrapping_add(__btf_off)
            }}
        };
        steps.extend(quote! { let __btf_addr: *const u8 = #addr; });
        if i == last && str_dst.is_some() {
            // Spanned on the last hop: a field that holds no string is
            // reported there.
            let source = quote_spanned! {path.span=>
                ::btf::__private::str_source::<_, _, _, #user>(
                    |#root: &<#ty as ::btf::__private::BtfField>::Shadow| #projection,
                    __btf_addr,
                )
            };
            steps.extend(quote! {
                let __btf_src = match #source {
                    ::core::result::Result::Ok(__btf_s) => __btf_s,
                    ::core::result::Result::Err(__btf_e) => {
                        break '__btf_read ::core::result::Result::Err(__btf_e)
                    }
                };
                let __btf_ret = ::btf::__private::#read_str(
                    __btf_dst.as_mut_ptr(),
                    __btf_dst.len() as ::core::primitive::u32,
                    __btf_src,
                );
                if __btf_ret < 0 {
                    ::core::result::Result::Err(__btf_ret)
                } else {
                    ::core::result::Result::Ok(__btf_ret as ::core::primitive::usize)
                }
            });
            break;
        }
        steps.extend(quote! {
            let mut __btf_v = ::btf::__private::uninit_for(
                |#root: &<#ty as ::btf::__private::BtfField>::Shadow| #projection,
            );
            let __btf_ret = ::btf::__private::#read(
                __btf_v.as_mut_ptr() as *mut ::core::primitive::u8,
                ::core::mem::size_of_val(&__btf_v) as ::core::primitive::u32,
                __btf_addr,
            );
            // The helper returns 0 or a negative errno: `!= 0` is one jump.
            if __btf_ret != 0 {
                break '__btf_read ::core::result::Result::Err(__btf_ret);
            }
        });
        if i == last {
            steps.extend(quote! { ::core::result::Result::Ok(__btf_v.assume_init()) });
        }
    }
    let dst = str_dst.map(|d| {
        quote_spanned! {d.span()=>
            let __btf_dst: &mut [::core::primitive::u8] = #d;
        }
    });
    let host = host_error(macro_name);
    quote! {
        {
            ::btf::__private::assert_relocatable::<#ty>();
            #decls
            #dst
            let __btf_root: *const #ty = #ptr;
            let __btf_p = __btf_root as *const ::core::primitive::u8;
            let __btf_result = '__btf_read: { #steps };
            #host
            __btf_result
        }
    }
    .into()
}

/// `core_read_bitfield!(ptr: T, path)`: like libbpf's
/// `BPF_CORE_READ_BITFIELD_PROBED`, reads a bitfield (or any integer member)
/// of `*ptr`, sign-extended when the kernel's member is signed. Returns
/// `Result<u64, i64>`.
///
/// # Safety
/// Must be used in an `unsafe` block: it reads kernel memory.
#[proc_macro]
pub fn core_read_bitfield(input: TokenStream) -> TokenStream {
    let c = parse_macro_input!(input as CoreRead);
    if c.hops.len() != 1 {
        return syn::Error::new(
            c.hops[1].span,
            "core_read_bitfield! reads one member: core_read_bitfield!(ptr: Type, path)",
        )
        .into_compile_error()
        .into();
    }
    let ty = &c.ty;
    let name = match type_name(ty) {
        Ok(n) => n,
        Err(e) => return e.into_compile_error().into(),
    };
    let path = &c.hops[0];
    let access = path.marker_access();
    let spec: Vec<(&str, String)> = ["byte_off", "byte_sz", "lshift_u64", "rshift_u64", "signed"]
        .iter()
        .map(|k| (*k, access.clone()))
        .collect();
    let (decls, ids) = markers(&spec, &name);
    let (off, size, lshift, rshift, signed) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);
    let root = path.root();
    let projection = path.projection();
    let ptr = &c.ptr;
    let host = host_error("core_read_bitfield");
    quote! {
        {
            ::btf::__private::assert_relocatable::<#ty>();
            let _ = |#root: &<#ty as ::btf::__private::BtfField>::Shadow| {
                let _ = #projection;
            };
            #host
            #decls
            let __btf_root: *const #ty = #ptr;
            let __btf_p = __btf_root as *const ::core::primitive::u8;
            let mut __btf_val: ::core::primitive::u64 = 0;
            // The size marker last before the helper: its r0 goes straight
            // into the size argument.
            let __btf_src = __btf_p.wrapping_add(unsafe { #off() } as ::core::primitive::usize);
            let __btf_size = unsafe { #size() } as ::core::primitive::u32;
            // Big-endian: the value's low bytes are at the end of the u64.
            let __btf_dst = if cfg!(target_endian = "big") {
                (&mut __btf_val as *mut ::core::primitive::u64 as *mut ::core::primitive::u8).wrapping_add(8 - __btf_size as ::core::primitive::usize)
            } else {
                &mut __btf_val as *mut ::core::primitive::u64 as *mut ::core::primitive::u8
            };
            let __btf_ret = ::btf::__private::probe_read_kernel(
                __btf_dst,
                __btf_size,
                __btf_src,
            );
            // The helper returns 0 or a negative errno: `!= 0` is one jump.
            if __btf_ret != 0 {
                ::core::result::Result::Err(__btf_ret)
            } else {
                // The left shift takes its amount straight from r0; the
                // signedness marker comes last so that its r0 is tested in
                // place (each marker is a call that clobbers r0-r5).
                let __btf_up = ::btf::__private::bits_up(__btf_val, unsafe { #lshift() });
                let __btf_r = unsafe { #rshift() };
                ::core::result::Result::Ok(if unsafe { #signed() } != 0 {
                    ::btf::__private::bits_down_signed(__btf_up, __btf_r)
                } else {
                    ::btf::__private::bits_down(__btf_up, __btf_r)
                })
            }
        }
    }
    .into()
}
