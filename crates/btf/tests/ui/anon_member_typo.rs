#![allow(non_camel_case_types, dead_code)]

// Members of anonymous members are named directly, as in C; a typo there is
// reported on its segment, and a correct flat path only meets the host error.

#[btf::relocatable]
pub struct sock_common__anon_1 {
    pub skc_dport: u16,
    pub skc_num: u16,
}

#[btf::relocatable]
pub union sock_common__anon_2 {
    #[btf(anon)]
    pub __anon_1: sock_common__anon_1,
    pub skc_portpair: u32,
}

#[btf::relocatable]
pub struct sock_common {
    pub skc_family: u16,
    #[btf(anon)]
    pub __anon_1: sock_common__anon_2,
}

#[btf::relocatable]
pub struct sock {
    pub __sk_common: sock_common,
    pub sk_rcvbuf: i32,
}

fn main() {
    let _ = btf::field_byte_offset!(sock, __sk_common.skc_dport);
    let _ = btf::field_byte_offset!(sock, __sk_common.skc_dprt);
}
