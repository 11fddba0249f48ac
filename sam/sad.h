/* sad.h — the SCAL2 rules over the store: which credential a caller may use,
 * when a SAD is issued (both factors, hashes bound, count, expiry) and when a
 * signHash request may consume it. No sockets here: unit-testable as is.
 * Library code: returns statuses, never logs. */
#ifndef INKAN_SAM_SAD_H
#define INKAN_SAM_SAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sam.h"
#include "algo.h"
#include "auth.h"
#include "store.h"

/* 32 lower-case hex digits. */
bool sam_cred_id_ok(const char *id);

/* The caller's credential: UNKNOWN_CREDENTIAL when absent or someone else's
 * (one answer: no existence oracle). With usable: also CREDENTIAL_DISABLED
 * (no certificate / disabled) and CERT_EXPIRED (not valid now). On OK the
 * caller owns *c (sam_cred_clear). */
Inkan__Status sam_sad_cred(struct sam_core *core, int64_t user_id,
    const char *cred_id, bool usable, struct sam_cred *c);

/* AUTHORIZE. sad_out: SAM_TOKEN_LEN + 1 bytes (sodium_malloc'd by the
 * caller). *who is filled as soon as the token is known (for logs). */
Inkan__Status sam_sad_authorize(struct sam_core *core,
    const Inkan__AuthorizeReq *req, char *sad_out, uint32_t *expires_in,
    struct sam_who *who);

struct sam_sign_plan {
	uint8_t key_id[SAM_KEY_ID_LEN];
	struct sam_mech mech;
	size_t count;
};

/* SIGN, up to and including consuming the SAD: on OK the request's hashes
 * are marked used and the SAD's count decremented (committed), and plan says
 * how the SCM must sign req->hashes. */
Inkan__Status sam_sad_sign(struct sam_core *core, const Inkan__SignReq *req,
    struct sam_sign_plan *plan, struct sam_who *who);

#endif
