/* sad.c — issuing, reserving, committing and extending Signature Activation
 * Data. A SAD is 256 random bits handed to the signer once; the store keeps
 * its SHA-256 with the bindings (user, credential, access token, hash
 * algorithm, remaining count, expiry), the list of authorised digests, each
 * signed at most once, and a MAC over all of it made by the HSM (rows.h).
 * A signing operation reserves its digests before the SCM is asked and marks
 * them signed before any signature leaves the SAM: a digest still reserved
 * after a failure or a crash was never released, so it goes back to the SAD
 * and the signer can retry (docs/security.md, "Reserve and commit"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "sad.h"

bool sam_cred_id_ok(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		if (n >= SAM_CRED_ID_LEN)
			return false;
		if (!((id[n] >= '0' && id[n] <= '9') ||
		    (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	}
	return n == SAM_CRED_ID_LEN;
}

unsigned sam_cred_multisign(const struct sam_core *core,
    const struct sam_cred *c)
{
	unsigned m = core->multisign;

	if (c->multisign > 0 && c->multisign < m)
		m = c->multisign;
	return m;
}

Inkan__Status sam_sad_cred(struct sam_core *core, int64_t user_id,
    const char *cred_id, bool usable, struct sam_cred *c, struct sam_macb *b)
{
	struct sam_macb own;
	uint8_t d[32];
	char what[80];
	Inkan__Status st;
	int64_t now;
	int r;

	memset(c, 0, sizeof *c);
	if (!sam_cred_id_ok(cred_id))
		return INKAN__STATUS__UNKNOWN_CREDENTIAL;
	r = sam_store_cred_get(core->store, cred_id, c);
	if (r == -ENOENT)
		return INKAN__STATUS__UNKNOWN_CREDENTIAL;
	if (r < 0)
		return INKAN__STATUS__INTERNAL;
	if (c->user_id != user_id) {
		sam_cred_clear(c);
		return INKAN__STATUS__UNKNOWN_CREDENTIAL;
	}
	sam_row_cred(c, d);
	sam_rows_what_cred(c->id, what);
	if (b) {
		if (sam_macb_check(b, d, c->has_mac ? c->mac : NULL, what) < 0) {
			sam_cred_clear(c);
			return INKAN__STATUS__INTERNAL;
		}
	} else {
		sam_macb_init(&own);
		sam_macb_check(&own, d, c->has_mac ? c->mac : NULL, what);
		st = sam_macb_run(core, &own);
		if (st != INKAN__STATUS__OK) {
			sam_cred_clear(c);
			return st;
		}
	}
	if (!usable)
		return INKAN__STATUS__OK;
	if (c->status == SAM_CRED_DESTROYED) {      /* issue 7 */
		sam_cred_clear(c);
		return INKAN__STATUS__CREDENTIAL_REVOKED;
	}
	if (!c->cert || c->status != SAM_CRED_ENABLED) {
		sam_cred_clear(c);
		return INKAN__STATUS__CREDENTIAL_DISABLED;
	}
	now = core->now();
	if (now < c->not_before || now > c->not_after) {
		sam_cred_clear(c);
		return INKAN__STATUS__CERT_EXPIRED;
	}
	return INKAN__STATUS__OK;
}

static int bin_cmp(const void *a, const void *b)
{
	const ProtobufCBinaryData *x = *(const ProtobufCBinaryData *const *)a;
	const ProtobufCBinaryData *y = *(const ProtobufCBinaryData *const *)b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->data, y->data, x->len);
}

/* -EEXIST if two digests are equal. */
static int find_duplicates(const ProtobufCBinaryData *h, size_t n)
{
	const ProtobufCBinaryData **v;
	int r = 0;

	if (n < 2)
		return 0;
	v = malloc(n * sizeof *v);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = &h[i];
	qsort(v, n, sizeof *v, bin_cmp);
	for (size_t i = 1; i < n && !r; i++)
		if (bin_cmp(&v[i - 1], &v[i]) == 0)
			r = -EEXIST;
	free(v);
	return r;
}

/* Digest list shared by AUTHORIZE and SIGN: count, lengths, duplicates.
 * want_len 0 = every digest the same length, one of 32/48/64. */
static Inkan__Status check_digests(const ProtobufCBinaryData *h, size_t n,
    size_t want_len)
{
	int r;

	if (n == 0 || n > SAM_HASHES_MAX || !h)
		return INKAN__STATUS__INVALID_REQUEST;
	for (size_t i = 0; i < n; i++) {
		if (h[i].len < SAM_DIGEST_MIN || h[i].len > SAM_DIGEST_MAX)
			return INKAN__STATUS__INVALID_DIGEST_LENGTH;
		if (want_len ? h[i].len != want_len : h[i].len != h[0].len)
			return INKAN__STATUS__INVALID_DIGEST_LENGTH;
	}
	if (!want_len &&
	    sam_algo_hash_by_len(h[0].len) == INKAN__HASH_ALG__HASH_NONE)
		return INKAN__STATUS__INVALID_DIGEST_LENGTH;
	r = find_duplicates(h, n);
	if (r == -EEXIST)
		return INKAN__STATUS__INVALID_REQUEST;
	return r < 0 ? INKAN__STATUS__INTERNAL : INKAN__STATUS__OK;
}

/* What AUTHORIZE checks in the request itself, against the credential's
 * multisign: count, digests, hash algorithm. *bound: the algorithm the SAD
 * binds (NONE = by digest length). */
static Inkan__Status request_checks(const struct sam_core *core,
    unsigned multisign, uint32_t num, const char *hash_algo_oid,
    const ProtobufCBinaryData *hashes, size_t n, Inkan__HashAlg *bound)
{
	size_t want_len = 0;
	Inkan__Status st;

	*bound = INKAN__HASH_ALG__HASH_NONE;
	if (num == 0)
		return INKAN__STATUS__INVALID_REQUEST;
	if (num > multisign || num > core->multisign || num > SAM_HASHES_MAX)
		return INKAN__STATUS__TOO_MANY_SIGNATURES;
	/* SCAL 2: the SAD binds the exact digests */
	if (n != num)
		return INKAN__STATUS__INVALID_REQUEST;
	if (hash_algo_oid && *hash_algo_oid) {
		st = sam_algo_hash_by_oid(hash_algo_oid, bound, &want_len);
		if (st != INKAN__STATUS__OK)
			return st;
	}
	return check_digests(hashes, n, want_len);
}

/* Both factors against the user's record (its MAC already checked);
 * updates the failure counter and, at lock_after, the lock. On OK *step is
 * the TOTP step to persist. */
static Inkan__Status check_factors(struct sam_core *core, struct sam_user *u,
    const ProtobufCBinaryData *pin, const ProtobufCBinaryData *otp,
    int64_t *step)
{
	char *otp_s;
	bool pin_ok, otp_ok = false;
	int64_t now = core->now();

	/* A lock holds whatever the current lock_after: only time (or an
	 * operator) lifts it. */
	if (u->locked_until > now)
		return INKAN__STATUS__LOCKED;

	/* Both are always evaluated, so the answer time does not say which
	 * one was wrong beyond what the status says anyway. */
	pin_ok = pin->len <= SAM_PIN_MAX &&
	    sam_auth_verify(u->pin_hash, pin->data, pin->len);
	otp_s = sodium_malloc(SAM_OTP_LEN + 1);
	if (!otp_s)
		return INKAN__STATUS__INTERNAL;
	if (otp->len == SAM_OTP_LEN) {
		memcpy(otp_s, otp->data, SAM_OTP_LEN);
		otp_s[SAM_OTP_LEN] = '\0';
		otp_ok = sam_auth_totp(u->totp_secret, u->totp_len, otp_s, now,
		    u->totp_last_step, step);
	}
	sodium_free(otp_s);
	if (pin_ok && otp_ok)
		return INKAN__STATUS__OK;

	/* Consecutive failures: a timed lock that ran out leaves the count
	 * where it was, so the next failure locks again at once. */
	u->failures++;
	if (core->lock_after && u->failures >= core->lock_after) {
		u->locked_until = core->lock_seconds ?
		    now + (int64_t)core->lock_seconds : SAM_LOCK_FOREVER;
		core->notes.locked = true;
		core->notes.locked_until = u->locked_until;
	}
	core->notes.failures = u->failures;
	if (sam_store_user_failures(core->store, u->id, u->failures,
	    u->locked_until) < 0)
		return INKAN__STATUS__INTERNAL;
	return pin_ok ? INKAN__STATUS__INVALID_OTP : INKAN__STATUS__INVALID_PIN;
}

/* Queue the user row's MAC check. */
static int queue_user(struct sam_macb *b, const struct sam_user *u)
{
	uint8_t d[32];
	char what[80];

	sam_row_user(u, d);
	sam_rows_what_user(u->id, u->name, what);
	return sam_macb_check(b, d, u->has_mac ? u->mac : NULL, what);
}

/* A new SAD row for who/cred_id over hashes; its MAC is queued on b. */
static int prepare_sad(struct sam_core *core, const struct sam_who *who,
    const char *cred_id, Inkan__HashAlg bound, int64_t remaining,
    int64_t expires, const ProtobufCBinaryData *hashes, size_t n,
    char *sad_out, uint8_t sh[32], struct sam_sad_row *row,
    struct sam_macb *b)
{
	uint8_t d[32];
	int r;

	memset(row, 0, sizeof *row);
	row->user_id = who->user_id;
	snprintf(row->cred_id, sizeof row->cred_id, "%s", cred_id);
	memcpy(row->token_hash, who->token_hash, 32);
	row->hash_alg = bound;
	row->remaining = remaining;
	row->expires = expires;
	sam_auth_random_string(sad_out);
	sam_auth_digest(sad_out, sh);
	if ((r = sam_row_sad(sh, row, hashes, n, d)) < 0)
		return r;
	return sam_macb_new(b, d);
}

/* Writes the SAD row (MAC from slot) and its digests; inside a
 * transaction the caller owns. */
static int store_sad(struct sam_core *core, const uint8_t sh[32],
    struct sam_sad_row *row, const struct sam_macb *b, int slot,
    const ProtobufCBinaryData *hashes, size_t n, int64_t now)
{
	int r;

	memcpy(row->mac, b->out[slot], SAM_MAC_LEN);
	row->has_mac = true;
	if ((r = sam_store_sad_add(core->store, sh, row, now)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((r = sam_store_sad_hash_add(core->store, sh, hashes[i].data,
		    hashes[i].len)) < 0)
			return r;
	return 0;
}

Inkan__Status sam_sad_authorize(struct sam_core *core,
    const Inkan__AuthorizeReq *req, char *sad_out, uint32_t *expires_in,
    struct sam_who *who)
{
	struct sam_cred cred;
	struct sam_user *u = NULL;
	struct sam_sad_row row;
	struct sam_macb b;
	Inkan__HashAlg bound;
	unsigned multisign;
	uint8_t sh[32];
	int64_t step = 0, now;
	Inkan__Status st;
	int slot, r;

	sam_macb_init(&b);
	st = sam_auth_token(core, req->access_token, who, &b);
	if (st != INKAN__STATUS__OK)
		return st;
	st = sam_sad_cred(core, who->user_id, req->credential_id, true, &cred,
	    &b);
	if (st != INKAN__STATUS__OK)
		return st;
	multisign = sam_cred_multisign(core, &cred);
	sam_cred_clear(&cred);

	if (req->description && strlen(req->description) > SAM_DESCRIPTION_MAX)
		return INKAN__STATUS__INVALID_REQUEST;
	st = request_checks(core, multisign, req->num_signatures,
	    req->hash_algo_oid, req->hashes, req->n_hashes, &bound);
	if (st != INKAN__STATUS__OK)
		return st;

	/* never one factor */
	if (!req->has_pin || req->pin.len == 0 || !req->has_otp ||
	    req->otp.len == 0)
		return INKAN__STATUS__MISSING_FACTOR;

	u = sodium_malloc(sizeof *u);
	if (!u)
		return INKAN__STATUS__INTERNAL;
	st = INKAN__STATUS__INTERNAL;
	if (sam_store_user_by_id(core->store, who->user_id, u) < 0 ||
	    queue_user(&b, u) < 0)
		goto out;
	now = core->now();
	slot = prepare_sad(core, who, req->credential_id, bound,
	    req->num_signatures, now + (int64_t)core->sad_lifetime,
	    req->hashes, req->n_hashes, sad_out, sh, &row, &b);
	if (slot < 0)
		goto out;
	/* token, credential, user: checked; the new SAD's MAC: made */
	st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK)
		goto out;

	st = check_factors(core, u, &req->pin, &req->otp, &step);
	if (st != INKAN__STATUS__OK)
		goto out;

	st = INKAN__STATUS__INTERNAL;
	if (sam_store_begin(core->store) < 0)
		goto out;
	r = sam_store_user_totp_step(core->store, u->id, step);
	if (r == -EALREADY) {
		st = INKAN__STATUS__INVALID_OTP;    /* spent meanwhile */
		goto rollback;
	}
	if (r < 0 || sam_store_user_failures(core->store, u->id, 0, 0) < 0 ||
	    store_sad(core, sh, &row, &b, slot, req->hashes, req->n_hashes,
	    now) < 0)
		goto rollback;
	if (sam_store_commit(core->store) < 0)
		goto out;
	*expires_in = core->sad_lifetime;
	st = INKAN__STATUS__OK;
	goto out;
rollback:
	sam_store_rollback(core->store);
out:
	if (st != INKAN__STATUS__OK)
		sodium_memzero(sad_out, SAM_TOKEN_LEN + 1);
	sodium_free(u);
	return st;
}

Inkan__Status sam_sad_factors(struct sam_core *core, int64_t user_id,
    const ProtobufCBinaryData *pin, const ProtobufCBinaryData *otp)
{
	struct sam_user *u;
	struct sam_macb b;
	int64_t step = 0;
	Inkan__Status st;
	int r;

	if (!pin || !otp || pin->len == 0 || otp->len == 0)
		return INKAN__STATUS__MISSING_FACTOR;
	u = sodium_malloc(sizeof *u);
	if (!u)
		return INKAN__STATUS__INTERNAL;
	sam_macb_init(&b);
	st = INKAN__STATUS__INTERNAL;
	if (sam_store_user_by_id(core->store, user_id, u) < 0 ||
	    queue_user(&b, u) < 0)
		goto out;
	st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK)
		goto out;
	st = check_factors(core, u, pin, otp, &step);
	if (st != INKAN__STATUS__OK)
		goto out;
	st = INKAN__STATUS__INTERNAL;
	if (sam_store_begin(core->store) < 0)
		goto out;
	r = sam_store_user_totp_step(core->store, u->id, step);
	if (r == -EALREADY)
		st = INKAN__STATUS__INVALID_OTP;
	if (r < 0 || sam_store_user_failures(core->store, u->id, 0, 0) < 0) {
		sam_store_rollback(core->store);
		goto out;
	}
	st = sam_store_commit(core->store) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
out:
	sodium_free(u);
	return st;
}

Inkan__Status sam_sad_issue(struct sam_core *core, const struct sam_who *who,
    const char *cred_id, uint32_t num_signatures, const char *hash_algo_oid,
    const ProtobufCBinaryData *hashes, size_t n_hashes, char *sad_out,
    uint32_t *expires_in)
{
	struct sam_cred cred;
	struct sam_sad_row row;
	struct sam_macb b;
	Inkan__HashAlg bound;
	uint8_t sh[32];
	int64_t now;
	Inkan__Status st;
	int slot;

	sam_macb_init(&b);
	st = sam_sad_cred(core, who->user_id, cred_id, true, &cred, &b);
	if (st != INKAN__STATUS__OK)
		return st;
	st = request_checks(core, sam_cred_multisign(core, &cred),
	    num_signatures, hash_algo_oid, hashes, n_hashes, &bound);
	sam_cred_clear(&cred);
	if (st != INKAN__STATUS__OK)
		return st;
	now = core->now();
	slot = prepare_sad(core, who, cred_id, bound, num_signatures,
	    now + (int64_t)core->sad_lifetime, hashes, n_hashes, sad_out, sh,
	    &row, &b);
	st = slot < 0 ? INKAN__STATUS__INTERNAL : sam_macb_run(core, &b);
	if (st == INKAN__STATUS__OK) {
		st = INKAN__STATUS__INTERNAL;
		if (sam_store_begin(core->store) == 0) {
			if (store_sad(core, sh, &row, &b, slot, hashes, n_hashes,
			    now) < 0)
				sam_store_rollback(core->store);
			else if (sam_store_commit(core->store) == 0)
				st = INKAN__STATUS__OK;
		}
	}
	if (st != INKAN__STATUS__OK) {
		sodium_memzero(sad_out, SAM_TOKEN_LEN + 1);
		return st;
	}
	*expires_in = core->sad_lifetime;
	return INKAN__STATUS__OK;
}

/* The SAD row of sh with its digests, its MAC check queued on b. */
static Inkan__Status load_sad(struct sam_core *core, const uint8_t sh[32],
    struct sam_sad_row *row, struct sam_digests *d, struct sam_macb *b)
{
	uint8_t dd[32];
	char what[80];
	int r;

	memset(d, 0, sizeof *d);
	r = sam_store_sad_get(core->store, sh, row);
	if (r == -ENOENT)
		return INKAN__STATUS__SAD_INVALID;
	if (r < 0)
		return INKAN__STATUS__INTERNAL;
	if (sam_digests_load(core->store, sh, d) < 0 ||
	    sam_row_sad(sh, row, d->v, d->n, dd) < 0) {
		sam_digests_free(d);
		return INKAN__STATUS__INTERNAL;
	}
	snprintf(what, sizeof what, "SAD of credential %.32s (user %lld)",
	    row->cred_id, (long long)row->user_id);
	if (sam_macb_check(b, dd, row->has_mac ? row->mac : NULL, what) < 0) {
		sam_digests_free(d);
		return INKAN__STATUS__INTERNAL;
	}
	return INKAN__STATUS__OK;
}

/* The SAD's own bindings, once its MAC held: expiry, signer, credential,
 * access token. */
static Inkan__Status check_binding(struct sam_core *core,
    const struct sam_sad_row *row, const struct sam_who *who,
    const char *cred_id)
{
	if (row->expires <= core->now())
		return INKAN__STATUS__SAD_EXPIRED;
	if (row->user_id != who->user_id ||
	    strcmp(row->cred_id, cred_id) != 0 ||
	    sodium_memcmp(row->token_hash, who->token_hash, 32) != 0)
		return INKAN__STATUS__SAD_INVALID;
	return INKAN__STATUS__OK;
}

/* How a signature was made, as kept with it: a retry that asks for
 * another mechanism, hash or salt length is a new signature, not a
 * redelivery. */
static int64_t plan_scheme(const struct sam_sign_plan *plan)
{
	return (int64_t)plan->mech.mech << 40 | (int64_t)plan->mech.hash << 32 |
	    (int64_t)plan->mech.salt_len;
}

void sam_sign_plan_clear(struct sam_sign_plan *plan)
{
	if (plan->sigs != NULL) {
		for (size_t i = 0; i < plan->count; i++)
			free(plan->sigs[i].data);
		free(plan->sigs);
	}
	plan->sigs = NULL;
	plan->redelivered = false;
}

/* The request could not be reserved (refusal). If every one of its digests
 * was already signed under this SAD, the same way, the signer's earlier
 * answer was lost after the commit (inkan-sic or the network died): give
 * the kept signatures again. Nothing is signed, nothing consumed. */
static Inkan__Status redeliver(struct sam_core *core,
    const Inkan__SignReq *req, struct sam_sign_plan *plan,
    Inkan__Status refusal)
{
	int64_t scheme = plan_scheme(plan);
	int r = 0;

	if (!core->redeliver)
		return refusal;
	plan->sigs = calloc(req->n_hashes, sizeof *plan->sigs);
	if (plan->sigs == NULL)
		return INKAN__STATUS__INTERNAL;
	plan->count = req->n_hashes;
	for (size_t i = 0; i < req->n_hashes && r == 0; i++)
		r = sam_store_sad_hash_signed(core->store, plan->sad_hash,
		    req->hashes[i].data, req->hashes[i].len, scheme,
		    &plan->sigs[i].data, &plan->sigs[i].len);
	if (r < 0) {
		sam_sign_plan_clear(plan);
		plan->count = 0;
		return r == -ENOENT ? refusal : INKAN__STATUS__INTERNAL;
	}
	plan->redelivered = true;
	return INKAN__STATUS__OK;
}

Inkan__Status sam_sad_sign(struct sam_core *core, const Inkan__SignReq *req,
    struct sam_sign_plan *plan, struct sam_who *who)
{
	struct sam_cred cred;
	struct sam_sad_row row;
	struct sam_digests d = { 0 };
	struct sam_macb b;
	const uint8_t *params = NULL;
	size_t params_len = 0;
	Inkan__Status st;
	int key_type, r;

	memset(plan, 0, sizeof *plan);
	sam_macb_init(&b);
	st = sam_auth_token(core, req->access_token, who, &b);
	if (st != INKAN__STATUS__OK)
		return st;
	st = sam_sad_cred(core, who->user_id, req->credential_id, true, &cred,
	    &b);
	if (st != INKAN__STATUS__OK)
		return st;
	memcpy(plan->key_id, cred.key_id, SAM_KEY_ID_LEN);
	key_type = cred.key_type;
	sam_cred_clear(&cred);

	if (!sam_auth_string_ok(req->sad))
		return INKAN__STATUS__SAD_INVALID;
	sam_auth_digest(req->sad, plan->sad_hash);
	st = load_sad(core, plan->sad_hash, &row, &d, &b);
	if (st != INKAN__STATUS__OK)
		return st;
	sam_digests_free(&d);
	/* token, credential and SAD rows: as the SAM wrote them? */
	st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK)
		return st;
	st = check_binding(core, &row, who, req->credential_id);
	if (st != INKAN__STATUS__OK)
		return st;

	if (req->has_sign_algo_params &&
	    req->sign_algo_params.len > SAM_PSS_PARAMS_MAX)
		return INKAN__STATUS__INVALID_REQUEST;
	if (req->has_sign_algo_params && req->sign_algo_params.len > 0) {
		params = req->sign_algo_params.data;
		params_len = req->sign_algo_params.len;
	}
	st = sam_algo_map(key_type, req->sign_algo_oid, req->hash_algo_oid,
	    params, params_len, &plan->mech);
	if (st != INKAN__STATUS__OK)
		return st;
	st = check_digests(req->hashes, req->n_hashes, plan->mech.hash_len);
	if (st != INKAN__STATUS__OK)
		return st;
	plan->digests = req->hashes;
	if ((int64_t)req->n_hashes > row.remaining)
		return redeliver(core, req, plan,
		    INKAN__STATUS__TOO_MANY_SIGNATURES);
	if (row.hash_alg != INKAN__HASH_ALG__HASH_NONE &&
	    row.hash_alg != (int)plan->mech.hash)
		return INKAN__STATUS__HASH_NOT_AUTHORIZED;

	/* Reserve: from here until commit or release the digests can be
	 * used by nobody else, and the reservation is durable. */
	do {
		randombytes_buf(&plan->op, sizeof plan->op);
		plan->op &= INT64_MAX;
	} while (plan->op == 0);
	if (sam_store_begin(core->store) < 0)
		return INKAN__STATUS__INTERNAL;
	for (size_t i = 0; i < req->n_hashes; i++) {
		r = sam_store_sad_hash_reserve(core->store, plan->sad_hash,
		    req->hashes[i].data, req->hashes[i].len, plan->op);
		if (r == -ENOENT) {
			sam_store_rollback(core->store);
			return redeliver(core, req, plan,
			    INKAN__STATUS__HASH_NOT_AUTHORIZED);
		}
		if (r < 0) {
			st = INKAN__STATUS__INTERNAL;
			goto fail;
		}
	}
	r = sam_store_sad_consume(core->store, plan->sad_hash,
	    (int64_t)req->n_hashes);
	if (r < 0) {
		st = r == -ERANGE ? INKAN__STATUS__TOO_MANY_SIGNATURES :
		    INKAN__STATUS__INTERNAL;
		goto fail;
	}
	if (sam_store_commit(core->store) < 0)
		return INKAN__STATUS__INTERNAL;
	plan->count = req->n_hashes;
	return INKAN__STATUS__OK;
fail:
	sam_store_rollback(core->store);
	return st;
}

int sam_sad_commit(struct sam_core *core, const struct sam_sign_plan *plan,
    const ProtobufCBinaryData *sigs)
{
	int64_t scheme = plan_scheme(plan);
	int r, n = 0;

	if ((r = sam_store_begin(core->store)) < 0)
		return r;
	for (size_t i = 0; i < plan->count && r == 0; i++) {
		r = sam_store_sad_hash_commit(core->store, plan->sad_hash,
		    plan->digests[i].data, plan->digests[i].len, plan->op,
		    sigs[i].data, sigs[i].len, scheme, &n);
		if (r == 0 && n != 1)
			r = -ESTALE;    /* the reservation is not what we made */
	}
	if (r < 0) {
		sam_store_rollback(core->store);
		return r;
	}
	return sam_store_commit(core->store);
}

int sam_sad_release(struct sam_core *core, const struct sam_sign_plan *plan,
    int *n)
{
	int r;

	*n = 0;
	if ((r = sam_store_begin(core->store)) < 0)
		return r;
	r = sam_store_sad_hash_release(core->store, plan->sad_hash, plan->op, n);
	/* n == 0: the SAD went away meanwhile (revoked): nothing to give */
	if (r == 0 && *n > 0)
		r = sam_store_sad_consume(core->store, plan->sad_hash,
		    -(int64_t)*n);
	if (r < 0) {
		sam_store_rollback(core->store);
		return r;
	}
	return sam_store_commit(core->store);
}

int sam_sad_recover(struct sam_core *core, int *n)
{
	return sam_store_recover_reserved(core->store, n);
}

Inkan__Status sam_sad_extend(struct sam_core *core,
    const Inkan__ExtendReq *req, char *sad_out, uint32_t *expires_in,
    struct sam_who *who)
{
	struct sam_cred cred;
	struct sam_sad_row row, nrow;
	struct sam_digests d = { 0 };
	struct sam_macb b;
	ProtobufCBinaryData *unused = NULL;
	size_t n_unused = 0;
	uint8_t sh[32], nsh[32];
	int64_t now, expires, remaining;
	Inkan__Status st;
	int slot;

	sam_macb_init(&b);
	st = sam_auth_token(core, req->access_token, who, &b);
	if (st != INKAN__STATUS__OK)
		return st;
	st = sam_sad_cred(core, who->user_id, req->credential_id, true, &cred,
	    &b);
	if (st != INKAN__STATUS__OK)
		return st;
	sam_cred_clear(&cred);
	if (!sam_auth_string_ok(req->sad))
		return INKAN__STATUS__SAD_INVALID;
	sam_auth_digest(req->sad, sh);
	st = load_sad(core, sh, &row, &d, &b);
	if (st != INKAN__STATUS__OK)
		return st;

	st = INKAN__STATUS__INTERNAL;
	if (d.n && !(unused = malloc(d.n * sizeof *unused)))
		goto out;
	for (size_t i = 0; i < d.n; i++)
		if (d.state[i] == SAM_HASH_AUTHORISED)
			unused[n_unused++] = d.v[i];
	remaining = row.remaining < (int64_t)n_unused ? row.remaining :
	    (int64_t)n_unused;
	if (remaining <= 0) {
		st = INKAN__STATUS__SAD_INVALID;     /* nothing left to extend */
		goto out;
	}
	now = core->now();
	expires = now + (int64_t)core->sad_lifetime;
	if (expires > who->token_expires)
		expires = who->token_expires;
	slot = prepare_sad(core, who, req->credential_id, row.hash_alg,
	    remaining, expires, unused, n_unused, sad_out, nsh, &nrow, &b);
	if (slot < 0)
		goto out;
	nrow.hash_alg = row.hash_alg;
	st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK)
		goto out;
	st = check_binding(core, &row, who, req->credential_id);
	if (st != INKAN__STATUS__OK)
		goto out;

	st = INKAN__STATUS__INTERNAL;
	if (sam_store_begin(core->store) < 0)
		goto out;
	if (sam_store_sad_del(core->store, sh) < 0 ||
	    store_sad(core, nsh, &nrow, &b, slot, unused, n_unused, now) < 0) {
		sam_store_rollback(core->store);
		goto out;
	}
	if (sam_store_commit(core->store) < 0)
		goto out;
	*expires_in = (uint32_t)(expires - now);
	st = INKAN__STATUS__OK;
out:
	if (st != INKAN__STATUS__OK)
		sodium_memzero(sad_out, SAM_TOKEN_LEN + 1);
	free(unused);
	sam_digests_free(&d);
	return st;
}
