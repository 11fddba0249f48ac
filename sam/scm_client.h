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

#endif
