//! A minimal BPF loader over the `bpf()` syscall.
//!
//! It loads objects whose CO-RE relocations were already applied (by
//! `btfkit relocate` / the `btfkit-reloc` engine): global data sections become
//! single-entry array maps, `ld_imm64` references to them are pointed at the
//! maps, and each program is loaded with the type its section name implies
//! (`raw_tp/NAME`, `tp/CATEGORY/NAME`, `kprobe/FN`, `socket`). Programs can be
//! attached to raw tracepoints and tracepoints, or run once with
//! `BPF_PROG_TEST_RUN`. It is what `btfkit demo` and the kernel tests use; it
//! is not a general-purpose loader (no BTF maps, no CO-RE of its own).

mod error;
mod object;
mod sys;

pub use error::{Error, Result};
pub use object::{Attachment, LoadedObject, Map, Program, ProgramKind};
pub use sys::{kernel_btf_available, running_as_root};
