/* C shapes that kernel BTF holds, for crates/gen/tests/c_layouts.rs: the
 * fixed-layout bindings of these types must read and write the same bytes
 * as C does. */
typedef unsigned char u8;
typedef unsigned int u32;
typedef long long s64;
typedef unsigned long long u64;

enum color { RED = -1, GREEN = 1, BLUE = 2 };
enum uflag { UF_A = 1, UF_B = 6 };
enum big64 { BIG_A = 0xffffffffffffffffULL, BIG_B = 1 };
enum sbig64 { SB_MIN = -0x7fffffffffffffffLL - 1, SB_ONE = 1 };
enum declared_only;

/* Bitfields of every width and signedness, across storage units, after a
 * zero-width bitfield, holding enums and _Bool. */
struct bits {
	unsigned int a : 3;
	int b : 5;
	unsigned long long c : 40;
	enum color col : 3;
	_Bool flag : 1;
	unsigned char d;
	long long e : 33;
	unsigned short f : 9;
	int : 0;
	unsigned int g : 32;
	u64 h : 64;
	s64 i : 1;
	enum uflag uf : 3;
};

struct __attribute__((packed)) packed {
	char c;
	int i;
	long long l;
	unsigned int bf : 13;
};

struct aligned {
	int x;
	char y __attribute__((aligned(64)));
};

struct over {
	char c;
} __attribute__((aligned(32)));

struct holds_over {
	int a;
	struct over o;
	int b;
};

struct anon {
	int kind;
	union {
		int i;
		struct {
			short lo, hi;
		};
		float f;
	};
	struct {
		unsigned int x : 4, y : 28;
	} pos;
};

union ubits {
	unsigned int x : 5;
	int y : 3;
};

struct flex {
	int n;
	int zero[0];
	char tail[];
};

/* Member names that are Rust keywords or cannot be raw identifiers. */
struct keywords {
	int type;
	int fn;
	int self;
	int Self;
	int crate;
};

struct fptrs {
	int (*cb)(int, const char *);
	void (*v)(void);
	int (*many)(int, int, int, int, int, int, int, int, int);
	int (*varargs)(const char *, ...);
};

struct fwd;

struct uses_fwd {
	struct fwd *p;
	const volatile int cv;
	int *__attribute__((btf_type_tag("user"))) up;
	enum declared_only *e;
};

typedef struct {
	int q;
} anon_typedef_t;
typedef anon_typedef_t chain1;
typedef chain1 chain2;

/* A struct and a typedef with one name (C keeps them apart, Rust does not),
 * and a struct named like a Rust primitive. */
struct collide {
	int x;
};
typedef int collide;
struct u16 {
	int shadow;
};

struct everything {
	struct bits b;
	struct packed p;
	struct aligned al;
	struct holds_over ho;
	struct anon an;
	union ubits ub;
	struct flex *fl;
	struct keywords kw;
	struct fptrs fp;
	struct uses_fwd uf;
	chain2 c2;
	anon_typedef_t at;
	enum color col;
	enum big64 b64;
	enum sbig64 sb64;
	struct collide co;
	collide ct;
	struct u16 sh;
	u8 small;
};
