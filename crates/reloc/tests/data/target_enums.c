// Each enum of enums.bpf.c as the other kind: 32-bit ones grown to ENUM64,
// 64-bit ones shrunk to 32 bits (the kernel selftests' enum64val___diff:
// -101 and -202); `fl` is only a flavored ENUM64 copy.
enum e32 { E32_A = 1, E32_B = -5, E32_BIG = -0x100000000LL };
enum eu32 { EU32_A = 1, EU32_B = 0x7ffffff0, EU32_BIG = 0x100000000ULL };
enum e64 { E64_A = -101, E64_B = -202 };
enum eu64 { EU64_A = 5, EU64_B = 6 };
enum fl___v64 { FL_A = 7, FL_BIG = 0x100000000ULL };

struct holder {
	enum e32 a;
	enum e64 b;
};
struct holder g_h;
enum e32 g_e32;
enum eu32 g_eu32;
enum e64 g_e64;
enum eu64 g_eu64;
enum fl___v64 g_fl64;
