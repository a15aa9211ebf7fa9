/* Known-answer tests of skipjack.c (run by `make fortezza-module`). */
#include <stdio.h>
#include <string.h>
#include "fortezzacard.h"

static int hex(const char *s, unsigned char *out) {
	int n = 0;
	for (; s[0] && s[1]; s += 2) { unsigned v; sscanf(s, "%2x", &v); out[n++] = v; }
	return n;
}

int main(void) {
	int fail = 0;
	unsigned char key[10], pt[8], ct[8], want[8], back[8];
	sj_key k;
	/* The official vector with every byte string reversed (card order). */
	hex("11223344556677889900", key); hex("aabbccdd00112233", pt); hex("00d3127ae2ca8725", want);
	sj_schedule(&k, key); sj_encrypt(&k, ct, pt); sj_decrypt(&k, back, ct);
	if (memcmp(ct, want, 8) || memcmp(back, pt, 8)) { puts("sjtest: card-order KAT failed"); fail = 1; }
	/* NIST KEA annex: E(t, v2hi) and E(t, U). */
	hex("e7496e99e4628b7f9ffb", key); hex("99ccfe2b90fd550b", pt); sj_schedule(&k, key);
	sj_encrypt(&k, ct, pt); hex("2f30214d9d11d556", want);
	if (memcmp(ct, want, 8)) { puts("sjtest: KEA annex U failed"); fail = 1; }
	sj_encrypt(&k, back, ct); hex("740839dee833add4", want);
	if (memcmp(back, want, 8)) { puts("sjtest: KEA annex E(t,U) failed"); fail = 1; }
	/* wrap/unwrap round trip and checksum rejection. */
	unsigned char kek[10], mek[10], w[12], got[10];
	hex("0102030405060708090a", kek); hex("a1a2a3a4a5a6a7a8a9aa", mek);
	sj_wrap(kek, mek, w);
	if (!sj_unwrap(kek, w, got) || memcmp(got, mek, 10)) { puts("sjtest: unwrap failed"); fail = 1; }
	w[11] ^= 1;
	if (sj_unwrap(kek, w, got)) { puts("sjtest: bad checksum accepted"); fail = 1; }
	if (!fail) puts("sjtest: ok");
	return fail;
}
