// ENUM and ENUM64 are one kind to libbpf: local 32-bit and 64-bit enums,
// signed and unsigned, relocated against targets where each became the other
// kind, has flavored copies of the other kind, or disagreeing copies
// (target_enums.c, target_enums_ambiguous.c).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#ifndef bpf_core_field_signed
#define bpf_core_field_signed(field) __builtin_preserve_field_info(field, BPF_FIELD_SIGNED)
#endif

enum e32 { E32_A = 1, E32_B = -5 };
enum eu32 { EU32_A = 1, EU32_B = 0x7ffffff0 };
enum e64 { E64_A = -101, E64_B = 0x100000000LL };
enum eu64 { EU64_A = 5, EU64_B = 0x100000000ULL };
enum fl { FL_A = 7 };
enum amb { AMB_A = 3 };

struct holder {
	enum e32 a;
	enum e64 b;
} __attribute__((preserve_access_index));

__u64 out[64];

#define ALL(T, V, i)                                                    \
	do {                                                            \
		out[i] = bpf_core_enum_value_exists(enum T, V);         \
		out[i + 1] = bpf_core_enum_value(enum T, V);            \
		out[i + 2] = bpf_core_type_exists(enum T);              \
		out[i + 3] = bpf_core_type_size(enum T);                \
		out[i + 4] = bpf_core_type_matches(enum T);             \
		out[i + 5] = bpf_core_type_id_kernel(enum T);           \
	} while (0)

SEC("raw_tp/sys_enter")
int enums(void *ctx)
{
	struct holder *h = (void *)bpf_get_current_task();

	ALL(e32, E32_B, 0);
	ALL(eu32, EU32_B, 6);
	ALL(e64, E64_A, 12);
	out[18] = bpf_core_enum_value(enum e64, E64_B);
	ALL(eu64, EU64_B, 19);
	ALL(fl, FL_A, 25);
	out[31] = bpf_core_field_signed(h->a);
	out[32] = bpf_core_field_size(h->a);
	out[33] = bpf_core_field_signed(h->b);
	out[34] = bpf_core_field_size(h->b);
	out[35] = bpf_core_field_exists(h->b);
	return 0;
}

SEC("raw_tp/sys_enter")
int ambiguous(void *ctx)
{
	ALL(amb, AMB_A, 40);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
