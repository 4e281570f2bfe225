// Everything exists, elsewhere and in other sizes; two flavors of `pr`.
struct rs {
	long pad;
	unsigned int bf_pad : 5, bf : 3;
	int b;
	char arr[8];
	union {
		int u1;
		long u2;
	};
	int a;
};
struct pr___v1 {
	long pad;
	int a;
	int b;
};
struct pr___v2 {
	int b;
};
enum re { RE0, RE1 = 10, RE2 = 20 };
enum re64 { RBIG = 0x200000000ULL };
struct rs g_rs;
struct pr___v1 g_v1;
struct pr___v2 g_v2;
enum re g_re;
enum re64 g_re64;
