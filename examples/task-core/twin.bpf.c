// The C twin of src/main.rs, for comparing CO-RE records with clang-22's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	char comm[16];
	unsigned long long btfkit_no_such_field;
	int tgid;
	struct task_struct *real_parent;
	int pid;
} __attribute__((preserve_access_index));

struct results {
	__u64 hits;
	__s64 pid, tgid, ppid;
	__u64 absent_exists, tgid_offset;
	char comm[16];
};

volatile __u64 TARGET_TID = (__u64)-1;
struct results RESULTS;

SEC("raw_tp/sys_enter")
int task_core(void *ctx)
{
	if ((__u32)bpf_get_current_pid_tgid() != TARGET_TID)
		return 0;
	struct task_struct *task = (void *)bpf_get_current_task();
	RESULTS.hits++;
	RESULTS.pid = BPF_CORE_READ(task, pid);
	RESULTS.tgid = BPF_CORE_READ(task, tgid);
	RESULTS.ppid = BPF_CORE_READ(task, real_parent, tgid);
	RESULTS.absent_exists = bpf_core_field_exists(task->btfkit_no_such_field);
	RESULTS.tgid_offset = bpf_core_field_exists(task->tgid) ? bpf_core_field_offset(task->tgid) : -1;
	BPF_CORE_READ_INTO(&RESULTS.comm, task, comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
