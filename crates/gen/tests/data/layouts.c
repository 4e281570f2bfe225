/* The C side of crates/gen/tests/c_layouts.rs, built twice from one file:
 * with -DBTF_ONLY for BPF (clang's BTF of layouts.h is what `btfkit gen`
 * reads), and for the host, where `fill` writes `struct everything` as C
 * lays it out and `show` prints every member the test compares. */
#include "layouts.h"

#ifdef BTF_ONLY
struct everything E;
#else
#include <stdio.h>
#include <string.h>

static void fill(struct everything *e)
{
	memset(e, 0, sizeof(*e));
	e->b.a = 5;
	e->b.b = -11;
	e->b.c = 0xa5a5a5a5a5ULL;
	e->b.col = RED;
	e->b.flag = 1;
	e->b.d = 0xc3;
	e->b.e = -0x12345678LL;
	e->b.f = 0x1ab;
	e->b.g = 0xdeadbeef;
	e->b.h = 0x0123456789abcdefULL;
	e->b.i = -1;
	e->b.uf = UF_B;
	e->p.c = -7;
	e->p.i = 0x11223344;
	e->p.l = -0x1122334455667788LL;
	e->p.bf = 0x1abc;
	e->al.x = 42;
	e->al.y = 9;
	e->ho.a = 1;
	e->ho.o.c = 2;
	e->ho.b = 3;
	e->an.kind = 77;
	e->an.lo = -2;
	e->an.hi = 0x1234;
	e->an.pos.x = 0xa;
	e->an.pos.y = 0xbcdef12;
	e->ub.x = 0x15;
	e->kw.type = 1;
	e->kw.fn = 2;
	e->kw.self = 3;
	e->kw.Self = 4;
	e->kw.crate = 5;
	e->c2.q = 6;
	e->at.q = 7;
	e->col = BLUE;
	e->b64 = BIG_A;
	e->sb64 = SB_MIN;
	e->co.x = 8;
	e->ct = 9;
	e->sh.shadow = 10;
	e->small = 200;
}

#define S(name, v) printf("%s=%lld\n", name, (long long)(v))
#define U(name, v) printf("%s=%llu\n", name, (unsigned long long)(v))

static void show(const struct everything *e)
{
	U("b.a", e->b.a);
	S("b.b", e->b.b);
	U("b.c", e->b.c);
	S("b.col", e->b.col);
	U("b.flag", e->b.flag);
	U("b.d", e->b.d);
	S("b.e", e->b.e);
	U("b.f", e->b.f);
	U("b.g", e->b.g);
	U("b.h", e->b.h);
	S("b.i", e->b.i);
	U("b.uf", e->b.uf);
	S("p.c", e->p.c);
	S("p.i", e->p.i);
	S("p.l", e->p.l);
	U("p.bf", e->p.bf);
	S("al.x", e->al.x);
	S("al.y", e->al.y);
	S("ho.a", e->ho.a);
	S("ho.o.c", e->ho.o.c);
	S("ho.b", e->ho.b);
	S("an.kind", e->an.kind);
	S("an.lo", e->an.lo);
	S("an.hi", e->an.hi);
	U("an.pos.x", e->an.pos.x);
	U("an.pos.y", e->an.pos.y);
	U("ub.x", e->ub.x);
	S("ub.y", e->ub.y);
	S("kw.type", e->kw.type);
	S("kw.fn", e->kw.fn);
	S("kw.self", e->kw.self);
	S("kw.Self", e->kw.Self);
	S("kw.crate", e->kw.crate);
	S("c2.q", e->c2.q);
	S("at.q", e->at.q);
	S("col", e->col);
	U("b64", e->b64);
	S("sb64", e->sb64);
	S("co.x", e->co.x);
	S("ct", e->ct);
	S("sh.shadow", e->sh.shadow);
	U("small", e->small);
	U("sizeof", sizeof(*e));
}

/* `fill`: write the filled struct's bytes; `show`: print the struct read
 * from standard input. */
int main(int argc, char **argv)
{
	static struct everything e;
	if (argc == 2 && !strcmp(argv[1], "fill")) {
		fill(&e);
		return fwrite(&e, sizeof(e), 1, stdout) != 1;
	}
	if (argc == 2 && !strcmp(argv[1], "show")) {
		if (fread(&e, sizeof(e), 1, stdin) != 1)
			return 1;
		show(&e);
		return 0;
	}
	return 2;
}
#endif
