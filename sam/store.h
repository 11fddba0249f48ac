/* store.h — inkan-sam's SQLite database: users and their factor hashes,
 * credentials, access tokens and SADs (only SHA-256 hashes of tokens and SADs
 * are stored). Statements are prepared once at open; every multi-step change
 * runs inside sam_store_begin()/commit(). Library code: 0 or -errno, no logs.
 * Since schema 2 (issue 3) the user, credential, token and SAD rows carry an
 * HMAC made by inkan-scm's HSM key (sam/rows.h computes and checks it): write
 * those rows only through the functions of rows.h / auth.h / sad.h, which
 * compute the MAC; a row written here without one is refused when read. */
#ifndef INKAN_SAM_STORE_H
#define INKAN_SAM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sam.h"

#define SAM_SCHEMA_VERSION 4
#define SAM_SCHEMA_VERSION_STR "4"

/* Credential status. A credential is usable only with a certificate and
 * status SAM_CRED_ENABLED. */
enum sam_cred_status {
	SAM_CRED_PENDING = 0,      /* key generated, no certificate yet */
	SAM_CRED_ENABLED = 1,
	SAM_CRED_DISABLED = 2,
	SAM_CRED_DESTROYED = 3,    /* key destroyed: revoked, renewed, expired,
				    * signer terminated; never usable again */
};

/* A signer's registration (issue 7): the certificate subject as the
 * operator verified it (SAM_SUBJECT_* fields joined by US, 0x1f), the
 * one-time identification code's Argon2id hash, termination. */
struct sam_reg {
	char subject[SAM_SUBJECT_MAX + 1];
	char idcode_hash[SAM_PWHASH_MAX];  /* "" = none */
	int64_t idcode_used;               /* 1: used (or none to use) */
	int64_t terminated;
	uint8_t mac[32];
	bool has_mac;
};

/* Holds the TOTP secret: allocate with sodium_malloc, free with sodium_free. */
struct sam_user {
	int64_t id;
	char name[SAM_NAME_MAX + 1];
	char pw_hash[SAM_PWHASH_MAX];
	char pin_hash[SAM_PWHASH_MAX];
	uint8_t totp_secret[64];
	size_t totp_len;
	int64_t totp_last_step;
	int64_t failures;
	int64_t locked_until;              /* SAM_LOCK_FOREVER: until unlocked */
	int64_t created;
	uint8_t mac[32];                   /* row MAC (rows.h) */
	bool has_mac;
};

struct sam_cred {
	char id[SAM_CRED_ID_LEN + 1];
	int64_t user_id;
	int key_type;                      /* Inkan__KeyType */
	uint8_t key_id[SAM_KEY_ID_LEN];
	uint8_t *spki;                     /* DER SubjectPublicKeyInfo */
	size_t spki_len;
	uint8_t *cert;                     /* DER end-entity, NULL before import */
	size_t cert_len;
	char *subject_dn, *issuer_dn, *serial_hex;   /* NULL before import */
	int64_t not_before, not_after;
	int status;                        /* enum sam_cred_status */
	unsigned multisign;                /* 0 = the service's multisign */
	uint8_t mac[32];                   /* row MAC (rows.h) */
	bool has_mac;
	char replaces[SAM_CRED_ID_LEN + 1];  /* renewal of: "" = none */
};
/* Frees the allocated members (the struct itself is the caller's). */
void sam_cred_clear(struct sam_cred *c);

struct sam_sad_row {
	int64_t user_id;
	char cred_id[SAM_CRED_ID_LEN + 1];
	uint8_t token_hash[32];
	int hash_alg;                      /* Inkan__HashAlg; 0 = bound by length */
	int64_t remaining;
	int64_t expires;
	uint8_t mac[32];                   /* row MAC (rows.h) */
	bool has_mac;
};

/* State of one authorised digest of a SAD (column sad_hashes.used). */
enum sam_hash_state {
	SAM_HASH_AUTHORISED = 0,
	SAM_HASH_SIGNED = 1,        /* signatures released */
	SAM_HASH_RESERVED = 2,      /* a signing operation (op) is under way */
};

struct sam_token_row {
	int64_t user_id;
	int64_t expires;
	char name[SAM_NAME_MAX + 1];
	uint8_t mac[32];
	bool has_mac;
};

/* Opens (creating if needed, file mode 0600) and brings the schema to
 * SAM_SCHEMA_VERSION. -ENOTSUP if the file has a newer schema. */
int sam_store_open(const char *path, struct sam_store **out);
void sam_store_close(struct sam_store *st);
int sam_store_schema_version(struct sam_store *st, int *version);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback is safe without a transaction. */
int sam_store_begin(struct sam_store *st);
int sam_store_commit(struct sam_store *st);
void sam_store_rollback(struct sam_store *st);

/* users */
int sam_store_user_add(struct sam_store *st, const char *name,
    const char *pw_hash, const char *pin_hash, const uint8_t *totp,
    size_t totp_len, int64_t created, int64_t *id);           /* -EEXIST */
int sam_store_user_by_name(struct sam_store *st, const char *name,
    struct sam_user *u);                                       /* -ENOENT */
int sam_store_user_by_id(struct sam_store *st, int64_t id, struct sam_user *u);
/* Raises totp_last_step to step; -EALREADY if it is not strictly greater. */
int sam_store_user_totp_step(struct sam_store *st, int64_t id, int64_t step);
int sam_store_user_failures(struct sam_store *st, int64_t id,
    int64_t failures, int64_t locked_until);
int sam_store_user_set_mac(struct sam_store *st, int64_t id,
    const uint8_t mac[32]);
int sam_store_user_list(struct sam_store *st,
    int (*cb)(void *arg, const char *name, int64_t n_creds, int64_t created),
    void *arg);

/* credentials */
int sam_store_cred_add(struct sam_store *st, const char *id, int64_t user_id,
    int key_type, const uint8_t *key_id, const uint8_t *spki, size_t spki_len,
    int64_t created, const char *replaces, const uint8_t mac[32]); /* -EEXIST */
/* Credentials with a certificate past not_after < now that still have a
 * key (enabled or disabled). */
int sam_store_cred_expired(struct sam_store *st, int64_t now,
    int (*cb)(void *arg, const char *id), void *arg);
/* Registration row (issue 7): insert or replace; -ENOENT when none. */
int sam_store_reg_set(struct sam_store *st, int64_t user_id,
    const struct sam_reg *g);
int sam_store_reg_get(struct sam_store *st, int64_t user_id,
    struct sam_reg *g);
/* Every access token of a user (and, by the schema, their SADs). */
int sam_store_token_del_user(struct sam_store *st, int64_t user_id);
int sam_store_cred_get(struct sam_store *st, const char *id,
    struct sam_cred *c);                                       /* -ENOENT */
/* Certificate, its fields, the status it leaves the credential in, and the
 * row's new MAC. */
int sam_store_cred_set_cert(struct sam_store *st, const char *id,
    const uint8_t *cert, size_t cert_len, const char *subject_dn,
    const char *issuer_dn, const char *serial_hex, int64_t not_before,
    int64_t not_after, int status, const uint8_t mac[32]);
int sam_store_cred_set_status(struct sam_store *st, const char *id,
    int status, const uint8_t mac[32]);
int sam_store_cred_set_multisign(struct sam_store *st, const char *id,
    unsigned multisign, const uint8_t mac[32]);
int sam_store_chain_clear(struct sam_store *st, const char *id);
int sam_store_chain_add(struct sam_store *st, const char *id, int idx,
    const uint8_t *der, size_t len);
int sam_store_chain_get(struct sam_store *st, const char *id,
    int (*cb)(void *arg, const uint8_t *der, size_t len), void *arg);
int sam_store_cred_ids(struct sam_store *st, int64_t user_id,
    int (*cb)(void *arg, const char *id), void *arg);
/* username NULL = all users */
int sam_store_cred_list(struct sam_store *st, const char *username,
    int (*cb)(void *arg, const struct sam_cred *c, const char *username),
    void *arg);

/* access tokens (by SHA-256 of the token string) */
int sam_store_token_add(struct sam_store *st, const uint8_t hash[32],
    int64_t user_id, int64_t expires, int64_t created, const uint8_t mac[32]);
int sam_store_token_get(struct sam_store *st, const uint8_t hash[32],
    struct sam_token_row *t);                                  /* -ENOENT */
int sam_store_token_del(struct sam_store *st, const uint8_t hash[32]);

/* SADs (by SHA-256 of the SAD string) and their authorised hashes */
/* r->mac must be set (has_mac). */
int sam_store_sad_add(struct sam_store *st, const uint8_t hash[32],
    const struct sam_sad_row *r, int64_t created);
int sam_store_sad_del(struct sam_store *st, const uint8_t hash[32]);
int sam_store_sad_del_by_cred(struct sam_store *st, const char *cred_id);
int sam_store_sad_get(struct sam_store *st, const uint8_t hash[32],
    struct sam_sad_row *r);                                    /* -ENOENT */
/* remaining -= n; -ERANGE if that would go below zero. n < 0 gives back. */
int sam_store_sad_consume(struct sam_store *st, const uint8_t hash[32],
    int64_t n);
int sam_store_sad_del_by_token(struct sam_store *st, const uint8_t tok[32]);
int sam_store_sad_hash_add(struct sam_store *st, const uint8_t sad[32],
    const uint8_t *digest, size_t len);
/* Reserves an authorised, unused digest for signing operation op;
 * -ENOENT if not authorised, already signed or reserved. */
int sam_store_sad_hash_reserve(struct sam_store *st, const uint8_t sad[32],
    const uint8_t *digest, size_t len, int64_t op);
/* One digest reserved by op -> SIGNED, keeping the signature released for
 * it (and how it was made) for redelivery; *n = rows changed (1). */
int sam_store_sad_hash_commit(struct sam_store *st, const uint8_t sad[32],
    const uint8_t *digest, size_t len, int64_t op, const uint8_t *sig,
    size_t sig_len, int64_t scheme, int *n);
/* The signature kept for a SIGNED digest made with scheme: *sig malloc'd.
 * -ENOENT if the digest is not signed or was signed another way. */
int sam_store_sad_hash_signed(struct sam_store *st, const uint8_t sad[32],
    const uint8_t *digest, size_t len, int64_t scheme, uint8_t **sig,
    size_t *sig_len);
/* Digests reserved by op back to AUTHORISED; *n = how many rows changed. */
int sam_store_sad_hash_release(struct sam_store *st, const uint8_t sad[32],
    int64_t op, int *n);
/* Every digest of a SAD with its state (enum sam_hash_state). */
int sam_store_sad_hashes(struct sam_store *st, const uint8_t sad[32],
    int (*cb)(void *arg, const uint8_t *digest, size_t len, int state),
    void *arg);
/* After a restart: every RESERVED digest back to AUTHORISED and its SAD's
 * count given back (see docs/security.md, reserve/commit). *n = digests. */
int sam_store_recover_reserved(struct sam_store *st, int *n);

/* Deletes tokens expired at `now` and SADs expired before `sad_before`. */
int sam_store_purge(struct sam_store *st, int64_t now, int64_t sad_before);

#endif
