// The C twin of src/main.rs on a vmlinux.h (`bpftool btf dump file
// /sys/kernel/btf/vmlinux format c`), for comparing CO-RE records with
// clang-22's: C reaches the members of anonymous structs and unions by their
// own names (mm->start_code, sk->__sk_common.skc_num), and so does Rust
// (flat paths through anonymous members); the access strings must be the same.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

volatile __u64 INPUTS[3] = {(__u64)-1, (__u64)-1, (__u64)-1};
__u64 RESULTS[32];

static __always_inline struct file *file_at(struct task_struct *task, __u64 fd)
{
	struct file **table = BPF_CORE_READ(task, files, fdt, fd);
	struct file *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), table + fd))
		return 0;
	return f;
}

SEC("raw_tp/sys_enter")
int kernel_types(void *ctx)
{
	if ((__u32)bpf_get_current_pid_tgid() != INPUTS[0])
		return 0;
	struct task_struct *task = (void *)bpf_get_current_task();
	RESULTS[0] = 1;
	RESULTS[1] = BPF_CORE_READ(task, pid);
	RESULTS[2] = BPF_CORE_READ(task, tgid);
	RESULTS[3] = BPF_CORE_READ(task, real_parent, tgid);
	BPF_CORE_READ_INTO(&RESULTS[4], task, comm);

	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (mm) {
		RESULTS[6] = BPF_CORE_READ(mm, start_code);
		RESULTS[7] = BPF_CORE_READ(mm, end_code);
		RESULTS[8] = BPF_CORE_READ(mm, start_data);
		RESULTS[9] = BPF_CORE_READ(mm, end_data);
		RESULTS[10] = BPF_CORE_READ(mm, start_brk);
		RESULTS[11] = BPF_CORE_READ(mm, start_stack);
		RESULTS[12] = BPF_CORE_READ(mm, arg_start);
		RESULTS[13] = BPF_CORE_READ(mm, arg_end);
		RESULTS[14] = BPF_CORE_READ(mm, env_start);
		RESULTS[15] = BPF_CORE_READ(mm, env_end);
	}

	struct file *f = file_at(task, INPUTS[1]);
	if (f) {
		RESULTS[16] = BPF_CORE_READ(f, f_pos);
		RESULTS[17] = BPF_CORE_READ(f, f_flags);
		RESULTS[18] = BPF_CORE_READ(f, f_inode, i_ino);
	}

	struct file *sf = file_at(task, INPUTS[2]);
	if (sf) {
		struct socket *so = BPF_CORE_READ(sf, private_data);
		RESULTS[19] = BPF_CORE_READ(so, type);
		struct sock *sk = BPF_CORE_READ(so, sk);
		if (sk) {
			RESULTS[20] = BPF_CORE_READ(sk, __sk_common.skc_family);
			RESULTS[21] = BPF_CORE_READ(sk, __sk_common.skc_num);
			RESULTS[22] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
			RESULTS[23] = BPF_CORE_READ(sk, sk_rcvbuf);
			RESULTS[24] = BPF_CORE_READ(sk, sk_protocol);
			RESULTS[25] = BPF_CORE_READ(sk, sk_type);
		}
	}

	struct sock *s0 = 0;
	struct mm_struct *m0 = 0;
	struct task_struct *t0 = 0;
	struct file *f0 = 0;
	struct cgroup *c0 = 0;
	RESULTS[26] = bpf_core_field_exists(s0->__sk_common.skc_num) ? bpf_core_field_offset(s0->__sk_common.skc_num) : -1;
	RESULTS[27] = bpf_core_field_exists(m0->arg_start) ? bpf_core_field_offset(m0->arg_start) : -1;
	RESULTS[28] = bpf_core_type_exists(struct file) ? bpf_core_type_size(struct file) : -1;
	RESULTS[29] = bpf_core_field_exists(t0->comm) ? bpf_core_field_size(t0->comm) : -1;
	RESULTS[30] = bpf_core_field_exists(f0->f_inode);
	RESULTS[31] = bpf_core_field_exists(c0->self) ? bpf_core_field_offset(c0->self) : -1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
