// Reads of a field the running kernel lacks, behind a bpf_core_field_exists
// guard or not, for checking btfkit's reachability verdicts against the
// verifier. Compiled once per CASE (-DCASE=n); each object has one program.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	long btfkit_missing;
} __attribute__((preserve_access_index));

long out;

static __noinline long read_missing(struct task_struct *t)
{
	return BPF_CORE_READ(t, btfkit_missing);
}

SEC("raw_tp/sys_enter")
int guards(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();

#if CASE == 1 /* guarded: unreachable, loads */
	if (bpf_core_field_exists(t->btfkit_missing))
		out = BPF_CORE_READ(t, btfkit_missing);
#elif CASE == 2 /* unguarded: reachable, rejected */
	out = BPF_CORE_READ(t, btfkit_missing);
#elif CASE == 3 /* the guard's value spilled to the stack and filled back */
	volatile long exists = bpf_core_field_exists(t->btfkit_missing);
	out = BPF_CORE_READ(t, pid);
	if (exists)
		out = BPF_CORE_READ(t, btfkit_missing);
#elif CASE == 4 /* a subprogram called only behind the guard */
	if (bpf_core_field_exists(t->btfkit_missing))
		out = read_missing(t);
#elif CASE == 5 /* the same subprogram called unguarded */
	out = read_missing(t);
#elif CASE == 6 /* the guard decided through arithmetic on relocated constants */
	if (bpf_core_field_exists(t->btfkit_missing) + bpf_core_field_exists(t->pid) == 2)
		out = BPF_CORE_READ(t, btfkit_missing);
#elif CASE == 7 /* guarded by the other field: reachable, rejected */
	if (bpf_core_field_exists(t->pid))
		out = BPF_CORE_READ(t, btfkit_missing);
#endif
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
