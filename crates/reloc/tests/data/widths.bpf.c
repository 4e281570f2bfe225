// Loads (LDX), stores of a register (STX) and of an immediate (ST) of every
// width on fields whose target type is widened, narrowed, made signed or
// unsigned, a pointer, a bitfield or an enum of another size, for comparing
// btfkit's patching with libbpf's (target_widths.c). Compiled twice: for the
// default CPU and for -mcpu=v4 (sign-extending loads, ST of immediates).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum we { WE_A = 1 };

struct w {
	__u8 u8w;	/* -> u16 */
	__u16 u16w;	/* -> u32 */
	__u32 u32w;	/* -> u64 */
	__u64 u64n;	/* -> u32 */
	__u32 u32n;	/* -> u8 */
	__u16 u16n;	/* -> u8 */
	__s8 s8w;	/* -> s16 */
	__s16 s16w;	/* -> s32 */
	__s32 s32w;	/* -> s64 */
	__s64 s64n;	/* -> s32 */
	__u32 u2s;	/* -> s64 */
	__s32 s2u;	/* -> u64 */
	__u64 same;	/* -> s64: same size */
	__u16 bf;	/* -> 3-bit bitfield */
	__u32 bf2;	/* -> 20-bit bitfield */
	void *ptr;	/* -> pointer, same size */
	void *p2u;	/* -> u32 */
	__u32 u2p;	/* -> pointer */
	enum we en;	/* -> 64-bit enum */
	char c;		/* -> unsigned int */
	__u32 gone;	/* missing */
} __attribute__((preserve_access_index));

__u64 out[32];

SEC("raw_tp/sys_enter")
int loads(void *ctx)
{
	struct w *p = (void *)bpf_get_current_task();

	out[0] = p->u8w;
	out[1] = p->u16w;
	out[2] = p->u32w;
	out[3] = p->u64n;
	out[4] = p->u32n;
	out[5] = p->u16n;
	out[6] = p->s8w;
	out[7] = p->s16w;
	out[8] = p->s32w;
	out[9] = p->s64n;
	out[10] = p->u2s;
	out[11] = p->s2u;
	out[12] = p->same;
	out[13] = p->bf;
	out[14] = p->bf2;
	out[15] = (__u64)p->ptr;
	out[16] = (__u64)p->p2u;
	out[17] = p->u2p;
	out[18] = p->en;
	out[19] = p->c;
	out[20] = p->gone;
	return 0;
}

SEC("raw_tp/sys_enter")
int stores_reg(void *ctx)
{
	struct w *p = (void *)bpf_get_current_task();
	__u64 v = bpf_get_prandom_u32();

	p->u8w = v;
	p->u16w = v;
	p->u32w = v;
	p->u64n = v;
	p->u32n = v;
	p->u16n = v;
	p->s8w = v;
	p->s16w = v;
	p->s32w = v;
	p->s64n = v;
	p->u2s = v;
	p->s2u = v;
	p->same = v;
	p->bf = v;
	p->bf2 = v;
	p->ptr = (void *)v;
	p->p2u = (void *)v;
	p->u2p = v;
	p->en = v;
	p->c = v;
	p->gone = v;
	return 0;
}

SEC("raw_tp/sys_enter")
int stores_imm(void *ctx)
{
	struct w *p = (void *)bpf_get_current_task();

	p->u8w = 7;
	p->u16w = 7;
	p->u32w = 7;
	p->u64n = 7;
	p->u32n = 7;
	p->u16n = 7;
	p->s8w = 7;
	p->s16w = 7;
	p->s32w = 7;
	p->s64n = 7;
	p->u2s = 7;
	p->s2u = 7;
	p->same = 7;
	p->bf = 7;
	p->bf2 = 7;
	p->ptr = 0;
	p->p2u = 0;
	p->u2p = 7;
	p->en = WE_A;
	p->c = 7;
	p->gone = 7;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
