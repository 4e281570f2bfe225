// Two flavors of `rs` that disagree on where `a` is.
struct rs___x1 {
	int a;
	int b;
	unsigned int bf : 3;
	char arr[4];
	union {
		int u1;
		long u2;
	};
};
struct rs___x2 {
	int b;
	int a;
	unsigned int bf : 3;
	char arr[4];
	union {
		int u1;
		long u2;
	};
};
struct rs___x1 g1;
struct rs___x2 g2;
