/* mac.h — inkan-scm's row-integrity MAC key (issue 3): one HMAC-SHA256
 * generic secret key inside the token, found by its fixed label or generated
 * there on first start, and the MAC operation over the SAM's 32-byte row
 * digests. Library code over pkcs11.h's token: 0 or -errno / P11_*, the
 * failing call kept in the token for the caller to report; never logs. */
#ifndef INKAN_SCM_MAC_H
#define INKAN_SCM_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkcs11.h"

#define SCM_MAC_LABEL "inkan-mac"
#define SCM_MAC_LEN 32            /* HMAC-SHA256 output and key length */
#define SCM_MAC_INPUT_LEN 32      /* the SAM sends SHA-256 row digests */

/* Find the MAC key (CKO_SECRET_KEY, label SCM_MAC_LABEL); when there is
 * none and create is set, generate it: CKK_GENERIC_SECRET, 32 bytes, TOKEN,
 * PRIVATE, SENSITIVE, WRAP_WITH_TRUSTED, EXTRACTABLE only when wrappable
 * (key_backup: backup by a trusted KEK), SIGN/VERIFY only (without create:
 * P11_NOT_FOUND). -EEXIST when the label is ambiguous (two keys): refuse
 * rather than pick one. Create only as the user that serves: SoftHSM writes
 * the object file as the calling uid. */
int scm_mac_open(struct p11_token *t, bool create, bool wrappable,
    CK_OBJECT_HANDLE *key, bool *created);

/* The MAC key's attributes, the one place that says what the key is and
 * may do, for both ways it comes into a token: generated here (generate:
 * with CKA_VALUE_LEN and CKA_MODIFIABLE = FALSE) or unwrapped by a restore
 * (scm/backup.c; SoftHSM refuses CKA_MODIFIABLE in an unwrap template, so
 * the restore copies the object with it afterwards). Fills A (at least
 * SCM_MAC_ATTRS entries; values in static storage) and returns the count. */
#define SCM_MAC_ATTRS 18
size_t scm_mac_template(CK_ATTRIBUTE *a, bool wrappable, bool generate);

/* CKM_SHA256_HMAC of one input with the MAC key. */
int scm_mac_compute(struct p11_token *t, CK_OBJECT_HANDLE key,
    const uint8_t *in, size_t len, uint8_t out[SCM_MAC_LEN]);

#endif
