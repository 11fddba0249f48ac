/* scm_client.h — inkan-sam's stubs for the crypto interface: one persistent
 * connection to inkan-scm, opened lazily, re-opened once when it went stale;
 * each stub accepts exactly the reply type of its request. Results: OK,
 * UNAVAILABLE (SCM unreachable or timed out) or INTERNAL (the SCM refused;
 * its own status is in scm->last_status for the log). Never logs. */
#ifndef INKAN_SAM_SCM_CLIENT_H
#define INKAN_SAM_SCM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sam.h"

void sam_scm_init(struct sam_scm *s, const char *path);
void sam_scm_close(struct sam_scm *s);

Inkan__Status sam_req_keygen(struct sam_scm *s, const uint8_t *key_id,
    Inkan__KeyType kt, bool extractable, Inkan__KeygenRep **rep);
Inkan__Status sam_req_sign(struct sam_scm *s, const Inkan__SignDigestReq *req,
    Inkan__SignDigestRep **rep);
Inkan__Status sam_req_sign_csr(struct sam_scm *s, const uint8_t *key_id,
    const uint8_t *csr, size_t csr_len, Inkan__SignCsrRep **rep);
Inkan__Status sam_req_pubkey(struct sam_scm *s, const uint8_t *key_id,
    Inkan__PubkeyRep **rep);
Inkan__Status sam_req_destroy(struct sam_scm *s, const uint8_t *key_id);
/* issue 3: HMAC-SHA256 of n (1..SAM_MAC_BATCH_MAX) 32-byte row digests
 * with inkan-scm's MAC key; exactly n 32-byte MACs or a failure. */
Inkan__Status sam_req_mac(struct sam_scm *s, const uint8_t (*in)[32],
    size_t n, uint8_t (*out)[32]);
/* issue 5: a checkpoint signature (DER ECDSA, caller frees *rep) over the
 * statement inkan-scm builds from (seq, head), and the audit public key. */
Inkan__Status sam_req_audit_sign(struct sam_scm *s, uint64_t seq,
    const uint8_t head[32], Inkan__AuditSignRep **rep);
Inkan__Status sam_req_audit_key(struct sam_scm *s, Inkan__AuditKeyRep **rep);

#endif
