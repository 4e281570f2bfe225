//! `examples/core-strings` in the running kernel: `core_read_str_into!` on
//! `task_struct.comm` and on `mm->exe_file->f_path.dentry->d_name.name`,
//! `core_read_user!` and `core_read_user_str_into!` on an `iovec` this test
//! builds. The strings are compared with `/proc/self/comm`, the basename of
//! `/proc/self/exe` and the buffer. Loaded by btfkit's engine + loader and by
//! libbpf 1.7; both run the program with BPF_PROG_TEST_RUN in this thread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

mod common;
use common::core_strings;
use common::require_root;

fn linked_object() -> &'static [u8] {
    static OBJ: OnceLock<Vec<u8>> = OnceLock::new();
    OBJ.get_or_init(|| common::build_example("core-strings"))
}

#[test]
fn strings_through_btfkit_engine_and_loader() {
    require_root();
    core_strings::through_btfkit(linked_object());
}

#[test]
fn strings_through_libbpf() {
    require_root();
    core_strings::through_libbpf(linked_object(), "core-strings");
}
