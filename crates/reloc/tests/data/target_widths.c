// The target of widths.bpf.c: every field of `struct w` changed in width,
// signedness or kind (see the comments there).
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;

enum we { WE_A = 1, WE_BIG = 0x100000000ULL };

struct w {
	__u16 u8w;
	__u32 u16w;
	__u64 u32w;
	__u32 u64n;
	__u8 u32n;
	__u8 u16n;
	__s16 s8w;
	__s32 s16w;
	__s64 s32w;
	__s32 s64n;
	__s64 u2s;
	__u64 s2u;
	__s64 same;
	unsigned int bf : 3;
	unsigned int bf2 : 20;
	void *ptr;
	__u32 p2u;
	void *u2p;
	enum we en;
	unsigned int c;
};
struct w g_w;
