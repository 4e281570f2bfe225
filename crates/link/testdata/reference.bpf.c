// The clang reference for btfkit-link's equivalence test (tests/equivalence.rs):
// every CO-RE query form, on types declared with preserve_access_index.
// testdata/rust-reference/src/lib.rs is the same program written the way
// btfkit's macros compile it (markers + type descriptors).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct inner {
	int x;
	unsigned long long y;
} __attribute__((preserve_access_index));

enum state { ST_A = 1, ST_B = -2 };
enum big { BIG_A = 0x100000000ULL, BIG_B = 5 };

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	unsigned char flag:1, two:3;
	unsigned int bits:20;
	union {
		int ua;
		long long ub;
	};
	char comm[16];
	struct inner in[2];
	_Bool b;
	char sc;
	short s;
	unsigned short us;
	long long l;
	unsigned long long ul;
	struct fwdonly *fp;
	enum state st;
	enum big bg;
} __attribute__((preserve_access_index));

/* A flavor: libbpf matches it against task_struct. */
struct task_struct___v1 {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

long results[32];

SEC("raw_tp/sys_enter")
int queries(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___v1 *t1 = (void *)t;

	results[0] = bpf_core_field_offset(t->pid);
	results[1] = bpf_core_field_exists(t->tgid);
	results[2] = bpf_core_field_size(t->comm);
	results[3] = bpf_core_field_offset(t->ub);
	results[4] = bpf_core_field_offset(t->in[1].y);
	results[5] = bpf_core_field_offset(t->comm[3]);
	results[6] = bpf_core_field_size(t->bits);
	results[7] = bpf_core_field_offset(t->bits);
	results[8] = __builtin_preserve_field_info(t->two, BPF_FIELD_LSHIFT_U64);
	results[9] = __builtin_preserve_field_info(t->two, BPF_FIELD_RSHIFT_U64);
	results[10] = __builtin_preserve_field_info(t->sc, BPF_FIELD_SIGNED);
	results[11] = bpf_core_type_exists(struct task_struct);
	results[12] = bpf_core_type_size(struct task_struct);
	results[13] = bpf_core_enum_value(enum state, ST_B);
	results[14] = bpf_core_enum_value_exists(enum big, BIG_B);
	results[15] = bpf_core_type_id_local(struct inner);
	results[16] = bpf_core_field_offset(t1->tgid);
	results[17] = bpf_core_field_exists(t->fp);
	results[18] = bpf_core_field_offset(t->bg);
	results[19] = bpf_core_type_matches(struct inner);
	return 0;
}

/* The four forms whose instruction counts the test reports. */
SEC("raw_tp/sys_enter")
long offset_option(void *ctx)
{
	struct task_struct *t = ctx; /* only its type matters */
	if (bpf_core_field_exists(t->pid))
		return bpf_core_field_offset(t->pid);
	return -1;
}

SEC("raw_tp/sys_enter")
long field_exists(void *ctx)
{
	struct task_struct *t = ctx; /* only its type matters */
	return bpf_core_field_exists(t->tgid);
}

SEC("raw_tp/sys_enter")
long read_one_hop(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	return BPF_CORE_READ(t, pid);
}

SEC("raw_tp/sys_enter")
long read_two_hops(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	return BPF_CORE_READ(t, real_parent, tgid);
}

char LICENSE[] SEC("license") = "GPL";
