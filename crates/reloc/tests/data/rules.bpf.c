// Every CO-RE relocation kind, for comparing btfkit's engine with libbpf on
// targets built to make each rule fire (target_*.c).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#ifndef bpf_core_field_signed
#define bpf_core_field_signed(field) __builtin_preserve_field_info(field, BPF_FIELD_SIGNED)
#define bpf_core_field_lshift(field) __builtin_preserve_field_info(field, BPF_FIELD_LSHIFT_U64)
#define bpf_core_field_rshift(field) __builtin_preserve_field_info(field, BPF_FIELD_RSHIFT_U64)
#endif

struct rs {
	int a;
	int b;
	unsigned int bf : 3;
	char arr[4];
	union {
		int u1;
		long u2;
	};
} __attribute__((preserve_access_index));

struct rs___flav {
	int b;
} __attribute__((preserve_access_index));

struct pr {
	int a;
	int b;
} __attribute__((preserve_access_index));

enum re { RE1 = 1, RE2 = 2 };
enum re64 { RBIG = 0x100000000ULL };

__u64 out[32];

SEC("raw_tp/sys_enter")
int rules(void *ctx)
{
	struct rs *p = (void *)bpf_get_current_task();
	struct rs___flav *f = (void *)p;
	struct pr *q = (void *)p;
	out[0] = bpf_core_field_offset(p->a);
	out[1] = bpf_core_field_offset(p->b);
	out[2] = bpf_core_field_size(p->b);
	out[3] = bpf_core_field_exists(p->arr);
	out[4] = bpf_core_field_offset(p->arr[2]);
	out[5] = bpf_core_field_offset(p->u2);
	out[6] = bpf_core_field_signed(p->a);
	out[7] = bpf_core_field_lshift(p->bf);
	out[8] = bpf_core_field_rshift(p->bf);
	out[9] = bpf_core_field_offset(p->bf);
	out[10] = bpf_core_field_size(p->bf);
	out[11] = bpf_core_type_id_local(struct rs);
	out[12] = bpf_core_type_id_kernel(struct rs);
	out[13] = bpf_core_type_exists(struct rs);
	out[14] = bpf_core_type_size(struct rs);
	out[15] = bpf_core_type_matches(struct rs);
	out[16] = bpf_core_enum_value_exists(enum re, RE2);
	out[17] = bpf_core_enum_value(enum re, RE2);
	out[18] = bpf_core_enum_value(enum re64, RBIG);
	out[19] = bpf_core_field_offset(f->b);
	/* Candidate pruning: only pr___v1 has `a`, so `b` must not see pr___v2. */
	out[20] = bpf_core_field_offset(q->a);
	out[21] = bpf_core_field_offset(q->b);
	/* A direct load: an LDX relocation (size adjustment / poisoning). */
	out[22] = p->b;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
