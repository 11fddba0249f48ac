/* audit_key.h — inkan-scm's audit key (issue 5): one EC P-256 key pair inside
 * the token, found by its fixed label or generated there on first start, that
 * signs nothing but audit checkpoint statements built here from (seq, head):
 *   SHA-256("inkan-audit checkpoint v1 seq=<seq> head=<64 hex>")
 * Library code over pkcs11.h's token: 0 or -errno / P11_*, the failing call
 * kept in the token for the caller to report; never logs. */
#ifndef INKAN_SCM_AUDIT_KEY_H
#define INKAN_SCM_AUDIT_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkcs11.h"

#define SCM_AUDIT_LABEL "inkan-audit"
#define SCM_AUDIT_SPKI_LEN 91         /* DER SPKI of a P-256 key */

struct scm_audit_key {
	CK_OBJECT_HANDLE priv, pub;
	uint8_t spki[SCM_AUDIT_SPKI_LEN];
};

/* Find the key pair (label SCM_AUDIT_LABEL, EC P-256, private key SENSITIVE
 * and not EXTRACTABLE) or generate it: TOKEN, PRIVATE, SENSITIVE, never
 * EXTRACTABLE, SIGN only (no decrypt/unwrap/derive/sign-recover); without
 * create, P11_NOT_FOUND when there is none. -EEXIST
 * when the label is ambiguous, P11_UNSUPPORTED when the key found does not
 * have these properties: refuse rather than use it. */
int scm_audit_open(struct p11_token *t, struct scm_audit_key *k,
    bool create, bool *created);

/* The checkpoint statement's digest (what is signed). */
int scm_audit_digest(uint64_t seq, const uint8_t head[32], uint8_t out[32]);

/* ECDSA over digest with the audit key: DER ECDSA-Sig-Value into sig
 * (DER_ECDSA_SIG_MAX bytes). */
int scm_audit_sign(struct p11_token *t, const struct scm_audit_key *k,
    const uint8_t digest[32], uint8_t *sig, size_t *sig_len);

#endif
