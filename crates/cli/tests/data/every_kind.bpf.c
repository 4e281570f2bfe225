// Every BTF kind clang emits, for `btfkit dump` vs `bpftool btf dump`.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))

union fwd_only;
struct fwd_struct;

enum small_signed { NEG = -1, POS = 1 };
enum big_unsigned { BIG = 0xffffffff00000000ULL, SMALL = 1 };
enum big_signed { BIGNEG = -0x100000000LL, ZERO = 0 };

struct bits {
	unsigned int a : 3;
	int b : 5;
	unsigned long long c : 40;
	char d;
	float f;
	double g;
	union fwd_only *u;
	struct fwd_struct *s;
	int __user *uptr;
	const volatile int cv;
	int *restrict r;
	int arr[4][2];
	enum small_signed e1;
	enum big_unsigned e2;
	enum big_signed e3;
	_Bool flag;
	union {
		int i;
		float fl;
	} un;
} __tag("a-struct-tag");

typedef int (*callback_t)(int, const char *, ...);

int counter SEC(".data.custom") = 1;
struct bits global_bits;
callback_t global_cb;

static __attribute__((noinline)) int helper(struct bits *b __tag("param-tag"), int x)
{
	return b->a + x;
}

SEC("raw_tp/sys_enter")
int every_kind(void *ctx)
{
	counter++;
	return helper(&global_bits, counter) + (global_cb != 0);
}

char LICENSE[] SEC("license") = "GPL";
