// The C twin of src/main.rs: the same programs, written the way a C CO-RE
// program asks (libbpf's bpf_core_read.h, clang-22), for counting what each
// query costs in instructions.
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
	int pid;
	struct task_struct *real_parent;
	int tgid;
	unsigned int sched_reset_on_fork : 1;
} __attribute__((preserve_access_index));

struct list_head {
	struct list_head *next, *prev;
} __attribute__((preserve_access_index));

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID };

#define TASK ((struct task_struct *)0)
#define PROGRAM(name) SEC("raw_tp/" #name) long name(void *ctx)

PROGRAM(q_byte_off) { return bpf_core_field_exists(TASK->tgid) ? (long)bpf_core_field_offset(TASK->tgid) : -1; }
PROGRAM(q_byte_sz) { return bpf_core_field_exists(TASK->tgid) ? (long)bpf_core_field_size(TASK->tgid) : -1; }
PROGRAM(q_field_exists) { return bpf_core_field_exists(TASK->tgid); }
PROGRAM(q_signed) { return bpf_core_field_exists(TASK->tgid) ? (long)bpf_core_field_signed(TASK->tgid) : -1; }
PROGRAM(q_lshift_u64) { return bpf_core_field_lshift(TASK->sched_reset_on_fork); }
PROGRAM(q_rshift_u64) { return bpf_core_field_rshift(TASK->sched_reset_on_fork); }
PROGRAM(q_type_exists) { return bpf_core_type_exists(struct task_struct); }
PROGRAM(q_type_size) { return bpf_core_type_exists(struct task_struct) ? (long)bpf_core_type_size(struct task_struct) : -1; }
PROGRAM(q_type_matches) { return bpf_core_type_matches(struct list_head); }
PROGRAM(q_local_type_id) { return bpf_core_type_id_local(struct task_struct); }
PROGRAM(q_target_type_id) { return bpf_core_type_exists(struct task_struct) ? (long)bpf_core_type_id_kernel(struct task_struct) : -1; }
PROGRAM(q_enumval_exists) { return bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID); }
PROGRAM(q_enumval_value) { return bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID) ? (long)bpf_core_enum_value(enum pid_type, PIDTYPE_TGID) : -1; }

/* The Rust core_read! returns Result (Err on a failed read); the C spelling of
 * the same answer checks bpf_probe_read_kernel's result. */
PROGRAM(q_core_read_1)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	int v;
	if (bpf_core_read(&v, sizeof(v), &t->pid))
		return -1;
	return v;
}

PROGRAM(q_core_read_2)
{
	struct task_struct *t = (void *)bpf_get_current_task(), *p;
	int v;
	if (bpf_core_read(&p, sizeof(p), &t->real_parent))
		return -1;
	if (bpf_core_read(&v, sizeof(v), &p->tgid))
		return -1;
	return v;
}

PROGRAM(q_core_read_bitfield)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	unsigned long long v = 0;
	unsigned int sz = bpf_core_field_size(t->sched_reset_on_fork);
	if (bpf_probe_read_kernel(&v, sz, (void *)t + bpf_core_field_offset(t->sched_reset_on_fork)))
		return -1;
	v <<= bpf_core_field_lshift(t->sched_reset_on_fork);
	if (bpf_core_field_signed(t->sched_reset_on_fork))
		return (long long)v >> bpf_core_field_rshift(t->sched_reset_on_fork);
	return v >> bpf_core_field_rshift(t->sched_reset_on_fork);
}

char LICENSE[] SEC("license") = "GPL";
