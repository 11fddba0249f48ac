/* sad.h — the SCAL2 rules over the store: which credential a caller may use,
 * when a SAD is issued (both factors, hashes bound, count, expiry), when a
 * signHash request may reserve its hashes, how a reservation ends (commit
 * after the signatures came back, release when they did not, recovery after
 * a crash), and extendTransaction. Every row these rules rely on is checked
 * against its HSM-keyed MAC (rows.h) before anything is decided. No sockets
 * here: unit-testable as is. Library code: returns statuses, never logs. */
#ifndef INKAN_SAM_SAD_H
#define INKAN_SAM_SAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sam.h"
#include "algo.h"
#include "auth.h"
#include "rows.h"
#include "store.h"

/* 32 lower-case hex digits. */
bool sam_cred_id_ok(const char *id);

/* The caller's credential: UNKNOWN_CREDENTIAL when absent or someone else's
 * (one answer: no existence oracle). With usable: also CREDENTIAL_DISABLED
 * (no certificate / disabled) and CERT_EXPIRED (not valid now, UTC). The
 * row's MAC check is queued on b (run it before relying on *c), or run at
 * once when b is NULL. On OK the caller owns *c (sam_cred_clear). */
Inkan__Status sam_sad_cred(struct sam_core *core, int64_t user_id,
    const char *cred_id, bool usable, struct sam_cred *c, struct sam_macb *b);

/* Most signatures one SAD of c may authorise: the credential's own
 * multisign (1 = no batches) within the service's. */
unsigned sam_cred_multisign(const struct sam_core *core,
    const struct sam_cred *c);

/* AUTHORIZE. sad_out: SAM_TOKEN_LEN + 1 bytes (sodium_malloc'd by the
 * caller). *who is filled as soon as the token is known (for logs). */
Inkan__Status sam_sad_authorize(struct sam_core *core,
    const Inkan__AuthorizeReq *req, char *sad_out, uint32_t *expires_in,
    struct sam_who *who);

/* For flows that check the factors and issue the SAD in two steps (OAuth2):
 * both factors of user_id with lockout and TOTP replay, exactly as
 * AUTHORIZE does (the user row's MAC is checked first). */
Inkan__Status sam_sad_factors(struct sam_core *core, int64_t user_id,
    const ProtobufCBinaryData *pin, const ProtobufCBinaryData *otp);
/* ...and the SAD, bound to who's token, for a request whose factors the
 * caller has just checked with sam_sad_factors. Same request checks and
 * rows as AUTHORIZE. */
Inkan__Status sam_sad_issue(struct sam_core *core, const struct sam_who *who,
    const char *cred_id, uint32_t num_signatures, const char *hash_algo_oid,
    const ProtobufCBinaryData *hashes, size_t n_hashes, char *sad_out,
    uint32_t *expires_in);

struct sam_sign_plan {
	uint8_t key_id[SAM_KEY_ID_LEN];
	struct sam_mech mech;
	size_t count;
	uint8_t sad_hash[32];
	int64_t op;                 /* reservation id (random, > 0) */
	/* The request's digests (borrowed) for the commit. */
	const ProtobufCBinaryData *digests;
	/* Every digest had been signed this same way under this SAD and
	 * the answer was lost: sigs are the kept signatures (nothing is
	 * reserved, nothing must be signed; sam_sign_plan_clear frees). */
	bool redelivered;
	ProtobufCBinaryData *sigs;
};
void sam_sign_plan_clear(struct sam_sign_plan *plan);

/* SIGN, up to and including the reservation: on OK the request's hashes
 * are RESERVED under plan->op and the SAD's count decremented (committed),
 * and plan says how the SCM must sign req->hashes. The caller must then end
 * the reservation with sam_sad_commit (signatures in hand, before they are
 * released) or sam_sad_release (no signature came back).
 * OK with plan->redelivered: every hash was signed before under this SAD
 * in the same way, its answer lost; plan->sigs are what was released then
 * (nothing reserved: release them again, then sam_sign_plan_clear). */
Inkan__Status sam_sad_sign(struct sam_core *core, const Inkan__SignReq *req,
    struct sam_sign_plan *plan, struct sam_who *who);
/* RESERVED -> SIGNED, keeping sigs[i] (plan->count of them, in request
 * order) for redelivery. 0 or -errno (then release nothing: signer.c). */
int sam_sad_commit(struct sam_core *core, const struct sam_sign_plan *plan,
    const ProtobufCBinaryData *sigs);
/* RESERVED -> AUTHORISED and the count given back: the signer may retry
 * with the same SAD. 0 or -errno; *n = hashes given back. */
int sam_sad_release(struct sam_core *core, const struct sam_sign_plan *plan,
    int *n);
/* At start-up, before serving: every reservation left by a crash ends in
 * release (no signature was released for it: see docs/security.md). */
int sam_sad_recover(struct sam_core *core, int *n);

/* EXTEND (credentials/extendTransaction): a fresh SAD for the old one's
 * unused hashes and remaining count, expiring at most when the access token
 * does; the old SAD is deleted in the same transaction. */
Inkan__Status sam_sad_extend(struct sam_core *core,
    const Inkan__ExtendReq *req, char *sad_out, uint32_t *expires_in,
    struct sam_who *who);

#endif
