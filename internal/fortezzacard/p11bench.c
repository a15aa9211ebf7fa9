/* p11bench: per-call latency of the card's C_SignInit+C_Sign (DSA) and
 * C_DeriveKey (KEA, e-mail mode) through a given PKCS#11 module path: the
 * card module in process, or p11-kit-client.so reaching it out of process
 * (scripts/measure-fortezza-p11kit.sh). Usage: p11bench MODULE LABEL PIN N */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CK_PTR *
#define NULL_PTR 0
#define CK_DEFINE_FUNCTION(r, n) r n
#define CK_DECLARE_FUNCTION(r, n) r n
#define CK_DECLARE_FUNCTION_POINTER(r, n) r (*n)
#define CK_CALLBACK_FUNCTION(r, n) r (*n)
#include "pkcs11.h"

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static CK_OBJECT_HANDLE find(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt) {
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt}};
	CK_OBJECT_HANDLE h = 0;
	CK_ULONG n = 0;
	f->C_FindObjectsInit(s, t, 2);
	f->C_FindObjects(s, &h, 1, &n);
	f->C_FindObjectsFinal(s);
	return n ? h : 0;
}

int main(int argc, char **argv) {
	if (argc != 5) { fprintf(stderr, "usage: p11bench MODULE LABEL PIN N\n"); return 2; }
	int n = atoi(argv[4]);
	void *lib = dlopen(argv[1], RTLD_NOW);
	if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
	CK_FUNCTION_LIST_PTR f;
	gfl(&f);
	CK_C_INITIALIZE_ARGS ia = {0};
	ia.flags = CKF_OS_LOCKING_OK;
	CK_RV rv = f->C_Initialize(&ia);
	if (rv) { fprintf(stderr, "C_Initialize: 0x%lx\n", rv); return 1; }
	CK_SLOT_ID slots[16];
	CK_ULONG ns = 16;
	f->C_GetSlotList(CK_TRUE, slots, &ns);
	CK_SLOT_ID slot = (CK_SLOT_ID)-1;
	for (CK_ULONG i = 0; i < ns; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && !strncmp((char *)ti.label, argv[2], strlen(argv[2]))) slot = slots[i];
	}
	if (slot == (CK_SLOT_ID)-1) { fprintf(stderr, "no token %s\n", argv[2]); return 1; }
	CK_SESSION_HANDLE s;
	f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[3], strlen(argv[3])))) { fprintf(stderr, "C_Login: 0x%lx\n", rv); return 1; }
	CK_OBJECT_HANDLE dsa = find(f, s, CKO_PRIVATE_KEY, CKK_DSA), kea = find(f, s, CKO_PRIVATE_KEY, CKK_KEA);
	CK_OBJECT_HANDLE keapub = find(f, s, CKO_PUBLIC_KEY, CKK_KEA);
	unsigned char digest[20] = {1}, sig[64];
	double t0 = now();
	for (int i = 0; i < n; i++) {
		CK_MECHANISM m = {CKM_DSA, NULL, 0};
		CK_ULONG sl = sizeof sig;
		if ((rv = f->C_SignInit(s, &m, dsa)) || (rv = f->C_Sign(s, digest, 20, sig, &sl))) { printf("C_Sign DSA: rv=0x%lx\n", rv); break; }
	}
	double sign = (now() - t0) / n;
	unsigned char y[128];
	CK_ATTRIBUTE ya = {CKA_VALUE, y, sizeof y};
	f->C_GetAttributeValue(s, keapub, &ya, 1);
	unsigned char ra[128], rb[128] = {0}, iv[24];
	rb[127] = 1; /* e-mail mode, against our own public value */
	CK_KEA_DERIVE_PARAMS kp = {CK_TRUE, 128, ra, rb, ya.ulValueLen, y};
	CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
	CK_KEY_TYPE sj = CKK_SKIPJACK;
	CK_BBOOL fa = CK_FALSE;
	CK_ATTRIBUTE tt[] = {{CKA_CLASS, &sk, sizeof sk}, {CKA_KEY_TYPE, &sj, sizeof sj}, {CKA_TOKEN, &fa, 1}};
	t0 = now();
	int derived = 0;
	for (int i = 0; i < n; i++) {
		CK_MECHANISM m = {CKM_KEA_KEY_DERIVE, &kp, sizeof kp};
		CK_OBJECT_HANDLE tek;
		memset(ra, 0, sizeof ra);
		if ((rv = f->C_DeriveKey(s, &m, kea, tt, 3, &tek))) { printf("C_DeriveKey KEA: rv=0x%lx\n", rv); break; }
		derived++;
		if (i == 0) {
			int zero = 1;
			for (int j = 0; j < 128; j++) zero &= ra[j] == 0;
			printf("KEA derive: Ra %s to the caller\n", zero ? "NOT returned" : "returned");
			CK_MECHANISM cm = {CKM_SKIPJACK_CBC64, iv, sizeof iv};
			memset(iv, 0, sizeof iv);
			rv = f->C_EncryptInit(s, &cm, tek);
			printf("SKIPJACK-CBC64 encrypt init: rv=0x%lx, IV %s\n", rv, memcmp(iv, "THIS IS NOT LEAF", 16) ? "NOT returned" : "returned");
			if (!rv) { unsigned char b[8] = {0}, o[8]; CK_ULONG ol = 8; f->C_Encrypt(s, b, 8, o, &ol); }
		}
		f->C_DestroyObject(s, tek);
	}
	double derive = derived ? (now() - t0) / derived : 0;
	printf("%s: C_SignInit+C_Sign(DSA) %.1f us, C_DeriveKey(KEA)+C_DestroyObject %.1f us (n=%d)\n", argv[1], sign * 1e6, derive * 1e6, n);
	f->C_Finalize(NULL);
	return 0;
}
