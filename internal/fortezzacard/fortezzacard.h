#ifndef FORTEZZACARD_H
#define FORTEZZACARD_H
#include <stddef.h>

typedef struct { unsigned char cv[128]; } sj_key;

void sj_schedule(sj_key *k, const unsigned char key[10]);
void sj_encrypt(const sj_key *k, unsigned char out[8], const unsigned char in[8]);
void sj_decrypt(const sj_key *k, unsigned char out[8], const unsigned char in[8]);
void sj_cbc(const sj_key *k, unsigned char chain[8], int encrypt,
	unsigned char *dst, const unsigned char *src, size_t n);
void sj_wrap10(const unsigned char kek[10], const unsigned char key[10], unsigned char out[10]);
void sj_checksum(const unsigned char key[10], unsigned char out[2]);
void sj_wrap(const unsigned char kek[10], const unsigned char key[10], unsigned char out[12]);
int sj_unwrap(const unsigned char kek[10], const unsigned char in[12], unsigned char key[10]);
#endif
