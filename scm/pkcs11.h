/* pkcs11.h — inkan-scm's small library over one PKCS#11 module (dlopen +
 * C_GetFunctionList): one token, one RW session logged in once as the user
 * (plus, for the signing pool, more sessions on the same login), a cache of
 * key handles by CKA_ID shared by all of them, keygen/pubkey/sign/CSR/destroy
 * for the key types inkan uses, and token initialisation. Library code: no
 * logging; the failing call and its CK_RV are kept in the token (per
 * session) for the caller to report. */
#ifndef INKAN_SCM_PKCS11_H
#define INKAN_SCM_PKCS11_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* p11-kit's compatibility names leak lower-case macros (hash_alg, s_len, ...)
 * that would rename fields of unrelated structs, such as the protobuf
 * SignDigestReq.hash_alg: drop them. Use the standard names (hashAlg, sLen). */
#undef hash_alg
#undef s_len
#undef source_data
#undef source_data_len
#undef counter_bits
#undef iv_ptr
#undef iv_len
#undef iv_bits
#undef aad_ptr
#undef aad_len
#undef tag_bits
#undef shared_data
#undef shared_data_len
#undef public_data
#undef public_data_len
#undef string_data
#undef string_data_len
#undef data_params
#undef ck_rsa_pkcs_mgf_type_t
#undef ck_rsa_pkcs_oaep_source_type_t

#include "der.h"

#define P11_KEY_ID_LEN 16
/* Largest raw signature (RSA-4096) and largest answer of p11_sign. */
#define P11_SIG_MAX 512
/* Handles remembered by CKA_ID; beyond this the oldest slot is reused. */
#define P11_CACHE_SLOTS 256

/* Same numbers as Inkan__KeyType, kept separate so this file needs no proto. */
enum p11_key_type {
	P11_KEY_NONE = 0,
	P11_KEY_EC_P256 = 1,
	P11_KEY_EC_P384 = 2,
	P11_KEY_RSA_2048 = 3,
	P11_KEY_RSA_3072 = 4,
};

/* Same numbers as Inkan__SignMech. */
enum p11_mech {
	P11_MECH_NONE = 0,
	P11_MECH_ECDSA = 1,       /* answer: DER ECDSA-Sig-Value */
	P11_MECH_RSA_PKCS1 = 2,   /* DigestInfo built here */
	P11_MECH_RSA_PSS = 3,     /* MGF1 with the same hash */
};

/* Return values: 0, a negative errno (-ENOMEM, -EINVAL for bad arguments,
 * -EIO for a failed PKCS#11 call: see last_fn/last_rv), or one of these
 * domain outcomes (positive). */
enum p11_result {
	P11_OK = 0,
	P11_NOT_FOUND = 1,        /* no key with that CKA_ID */
	P11_EXISTS,               /* keygen: CKA_ID taken */
	P11_UNSUPPORTED,          /* key type / mechanism / hash not supported */
	P11_MECH_MISMATCH,        /* mechanism does not fit the key type */
	P11_DIGEST_LENGTH,        /* digest length != hash length */
	P11_SALT_TOO_LONG,        /* PSS salt > emLen - hLen - 2 */
	P11_BAD_CSR,              /* CSR does not parse */
	P11_KEY_MISMATCH,         /* CSR carries another public key */
	P11_TOKEN_NOT_FOUND,      /* open: no token with that label/serial */
	P11_TOKEN_EXISTS,         /* init_token: label already in use */
	P11_NO_FREE_SLOT,         /* init_token: no uninitialised token */
	P11_BAD_SETUP,            /* module, SOFTHSM2_CONF or token dir: see err */
};

struct p11_cache_entry {
	bool used;
	uint8_t id[P11_KEY_ID_LEN];
	CK_OBJECT_HANDLE priv, pub;
	enum p11_key_type type;
};

/* One token (p11_open) or one more session on an open token's login
 * (p11_open_session: parent set). A struct is used by one thread at a time;
 * only the handle cache, kept in the parent, is shared, under cache_lock. */
struct p11_token {
	void *dl;
	CK_FUNCTION_LIST *f;
	bool initialized;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	bool have_session;
	bool logged_in;
	/* A pool session: module, slot and cache are the parent's. */
	struct p11_token *parent;
	/* Last failing PKCS#11 call: "C_Sign" and its CK_RV. */
	const char *last_fn;
	CK_RV last_rv;
	/* Human-readable reason for P11_BAD_SETUP / -EIO / open failures. No
	 * secret ever goes in here. */
	char err[256];
	/* Guards cache and cache_next (several signing threads). */
	pthread_mutex_t cache_lock;
	bool have_cache_lock;
	struct p11_cache_entry cache[P11_CACHE_SLOTS];
	unsigned cache_next;
};

/* Name of a CK_RV ("CKR_PIN_INCORRECT"), or NULL when not in the table. */
const char *p11_rv_name(CK_RV rv);
/* Short text for a p11_* return value (domain or -errno). */
const char *p11_strerror(int rc);
/* One line describing the last failure of t: err if set, else
 * "C_Xxx failed: CKR_..." (written to buf, which is returned). */
const char *p11_describe(const struct p11_token *t, char *buf, size_t len);

/* Load module, C_Initialize (CKF_OS_LOCKING_OK), pick the token by label or
 * serial (exactly one non-NULL), open one RW session and log in as the user.
 * t must be zeroed (or closed). pin is not kept. */
int p11_open(struct p11_token *t, const char *module, const char *label,
    const char *serial, const char *pin, size_t pin_len);
/* Log out, close, C_Finalize, unload. Safe on a half-opened token. On a
 * session from p11_open_session: close that session only (the login, which
 * belongs to the whole token, stays). */
void p11_close(struct p11_token *t);

/* One more RW session on parent's token, which must be open and logged in:
 * PKCS#11 login state is per token, so the new session signs as the user at
 * once, with no PIN. t must be zeroed; it shares parent's module and handle
 * cache and keeps its own error. Close it (p11_close) before the parent. */
int p11_open_session(struct p11_token *t, struct p11_token *parent);

/* Forget every cached handle (after a logout invalidated them). */
void p11_cache_clear(struct p11_token *t);

/* Generate a token key pair under key_id. extractable: EXTRACTABLE=TRUE and
 * WRAP_WITH_TRUSTED=TRUE (backup by a trusted KEK only); else never
 * extractable. On success *spki is a malloc'd DER SubjectPublicKeyInfo. */
int p11_keygen(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    enum p11_key_type type, bool extractable, uint8_t **spki,
    size_t *spki_len);

/* Public key of key_id as malloc'd DER SPKI, and its type. */
int p11_pubkey(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    uint8_t **spki, size_t *spki_len, enum p11_key_type *type);

/* Sign one digest. dlen must equal the hash length; salt_len is used by PSS
 * only (must be 0 otherwise). sig must hold P11_SIG_MAX bytes. */
int p11_sign(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    enum p11_mech mech, enum der_hash hash, uint32_t salt_len,
    const uint8_t *digest, size_t dlen, uint8_t *sig, size_t *sig_len);

/* Proof of possession: sign a PKCS#10 request whose public key is key_id's
 * own (SHA-256, SHA-384 for P-384). The incoming signature is ignored. On
 * success *out is a malloc'd DER request that X509_REQ_verify accepts. */
int p11_sign_csr(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    const uint8_t *csr, size_t csr_len, uint8_t **out, size_t *out_len);

/* Destroy every object carrying key_id (private and public key). */
int p11_destroy(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN]);

/* Copy the last failure of from (a pool session) into to, for reporting. */
void p11_copy_error(struct p11_token *to, const struct p11_token *from);

/* Handles and type of key_id (cached). For tests and diagnostics. */
int p11_find_key(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    CK_OBJECT_HANDLE *priv, CK_OBJECT_HANDLE *pub, enum p11_key_type *type);

/* One-shot: initialise an unused token with label, set the SO PIN and the
 * user PIN, then C_Finalize and unload. t must be zeroed; it keeps the error
 * for the caller and needs no p11_close afterwards. */
int p11_init_token(struct p11_token *t, const char *module, const char *label,
    const char *so_pin, size_t so_pin_len, const char *user_pin,
    size_t user_pin_len);

#endif
