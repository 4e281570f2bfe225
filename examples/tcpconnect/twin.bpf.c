// The C twin of src/main.rs on a vmlinux.h (`bpftool btf dump file
// /sys/kernel/btf/vmlinux format c`), built with clang-22: the reference for
// the records and for the size of the BTF (BENCHMARKS.md, lean BTF).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

volatile __u64 INPUTS[2] = {(__u64)-1, (__u64)-1};
__u64 EVENT[24];

SEC("raw_tp/sys_enter")
int tcpconnect(void *ctx)
{
	if ((__u32)bpf_get_current_pid_tgid() != INPUTS[0])
		return 0;
	struct task_struct *task = (void *)bpf_get_current_task();
	EVENT[0] = 1;
	EVENT[1] = BPF_CORE_READ(task, pid);
	EVENT[2] = BPF_CORE_READ(task, tgid);
	EVENT[3] = BPF_CORE_READ(task, real_parent, tgid);
	BPF_CORE_READ_INTO(&EVENT[4], task, comm);
	struct cred *c = (void *)BPF_CORE_READ(task, cred);
	if (c)
		EVENT[6] = BPF_CORE_READ(c, uid.val);
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (mm)
		EVENT[7] = BPF_CORE_READ(mm, arg_start);

	struct file **table = BPF_CORE_READ(task, files, fdt, fd);
	struct file *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), table + INPUTS[1]))
		return 0;
	EVENT[8] = BPF_CORE_READ(f, f_inode, i_ino);
	struct socket *so = BPF_CORE_READ(f, private_data);
	EVENT[9] = BPF_CORE_READ(so, type);
	EVENT[10] = bpf_core_enum_value_exists(enum sock_type, SOCK_STREAM) ?
		bpf_core_enum_value(enum sock_type, SOCK_STREAM) : -1;
	struct sock *sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return 0;
	EVENT[11] = BPF_CORE_READ(sk, __sk_common.skc_family);
	EVENT[12] = BPF_CORE_READ(sk, __sk_common.skc_num);
	EVENT[13] = BPF_CORE_READ(sk, __sk_common.skc_dport);
	EVENT[14] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	EVENT[15] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	EVENT[16] = BPF_CORE_READ(sk, __sk_common.skc_state);
	EVENT[17] = BPF_CORE_READ(sk, sk_protocol);
	EVENT[18] = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_kern_sock);
	if (bpf_core_field_exists(sk->sk_ino))
		EVENT[19] = BPF_CORE_READ(sk, sk_ino);
	else
		EVENT[19] = -2;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
