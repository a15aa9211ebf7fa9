/* libfortezzacard.so: a PKCS#11 module that is a Fortezza card
 * (internal/fortezzacard/README.md).
 *
 * It forwards the standard calls (slots, sessions, login, objects, DSA,
 * SHA-1) to SoftHSM2, loaded with dlopen, and does itself what SoftHSM
 * lacks and a card has:
 *   - CKM_KEA_KEY_PAIR_GEN / CKK_KEA keys: stored in SoftHSM as CKK_DH keys
 *     in the KEA group (x stays sensitive in SoftHSM; R^x and Y^x are
 *     CKM_DH_PKCS_DERIVE calls), presented as CKK_KEA; q, which a DH key
 *     has no attribute for, is a public CKO_DATA object beside it;
 *   - CKM_KEA_KEY_DERIVE with CK_KEA_DERIVE_PARAMS (PKCS#11 v2.20 §12.5.6):
 *     Ra generated on the card as sender, Rb = 0 asks the card to generate
 *     and keep the responder's r_s (full mode), Rb = 1 is e-mail mode; the
 *     TEK is a CKK_SKIPJACK object;
 *   - CKK_SKIPJACK session keys in module memory, always sensitive, leaving
 *     the card only wrapped (CKM_SKIPJACK_WRAP, 12 bytes with checksum);
 *   - CKM_SKIPJACK_CBC64 with the 24-byte IV generated at C_EncryptInit and
 *     written back into the mechanism parameter, as the Fortezza module did;
 *   - a user-PIN try counter that locks (CKR_PIN_LOCKED) and the token flags
 *     CKF_USER_PIN_COUNT_LOW / FINAL_TRY / LOCKED, which SoftHSM never sets;
 *   - card removal: a file "<label>.removed" in FORTEZZA_CARD_DIR pulls the
 *     card (its sessions die, CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT)
 *     until the file goes away.
 *
 * Environment (read at C_Initialize):
 *   FORTEZZA_CARD_SOFTHSM  backing module (default: Debian's libsofthsm2.so)
 *   FORTEZZA_CARD_DIR      state directory: PIN counters, removal markers
 *   FORTEZZA_CARD_PIN_TRIES  wrong user PINs before the card locks (default 3)
 *   FORTEZZA_CARD_STATS    file rewritten with call counts after each
 *                          counted call (tests count calls per handshake)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#define CK_PTR *
#define NULL_PTR 0
#define CK_DEFINE_FUNCTION(returnType, name) returnType __attribute__((visibility("default"))) name
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (*name)
#include "pkcs11.h"

#include "fortezzacard.h"

#define KEA_LEN 128 /* p, g, Y, R: 1024 bits */
#define SJ_WRAPPED 12
#define IV_LEN 24
#define MODKEY_BIT ((CK_OBJECT_HANDLE)1 << 30) /* handles of keys held here */
#define MAX_PENDING 1024                         /* r_s values a card keeps */
#define Q_APP "fortezzacard KEA subprime"

static const char LEAF[16] = "THIS IS NOT LEAF";
static const unsigned char KDF_PAD[10] = {0x72, 0xf1, 0xa8, 0x7e, 0x92, 0x82, 0x41, 0x98, 0xab, 0x0b};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static CK_FUNCTION_LIST_PTR hsm;     /* SoftHSM */
static CK_FUNCTION_LIST ours;        /* what C_GetFunctionList returns */
static int initialized;
static char state_dir[4096];
static int pin_tries = 3;
static char stats_path[4096];

/* ---- counters ---- */
enum { ST_DERIVE, ST_WRAP, ST_UNWRAP, ST_ENCRYPT_INIT, ST_ENCRYPT, ST_ENCRYPT_UPDATE,
	ST_DECRYPT_INIT, ST_DECRYPT, ST_DECRYPT_UPDATE, ST_GENKEY, ST_SIGN, ST_LOGIN,
	ST_LOGIN_FAILED, ST_LIVE_KEYS, ST_PENDING_RS, ST_N };
static const char *st_names[ST_N] = {"C_DeriveKey", "C_WrapKey", "C_UnwrapKey", "C_EncryptInit",
	"C_Encrypt", "C_EncryptUpdate", "C_DecryptInit", "C_Decrypt", "C_DecryptUpdate",
	"C_GenerateKey", "C_SignInit", "C_Login", "C_Login_failed", "live_keys", "pending_rs"};
static long stats[ST_N];
static long *slot_stats(CK_SLOT_ID slot);
static void stats_slots(char *buf, int *n, int cap);

/* stats_write rewrites the stats file (tmp + rename, so readers never see
 * half a file). Caller holds mu. */
static void stats_write(void) {
	if (!stats_path[0]) return;
	char tmp[4200], buf[1024];
	int n = 0;
	char buf2[8192];
	(void)buf;
	for (int i = 0; i < ST_N; i++)
		n += snprintf(buf2 + n, sizeof buf2 - n, "total %s %ld\n", st_names[i], stats[i]);
	stats_slots(buf2, &n, sizeof buf2);
	snprintf(tmp, sizeof tmp, "%s.tmp%d", stats_path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) return;
	if (write(fd, buf2, n) == n) {
		close(fd);
		rename(tmp, stats_path);
	} else {
		close(fd);
		unlink(tmp);
	}
}

static void count(CK_SLOT_ID slot, int i) {
	pthread_mutex_lock(&mu);
	stats[i]++;
	long *ss = slot_stats(slot);
	if (ss) ss[i]++;
	stats_write();
	pthread_mutex_unlock(&mu);
}

/* ---- sessions, keys, pending r_s ---- */
typedef struct session {
	CK_SESSION_HANDLE h;
	CK_SLOT_ID slot;
	unsigned long epoch; /* card insertion it was opened in */
	pthread_mutex_t op_mu;
	int op; /* 0 none, 1 encrypt, 2 decrypt */
	sj_key ks;
	unsigned char chain[8];
	int find_empty; /* a C_FindObjects for SKIPJACK keys: none are listed */
	struct session *next;
} session;

typedef struct modkey {
	CK_OBJECT_HANDLE h;
	CK_SESSION_HANDLE owner;
	CK_SLOT_ID slot;
	unsigned char v[10];
	CK_BBOOL enc, dec, wrap, unwrap, extractable;
	CK_MECHANISM_TYPE genmech;
	unsigned char label[64];
	CK_ULONG label_len;
	struct modkey *next;
} modkey;

typedef struct pending {
	CK_SLOT_ID slot;
	unsigned char R[KEA_LEN];
	BIGNUM *r;
	unsigned long seq;
	struct pending *next;
} pending;

typedef struct slotstate {
	CK_SLOT_ID slot;
	char label[33];
	char serial[17];
	int removed;
	unsigned long epoch;
	long st[ST_N];
	struct slotstate *next;
} slotstate;

typedef struct qentry {
	unsigned char p[KEA_LEN];
	unsigned char q[64];
	int qlen;
	struct qentry *next;
} qentry;

static session *sessions;
static modkey *keys;
static pending *pendings;
static int npending;
static unsigned long pending_seq;
static slotstate *slots;
static qentry *qcache;
static CK_OBJECT_HANDLE next_key = 1;

/* Per-card counters, printed as "<label> <name> <n>". Caller holds mu. */
static long *slot_stats(CK_SLOT_ID slot) {
	for (slotstate *s = slots; s; s = s->next)
		if (s->slot == slot) return s->st;
	return NULL;
}

static void stats_slots(char *buf, int *n, int cap) {
	for (slotstate *s = slots; s; s = s->next)
		for (int i = 0; i < ST_N; i++)
			if (*n < cap) *n += snprintf(buf + *n, cap - *n, "%s %s %ld\n", s->label[0] ? s->label : "-", st_names[i], s->st[i]);
}

static session *find_session(CK_SESSION_HANDLE h) {
	for (session *s = sessions; s; s = s->next)
		if (s->h == h) return s;
	return NULL;
}

static modkey *find_key(CK_OBJECT_HANDLE h) {
	if (!(h & MODKEY_BIT)) return NULL;
	for (modkey *k = keys; k; k = k->next)
		if (k->h == h) return k;
	return NULL;
}

static void free_key(modkey **pp) {
	modkey *k = *pp;
	*pp = k->next;
	long *ss = slot_stats(k->slot);
	if (ss) ss[ST_LIVE_KEYS]--;
	OPENSSL_cleanse(k, sizeof *k);
	free(k);
	stats[ST_LIVE_KEYS]--;
}

/* drop_session_objects frees the keys a session owned (PKCS#11 session
 * objects die with their session). Caller holds mu. */
static void drop_session_objects(CK_SESSION_HANDLE h) {
	for (modkey **pp = &keys; *pp;) {
		if ((*pp)->owner == h) free_key(pp);
		else pp = &(*pp)->next;
	}
}

static void drop_session(session **pp) {
	session *s = *pp;
	*pp = s->next;
	drop_session_objects(s->h);
	pthread_mutex_lock(&s->op_mu);
	pthread_mutex_unlock(&s->op_mu);
	pthread_mutex_destroy(&s->op_mu);
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

static void drop_pending(pending **pp) {
	pending *p = *pp;
	*pp = p->next;
	long *ss = slot_stats(p->slot);
	if (ss) ss[ST_PENDING_RS]--;
	BN_clear_free(p->r);
	free(p);
	npending--;
	stats[ST_PENDING_RS]--;
}

/* drop_slot_sessions forgets slot's sessions (and so their keys). Caller
 * holds mu. */
static void drop_slot_sessions(CK_SLOT_ID slot) {
	for (session **pp = &sessions; *pp;) {
		if ((*pp)->slot == slot) drop_session(pp);
		else pp = &(*pp)->next;
	}
}

/* drop_session_handle forgets the session h, if it is ours. Caller holds mu. */
static void drop_session_handle(CK_SESSION_HANDLE h) {
	for (session **pp = &sessions; *pp; pp = &(*pp)->next)
		if ((*pp)->h == h) { drop_session(pp); break; }
}

/* drop_slot forgets everything the card held for slot (card pulled). */
static void drop_slot(CK_SLOT_ID slot) {
	drop_slot_sessions(slot);
	for (modkey **pp = &keys; *pp;) {
		if ((*pp)->slot == slot) free_key(pp);
		else pp = &(*pp)->next;
	}
	for (pending **pp = &pendings; *pp;) {
		if ((*pp)->slot == slot) drop_pending(pp);
		else pp = &(*pp)->next;
	}
}

static void drop_all(void) {
	while (sessions) drop_session(&sessions);
	while (keys) free_key(&keys);
	while (pendings) drop_pending(&pendings);
	while (slots) { slotstate *s = slots; slots = s->next; free(s); }
	stats[ST_LIVE_KEYS] = 0;
	stats[ST_PENDING_RS] = 0;
}

static void trim(char *dst, const CK_UTF8CHAR *src, size_t n) {
	memcpy(dst, src, n);
	dst[n] = 0;
	for (int i = (int)n - 1; i >= 0 && dst[i] == ' '; i--) dst[i] = 0;
}

/* slot_state returns (creating) the state of slot, reading its label and
 * serial from SoftHSM on first sight. Caller does not hold mu. */
static slotstate *slot_state(CK_SLOT_ID slot) {
	pthread_mutex_lock(&mu);
	for (slotstate *s = slots; s; s = s->next)
		if (s->slot == slot) { pthread_mutex_unlock(&mu); return s; }
	pthread_mutex_unlock(&mu);
	CK_TOKEN_INFO ti;
	if (hsm->C_GetTokenInfo(slot, &ti) != CKR_OK) return NULL;
	slotstate *n = calloc(1, sizeof *n);
	if (!n) return NULL;
	n->slot = slot;
	trim(n->label, ti.label, 32);
	trim(n->serial, ti.serialNumber, 16);
	pthread_mutex_lock(&mu);
	for (slotstate *s = slots; s; s = s->next)
		if (s->slot == slot) { pthread_mutex_unlock(&mu); free(n); return s; }
	n->next = slots;
	slots = n;
	pthread_mutex_unlock(&mu);
	return n;
}

/* card_present checks the removal marker of slot's card. On removal the
 * card's sessions die, in SoftHSM too (which logs the token out), as when a
 * card leaves its reader. */
static int card_present(CK_SLOT_ID slot) {
	if (!state_dir[0]) return 1;
	slotstate *s = slot_state(slot);
	if (!s || !s->label[0]) return 1;
	char path[4200];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s.removed", state_dir, s->label);
	int removed = stat(path, &st) == 0;
	pthread_mutex_lock(&mu);
	int was = s->removed;
	s->removed = removed;
	if (removed && !was) {
		s->epoch++;
		drop_slot(slot);
	}
	pthread_mutex_unlock(&mu);
	if (removed && !was) hsm->C_CloseAllSessions(slot);
	return !removed;
}

/* check_session: the session must be one of ours, on a present card, from
 * the current insertion of that card. */
static CK_RV check_session(CK_SESSION_HANDLE h, session **out) {
	pthread_mutex_lock(&mu);
	session *s = find_session(h);
	CK_SLOT_ID slot = s ? s->slot : 0;
	pthread_mutex_unlock(&mu);
	if (!s) return CKR_SESSION_HANDLE_INVALID;
	if (!card_present(slot)) return CKR_DEVICE_REMOVED;
	pthread_mutex_lock(&mu);
	s = find_session(h);
	pthread_mutex_unlock(&mu);
	if (!s) return CKR_SESSION_HANDLE_INVALID;
	if (out) *out = s;
	return CKR_OK;
}

/* mech_begin starts every call that takes a mechanism: check_session (the
 * session into *s, unless s is NULL), the call's pointer arguments present
 * (args: m and any other the call needs are non-NULL), and m one of the
 * types a and b (the same type twice where only one is accepted). */
static CK_RV mech_begin(CK_SESSION_HANDLE h, int args, CK_MECHANISM_PTR m, CK_MECHANISM_TYPE a,
		CK_MECHANISM_TYPE b, session **s) {
	CK_RV rv = check_session(h, s);
	if (rv != CKR_OK) return rv;
	if (!args) return CKR_ARGUMENTS_BAD;
	if (m->mechanism != a && m->mechanism != b) return CKR_MECHANISM_INVALID;
	return CKR_OK;
}

/* ---- PIN counter ---- */

/* pin_left reads the tries left for a token serial (file in state_dir, or
 * the in-memory table without one). */
typedef struct pinstate { char serial[17]; int left; struct pinstate *next; } pinstate;
static pinstate *pins;

static int pin_left(const char *serial) {
	if (state_dir[0]) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s.pin", state_dir, serial);
		FILE *f = fopen(path, "r");
		int left = pin_tries;
		if (f) {
			if (fscanf(f, "%d", &left) != 1) left = 0; /* corrupt: fail closed */
			fclose(f);
		}
		return left;
	}
	for (pinstate *p = pins; p; p = p->next)
		if (!strcmp(p->serial, serial)) return p->left;
	return pin_tries;
}

static void pin_set(const char *serial, int left) {
	if (state_dir[0]) {
		char path[4200], tmp[4300];
		snprintf(path, sizeof path, "%s/%s.pin", state_dir, serial);
		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		FILE *f = fopen(tmp, "w");
		if (!f) return;
		fprintf(f, "%d\n", left);
		fclose(f);
		rename(tmp, path);
		return;
	}
	for (pinstate *p = pins; p; p = p->next)
		if (!strcmp(p->serial, serial)) { p->left = left; return; }
	pinstate *p = calloc(1, sizeof *p);
	if (!p) return;
	snprintf(p->serial, sizeof p->serial, "%s", serial);
	p->left = left;
	p->next = pins;
	pins = p;
}

/* ---- helpers ---- */

static CK_ATTRIBUTE *attr(CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_ATTRIBUTE_TYPE type) {
	for (CK_ULONG i = 0; i < n; i++)
		if (t[i].type == type) return &t[i];
	return NULL;
}

static int attr_bool(CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, int def) {
	CK_ATTRIBUTE *a = attr(t, n, type);
	if (!a || a->ulValueLen != sizeof(CK_BBOOL) || !a->pValue) return def;
	return *(CK_BBOOL *)a->pValue != 0;
}

static int attr_ulong(CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out) {
	CK_ATTRIBUTE *a = attr(t, n, type);
	if (!a || a->ulValueLen != sizeof(CK_ULONG) || !a->pValue) return 0;
	*out = *(CK_ULONG *)a->pValue;
	return 1;
}

/* translate_in copies a template for SoftHSM: CKK_KEA becomes CKK_DH and
 * CKA_SUBPRIME is dropped (returned in *q). The copy shares values. */
static CK_ATTRIBUTE_PTR translate_in(CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_ULONG *outn, CK_ATTRIBUTE **q, int *kea) {
	static const CK_KEY_TYPE dh = CKK_DH;
	CK_ATTRIBUTE_PTR c = calloc(n + 1, sizeof *c);
	if (!c) return NULL;
	CK_ULONG m = 0;
	if (q) *q = NULL;
	if (kea) *kea = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		if (t[i].type == CKA_SUBPRIME) {
			if (q) *q = &t[i];
			continue;
		}
		c[m] = t[i];
		if (t[i].type == CKA_KEY_TYPE && t[i].ulValueLen == sizeof(CK_KEY_TYPE) && t[i].pValue &&
				*(CK_KEY_TYPE *)t[i].pValue == CKK_KEA) {
			c[m].pValue = (void *)&dh;
			if (kea) *kea = 1;
		}
		m++;
	}
	*outn = m;
	return c;
}

static void sha1hex(const unsigned char *p, size_t n, char out[41]) {
	unsigned char d[20];
	unsigned int dl = 0;
	EVP_Digest(p, n, d, &dl, EVP_sha1(), NULL);
	for (int i = 0; i < 20; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* pad128 left-pads a big-endian value to 128 bytes. */
static int pad128(const unsigned char *v, CK_ULONG n, unsigned char out[KEA_LEN]) {
	while (n > 0 && *v == 0) { v++; n--; }
	if (n > KEA_LEN) return 0;
	memset(out, 0, KEA_LEN - n);
	memcpy(out + KEA_LEN - n, v, n);
	return 1;
}

/* store_q keeps q for the domain of p as a public data object on the
 * token (DH keys have no CKA_SUBPRIME), unless one exists. */
static CK_RV find_q(CK_SESSION_HANDLE sh, const unsigned char p[KEA_LEN], unsigned char *q, int *qlen);

static CK_RV store_q(CK_SESSION_HANDLE sh, const unsigned char *p, CK_ULONG plen,
		const unsigned char *q, CK_ULONG qlen, CK_BBOOL token) {
	unsigned char pp[KEA_LEN], have[64];
	int havelen = 0;
	if (!pad128(p, plen, pp) || qlen == 0 || qlen > 64) return CKR_TEMPLATE_INCONSISTENT;
	if (find_q(sh, pp, have, &havelen) == CKR_OK) {
		if ((CK_ULONG)havelen == qlen && !memcmp(have, q, qlen)) return CKR_OK;
		return CKR_TEMPLATE_INCONSISTENT; /* one q per p */
	}
	char label[41];
	sha1hex(pp, KEA_LEN, label);
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL f = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{CKA_CLASS, &cls, sizeof cls}, {CKA_TOKEN, &token, sizeof token},
		{CKA_PRIVATE, &f, sizeof f}, {CKA_APPLICATION, (void *)Q_APP, strlen(Q_APP)},
		{CKA_LABEL, label, 40}, {CKA_VALUE, (void *)q, qlen},
	};
	CK_OBJECT_HANDLE h;
	return hsm->C_CreateObject(sh, t, sizeof t / sizeof t[0], &h);
}

static CK_RV find_q(CK_SESSION_HANDLE sh, const unsigned char p[KEA_LEN], unsigned char *q, int *qlen) {
	pthread_mutex_lock(&mu);
	for (qentry *e = qcache; e; e = e->next)
		if (!memcmp(e->p, p, KEA_LEN)) {
			memcpy(q, e->q, e->qlen);
			*qlen = e->qlen;
			pthread_mutex_unlock(&mu);
			return CKR_OK;
		}
	pthread_mutex_unlock(&mu);
	char label[41];
	sha1hex(p, KEA_LEN, label);
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_APPLICATION, (void *)Q_APP, strlen(Q_APP)}, {CKA_LABEL, label, 40}};
	CK_RV rv = hsm->C_FindObjectsInit(sh, t, 3);
	if (rv != CKR_OK) return rv;
	CK_OBJECT_HANDLE h;
	CK_ULONG found = 0;
	rv = hsm->C_FindObjects(sh, &h, 1, &found);
	hsm->C_FindObjectsFinal(sh);
	if (rv != CKR_OK) return rv;
	if (found == 0) return CKR_KEY_TYPE_INCONSISTENT;
	unsigned char v[64];
	CK_ATTRIBUTE a = {CKA_VALUE, v, sizeof v};
	if ((rv = hsm->C_GetAttributeValue(sh, h, &a, 1)) != CKR_OK) return rv;
	qentry *e = calloc(1, sizeof *e);
	if (e) {
		memcpy(e->p, p, KEA_LEN);
		memcpy(e->q, v, a.ulValueLen);
		e->qlen = (int)a.ulValueLen;
		pthread_mutex_lock(&mu);
		e->next = qcache;
		qcache = e;
		pthread_mutex_unlock(&mu);
	}
	memcpy(q, v, a.ulValueLen);
	*qlen = (int)a.ulValueLen;
	return CKR_OK;
}

static CK_RV new_key(session *s, const unsigned char v[10], CK_ATTRIBUTE_PTR t, CK_ULONG n,
		CK_MECHANISM_TYPE genmech, CK_OBJECT_HANDLE_PTR out) {
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE kt;
	if (attr_ulong(t, n, CKA_CLASS, &cls) && cls != CKO_SECRET_KEY) return CKR_TEMPLATE_INCONSISTENT;
	if (attr_ulong(t, n, CKA_KEY_TYPE, &kt) && kt != CKK_SKIPJACK) return CKR_TEMPLATE_INCONSISTENT;
	/* A card's keys are session keys; their value never leaves in clear. */
	if (attr_bool(t, n, CKA_TOKEN, 0)) return CKR_TEMPLATE_INCONSISTENT;
	if (!attr_bool(t, n, CKA_SENSITIVE, 1)) return CKR_ATTRIBUTE_VALUE_INVALID;
	if (attr(t, n, CKA_VALUE)) return CKR_TEMPLATE_INCONSISTENT;
	modkey *k = calloc(1, sizeof *k);
	if (!k) return CKR_HOST_MEMORY;
	memcpy(k->v, v, 10);
	k->enc = attr_bool(t, n, CKA_ENCRYPT, 1);
	k->dec = attr_bool(t, n, CKA_DECRYPT, 1);
	k->wrap = attr_bool(t, n, CKA_WRAP, 1);
	k->unwrap = attr_bool(t, n, CKA_UNWRAP, 1);
	k->extractable = attr_bool(t, n, CKA_EXTRACTABLE, 1);
	k->genmech = genmech;
	CK_ATTRIBUTE *l = attr(t, n, CKA_LABEL);
	if (l && l->pValue && l->ulValueLen <= sizeof k->label) {
		memcpy(k->label, l->pValue, l->ulValueLen);
		k->label_len = l->ulValueLen;
	}
	k->owner = s->h;
	k->slot = s->slot;
	pthread_mutex_lock(&mu);
	k->h = MODKEY_BIT | next_key++;
	k->next = keys;
	keys = k;
	stats[ST_LIVE_KEYS]++;
	long *ss = slot_stats(k->slot);
	if (ss) ss[ST_LIVE_KEYS]++;
	stats_write();
	pthread_mutex_unlock(&mu);
	*out = k->h;
	return CKR_OK;
}

/* key_value copies out a held key's value if it allows the use. */
static CK_RV key_value(CK_OBJECT_HANDLE h, int use, unsigned char v[10]) {
	pthread_mutex_lock(&mu);
	modkey *k = find_key(h);
	CK_RV rv = CKR_OK;
	if (!k) rv = (h & MODKEY_BIT) ? CKR_KEY_HANDLE_INVALID : CKR_KEY_TYPE_INCONSISTENT;
	else if ((use == 'e' && !k->enc) || (use == 'd' && !k->dec) || (use == 'w' && !k->wrap) ||
			(use == 'u' && !k->unwrap))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	else if (use == 'x' && !k->extractable)
		rv = CKR_KEY_UNEXTRACTABLE;
	else
		memcpy(v, k->v, 10);
	pthread_mutex_unlock(&mu);
	return rv;
}

static int mech_allowed(CK_MECHANISM_TYPE m) {
	switch (m) {
	case CKM_DSA_KEY_PAIR_GEN: case CKM_DSA: case CKM_DSA_SHA1: case CKM_SHA_1:
	case CKM_KEA_KEY_PAIR_GEN: case CKM_KEA_KEY_DERIVE: case CKM_SKIPJACK_KEY_GEN:
	case CKM_SKIPJACK_CBC64: case CKM_SKIPJACK_WRAP:
		return 1;
	}
	return 0;
}

static const CK_MECHANISM_TYPE mech_list[] = {
	CKM_DSA_KEY_PAIR_GEN, CKM_DSA, CKM_DSA_SHA1, CKM_SHA_1, CKM_KEA_KEY_PAIR_GEN,
	CKM_KEA_KEY_DERIVE, CKM_SKIPJACK_KEY_GEN, CKM_SKIPJACK_CBC64, CKM_SKIPJACK_WRAP,
};

/* ---- general ---- */

/* load_hsm loads a private instance of SoftHSM: a copy of the library in
 * a memfd, so that another user of SoftHSM in the same process (the
 * emulator, a provisioner) and this card never share its global state; a
 * C_Finalize by one does not end the other's sessions. */
static CK_RV load_hsm(void) {
	if (hsm) return CKR_OK;
	const char *path = getenv("FORTEZZA_CARD_SOFTHSM");
	if (!path || !*path) path = "/usr/lib/softhsm/libsofthsm2.so";
	void *h = NULL;
	int in = open(path, O_RDONLY | O_CLOEXEC);
	int mfd = in >= 0 ? memfd_create("softhsm2-fortezzacard", MFD_CLOEXEC) : -1;
	if (mfd >= 0) {
		char buf[65536];
		ssize_t n;
		int ok = 1;
		while ((n = read(in, buf, sizeof buf)) > 0)
			if (write(mfd, buf, n) != n) { ok = 0; break; }
		if (ok && n == 0) {
			char fdpath[64];
			snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", mfd);
			h = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
		}
		close(mfd);
	}
	if (in >= 0) close(in);
	if (!h) h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) return CKR_GENERAL_ERROR;
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (!gfl) return CKR_GENERAL_ERROR;
	CK_FUNCTION_LIST_PTR fl;
	if (gfl(&fl) != CKR_OK) return CKR_GENERAL_ERROR;
	hsm = fl;
	return CKR_OK;
}

static CK_RV F_Initialize(CK_VOID_PTR args) {
	CK_RV rv = load_hsm();
	if (rv != CKR_OK) return rv;
	rv = hsm->C_Initialize(args);
	if (rv != CKR_OK) return rv;
	pthread_mutex_lock(&mu);
	initialized = 1;
	const char *d = getenv("FORTEZZA_CARD_DIR");
	snprintf(state_dir, sizeof state_dir, "%s", d ? d : "");
	const char *s = getenv("FORTEZZA_CARD_STATS");
	snprintf(stats_path, sizeof stats_path, "%s", s ? s : "");
	const char *t = getenv("FORTEZZA_CARD_PIN_TRIES");
	pin_tries = 3;
	if (t && atoi(t) > 0) pin_tries = atoi(t);
	pthread_mutex_unlock(&mu);
	return CKR_OK;
}

static CK_RV F_Finalize(CK_VOID_PTR r) {
	if (!hsm) return CKR_CRYPTOKI_NOT_INITIALIZED;
	CK_RV rv = hsm->C_Finalize(r);
	pthread_mutex_lock(&mu);
	drop_all();
	while (qcache) { qentry *e = qcache; qcache = e->next; free(e); }
	initialized = 0;
	stats_write();
	pthread_mutex_unlock(&mu);
	return rv;
}

static CK_RV F_GetInfo(CK_INFO_PTR info) {
	CK_RV rv = hsm->C_GetInfo(info);
	if (rv != CKR_OK) return rv;
	memset(info->manufacturerID, ' ', 32);
	memcpy(info->manufacturerID, "tokenssl", 8);
	memset(info->libraryDescription, ' ', 32);
	memcpy(info->libraryDescription, "Fortezza card over SoftHSM2", 27);
	info->libraryVersion.major = 1;
	info->libraryVersion.minor = 0;
	return CKR_OK;
}

static CK_RV F_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR n) {
	if (!present) return hsm->C_GetSlotList(present, list, n);
	CK_ULONG all = 0;
	CK_RV rv = hsm->C_GetSlotList(CK_TRUE, NULL, &all);
	if (rv != CKR_OK) return rv;
	CK_SLOT_ID *ids = calloc(all + 1, sizeof *ids);
	if (!ids) return CKR_HOST_MEMORY;
	if ((rv = hsm->C_GetSlotList(CK_TRUE, ids, &all)) != CKR_OK) { free(ids); return rv; }
	CK_ULONG m = 0;
	for (CK_ULONG i = 0; i < all; i++)
		if (card_present(ids[i])) ids[m++] = ids[i];
	if (list) {
		if (*n < m) { *n = m; free(ids); return CKR_BUFFER_TOO_SMALL; }
		memcpy(list, ids, m * sizeof *ids);
	}
	*n = m;
	free(ids);
	return CKR_OK;
}

static CK_RV F_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
	CK_RV rv = hsm->C_GetSlotInfo(slot, info);
	if (rv != CKR_OK) return rv;
	memset(info->slotDescription, ' ', 64);
	memcpy(info->slotDescription, "Fortezza card reader (SoftHSM2)", 31);
	info->flags |= CKF_REMOVABLE_DEVICE;
	if (!card_present(slot)) info->flags &= ~CKF_TOKEN_PRESENT;
	return CKR_OK;
}

static CK_RV F_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
	if (!card_present(slot)) return CKR_TOKEN_NOT_PRESENT;
	CK_RV rv = hsm->C_GetTokenInfo(slot, info);
	if (rv != CKR_OK) return rv;
	memset(info->model, ' ', 16);
	memcpy(info->model, "Fortezza card", 13);
	char serial[17];
	trim(serial, info->serialNumber, 16);
	info->flags &= ~(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
	if (info->flags & CKF_TOKEN_INITIALIZED) {
		pthread_mutex_lock(&mu);
		int left = pin_left(serial);
		pthread_mutex_unlock(&mu);
		if (left < pin_tries) info->flags |= CKF_USER_PIN_COUNT_LOW;
		if (left == 1) info->flags |= CKF_USER_PIN_FINAL_TRY;
		if (left <= 0) info->flags |= CKF_USER_PIN_LOCKED;
	}
	return CKR_OK;
}

static CK_RV F_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR n) {
	if (!card_present(slot)) return CKR_TOKEN_NOT_PRESENT;
	CK_ULONG m = sizeof mech_list / sizeof mech_list[0];
	if (list) {
		if (*n < m) { *n = m; return CKR_BUFFER_TOO_SMALL; }
		memcpy(list, mech_list, sizeof mech_list);
	}
	*n = m;
	return CKR_OK;
}

static CK_RV F_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info) {
	if (!card_present(slot)) return CKR_TOKEN_NOT_PRESENT;
	switch (type) {
	case CKM_KEA_KEY_PAIR_GEN:
		*info = (CK_MECHANISM_INFO){1024, 1024, CKF_HW | CKF_GENERATE_KEY_PAIR};
		return CKR_OK;
	case CKM_KEA_KEY_DERIVE:
		*info = (CK_MECHANISM_INFO){1024, 1024, CKF_HW | CKF_DERIVE};
		return CKR_OK;
	case CKM_SKIPJACK_KEY_GEN:
		*info = (CK_MECHANISM_INFO){80, 80, CKF_HW | CKF_GENERATE};
		return CKR_OK;
	case CKM_SKIPJACK_CBC64:
		*info = (CK_MECHANISM_INFO){80, 80, CKF_HW | CKF_ENCRYPT | CKF_DECRYPT};
		return CKR_OK;
	case CKM_SKIPJACK_WRAP:
		*info = (CK_MECHANISM_INFO){80, 80, CKF_HW | CKF_WRAP | CKF_UNWRAP};
		return CKR_OK;
	}
	if (!mech_allowed(type)) return CKR_MECHANISM_INVALID;
	return hsm->C_GetMechanismInfo(slot, type, info);
}

static CK_RV F_InitToken(CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG n, CK_UTF8CHAR_PTR label) {
	CK_RV rv = hsm->C_InitToken(slot, pin, n, label);
	pthread_mutex_lock(&mu);
	for (slotstate **pp = &slots; *pp; pp = &(*pp)->next)
		if ((*pp)->slot == slot) { slotstate *s = *pp; *pp = s->next; free(s); break; }
	pthread_mutex_unlock(&mu);
	return rv;
}

/* ---- sessions ---- */

static CK_RV F_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out) {
	if (!card_present(slot)) return CKR_TOKEN_NOT_PRESENT;
	slotstate *st = slot_state(slot);
	session *s = calloc(1, sizeof *s);
	if (!s) return CKR_HOST_MEMORY;
	CK_RV rv = hsm->C_OpenSession(slot, flags, app, notify, out);
	if (rv != CKR_OK) { free(s); return rv; }
	s->h = *out;
	s->slot = slot;
	pthread_mutex_init(&s->op_mu, NULL);
	pthread_mutex_lock(&mu);
	s->epoch = st ? st->epoch : 0;
	/* A stale entry with a reused handle belongs to a dead session. */
	drop_session_handle(s->h);
	s->next = sessions;
	sessions = s;
	pthread_mutex_unlock(&mu);
	return CKR_OK;
}

static CK_RV F_CloseSession(CK_SESSION_HANDLE h) {
	CK_RV rv = hsm->C_CloseSession(h);
	pthread_mutex_lock(&mu);
	drop_session_handle(h);
	stats_write();
	pthread_mutex_unlock(&mu);
	return rv;
}

static CK_RV F_CloseAllSessions(CK_SLOT_ID slot) {
	CK_RV rv = hsm->C_CloseAllSessions(slot);
	pthread_mutex_lock(&mu);
	drop_slot_sessions(slot);
	stats_write();
	pthread_mutex_unlock(&mu);
	return rv;
}

static CK_RV F_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info) {
	CK_RV rv = check_session(h, NULL);
	if (rv != CKR_OK) return rv;
	return hsm->C_GetSessionInfo(h, info);
}

static CK_RV F_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG n) {
	session *s;
	CK_RV rv = check_session(h, &s);
	if (rv != CKR_OK) return rv;
	if (user != CKU_USER) return hsm->C_Login(h, user, pin, n);
	slotstate *st = slot_state(s->slot);
	if (!st) return CKR_DEVICE_ERROR;
	pthread_mutex_lock(&mu);
	int left = pin_left(st->serial);
	stats[ST_LOGIN]++;
	st->st[ST_LOGIN]++;
	stats_write();
	pthread_mutex_unlock(&mu);
	if (left <= 0) return CKR_PIN_LOCKED;
	rv = hsm->C_Login(h, user, pin, n);
	pthread_mutex_lock(&mu);
	if (rv == CKR_PIN_INCORRECT) {
		pin_set(st->serial, left - 1);
		stats[ST_LOGIN_FAILED]++;
		st->st[ST_LOGIN_FAILED]++;
		stats_write();
	} else if ((rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) && left != pin_tries) {
		pin_set(st->serial, pin_tries);
	}
	pthread_mutex_unlock(&mu);
	return rv;
}

static CK_RV F_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG n) {
	session *s;
	CK_RV rv = check_session(h, &s);
	if (rv != CKR_OK) return rv;
	rv = hsm->C_InitPIN(h, pin, n);
	if (rv == CKR_OK) { /* the security officer unblocks the card */
		slotstate *st = slot_state(s->slot);
		if (st) {
			pthread_mutex_lock(&mu);
			pin_set(st->serial, pin_tries);
			pthread_mutex_unlock(&mu);
		}
	}
	return rv;
}

/* ---- objects ---- */

static CK_RV F_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out) {
	CK_RV rv = check_session(h, NULL);
	if (rv != CKR_OK) return rv;
	CK_KEY_TYPE kt;
	if (attr_ulong(t, n, CKA_KEY_TYPE, &kt) && kt == CKK_SKIPJACK)
		return CKR_TEMPLATE_INCONSISTENT; /* a card never takes a key in clear */
	CK_ULONG m;
	CK_ATTRIBUTE *q;
	int kea;
	CK_ATTRIBUTE_PTR c = translate_in(t, n, &m, &q, &kea);
	if (!c) return CKR_HOST_MEMORY;
	if (kea && q) {
		CK_ATTRIBUTE *p = attr(t, n, CKA_PRIME);
		if (!p) { free(c); return CKR_TEMPLATE_INCOMPLETE; }
		rv = store_q(h, p->pValue, p->ulValueLen, q->pValue, q->ulValueLen, attr_bool(t, n, CKA_TOKEN, 0));
		if (rv != CKR_OK) { free(c); return rv; }
	}
	rv = hsm->C_CreateObject(h, c, m, out);
	free(c);
	return rv;
}

static CK_RV F_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out) {
	CK_RV rv = check_session(h, NULL);
	if (rv != CKR_OK) return rv;
	if (o & MODKEY_BIT) return CKR_FUNCTION_NOT_SUPPORTED;
	return hsm->C_CopyObject(h, o, t, n, out);
}

static CK_RV F_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o) {
	CK_RV rv = check_session(h, NULL);
	if (rv != CKR_OK) return rv;
	if (o & MODKEY_BIT) {
		pthread_mutex_lock(&mu);
		rv = CKR_OBJECT_HANDLE_INVALID;
		for (modkey **pp = &keys; *pp; pp = &(*pp)->next)
			if ((*pp)->h == o) { free_key(pp); rv = CKR_OK; break; }
		stats_write();
		pthread_mutex_unlock(&mu);
		return rv;
	}
	return hsm->C_DestroyObject(h, o);
}

static CK_RV F_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ULONG_PTR n) {
	CK_RV rv = check_session(h, NULL);
	if (rv != CKR_OK) return rv;
	if (o & MODKEY_BIT) {
		pthread_mutex_lock(&mu);
		rv = find_key(o) ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
		pthread_mutex_unlock(&mu);
		*n = SJ_WRAPPED;
		return rv;
	}
	return hsm->C_GetObjectSize(h, o, n);
}

static CK_RV put(CK_ATTRIBUTE *a, const void *v, CK_ULONG n) {
	if (!a->pValue) { a->ulValueLen = n; return CKR_OK; }
	if (a->ulValueLen < n) { a->ulValueLen = CK_UNAVAILABLE_INFORMATION; return CKR_BUFFER_TOO_SMALL; }
	memcpy(a->pValue, v, n);
	a->ulValueLen = n;
	return CKR_OK;
}

static CK_RV key_attrs(modkey *k, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
	CK_RV rv = CKR_OK;
	static const CK_BBOOL T = CK_TRUE, Fa = CK_FALSE;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_ATTRIBUTE *a = &t[i];
		CK_RV r = CKR_OK;
		CK_ULONG ul;
		switch (a->type) {
		case CKA_CLASS: ul = CKO_SECRET_KEY; r = put(a, &ul, sizeof ul); break;
		case CKA_KEY_TYPE: ul = CKK_SKIPJACK; r = put(a, &ul, sizeof ul); break;
		case CKA_VALUE_LEN: ul = SJ_WRAPPED; r = put(a, &ul, sizeof ul); break;
		case CKA_KEY_GEN_MECHANISM: ul = k->genmech; r = put(a, &ul, sizeof ul); break;
		case CKA_TOKEN: case CKA_DERIVE: case CKA_MODIFIABLE: case CKA_SIGN: case CKA_VERIFY:
			r = put(a, &Fa, 1); break;
		case CKA_PRIVATE: case CKA_SENSITIVE: case CKA_ALWAYS_SENSITIVE: case CKA_LOCAL:
			r = put(a, &T, 1); break;
		case CKA_NEVER_EXTRACTABLE: r = put(a, k->extractable ? &Fa : &T, 1); break;
		case CKA_EXTRACTABLE: r = put(a, &k->extractable, 1); break;
		case CKA_ENCRYPT: r = put(a, &k->enc, 1); break;
		case CKA_DECRYPT: r = put(a, &k->dec, 1); break;
		case CKA_WRAP: r = put(a, &k->wrap, 1); break;
		case CKA_UNWRAP: r = put(a, &k->unwrap, 1); break;
		case CKA_LABEL: r = put(a, k->label, k->label_len); break;
		case CKA_ID: r = put(a, "", 0); break;
		case CKA_VALUE: a->ulValueLen = CK_UNAVAILABLE_INFORMATION; r = CKR_ATTRIBUTE_SENSITIVE; break;
		default: a->ulValueLen = CK_UNAVAILABLE_INFORMATION; r = CKR_ATTRIBUTE_TYPE_INVALID;
		}
		if (r != CKR_OK) rv = r;
	}
	return rv;
}

static CK_RV F_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
	CK_RV rv = check_session(h, NULL);
	if (rv != CKR_OK) return rv;
	if (o & MODKEY_BIT) {
		pthread_mutex_lock(&mu);
		modkey *k = find_key(o);
		rv = k ? key_attrs(k, t, n) : CKR_OBJECT_HANDLE_INVALID;
		pthread_mutex_unlock(&mu);
		return rv;
	}
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE ka = {CKA_KEY_TYPE, &kt, sizeof kt};
	int isdh = hsm->C_GetAttributeValue(h, o, &ka, 1) == CKR_OK && kt == CKK_DH;
	rv = hsm->C_GetAttributeValue(h, o, t, n);
	if (!isdh) return rv;
	int others_bad = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_ATTRIBUTE *a = &t[i];
		if (a->type == CKA_KEY_TYPE && a->pValue && a->ulValueLen == sizeof(CK_KEY_TYPE)) {
			*(CK_KEY_TYPE *)a->pValue = CKK_KEA;
		} else if (a->type == CKA_SUBPRIME) {
			unsigned char pv[KEA_LEN + 1], pp[KEA_LEN], q[64];
			int qlen = 0;
			CK_ATTRIBUTE pa = {CKA_PRIME, pv, sizeof pv};
			if (hsm->C_GetAttributeValue(h, o, &pa, 1) == CKR_OK && pad128(pv, pa.ulValueLen, pp) &&
					find_q(h, pp, q, &qlen) == CKR_OK) {
				if (put(a, q, qlen) != CKR_OK) others_bad = 1;
			} else {
				a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
				others_bad = 1;
			}
		} else if (a->ulValueLen == CK_UNAVAILABLE_INFORMATION) {
			others_bad = 1;
		}
	}
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID && !others_bad) rv = CKR_OK;
	return rv;
}

static CK_RV F_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
	CK_RV rv = check_session(h, NULL);
	if (rv != CKR_OK) return rv;
	if (o & MODKEY_BIT) return CKR_ATTRIBUTE_READ_ONLY;
	CK_ULONG m;
	CK_ATTRIBUTE_PTR c = translate_in(t, n, &m, NULL, NULL);
	if (!c) return CKR_HOST_MEMORY;
	rv = hsm->C_SetAttributeValue(h, o, c, m);
	free(c);
	return rv;
}

static CK_RV F_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
	session *s;
	CK_RV rv = check_session(h, &s);
	if (rv != CKR_OK) return rv;
	CK_KEY_TYPE kt;
	int sj = attr_ulong(t, n, CKA_KEY_TYPE, &kt) && kt == CKK_SKIPJACK;
	CK_ULONG m;
	CK_ATTRIBUTE_PTR c = translate_in(t, n, &m, NULL, NULL);
	if (!c) return CKR_HOST_MEMORY;
	rv = hsm->C_FindObjectsInit(h, c, m);
	free(c);
	if (rv == CKR_OK) s->find_empty = sj;
	return rv;
}

static CK_RV F_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR n) {
	session *s;
	CK_RV rv = check_session(h, &s);
	if (rv != CKR_OK) return rv;
	if (s->find_empty) { *n = 0; return CKR_OK; }
	return hsm->C_FindObjects(h, out, max, n);
}

/* ---- key generation ---- */

static CK_RV F_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out) {
	session *s;
	/* NSS asks with CKM_SKIPJACK_CBC64 for an MEK. */
	CK_RV rv = mech_begin(h, m != NULL, m, CKM_SKIPJACK_KEY_GEN, CKM_SKIPJACK_CBC64, &s);
	if (rv != CKR_OK) return rv;
	unsigned char v[10];
	if (getrandom(v, sizeof v, 0) != sizeof v) return CKR_DEVICE_ERROR;
	rv = new_key(s, v, t, n, CKM_SKIPJACK_KEY_GEN, out);
	OPENSSL_cleanse(v, sizeof v);
	if (rv == CKR_OK) count(s->slot, ST_GENKEY);
	return rv;
}

static CK_RV F_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pt, CK_ULONG pn,
		CK_ATTRIBUTE_PTR kt, CK_ULONG kn, CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv) {
	CK_RV rv = mech_begin(h, m != NULL, m, CKM_DSA_KEY_PAIR_GEN, CKM_KEA_KEY_PAIR_GEN, NULL);
	if (rv != CKR_OK) return rv;
	if (m->mechanism == CKM_DSA_KEY_PAIR_GEN) return hsm->C_GenerateKeyPair(h, m, pt, pn, kt, kn, pub, priv);
	CK_ATTRIBUTE *p = attr(pt, pn, CKA_PRIME), *q = attr(pt, pn, CKA_SUBPRIME), *g = attr(pt, pn, CKA_BASE);
	if (!p || !q || !g) return CKR_TEMPLATE_INCOMPLETE;
	static const CK_KEY_TYPE dh = CKK_DH;
	static const CK_ULONG bits = 160; /* a card's 160-bit x */
	CK_ULONG pm, km;
	CK_ATTRIBUTE_PTR pc = translate_in(pt, pn, &pm, NULL, NULL);
	CK_ATTRIBUTE_PTR kc0 = translate_in(kt, kn, &km, NULL, NULL);
	CK_ATTRIBUTE_PTR kc = kc0 ? realloc(kc0, (km + 2) * sizeof *kc0) : NULL;
	if (!pc || !kc) { free(pc); free(kc ? kc : kc0); return CKR_HOST_MEMORY; }
	if (!attr(pc, pm, CKA_KEY_TYPE)) { pc = realloc(pc, (pm + 1) * sizeof *pc); pc[pm++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, (void *)&dh, sizeof dh}; }
	if (!attr(kc, km, CKA_KEY_TYPE)) kc[km++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, (void *)&dh, sizeof dh};
	if (!attr(kc, km, CKA_VALUE_BITS)) kc[km++] = (CK_ATTRIBUTE){CKA_VALUE_BITS, (void *)&bits, sizeof bits};
	CK_MECHANISM dm = {CKM_DH_PKCS_KEY_PAIR_GEN, NULL, 0};
	rv = store_q(h, p->pValue, p->ulValueLen, q->pValue, q->ulValueLen, attr_bool(pt, pn, CKA_TOKEN, 0));
	if (rv == CKR_OK) rv = hsm->C_GenerateKeyPair(h, &dm, pc, pm, kc, km, pub, priv);
	free(pc);
	free(kc);
	return rv;
}

/* ---- KEA ---- */

/* hsm_exp computes base^x mod p on SoftHSM for the DH (KEA) private key
 * x: a CKM_DH_PKCS_DERIVE into a readable session secret, read, destroyed. */
static CK_RV hsm_exp(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE x, const BIGNUM *base, BIGNUM *out) {
	unsigned char b[KEA_LEN], v[KEA_LEN];
	int bl = BN_bn2bin(base, b);
	CK_MECHANISM m = {CKM_DH_PKCS_DERIVE, b, (CK_ULONG)bl};
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_BBOOL f = CK_FALSE, t = CK_TRUE;
	CK_ULONG len = KEA_LEN;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_TOKEN, &f, 1},
		{CKA_SENSITIVE, &f, 1}, {CKA_EXTRACTABLE, &t, 1}, {CKA_VALUE_LEN, &len, sizeof len},
	};
	CK_OBJECT_HANDLE s;
	CK_RV rv = hsm->C_DeriveKey(h, &m, x, tmpl, sizeof tmpl / sizeof tmpl[0], &s);
	if (rv != CKR_OK) return rv;
	CK_ATTRIBUTE a = {CKA_VALUE, v, sizeof v};
	rv = hsm->C_GetAttributeValue(h, s, &a, 1);
	hsm->C_DestroyObject(h, s);
	if (rv == CKR_OK && !BN_bin2bn(v, (int)a.ulValueLen, out)) rv = CKR_HOST_MEMORY;
	OPENSSL_cleanse(v, sizeof v);
	return rv;
}

/* kea_check: 1 < v < p-1 and v^q = 1 (mod p) (docs: kea/agree.go checks
 * the same). */
static int kea_check(const BIGNUM *v, const BIGNUM *p, const BIGNUM *q, BN_CTX *ctx) {
	BIGNUM *pm1 = BN_CTX_get(ctx), *t = BN_CTX_get(ctx);
	if (!t || !BN_sub(pm1, p, BN_value_one())) return 0;
	if (BN_cmp(v, BN_value_one()) <= 0 || BN_cmp(v, pm1) >= 0) return 0;
	if (!BN_mod_exp(t, v, q, p, ctx)) return 0;
	return BN_is_one(t);
}

/* gen_ephemeral: r in [1, q-1], R = g^r mod p. */
static int gen_ephemeral(BIGNUM *r, BIGNUM *R, const BIGNUM *p, const BIGNUM *q, const BIGNUM *g, BN_CTX *ctx) {
	do {
		if (!BN_priv_rand_range(r, q)) return 0;
	} while (BN_is_zero(r));
	BN_set_flags(r, BN_FLG_CONSTTIME);
	return BN_mod_exp_mont_consttime(R, g, r, p, ctx, NULL);
}

static CK_RV kdf(const BIGNUM *w, unsigned char tek[10]) {
	unsigned char wb[KEA_LEN], t[10];
	if (BN_bn2binpad(w, wb, KEA_LEN) != KEA_LEN) return CKR_GENERAL_ERROR;
	for (int i = 0; i < 10; i++) t[i] = wb[i] ^ KDF_PAD[i];
	sj_wrap10(t, wb + 10, tek);
	OPENSSL_cleanse(wb, sizeof wb);
	OPENSSL_cleanse(t, sizeof t);
	return CKR_OK;
}

static CK_RV F_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base,
		CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out) {
	session *s;
	CK_RV rv = mech_begin(h, m != NULL, m, CKM_KEA_KEY_DERIVE, CKM_KEA_DERIVE, &s);
	if (rv != CKR_OK) return rv;
	count(s->slot, ST_DERIVE);
	if (!m->pParameter || m->ulParameterLen != sizeof(CK_KEA_DERIVE_PARAMS)) return CKR_MECHANISM_PARAM_INVALID;
	CK_KEA_DERIVE_PARAMS *kp = m->pParameter;
	if (kp->ulRandomLen != KEA_LEN || !kp->pRandomA || !kp->pRandomB) return CKR_MECHANISM_PARAM_INVALID;
	if (base & MODKEY_BIT) return CKR_KEY_TYPE_INCONSISTENT;
	CK_KEY_TYPE kt = 0;
	CK_BBOOL can = 0;
	unsigned char pv[KEA_LEN + 1], gv[KEA_LEN + 1], pp[KEA_LEN], qv[64];
	int qlen = 0;
	CK_ATTRIBUTE ba[] = {{CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_DERIVE, &can, 1}, {CKA_PRIME, pv, sizeof pv}, {CKA_BASE, gv, sizeof gv}};
	rv = hsm->C_GetAttributeValue(h, base, ba, 4);
	if (rv == CKR_OBJECT_HANDLE_INVALID) return CKR_KEY_HANDLE_INVALID;
	if (rv != CKR_OK) return rv;
	if (kt != CKK_DH || !pad128(pv, ba[2].ulValueLen, pp)) return CKR_KEY_TYPE_INCONSISTENT;
	if (!can) return CKR_KEY_FUNCTION_NOT_PERMITTED;
	if ((rv = find_q(h, pp, qv, &qlen)) != CKR_OK) return rv;

	BN_CTX *ctx = BN_CTX_new();
	if (!ctx) return CKR_HOST_MEMORY;
	BN_CTX_start(ctx);
	BIGNUM *p = BN_CTX_get(ctx), *q = BN_CTX_get(ctx), *g = BN_CTX_get(ctx);
	BIGNUM *Y = BN_CTX_get(ctx), *Ra = BN_CTX_get(ctx), *Rb = BN_CTX_get(ctx);
	BIGNUM *tt = BN_CTX_get(ctx), *u = BN_CTX_get(ctx), *w = BN_CTX_get(ctx);
	BIGNUM *r = BN_secure_new();
	unsigned char tek[10];
	int have_tek = 0;
	rv = CKR_HOST_MEMORY;
	if (!w || !r) goto done;
	BN_bin2bn(pv, (int)ba[2].ulValueLen, p);
	BN_bin2bn(qv, qlen, q);
	BN_bin2bn(gv, (int)ba[3].ulValueLen, g);
	BN_bin2bn(kp->pRandomA, KEA_LEN, Ra);
	BN_bin2bn(kp->pRandomB, KEA_LEN, Rb);
	rv = CKR_MECHANISM_PARAM_INVALID;
	int generate_only = BN_is_zero(Rb);
	if (kp->isSender) {
		/* Originator: the card generates r_a; Ra goes back to the caller. */
		if (!gen_ephemeral(r, Ra, p, q, g, ctx) || BN_bn2binpad(Ra, kp->pRandomA, KEA_LEN) != KEA_LEN) {
			rv = CKR_GENERAL_ERROR;
			goto done;
		}
		if (BN_is_zero(Rb)) { rv = CKR_OK; *out = CK_INVALID_HANDLE; goto done; }
	} else if (generate_only) {
		/* Responder, full mode, step one: the card generates r_b, keeps it
		 * and returns Rb; no key yet (PKCS#11 v2.20 Table 69). */
		if (!gen_ephemeral(r, Rb, p, q, g, ctx) || BN_bn2binpad(Rb, kp->pRandomB, KEA_LEN) != KEA_LEN) {
			rv = CKR_GENERAL_ERROR;
			goto done;
		}
		pending *e = calloc(1, sizeof *e);
		if (!e) { rv = CKR_HOST_MEMORY; goto done; }
		e->slot = s->slot;
		memcpy(e->R, kp->pRandomB, KEA_LEN);
		e->r = r;
		r = NULL;
		pthread_mutex_lock(&mu);
		e->seq = ++pending_seq;
		e->next = pendings;
		pendings = e;
		npending++;
		stats[ST_PENDING_RS]++;
		long *ss = slot_stats(s->slot);
		if (ss) ss[ST_PENDING_RS]++;
		if (npending > MAX_PENDING) { /* the oldest register is reused */
			pending **old = NULL;
			for (pending **pp2 = &pendings; *pp2; pp2 = &(*pp2)->next)
				if (!old || (*pp2)->seq < (*old)->seq) old = pp2;
			drop_pending(old);
		}
		stats_write();
		pthread_mutex_unlock(&mu);
		rv = CKR_OK;
		*out = CK_INVALID_HANDLE;
		goto done;
	}
	if (!kp->pPublicData || kp->ulPublicDataLen == 0 || kp->ulPublicDataLen > KEA_LEN) goto done;
	BN_bin2bn(kp->pPublicData, (int)kp->ulPublicDataLen, Y);
	if (!kea_check(Y, p, q, ctx)) goto done;
	int email = BN_is_one(Rb);
	if (kp->isSender) {
		/* w = Y_b^r_a + R_b^x_a, with R_b = Y_b in e-mail mode. */
		if (!email && !kea_check(Rb, p, q, ctx)) goto done;
		if (!BN_mod_exp_mont_consttime(tt, Y, r, p, ctx, NULL)) { rv = CKR_GENERAL_ERROR; goto done; }
		if ((rv = hsm_exp(h, base, email ? Y : Rb, u)) != CKR_OK) goto done;
	} else {
		/* w = Y_a^r_b + R_a^x_b, with r_b = x_b in e-mail mode. */
		if (!kea_check(Ra, p, q, ctx)) goto done;
		if (email) {
			if ((rv = hsm_exp(h, base, Y, tt)) != CKR_OK) goto done;
		} else {
			unsigned char rb[KEA_LEN];
			if (BN_bn2binpad(Rb, rb, KEA_LEN) != KEA_LEN) goto done;
			pthread_mutex_lock(&mu);
			pending **hit = NULL;
			for (pending **pp2 = &pendings; *pp2; pp2 = &(*pp2)->next)
				if ((*pp2)->slot == s->slot && !memcmp((*pp2)->R, rb, KEA_LEN)) { hit = pp2; break; }
			if (hit) { /* one use: take it out of the card's register */
				BN_free(r);
				r = (*hit)->r;
				(*hit)->r = NULL;
				drop_pending(hit);
				stats_write();
			}
			pthread_mutex_unlock(&mu);
			if (!hit) { rv = CKR_MECHANISM_PARAM_INVALID; goto done; }
			BN_set_flags(r, BN_FLG_CONSTTIME);
			if (!BN_mod_exp_mont_consttime(tt, Y, r, p, ctx, NULL)) { rv = CKR_GENERAL_ERROR; goto done; }
		}
		if ((rv = hsm_exp(h, base, Ra, u)) != CKR_OK) goto done;
	}
	rv = CKR_GENERAL_ERROR;
	if (!BN_mod_add(w, tt, u, p, ctx)) goto done;
	if (BN_is_zero(w)) { rv = CKR_MECHANISM_PARAM_INVALID; goto done; }
	if ((rv = kdf(w, tek)) != CKR_OK) goto done;
	have_tek = 1;
	rv = new_key(s, tek, t, n, CKM_KEA_KEY_DERIVE, out);
done:
	if (have_tek) OPENSSL_cleanse(tek, sizeof tek);
	BN_clear_free(r);
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return rv;
}

/* ---- SKIPJACK ---- */

static CK_RV F_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE kek, CK_OBJECT_HANDLE key,
		CK_BYTE_PTR out, CK_ULONG_PTR outlen) {
	session *s;
	CK_RV rv = mech_begin(h, m && outlen, m, CKM_SKIPJACK_WRAP, CKM_SKIPJACK_WRAP, &s);
	if (rv != CKR_OK) return rv;
	if (!out) { *outlen = SJ_WRAPPED; return CKR_OK; }
	if (*outlen < SJ_WRAPPED) { *outlen = SJ_WRAPPED; return CKR_BUFFER_TOO_SMALL; }
	count(s->slot, ST_WRAP);
	unsigned char kv[10], v[10];
	if ((rv = key_value(kek, 'w', kv)) != CKR_OK) return rv == CKR_KEY_HANDLE_INVALID ? CKR_WRAPPING_KEY_HANDLE_INVALID : rv;
	if ((rv = key_value(key, 'x', v)) != CKR_OK) { OPENSSL_cleanse(kv, 10); return rv; }
	sj_wrap(kv, v, out);
	*outlen = SJ_WRAPPED;
	OPENSSL_cleanse(kv, 10);
	OPENSSL_cleanse(v, 10);
	return CKR_OK;
}

static CK_RV F_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE kek, CK_BYTE_PTR in,
		CK_ULONG inlen, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out) {
	session *s;
	CK_RV rv = mech_begin(h, m && in, m, CKM_SKIPJACK_WRAP, CKM_SKIPJACK_WRAP, &s);
	if (rv != CKR_OK) return rv;
	count(s->slot, ST_UNWRAP);
	if (inlen != SJ_WRAPPED) return CKR_WRAPPED_KEY_LEN_RANGE;
	unsigned char kv[10], v[10];
	if ((rv = key_value(kek, 'u', kv)) != CKR_OK) return rv == CKR_KEY_HANDLE_INVALID ? CKR_UNWRAPPING_KEY_HANDLE_INVALID : rv;
	int ok = sj_unwrap(kv, in, v);
	OPENSSL_cleanse(kv, 10);
	if (!ok) return CKR_WRAPPED_KEY_INVALID;
	rv = new_key(s, v, t, n, CKM_SKIPJACK_WRAP, out);
	OPENSSL_cleanse(v, 10);
	return rv;
}

static CK_RV sj_op_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, int enc) {
	session *s;
	CK_RV rv = mech_begin(h, m != NULL, m, CKM_SKIPJACK_CBC64, CKM_SKIPJACK_CBC64, &s);
	if (rv != CKR_OK) return rv;
	count(s->slot, enc ? ST_ENCRYPT_INIT : ST_DECRYPT_INIT);
	if (!m->pParameter || m->ulParameterLen != IV_LEN) return CKR_MECHANISM_PARAM_INVALID;
	unsigned char v[10];
	if ((rv = key_value(key, enc ? 'e' : 'd', v)) != CKR_OK) return rv;
	pthread_mutex_lock(&s->op_mu);
	if (s->op) { pthread_mutex_unlock(&s->op_mu); OPENSSL_cleanse(v, 10); return CKR_OPERATION_ACTIVE; }
	unsigned char *iv = m->pParameter;
	if (enc) {
		/* The card chooses the IV and hands it back (LEAF-suppressed). */
		memcpy(iv, LEAF, 16);
		if (getrandom(iv + 16, 8, 0) != 8) { pthread_mutex_unlock(&s->op_mu); OPENSSL_cleanse(v, 10); return CKR_DEVICE_ERROR; }
	}
	memcpy(s->chain, iv + 16, 8);
	sj_schedule(&s->ks, v);
	s->op = enc ? 1 : 2;
	pthread_mutex_unlock(&s->op_mu);
	OPENSSL_cleanse(v, 10);
	return CKR_OK;
}

/* op_begin starts a call on the session's CBC64 operation (enc: an
 * encryption): check_session (into *out), outlen given, that operation
 * initialised. On CKR_OK it returns with (*out)->op_mu held. */
static CK_RV op_begin(CK_SESSION_HANDLE h, int enc, CK_ULONG_PTR outlen, session **out) {
	session *s;
	CK_RV rv = check_session(h, &s);
	if (rv != CKR_OK) return rv;
	if (!outlen) return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&s->op_mu);
	if (s->op != (enc ? 1 : 2)) { pthread_mutex_unlock(&s->op_mu); return CKR_OPERATION_NOT_INITIALIZED; }
	*out = s;
	return CKR_OK;
}

/* op_end ends s's operation and forgets its key schedule. Caller holds
 * s->op_mu. */
static void op_end(session *s) {
	s->op = 0;
	OPENSSL_cleanse(&s->ks, sizeof s->ks);
}

/* sj_op runs CBC64 on the session's operation; final ends it (single-part). */
static CK_RV sj_op(CK_SESSION_HANDLE h, int enc, CK_BYTE_PTR in, CK_ULONG inlen, CK_BYTE_PTR out, CK_ULONG_PTR outlen, int final) {
	session *s;
	CK_RV rv = op_begin(h, enc, outlen, &s);
	if (rv != CKR_OK) return rv;
	if (inlen % 8) {
		op_end(s);
		pthread_mutex_unlock(&s->op_mu);
		return enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
	}
	if (!out) { *outlen = inlen; pthread_mutex_unlock(&s->op_mu); return CKR_OK; }
	if (*outlen < inlen) { *outlen = inlen; pthread_mutex_unlock(&s->op_mu); return CKR_BUFFER_TOO_SMALL; }
	if (!in && inlen) { pthread_mutex_unlock(&s->op_mu); return CKR_ARGUMENTS_BAD; }
	sj_cbc(&s->ks, s->chain, enc, out, in, inlen);
	*outlen = inlen;
	if (final) op_end(s);
	pthread_mutex_unlock(&s->op_mu);
	count(s->slot, enc ? (final ? ST_ENCRYPT : ST_ENCRYPT_UPDATE) : (final ? ST_DECRYPT : ST_DECRYPT_UPDATE));
	return CKR_OK;
}

static CK_RV sj_op_final(CK_SESSION_HANDLE h, int enc, CK_ULONG_PTR outlen) {
	session *s;
	CK_RV rv = op_begin(h, enc, outlen, &s);
	if (rv != CKR_OK) return rv;
	op_end(s);
	pthread_mutex_unlock(&s->op_mu);
	*outlen = 0;
	return CKR_OK;
}

static CK_RV F_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) { return sj_op_init(h, m, k, 1); }
static CK_RV F_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) { return sj_op_init(h, m, k, 0); }
static CK_RV F_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR out, CK_ULONG_PTR outn) { return sj_op(h, 1, in, n, out, outn, 1); }
static CK_RV F_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR out, CK_ULONG_PTR outn) { return sj_op(h, 0, in, n, out, outn, 1); }
static CK_RV F_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR out, CK_ULONG_PTR outn) { return sj_op(h, 1, in, n, out, outn, 0); }
static CK_RV F_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR out, CK_ULONG_PTR outn) { return sj_op(h, 0, in, n, out, outn, 0); }
static CK_RV F_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outn) { (void)out; return sj_op_final(h, 1, outn); }
static CK_RV F_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outn) { (void)out; return sj_op_final(h, 0, outn); }

/* ---- signatures and digests: forwarded for the card's mechanisms ---- */

static CK_RV F_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
	session *s;
	CK_RV rv = mech_begin(h, m != NULL, m, CKM_DSA, CKM_DSA_SHA1, &s);
	if (rv != CKR_OK) return rv;
	if (k & MODKEY_BIT) return CKR_KEY_TYPE_INCONSISTENT;
	count(s->slot, ST_SIGN);
	return hsm->C_SignInit(h, m, k);
}

static CK_RV F_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
	CK_RV rv = mech_begin(h, m != NULL, m, CKM_DSA, CKM_DSA_SHA1, NULL);
	if (rv != CKR_OK) return rv;
	if (k & MODKEY_BIT) return CKR_KEY_TYPE_INCONSISTENT;
	return hsm->C_VerifyInit(h, m, k);
}

static CK_RV F_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m) {
	CK_RV rv = mech_begin(h, m != NULL, m, CKM_SHA_1, CKM_SHA_1, NULL);
	if (rv != CKR_OK) return rv;
	return hsm->C_DigestInit(h, m);
}

static CK_RV F_Unsupported() { return CKR_FUNCTION_NOT_SUPPORTED; }

CK_DEFINE_FUNCTION(CK_RV, C_GetFunctionList)(CK_FUNCTION_LIST_PTR_PTR pp) {
	if (!pp) return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&mu);
	CK_RV rv = load_hsm();
	if (rv == CKR_OK && ours.C_Initialize == NULL) {
		ours = *hsm; /* forwarded unless replaced below */
		ours.version.major = 2;
		ours.version.minor = 40;
		ours.C_Initialize = F_Initialize;
		ours.C_Finalize = F_Finalize;
		ours.C_GetInfo = F_GetInfo;
		ours.C_GetFunctionList = C_GetFunctionList;
		ours.C_GetSlotList = F_GetSlotList;
		ours.C_GetSlotInfo = F_GetSlotInfo;
		ours.C_GetTokenInfo = F_GetTokenInfo;
		ours.C_GetMechanismList = F_GetMechanismList;
		ours.C_GetMechanismInfo = F_GetMechanismInfo;
		ours.C_InitToken = F_InitToken;
		ours.C_InitPIN = F_InitPIN;
		ours.C_OpenSession = F_OpenSession;
		ours.C_CloseSession = F_CloseSession;
		ours.C_CloseAllSessions = F_CloseAllSessions;
		ours.C_GetSessionInfo = F_GetSessionInfo;
		ours.C_GetOperationState = (CK_C_GetOperationState)F_Unsupported;
		ours.C_SetOperationState = (CK_C_SetOperationState)F_Unsupported;
		ours.C_Login = F_Login;
		ours.C_CreateObject = F_CreateObject;
		ours.C_CopyObject = F_CopyObject;
		ours.C_DestroyObject = F_DestroyObject;
		ours.C_GetObjectSize = F_GetObjectSize;
		ours.C_GetAttributeValue = F_GetAttributeValue;
		ours.C_SetAttributeValue = F_SetAttributeValue;
		ours.C_FindObjectsInit = F_FindObjectsInit;
		ours.C_FindObjects = F_FindObjects;
		ours.C_EncryptInit = F_EncryptInit;
		ours.C_Encrypt = F_Encrypt;
		ours.C_EncryptUpdate = F_EncryptUpdate;
		ours.C_EncryptFinal = F_EncryptFinal;
		ours.C_DecryptInit = F_DecryptInit;
		ours.C_Decrypt = F_Decrypt;
		ours.C_DecryptUpdate = F_DecryptUpdate;
		ours.C_DecryptFinal = F_DecryptFinal;
		ours.C_DigestInit = F_DigestInit;
		ours.C_DigestKey = (CK_C_DigestKey)F_Unsupported;
		ours.C_SignInit = F_SignInit;
		ours.C_SignRecoverInit = (CK_C_SignRecoverInit)F_Unsupported;
		ours.C_VerifyInit = F_VerifyInit;
		ours.C_VerifyRecoverInit = (CK_C_VerifyRecoverInit)F_Unsupported;
		ours.C_DigestEncryptUpdate = (CK_C_DigestEncryptUpdate)F_Unsupported;
		ours.C_DecryptDigestUpdate = (CK_C_DecryptDigestUpdate)F_Unsupported;
		ours.C_SignEncryptUpdate = (CK_C_SignEncryptUpdate)F_Unsupported;
		ours.C_DecryptVerifyUpdate = (CK_C_DecryptVerifyUpdate)F_Unsupported;
		ours.C_GenerateKey = F_GenerateKey;
		ours.C_GenerateKeyPair = F_GenerateKeyPair;
		ours.C_WrapKey = F_WrapKey;
		ours.C_UnwrapKey = F_UnwrapKey;
		ours.C_DeriveKey = F_DeriveKey;
	}
	pthread_mutex_unlock(&mu);
	if (rv != CKR_OK) return rv;
	*pp = &ours;
	return CKR_OK;
}
