// The C twin of src/main.rs, for comparing CO-RE records with clang-22's:
// members of anonymous structs and unions at depths 1 to 4, named directly.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#ifndef bpf_core_field_lshift
#define bpf_core_field_lshift(field) __builtin_preserve_field_info(field, BPF_FIELD_LSHIFT_U64)
#endif

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)

struct inner {
	int x;
	union {
		int iu_a;
		long iu_b;
	};
};

struct outer {
	int head;
	union {
		int u_a;
		struct {
			short s_a;
			union {
				char c3;
				struct {
					int depth4;
					unsigned int bits4 : 3;
				};
			};
			struct outer *next;
		};
	};
	struct inner inn;
	struct {
		long tail_a;
	};
};

union top {
	int ta;
	struct {
		short tb;
		short tc;
	};
};

#pragma clang attribute pop

__u64 RESULTS[9];

SEC("raw_tp/sys_enter")
int anon_members(void *ctx)
{
	struct outer *o = ctx;
	union top *t = ctx;
	RESULTS[0] = bpf_core_field_exists(o->depth4) ? bpf_core_field_offset(o->depth4) : -1;
	RESULTS[1] = bpf_core_field_exists(o->u_a) ? bpf_core_field_offset(o->u_a) : -1;
	RESULTS[2] = bpf_core_field_exists(o->s_a) ? bpf_core_field_offset(o->s_a) : -1;
	RESULTS[3] = bpf_core_field_exists(o->c3) ? bpf_core_field_size(o->c3) : -1;
	RESULTS[4] = bpf_core_field_exists(o->tail_a) ? bpf_core_field_offset(o->tail_a) : -1;
	RESULTS[5] = bpf_core_field_exists(o->inn.iu_b);
	RESULTS[6] = bpf_core_field_exists(t->tc) ? bpf_core_field_offset(t->tc) : -1;
	RESULTS[7] = bpf_core_field_lshift(o->bits4);
	RESULTS[8] = BPF_CORE_READ(o, next, depth4);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
