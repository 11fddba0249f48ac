/* backup.h — key backup and recovery inside inkan-scm (issue 7 item 5).
 * Backup: a fresh AES-256 key-encryption key (KEK) is generated as a trusted
 * *session* object under an SO login (SoftHSM would store an SO-made token
 * object unencrypted), wrapped by share1 XOR share2 (two fresh random
 * 32-byte shares for two operators), and wraps every signer key and the
 * row-MAC key with CKM_AES_KEY_WRAP_PAD; those keys are SENSITIVE,
 * EXTRACTABLE and WRAP_WITH_TRUSTED, so nothing but a trusted key can wrap
 * them. Restore (one-shot, fresh token): the shares' key unwraps the KEK,
 * the KEK unwraps each key under its old CKA_ID with the same safe
 * attributes, the public key object is rebuilt from the archived SPKI, and
 * each key must sign a test digest that verifies under that SPKI.
 * Library code over pkcs11.h: 0, -errno, P11_* or the SCM_BK_* outcomes
 * below; the reason is in t->err / t->last_fn; never logs. */
#ifndef INKAN_SCM_BACKUP_H
#define INKAN_SCM_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkcs11.h"

#define SCM_BK_SHARE_LEN 32
#define SCM_BK_PAGE 48              /* keys per page (RSA-3072: ~2.4 KiB each) */
#define SCM_BK_WRAPPED_MAX 4096     /* a wrapped RSA-3072 PKCS#8 is ~1.8 KiB */
#define SCM_BK_SPKI_MAX 1024
#define SCM_BK_KEK_LABEL "inkan-backup-kek"

enum scm_bk_result {
	SCM_BK_SO_PIN = 100,        /* the SO PIN was refused */
	SCM_BK_NOT_EXTRACTABLE,     /* a key cannot be wrapped: see t->err */
	SCM_BK_RELOGIN,             /* the user login could not be restored */
	SCM_BK_BAD_SHARES,          /* restore: the shares' key does not unwrap */
	SCM_BK_NOT_FRESH,           /* restore: the token holds keys already */
	SCM_BK_SELFTEST,            /* restore: a key does not match its SPKI */
};

struct scm_bk_key {
	uint8_t id[P11_KEY_ID_LEN];
	enum p11_key_type type;
	uint8_t *spki, *wrapped;    /* malloc'd */
	size_t spki_len, wrapped_len;
};
void scm_bk_keys_free(struct scm_bk_key *k, size_t n);

/* Start a backup: user logout, SO login, trusted session KEK, SO logout,
 * user login again (every private handle is invalid afterwards: the
 * caller drops what it cached). Then fresh shares, the KEK wrapped by
 * their XOR, and the row-MAC key (which must exist) wrapped by the KEK. *kek keeps the
 * KEK's handle for the pages; wkek/wmac are malloc'd. */
int scm_bk_start(struct p11_token *t, const char *so_pin, size_t so_len,
    const char *user_pin, size_t user_len, CK_OBJECT_HANDLE *kek, uint8_t share1[SCM_BK_SHARE_LEN],
    uint8_t share2[SCM_BK_SHARE_LEN], uint8_t **wkek, size_t *wkek_len,
    uint8_t **wmac, size_t *wmac_len);
/* Up to SCM_BK_PAGE signer keys (16-byte CKA_ID) after `after` (NULL: from
 * the first), in CKA_ID order, each wrapped by kek. *more: keys remain. */
int scm_bk_page(struct p11_token *t, CK_OBJECT_HANDLE kek,
    const uint8_t *after, struct scm_bk_key **out, size_t *n, bool *more);
/* Destroy the KEK (no error when it is gone already). */
void scm_bk_finish(struct p11_token *t, CK_OBJECT_HANDLE *kek);

/* Restore: refuse a token that already holds a signer key or a MAC key
 * (SCM_BK_NOT_FRESH); unwrap the KEK with share1 XOR share2 (session
 * object, unwrap only); SCM_BK_BAD_SHARES when the HSM refuses. */
int scm_bk_restore_begin(struct p11_token *t,
    const uint8_t unwrap_key[SCM_BK_SHARE_LEN], const uint8_t *wkek,
    size_t wkek_len, CK_OBJECT_HANDLE *kek);
/* The MAC key back under its label; wrappable: EXTRACTABLE (key_backup). */
int scm_bk_restore_mac(struct p11_token *t, CK_OBJECT_HANDLE kek,
    const uint8_t *wrapped, size_t len, bool wrappable);
/* One signer key back, its public key object rebuilt, then a self-test
 * signature verified with OpenSSL under spki. */
int scm_bk_restore_key(struct p11_token *t, CK_OBJECT_HANDLE kek,
    const struct scm_bk_key *k, bool wrappable);

#endif
