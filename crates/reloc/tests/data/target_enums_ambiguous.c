// `amb` of enums.bpf.c as a 32-bit enum beside a flavored ENUM64 copy whose
// value differs: two candidates to libbpf, a decision ambiguity.
enum amb { AMB_A = 3 };
enum amb___v64 { AMB_A___v64 = 4, AMB_BIG = 0x100000000ULL };
enum amb g_amb;
enum amb___v64 g_amb64;
