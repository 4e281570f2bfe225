//! `#[btf::relocatable]`: turns a struct, union or fieldless enum into an opaque
//! reference type, plus a hidden shadow for path checks and a descriptor record
//! in `.btfkit.types` for the link step.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Fields, Item, LitInt};

use crate::strip_raw;

/// What `#[btf(...)]` says about a field.
#[derive(Default)]
struct FieldAttrs {
    anon: bool,
    bits: u32,
    /// `name = "..."`: the BTF name when it differs from the Rust name.
    btf_name: Option<syn::LitStr>,
}

/// Whether `s` is a C identifier (what a BTF member name is).
fn is_c_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn field_attrs(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("btf")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("anon") {
                out.anon = true;
                Ok(())
            } else if meta.path.is_ident("bits") {
                let n: LitInt = meta.value()?.parse()?;
                out.bits = n.base10_parse()?;
                if out.bits == 0 || out.bits > 64 {
                    return Err(meta.error("a bitfield has 1 to 64 bits"));
                }
                Ok(())
            } else if meta.path.is_ident("name") {
                let name: syn::LitStr = meta.value()?.parse()?;
                if !is_c_ident(&name.value()) {
                    return Err(syn::Error::new(
                        name.span(),
                        "a BTF member name is a C identifier ([A-Za-z_][A-Za-z0-9_]*)",
                    ));
                }
                out.btf_name = Some(name);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown btf attribute: expected `anon`, `bits = N` or `name = \"...\"`",
                ))
            }
        })?;
    }
    if let (true, Some(name)) = (out.anon, &out.btf_name) {
        return Err(syn::Error::new(
            name.span(),
            "an anonymous member has no BTF name: use `anon` or `name`, not both",
        ));
    }
    Ok(out)
}

fn opaque(vis: &syn::Visibility, name: &syn::Ident, attrs: &[Attribute]) -> TokenStream {
    opaque_with(
        vis,
        name,
        attrs,
        quote! {
            ///
            /// A `#[btf::relocatable]` type: a reference point for CO-RE queries, with
            /// no fields of its own and size 0 (see the `btf` crate).
        },
    )
}

/// The opaque struct, with `note` after the item's own doc comments.
fn opaque_with(
    vis: &syn::Visibility,
    name: &syn::Ident,
    attrs: &[Attribute],
    note: TokenStream,
) -> TokenStream {
    let docs: Vec<&Attribute> = attrs.iter().filter(|a| a.path().is_ident("doc")).collect();
    quote! {
        #(#docs)*
        #note
        #[repr(C)]
        #[allow(non_camel_case_types)]
        #vis struct #name {
            _opaque: [::core::primitive::u8; 0],
            _marker: ::core::marker::PhantomData<(*mut ::core::primitive::u8, ::core::marker::PhantomPinned)>,
        }
    }
}

/// `#[btf::opaque]` / `#[btf::opaque(union)]` on `struct name;`: a pointee
/// with no members and no descriptor (the link step writes it as a FWD, as
/// clang does for a type only pointed to). It is no query root, and its
/// shadow has no fields, named so that the error of a path going into it
/// says what to do.
pub(crate) fn expand_opaque(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let union = match attr.to_string().as_str() {
        "" => false,
        "union" => true,
        _ => {
            return Err(syn::Error::new(
                attr.span(),
                "#[btf::opaque] takes nothing or `union`",
            ))
        }
    };
    let item: syn::ItemStruct = syn::parse2(item)?;
    if !matches!(item.fields, Fields::Unit) || !item.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.span(),
            "#[btf::opaque] applies to a unit struct: `struct name;`",
        ));
    }
    let name = &item.ident;
    let btf_name = strip_raw(name);
    let shadow = format_ident!(
        "{}_is_opaque__add_it_to_the_btfkit_gen_types_to_go_into_it",
        btf_name
    );
    let kind = if union { quote!(Union) } else { quote!(Struct) };
    let opaque = opaque_with(
        &item.vis,
        name,
        &item.attrs,
        quote! {
            ///
            /// A `#[btf::opaque]` pointee: no members, size 0, no query root.
        },
    );
    let vis = &item.vis;
    Ok(quote! {
        #opaque

        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #shadow;

        // SAFETY: a named reference, no layout: the pointee of pointer fields.
        unsafe impl ::btf::__private::BtfField for #name {
            const TY: &'static ::btf::__private::Ty =
                &::btf::__private::Ty::Named(::btf::__private::NamedKind::#kind, #btf_name);
            type Shadow = #shadow;
        }
    })
}

/// A descriptor record as the macro spells it: literal text, and the field
/// types it leaves to `BtfField::TY` (see `btf::__private::Piece`).
#[derive(Default)]
struct Record {
    pieces: Vec<TokenStream>,
    text: String,
}

impl Record {
    fn text(&mut self, s: &str) {
        self.text.push_str(s);
    }
    fn ty(&mut self, ty: &syn::Type) {
        self.flush();
        self.pieces
            .push(quote!(::btf::__private::Piece::Ty(<#ty as ::btf::__private::BtfField>::TY)));
    }
    fn flush(&mut self) {
        if !self.text.is_empty() {
            let text = std::mem::take(&mut self.text);
            self.pieces
                .push(quote!(::btf::__private::Piece::Text(#text)));
        }
    }
    fn finish(mut self) -> Vec<TokenStream> {
        self.flush();
        self.pieces
    }
}

/// The `Relocatable` impl carrying the descriptor, and (on BPF) the static
/// that puts its record into `.btfkit.types`.
fn descriptor_static(name: &syn::Ident, record: Record) -> TokenStream {
    let stat = format_ident!("__BTFKIT_TYPE_{}", name);
    let pieces = record.finish();
    quote! {
        // SAFETY: made by #[btf::relocatable]; the record is this type's.
        unsafe impl ::btf::Relocatable for #name {
            const PIECES: &'static [::btf::__private::Piece] = &[#(#pieces),*];
        }

        #[cfg(target_arch = "bpf")]
        const _: () = {
            const LEN: ::core::primitive::usize =
                ::btf::__private::pieces_len(<#name as ::btf::Relocatable>::PIECES);
            #[used]
            #[link_section = ".btfkit.types"]
            #[allow(non_upper_case_globals)]
            static #stat: [::core::primitive::u8; LEN] =
                ::btf::__private::assemble::<LEN>(<#name as ::btf::Relocatable>::PIECES);
        };
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new(
            attr.span(),
            "#[btf::relocatable] takes no arguments",
        ));
    }
    let item: Item = syn::parse2(item)?;
    match item {
        Item::Struct(s) => {
            let Fields::Named(fields) = &s.fields else {
                return Err(syn::Error::new(
                    s.span(),
                    "#[btf::relocatable] needs named fields",
                ));
            };
            composite(
                &s.vis,
                &s.ident,
                &s.generics,
                &s.attrs,
                fields.named.iter(),
                false,
            )
        }
        Item::Union(u) => composite(
            &u.vis,
            &u.ident,
            &u.generics,
            &u.attrs,
            u.fields.named.iter(),
            true,
        ),
        Item::Enum(e) => enumeration(e),
        other => Err(syn::Error::new(
            other.span(),
            "#[btf::relocatable] applies to a struct, a union or a fieldless enum",
        )),
    }
}

fn composite<'a>(
    vis: &syn::Visibility,
    name: &syn::Ident,
    generics: &syn::Generics,
    attrs: &[Attribute],
    fields: impl Iterator<Item = &'a syn::Field>,
    union: bool,
) -> syn::Result<TokenStream> {
    if !generics.params.is_empty() {
        return Err(syn::Error::new(
            generics.span(),
            "a #[btf::relocatable] type cannot be generic",
        ));
    }
    let shadow = format_ident!("__btf_shadow_{}", name);
    let btf_name = strip_raw(name);
    let kind = if union { quote!(Union) } else { quote!(Struct) };
    let mut shadow_fields = Vec::new();
    // Named members' Rust names, and the types of the anonymous members.
    let mut own_names = Vec::new();
    let mut anon_types = Vec::new();
    let mut record = Record::default();
    record.text(&format!(
        "BTFKIT1 {} {btf_name}{{",
        if union { "union" } else { "struct" }
    ));
    for f in fields {
        let Some(ident) = &f.ident else { continue };
        let a = field_attrs(&f.attrs)?;
        let ty = &f.ty;
        let fname = strip_raw(ident);
        let (anon, bits) = (a.anon, a.bits);
        let member_btf_name = a
            .btf_name
            .as_ref()
            .map(syn::LitStr::value)
            .filter(|n| *n != fname)
            .unwrap_or_default();
        record.text(if anon { "?" } else { "" });
        record.text(&fname);
        if !member_btf_name.is_empty() {
            record.text(&format!("@{member_btf_name}"));
        }
        record.text(":");
        record.ty(ty);
        if bits > 0 {
            record.text(&format!("/{bits}"));
        }
        record.text(";");
        if anon {
            anon_types.push(ty.clone());
        } else {
            own_names.push(fname.clone());
        }
        shadow_fields.push(quote! {
            pub #ident: <#ty as ::btf::__private::BtfField>::Shadow
        });
    }
    record.text("}\n");
    let opaque = opaque(vis, name, attrs);
    let desc = descriptor_static(name, record);
    // The deref chain: the anonymous members' shadows, depth-first, then
    // what follows this type in its parent's chain.
    let mut target = quote!(__BtfNext);
    for ty in anon_types.iter().rev() {
        target = quote!(<#ty as ::btf::__private::Hoist>::Chain<#target>);
    }
    let check = if anon_types.is_empty() {
        TokenStream::new()
    } else {
        quote_spanned! {name.span()=>
            const _: () = ::btf::__private::check_hoisted_names(
                <#name as ::btf::__private::Hoist>::NAMES,
            );
        }
    };
    Ok(quote! {
        #opaque

        // The shadow is never instantiated; a struct (also for unions) with the
        // declared member names and types serves the compile-time path check.
        // `__BtfNext` continues the deref chain through which the members of
        // anonymous members are found (see `btf::__private::Hoist`).
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #shadow<__BtfNext = ()> {
            #(#shadow_fields,)*
            __btf_next: ::core::marker::PhantomData<__BtfNext>,
        }

        impl<__BtfNext> ::core::ops::Deref for #shadow<__BtfNext> {
            type Target = #target;
            fn deref(&self) -> &Self::Target {
                ::btf::__private::never()
            }
        }

        impl ::btf::__private::Hoist for #name {
            type Chain<__BtfNext> = #shadow<__BtfNext>;
            const NAMES: &'static ::btf::__private::Names = &::btf::__private::Names {
                own: &[#(#own_names),*],
                anon: &[#(<#anon_types as ::btf::__private::Hoist>::NAMES),*],
            };
        }
        #check

        // SAFETY: the descriptor below describes this type's declared fields.
        unsafe impl ::btf::__private::BtfField for #name {
            const TY: &'static ::btf::__private::Ty =
                &::btf::__private::Ty::Named(::btf::__private::NamedKind::#kind, #btf_name);
            type Shadow = #shadow;
        }
        #desc
    })
}

fn enumeration(e: syn::ItemEnum) -> syn::Result<TokenStream> {
    if !e.generics.params.is_empty() {
        return Err(syn::Error::new(
            e.generics.span(),
            "a #[btf::relocatable] enum cannot be generic",
        ));
    }
    let mut repr: syn::Type = syn::parse_quote!(u32);
    for attr in e.attrs.iter().filter(|a| a.path().is_ident("repr")) {
        attr.parse_nested_meta(|meta| {
            if let Some(id) = meta.path.get_ident() {
                let s = id.to_string();
                if ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"].contains(&s.as_str()) {
                    repr = syn::parse_str(&s)?;
                    return Ok(());
                }
            }
            Err(meta
                .error("a #[btf::relocatable] enum takes #[repr(u8|u16|u32|u64|i8|i16|i32|i64)]"))
        })?;
    }
    let repr_s = quote!(#repr).to_string();
    let signed = repr_s.starts_with('i');
    let size: u32 = repr_s[1..].parse::<u32>().unwrap_or(32) / 8;
    let name = &e.ident;
    let btf_name = strip_raw(name);
    let mut next: i128 = 0;
    let mut record = Record::default();
    record.text(&format!(
        "BTFKIT1 enum {btf_name}:{size}:{}{{",
        if signed { 's' } else { 'u' }
    ));
    let mut enumerators = Vec::new();
    let bits = size * 8;
    let (min, max): (i128, i128) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new(
                v.span(),
                "a #[btf::relocatable] enum has fieldless variants",
            ));
        }
        if let Some((_, expr)) = &v.discriminant {
            next = int_literal(expr)?;
        }
        if next < min || next > max {
            return Err(syn::Error::new(
                v.span(),
                format!("this enumerator's value {next} does not fit the enum's {repr_s}"),
            ));
        }
        let vname = strip_raw(&v.ident);
        // In range for the repr (checked above), so printed as is.
        record.text(&format!("{vname}={next};"));
        enumerators.push(&v.ident);
        next += 1;
    }
    let enumerators_ident = format_ident!("__btf_enumerators_{}", name);
    let enum_vis = &e.vis;
    record.text("}\n");
    let opaque = opaque(&e.vis, name, &e.attrs);
    let desc = descriptor_static(name, record);
    Ok(quote! {
        #opaque

        // Only its variant names matter: enum queries check the enumerator
        // against them, so a typo is reported with rustc's suggestion.
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #enum_vis enum #enumerators_ident {
            #(#enumerators,)*
        }

        impl ::btf::__private::BtfEnum for #name {
            type Enumerators = #enumerators_ident;
        }

        // SAFETY: the descriptor below gives this enum's size and values.
        unsafe impl ::btf::__private::BtfField for #name {
            const TY: &'static ::btf::__private::Ty =
                &::btf::__private::Ty::Named(::btf::__private::NamedKind::Enum, #btf_name);
            type Shadow = ::core::primitive::#repr;
        }
        #desc
    })
}

/// The value of an integer literal discriminant, possibly negated.
fn int_literal(expr: &syn::Expr) -> syn::Result<i128> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse(),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => Ok(-int_literal(expr)?),
        syn::Expr::Group(g) => int_literal(&g.expr),
        syn::Expr::Paren(p) => int_literal(&p.expr),
        other => Err(syn::Error::new(
            other.span(),
            "a #[btf::relocatable] enum's discriminants must be integer literals",
        )),
    }
}
