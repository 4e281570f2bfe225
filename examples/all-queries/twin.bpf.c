// The C twin of src/main.rs, for comparing CO-RE records with clang-22's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Newer bpf_core_read.h has these; Debian's libbpf 1.1 does not. */
#ifndef bpf_core_field_signed
#define bpf_core_field_signed(field) __builtin_preserve_field_info(field, BPF_FIELD_SIGNED)
#define bpf_core_field_lshift(field) __builtin_preserve_field_info(field, BPF_FIELD_LSHIFT_U64)
#define bpf_core_field_rshift(field) __builtin_preserve_field_info(field, BPF_FIELD_RSHIFT_U64)
#endif

struct task_struct {
	struct task_struct *real_parent;
	int tgid;
	int pid;
	char comm[16];
	unsigned int sched_reset_on_fork : 1;
	unsigned long long flags;
} __attribute__((preserve_access_index));

struct task_struct___btfkit {
	int tgid;
} __attribute__((preserve_access_index));

struct list_head {
	struct list_head *next, *prev;
} __attribute__((preserve_access_index));

struct btfkit_no_such_type {
	unsigned int x;
} __attribute__((preserve_access_index));

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID, BTFKIT_NOT_A_PID_TYPE };

volatile __u64 TARGET_TID = (__u64)-1;
__u64 RESULTS[22];

SEC("raw_tp/sys_enter")
int all_queries(void *ctx)
{
	if ((__u32)bpf_get_current_pid_tgid() != TARGET_TID)
		return 0;
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct___btfkit *flavored = (void *)task;
	RESULTS[0] = 1;
	RESULTS[1] = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	RESULTS[2] = bpf_core_field_exists(task->sched_reset_on_fork) ? bpf_core_field_signed(task->sched_reset_on_fork) : -1;
	RESULTS[3] = bpf_core_field_lshift(task->sched_reset_on_fork);
	RESULTS[4] = bpf_core_field_rshift(task->sched_reset_on_fork);
	RESULTS[5] = bpf_core_field_exists(task->sched_reset_on_fork) ? bpf_core_field_offset(task->sched_reset_on_fork) : -1;
	RESULTS[6] = bpf_core_field_exists(task->sched_reset_on_fork) ? bpf_core_field_size(task->sched_reset_on_fork) : -1;
	RESULTS[7] = bpf_core_field_exists(task->pid) ? bpf_core_field_signed(task->pid) : -1;
	RESULTS[8] = bpf_core_field_exists(task->comm) ? bpf_core_field_size(task->comm) : -1;
	RESULTS[9] = bpf_core_type_exists(struct task_struct);
	RESULTS[10] = bpf_core_type_exists(struct btfkit_no_such_type);
	RESULTS[11] = bpf_core_type_exists(struct task_struct) ? bpf_core_type_size(struct task_struct) : -1;
	RESULTS[12] = bpf_core_type_matches(struct list_head);
	RESULTS[13] = bpf_core_type_id_local(struct task_struct);
	RESULTS[14] = bpf_core_type_id_kernel(struct task_struct);
	RESULTS[15] = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
	RESULTS[16] = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID) ? bpf_core_enum_value(enum pid_type, PIDTYPE_SID) : -1;
	RESULTS[17] = bpf_core_enum_value_exists(enum pid_type, BTFKIT_NOT_A_PID_TYPE);
	RESULTS[18] = BPF_CORE_READ(flavored, tgid);
	RESULTS[19] = BPF_CORE_READ(task, real_parent, real_parent, tgid);
	RESULTS[20] = bpf_core_field_exists(task->flags) ? bpf_core_field_offset(task->flags) : -1;
	RESULTS[21] = bpf_core_field_exists(task->flags) ? bpf_core_field_size(task->flags) : -1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
