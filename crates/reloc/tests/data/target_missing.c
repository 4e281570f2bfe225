// Fields, enumerators and types missing; `b` grows to a signed long.
struct rs {
	long b;
	union {
		int u1;
		long u2;
	};
};
enum re { RE1 = 1 };
struct rs g_rs;
enum re g_re;
