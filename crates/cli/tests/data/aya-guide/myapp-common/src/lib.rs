#![no_std]

/// One exec.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Event {
    pub pid: u32,
    pub ppid: u32,
    pub comm: [u8; 16],
}
