/* SKIPJACK in the Fortezza card's byte convention (docs: kea/skipjack has
 * the Go twin; both must give the same bytes). E_FORTEZZA(key, blk) =
 * rev8(E_NIST(rev10(key), rev8(blk))): the card treats byte strings as
 * little-endian relative to the NIST numbering. */
#include <string.h>
#include "fortezzacard.h"

static const unsigned char F[256] = {
	0xa3,0xd7,0x09,0x83,0xf8,0x48,0xf6,0xf4,0xb3,0x21,0x15,0x78,0x99,0xb1,0xaf,0xf9,
	0xe7,0x2d,0x4d,0x8a,0xce,0x4c,0xca,0x2e,0x52,0x95,0xd9,0x1e,0x4e,0x38,0x44,0x28,
	0x0a,0xdf,0x02,0xa0,0x17,0xf1,0x60,0x68,0x12,0xb7,0x7a,0xc3,0xe9,0xfa,0x3d,0x53,
	0x96,0x84,0x6b,0xba,0xf2,0x63,0x9a,0x19,0x7c,0xae,0xe5,0xf5,0xf7,0x16,0x6a,0xa2,
	0x39,0xb6,0x7b,0x0f,0xc1,0x93,0x81,0x1b,0xee,0xb4,0x1a,0xea,0xd0,0x91,0x2f,0xb8,
	0x55,0xb9,0xda,0x85,0x3f,0x41,0xbf,0xe0,0x5a,0x58,0x80,0x5f,0x66,0x0b,0xd8,0x90,
	0x35,0xd5,0xc0,0xa7,0x33,0x06,0x65,0x69,0x45,0x00,0x94,0x56,0x6d,0x98,0x9b,0x76,
	0x97,0xfc,0xb2,0xc2,0xb0,0xfe,0xdb,0x20,0xe1,0xeb,0xd6,0xe4,0xdd,0x47,0x4a,0x1d,
	0x42,0xed,0x9e,0x6e,0x49,0x3c,0xcd,0x43,0x27,0xd2,0x07,0xd4,0xde,0xc7,0x67,0x18,
	0x89,0xcb,0x30,0x1f,0x8d,0xc6,0x8f,0xaa,0xc8,0x74,0xdc,0xc9,0x5d,0x5c,0x31,0xa4,
	0x70,0x88,0x61,0x2c,0x9f,0x0d,0x2b,0x87,0x50,0x82,0x54,0x64,0x26,0x7d,0x03,0x40,
	0x34,0x4b,0x1c,0x73,0xd1,0xc4,0xfd,0x3b,0xcc,0xfb,0x7f,0xab,0xe6,0x3e,0x5b,0xa5,
	0xad,0x04,0x23,0x9c,0x14,0x51,0x22,0xf0,0x29,0x79,0x71,0x7e,0xff,0x8c,0x0e,0xe2,
	0x0c,0xef,0xbc,0x72,0x75,0x6f,0x37,0xa1,0xec,0xd3,0x8e,0x62,0x8b,0x86,0x10,0xe8,
	0x08,0x77,0x11,0xbe,0x92,0x4f,0x24,0xc5,0x32,0x36,0x9d,0xcf,0xf3,0xa6,0xbb,0xac,
	0x5e,0x6c,0xa9,0x13,0x57,0x25,0xb5,0xe3,0xbd,0xa8,0x3a,0x01,0x05,0x59,0x2a,0x46,
};

void sj_schedule(sj_key *k, const unsigned char key[10]) {
	/* NIST schedule of the reversed key, expanded to 128 bytes. */
	unsigned char cv[10];
	for (int i = 0; i < 10; i++) cv[i] = key[9 - i];
	for (int i = 0; i < 128; i++) k->cv[i] = cv[i % 10];
}

static unsigned short G(const unsigned char *cv, unsigned short w) {
	unsigned char g1 = w >> 8, g2 = w & 0xff;
	unsigned char g3 = F[g2 ^ cv[0]] ^ g1;
	unsigned char g4 = F[g3 ^ cv[1]] ^ g2;
	unsigned char g5 = F[g4 ^ cv[2]] ^ g3;
	unsigned char g6 = F[g5 ^ cv[3]] ^ g4;
	return (unsigned short)(g5 << 8 | g6);
}

static unsigned short Ginv(const unsigned char *cv, unsigned short w) {
	unsigned char g5 = w >> 8, g6 = w & 0xff;
	unsigned char g4 = F[g5 ^ cv[3]] ^ g6;
	unsigned char g3 = F[g4 ^ cv[2]] ^ g5;
	unsigned char g2 = F[g3 ^ cv[1]] ^ g4;
	unsigned char g1 = F[g2 ^ cv[0]] ^ g3;
	return (unsigned short)(g1 << 8 | g2);
}

/* Card-order block: w1 = b[7]<<8 | b[6], ..., w4 = b[1]<<8 | b[0]. */
static void load(const unsigned char b[8], unsigned short *w1, unsigned short *w2,
		unsigned short *w3, unsigned short *w4) {
	*w1 = b[7] << 8 | b[6]; *w2 = b[5] << 8 | b[4];
	*w3 = b[3] << 8 | b[2]; *w4 = b[1] << 8 | b[0];
}

static void store(unsigned char b[8], unsigned short w1, unsigned short w2,
		unsigned short w3, unsigned short w4) {
	b[7] = w1 >> 8; b[6] = w1; b[5] = w2 >> 8; b[4] = w2;
	b[3] = w3 >> 8; b[2] = w3; b[1] = w4 >> 8; b[0] = w4;
}

/* Steps 0-31: rule A for steps 0-7 and 16-23, rule B for 8-15 and 24-31;
 * step s XORs in the counter s+1. */
void sj_encrypt(const sj_key *k, unsigned char out[8], const unsigned char in[8]) {
	unsigned short w1, w2, w3, w4;
	load(in, &w1, &w2, &w3, &w4);
	for (int s = 0; s < 32; s++) {
		unsigned short g = G(k->cv + 4 * s, w1), c = (unsigned short)(s + 1);
		if ((s / 8) % 2 == 0) { /* rule A */
			unsigned short n1 = g ^ w4 ^ c;
			w4 = w3; w3 = w2; w2 = g; w1 = n1;
		} else { /* rule B */
			unsigned short n3 = w1 ^ w2 ^ c;
			unsigned short n1 = w4;
			w4 = w3; w3 = n3; w2 = g; w1 = n1;
		}
	}
	store(out, w1, w2, w3, w4);
}

/* The steps inverted, from 31 down to 0. */
void sj_decrypt(const sj_key *k, unsigned char out[8], const unsigned char in[8]) {
	unsigned short w1, w2, w3, w4;
	load(in, &w1, &w2, &w3, &w4);
	for (int s = 31; s >= 0; s--) {
		unsigned short g = Ginv(k->cv + 4 * s, w2), c = (unsigned short)(s + 1);
		if ((s / 8) % 2 == 1) { /* rule B^-1 */
			unsigned short n2 = g ^ w3 ^ c;
			unsigned short n4 = w1;
			w1 = g; w2 = n2; w3 = w4; w4 = n4;
		} else { /* rule A^-1 */
			unsigned short n4 = w1 ^ w2 ^ c;
			w1 = g; w2 = w3; w3 = w4; w4 = n4;
		}
	}
	store(out, w1, w2, w3, w4);
}

void sj_cbc(const sj_key *k, unsigned char chain[8], int encrypt,
		unsigned char *dst, const unsigned char *src, size_t n) {
	unsigned char b[8], c[8];
	for (size_t off = 0; off + 8 <= n; off += 8) {
		if (encrypt) {
			for (int i = 0; i < 8; i++) b[i] = src[off + i] ^ chain[i];
			sj_encrypt(k, dst + off, b);
			memcpy(chain, dst + off, 8);
		} else {
			memcpy(c, src + off, 8);
			sj_decrypt(k, b, c);
			for (int i = 0; i < 8; i++) dst[off + i] = b[i] ^ chain[i];
			memcpy(chain, c, 8);
		}
	}
}

/* wrap10: the 10-byte key wrap (also the KEA KDF's last step). */
void sj_wrap10(const unsigned char kek[10], const unsigned char key[10], unsigned char out[10]) {
	sj_key k;
	unsigned char u[8];
	sj_schedule(&k, kek);
	sj_encrypt(&k, u, key);
	out[8] = key[8] ^ u[0];
	out[9] = key[9] ^ u[1];
	sj_encrypt(&k, out, u);
	memset(&k, 0, sizeof k);
}

void sj_checksum(const unsigned char key[10], unsigned char out[2]) {
	static const unsigned char five[8] = {0x55,0x55,0x55,0x55,0x55,0x55,0x55,0x55};
	sj_key k;
	unsigned char b[8];
	sj_schedule(&k, key);
	sj_encrypt(&k, b, five);
	out[0] = b[1];
	out[1] = b[2];
	memset(&k, 0, sizeof k);
}

void sj_wrap(const unsigned char kek[10], const unsigned char key[10], unsigned char out[12]) {
	sj_wrap10(kek, key, out);
	sj_checksum(key, out + 10);
}

int sj_unwrap(const unsigned char kek[10], const unsigned char in[12], unsigned char key[10]) {
	sj_key k;
	unsigned char u[8], sum[2];
	sj_schedule(&k, kek);
	sj_decrypt(&k, u, in);
	key[8] = in[8] ^ u[0];
	key[9] = in[9] ^ u[1];
	sj_decrypt(&k, key, u);
	memset(&k, 0, sizeof k);
	sj_checksum(key, sum);
	if (sum[0] != in[10] || sum[1] != in[11]) {
		memset(key, 0, 10);
		return 0;
	}
	return 1;
}
