//! Rust types as small trees, and the text shapes the generator writes, laid
//! out the way rustfmt (edition 2021, width 100) lays them out, so that the
//! output is rustfmt-clean without running rustfmt.

/// rustfmt's default line width.
const WIDTH: usize = 100;

/// A Rust type in generated code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RTy {
    /// A path or primitive (`u32`, `task_struct`, `::core::ffi::c_void`).
    Path(String),
    /// `*mut T` / `*const T`.
    Ptr {
        /// `*mut` (else `*const`).
        mutable: bool,
        /// The pointee.
        inner: Box<RTy>,
    },
    /// `[T; N]`.
    Array {
        /// The element.
        elem: Box<RTy>,
        /// Element count.
        len: u64,
    },
    /// `Option<unsafe extern "C" fn(..) -> R>`.
    FnPtr {
        /// Parameter types.
        params: Vec<RTy>,
        /// A trailing `...`.
        variadic: bool,
        /// Return type (`None`: void).
        ret: Option<Box<RTy>>,
    },
}

impl RTy {
    /// The type on one line.
    pub(crate) fn one_line(&self) -> String {
        let mut s = String::new();
        self.write_one(&mut s);
        s
    }

    fn write_one(&self, s: &mut String) {
        match self {
            RTy::Path(p) => s.push_str(p),
            RTy::Ptr { mutable, inner } => {
                s.push_str(if *mutable { "*mut " } else { "*const " });
                inner.write_one(s);
            }
            RTy::Array { elem, len } => {
                s.push('[');
                elem.write_one(s);
                s.push_str("; ");
                crate::names::push_u64(s, *len);
                s.push(']');
            }
            RTy::FnPtr { .. } => {
                s.push_str("Option<");
                self.write_fn_one(s);
                s.push('>');
            }
        }
    }

    /// `unsafe extern "C" fn(..) -> R` (without the `Option`).
    fn write_fn_one(&self, s: &mut String) {
        if let RTy::FnPtr {
            params,
            variadic,
            ret,
        } = self
        {
            s.push_str("unsafe extern \"C\" fn(");
            for (i, p) in params.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                p.write_one(s);
            }
            if *variadic {
                s.push_str(", ...");
            }
            s.push(')');
            if let Some(r) = ret {
                s.push_str(" -> ");
                r.write_one(s);
            }
        }
    }

    /// The type broken over lines: the first line continues the current
    /// one, the last ends at `indent` (the caller appends what follows).
    fn write_multi(&self, s: &mut String, indent: usize) {
        match self {
            RTy::Path(_) => self.write_one(s),
            RTy::Ptr { mutable, inner } => {
                s.push_str(if *mutable { "*mut " } else { "*const " });
                inner.write_multi(s, indent);
            }
            RTy::Array { elem, len } => {
                s.push('[');
                elem.write_multi(s, indent);
                s.push_str("; ");
                s.push_str(&len.to_string());
                s.push(']');
            }
            RTy::FnPtr {
                params,
                variadic,
                ret,
            } => {
                let inner = indent + 4;
                s.push_str("Option<\n");
                pad(s, inner);
                let mut one = String::new();
                self.write_fn_one(&mut one);
                if inner + one.len() < WIDTH {
                    s.push_str(&one);
                } else {
                    s.push_str("unsafe extern \"C\" fn(\n");
                    let pin = inner + 4;
                    for p in params {
                        pad(s, pin);
                        let po = p.one_line();
                        if pin + po.len() < WIDTH {
                            s.push_str(&po);
                        } else {
                            p.write_multi(s, pin);
                        }
                        s.push_str(",\n");
                    }
                    if *variadic {
                        pad(s, pin);
                        s.push_str("...\n");
                    }
                    pad(s, inner);
                    s.push(')');
                    if let Some(r) = ret {
                        s.push_str(" -> ");
                        r.write_one(s);
                    }
                }
                s.push_str(",\n");
                pad(s, indent);
                s.push('>');
            }
        }
    }
}

/// Appends `n` spaces.
pub(crate) fn pad(s: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        s.push_str(SPACES);
        n -= SPACES.len();
    }
    s.push_str(&SPACES[..n]);
}

/// `{head} {ty}{tail}` at `indent` (a field `pub x: T,` or an alias
/// `pub type x = T;`), broken like rustfmt breaks it when too long. `one`
/// is the type on one line; `tree` gives it as a tree when it must be
/// broken over lines (rarely: long function pointers).
pub(crate) fn typed_line(
    s: &mut String,
    indent: usize,
    head: &str,
    one: &str,
    tree: impl FnOnce() -> RTy,
    tail: &str,
) {
    pad(s, indent);
    s.push_str(head);
    if indent + head.len() + 1 + one.len() + tail.len() <= WIDTH {
        s.push(' ');
        s.push_str(one);
    } else if indent + 4 + one.len() + tail.len() <= WIDTH {
        s.push('\n');
        pad(s, indent + 4);
        s.push_str(one);
    } else {
        s.push(' ');
        tree().write_multi(s, indent);
    }
    s.push_str(tail);
    s.push('\n');
}

/// `{indent}pub const {name}: {ty} = {value};`, broken like rustfmt.
pub(crate) fn const_line(s: &mut String, indent: usize, name: &str, ty: &str, value: &str) {
    let head_len = "pub const ".len() + name.len() + ": ".len() + ty.len() + " =".len();
    let head = |s: &mut String| {
        s.push_str("pub const ");
        s.push_str(name);
        s.push_str(": ");
        s.push_str(ty);
        s.push_str(" =");
    };
    pad(s, indent);
    if indent + head_len + 1 + value.len() < WIDTH {
        head(s);
        s.push(' ');
    } else if indent + head_len <= WIDTH {
        head(s);
        s.push('\n');
        pad(s, indent + 4);
    } else {
        s.push_str("pub const ");
        s.push_str(name);
        s.push_str(":\n");
        pad(s, indent + 4);
        s.push_str(ty);
        if indent + 4 + ty.len() + 3 + value.len() < WIDTH {
            s.push_str(" = ");
        } else {
            s.push_str(" =\n");
            pad(s, indent + 4);
        }
    }
    s.push_str(value);
    s.push_str(";\n");
}

/// `    assert!({lhs} == {rhs});` inside a const block, broken like rustfmt
/// (whose call-argument width is 60); `offset_of_args` are the type and
/// field when `lhs` is `offset_of!(type, field)`.
pub(crate) fn assert_line(
    s: &mut String,
    lhs: &str,
    rhs: &str,
    offset_of_args: Option<(&str, &str)>,
) {
    let expr_len = lhs.len() + 4 + rhs.len();
    let args_too_wide = offset_of_args.is_some_and(|(t, f)| t.len() + 2 + f.len() > 60);
    if args_too_wide {
        if let Some((ty, field)) = offset_of_args {
            s.push_str("    assert!(\n        offset_of!(\n            ");
            s.push_str(ty);
            s.push_str(",\n            ");
            s.push_str(field);
            s.push_str("\n        ) == ");
            s.push_str(rhs);
            s.push_str("\n    );\n");
        }
    } else if 4 + "assert!(".len() + expr_len + 2 <= WIDTH {
        s.push_str("    assert!(");
        s.push_str(lhs);
        s.push_str(" == ");
        s.push_str(rhs);
        s.push_str(");\n");
    } else if 8 + expr_len < WIDTH {
        s.push_str("    assert!(\n        ");
        s.push_str(lhs);
        s.push_str(" == ");
        s.push_str(rhs);
        s.push_str("\n    );\n");
    } else if 8 + lhs.len() < WIDTH {
        s.push_str("    assert!(\n        ");
        s.push_str(lhs);
        s.push_str("\n            == ");
        s.push_str(rhs);
        s.push_str("\n    );\n");
    } else if let Some((head, ty)) = lhs
        .split_once('<')
        .and_then(|(head, rest)| Some((head, rest.strip_suffix(">()")?)))
        .filter(|(_, ty)| 8 + lhs.len() > WIDTH + 3 && 12 + ty.len() < WIDTH)
    {
        // `size_of::<T>(` is too long even with the slack rustfmt allows it, and
        // `T,` fits on a line of its own: rustfmt breaks the generic arguments
        // (measured with rustfmt: it keeps the open call again past that).
        s.push_str("    assert!(\n        ");
        s.push_str(head);
        s.push_str("<\n            ");
        s.push_str(ty);
        s.push_str(",\n        >() == ");
        s.push_str(rhs);
        s.push_str("\n    );\n");
    } else {
        // `size_of::<T>()` itself too long: rustfmt opens the empty call.
        s.push_str("    assert!(\n        ");
        s.push_str(lhs.strip_suffix(')').unwrap_or(lhs));
        s.push_str("\n        ) == ");
        s.push_str(rhs);
        s.push_str("\n    );\n");
    }
}

/// `pub struct {name}(pub {inner});`, broken like rustfmt when too long.
pub(crate) fn newtype_line(s: &mut String, name: &str, inner: &str) {
    if "pub struct ".len() + name.len() + "(pub ".len() + inner.len() + 2 <= WIDTH {
        s.push_str("pub struct ");
        s.push_str(name);
        s.push_str("(pub ");
        s.push_str(inner);
        s.push_str(");\n");
    } else {
        s.push_str("pub struct ");
        s.push_str(name);
        s.push_str("(\n    pub ");
        s.push_str(inner);
        s.push_str(",\n);\n");
    }
}

/// Whether rustfmt puts the `{` of `pub {kw} {name} {` on a line of its own
/// (the line would be longer than the width).
pub(crate) fn brace_on_own_line(kw: &str, name: &str) -> bool {
    "pub ".len() + kw.len() + 1 + name.len() + " {".len() > WIDTH
}
