/* lifecycle.h — the key and certificate lifecycle as accredited CAs run it
 * (issue 7): registration with a one-time identification code, key
 * generation instructed by the signer, certificate registration against a
 * trust anchor, renewal, revocation, expiry and termination, each of which
 * destroys keys in the HSM. docs/lifecycle.md walks through it. */
#ifndef INKAN_SAM_LIFECYCLE_H
#define INKAN_SAM_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#include "sam.h"
#include "store.h"

/* A generated identification code: 16 symbols of an unambiguous base-32
 * alphabet (80 bits) in four groups, "K7QM-4XRT-..." */
#define SAM_ID_CODE_GEN_LEN 19

/* [sam] trust_anchors: a PEM file of CA certificates an imported signer
 * certificate must chain to. Loaded at start-up (before the sandbox). */
int sam_lc_load_anchors(const char *path);
bool sam_lc_have_anchors(void);

/* Registration of user_id: subject (joined, x509.h) and a one-time code,
 * either code (the CA's) or, with gen, a generated one written to gen_out.
 * With subject NULL the registration's subject stays (or is CN=name when
 * there was none). OK, INVALID_REQUEST, INTEGRITY, UNAVAILABLE, INTERNAL. */
Inkan__Status sam_lc_register(struct sam_core *core, int64_t user_id,
    const char *name, const char *subject, const ProtobufCBinaryData *code,
    bool gen, char gen_out[SAM_ID_CODE_GEN_LEN + 1]);

/* The checks a signer certificate passes before it is registered: within
 * its validity at `now`, key usage allowing signatures (digitalSignature or
 * nonRepudiation), a chain through `chain` (issuer first, untrusted) to a
 * trust anchor. OK, CERT_EXPIRED or INVALID_REQUEST with why filled. */
Inkan__Status sam_lc_cert_check(X509 *cert, X509 *const *chain, size_t n,
    int64_t now, char *why, size_t why_len);

/* Destroys the key of credential cred_id: the credential becomes DESTROYED
 * (MACed) and its SADs go first, then the key is destroyed in the HSM.
 * Idempotent (a DESTROYED credential only retries the HSM). *gone: the
 * HSM has no such key any more. Records key.destroy with why. c may be NULL
 * (the SAM itself: expiry). OK, NOT_FOUND, INTEGRITY, UNAVAILABLE, ... */
Inkan__Status sam_lc_destroy(struct sam_app *app, const struct srv_ctx *c,
    const char *cred_id, const char *why, bool *gone);

/* Every credential whose certificate has expired loses its key (audited
 * with the SAM as actor). Returns how many keys were destroyed, -E2BIG when
 * 1024 were and more remain, -EIO when the list cannot be read. */
int sam_lc_sweep(struct sam_app *app);
/* From the serving loop: the sweep at the first round after start, then
 * every [sam] expiry_check seconds (default one day). */
void sam_lc_tick(struct sam_app *app);

/* Handlers (main.c's table). */
Inkan__Status sam_answer_signer_cred_create(struct srv_ctx *c,
    const ProtobufCMessage *m);
Inkan__Status sam_answer_user_idcode(struct srv_ctx *c,
    const ProtobufCMessage *m);
Inkan__Status sam_answer_cred_revoke(struct srv_ctx *c,
    const ProtobufCMessage *m);
Inkan__Status sam_answer_user_terminate(struct srv_ctx *c,
    const ProtobufCMessage *m);

#endif
