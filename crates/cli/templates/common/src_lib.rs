//! What the BPF program ({{name}}-ebpf) and user space ({{name}}) share.
#![no_std]

/// One exec, as the BPF program writes it and user space reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// Process id (`task_struct.tgid`).
    pub pid: u32,
    /// Parent's process id (`task_struct.real_parent->tgid`).
    pub ppid: u32,
    /// Real user id (`task_struct.real_cred->uid.val`: a member of a nested struct).
    pub uid: u32,
    /// 1 when every read succeeded.
    pub ok: u32,
    /// The new program's name (`task_struct.comm`).
    pub comm: [u8; 16],
}

impl Event {
    /// `comm` up to its NUL.
    pub fn comm(&self) -> &[u8] {
        let end = self.comm.iter().position(|&b| b == 0).unwrap_or(self.comm.len());
        &self.comm[..end]
    }
}

/// Slots of the `.bss` ring (the `btfkit` loader's program; aya and libbpf use a BPF ring buffer).
pub const SLOTS: usize = 64;
