//! A minimal BPF loader over the bpf() syscall: maps, programs, attach, test runs. Used by the demo and the kernel tests.
