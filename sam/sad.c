/* sad.c — issuing and consuming Signature Activation Data. A SAD is 256
 * random bits handed to the signer once; the store keeps its SHA-256 with the
 * bindings (user, credential, access token, hash algorithm, remaining count,
 * expiry) and the list of authorised digests, each usable once. */
#include <errno.h>
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

Inkan__Status sam_sad_cred(struct sam_core *core, int64_t user_id,
    const char *cred_id, bool usable, struct sam_cred *c)
{
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
	if (!usable)
		return INKAN__STATUS__OK;
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

/* Both factors against the user's record; updates the failure counter.
 * On OK *step is the TOTP step to persist. */
static Inkan__Status check_factors(struct sam_core *core, struct sam_user *u,
    const ProtobufCBinaryData *pin, const ProtobufCBinaryData *otp,
    int64_t *step)
{
	char *otp_s;
	bool pin_ok, otp_ok = false;
	int64_t now = core->now();

	if (core->lock_after && u->locked_until > now)
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

	u->failures++;
	if (core->lock_after && u->failures >= core->lock_after)
		u->locked_until = now + core->lock_seconds;
	if (sam_store_user_failures(core->store, u->id, u->failures,
	    u->locked_until) < 0)
		return INKAN__STATUS__INTERNAL;
	return pin_ok ? INKAN__STATUS__INVALID_OTP : INKAN__STATUS__INVALID_PIN;
}

Inkan__Status sam_sad_authorize(struct sam_core *core,
    const Inkan__AuthorizeReq *req, char *sad_out, uint32_t *expires_in,
    struct sam_who *who)
{
	struct sam_cred cred;
	struct sam_user *u = NULL;
	struct sam_sad_row row;
	Inkan__HashAlg bound = INKAN__HASH_ALG__HASH_NONE;
	size_t want_len = 0;
	uint8_t sh[32];
	int64_t step = 0, now;
	Inkan__Status st;
	int r;

	st = sam_auth_token(core, req->access_token, who);
	if (st != INKAN__STATUS__OK)
		return st;
	st = sam_sad_cred(core, who->user_id, req->credential_id, true, &cred);
	if (st != INKAN__STATUS__OK)
		return st;
	sam_cred_clear(&cred);

	if (req->description && strlen(req->description) > SAM_DESCRIPTION_MAX)
		return INKAN__STATUS__INVALID_REQUEST;
	if (req->num_signatures == 0)
		return INKAN__STATUS__INVALID_REQUEST;
	if (req->num_signatures > core->multisign ||
	    req->num_signatures > SAM_HASHES_MAX)
		return INKAN__STATUS__TOO_MANY_SIGNATURES;
	/* SCAL 2: the SAD binds the exact digests */
	if (req->n_hashes != req->num_signatures)
		return INKAN__STATUS__INVALID_REQUEST;
	if (req->hash_algo_oid && *req->hash_algo_oid) {
		st = sam_algo_hash_by_oid(req->hash_algo_oid, &bound, &want_len);
		if (st != INKAN__STATUS__OK)
			return st;
	}
	st = check_digests(req->hashes, req->n_hashes, want_len);
	if (st != INKAN__STATUS__OK)
		return st;

	/* never one factor */
	if (!req->has_pin || req->pin.len == 0 || !req->has_otp ||
	    req->otp.len == 0)
		return INKAN__STATUS__MISSING_FACTOR;

	u = sodium_malloc(sizeof *u);
	if (!u)
		return INKAN__STATUS__INTERNAL;
	if (sam_store_user_by_id(core->store, who->user_id, u) < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	st = check_factors(core, u, &req->pin, &req->otp, &step);
	if (st != INKAN__STATUS__OK)
		goto out;

	now = core->now();
	memset(&row, 0, sizeof row);
	row.user_id = who->user_id;
	memcpy(row.cred_id, req->credential_id, SAM_CRED_ID_LEN + 1);
	memcpy(row.token_hash, who->token_hash, 32);
	row.hash_alg = bound;
	row.remaining = req->num_signatures;
	row.expires = now + (int64_t)core->sad_lifetime;
	sam_auth_random_string(sad_out);
	sam_auth_digest(sad_out, sh);

	st = INKAN__STATUS__INTERNAL;
	if (sam_store_begin(core->store) < 0)
		goto out;
	r = sam_store_user_totp_step(core->store, u->id, step);
	if (r == -EALREADY) {
		st = INKAN__STATUS__INVALID_OTP;    /* spent meanwhile */
		goto rollback;
	}
	if (r < 0 || sam_store_user_failures(core->store, u->id, 0, 0) < 0 ||
	    sam_store_sad_add(core->store, sh, &row, now) < 0)
		goto rollback;
	for (size_t i = 0; i < req->n_hashes; i++)
		if (sam_store_sad_hash_add(core->store, sh, req->hashes[i].data,
		    req->hashes[i].len) < 0)
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

Inkan__Status sam_sad_sign(struct sam_core *core, const Inkan__SignReq *req,
    struct sam_sign_plan *plan, struct sam_who *who)
{
	struct sam_cred cred;
	struct sam_sad_row row;
	uint8_t sh[32];
	const uint8_t *params = NULL;
	size_t params_len = 0;
	Inkan__Status st;
	int key_type, r;

	memset(plan, 0, sizeof *plan);
	st = sam_auth_token(core, req->access_token, who);
	if (st != INKAN__STATUS__OK)
		return st;
	st = sam_sad_cred(core, who->user_id, req->credential_id, true, &cred);
	if (st != INKAN__STATUS__OK)
		return st;
	memcpy(plan->key_id, cred.key_id, SAM_KEY_ID_LEN);
	key_type = cred.key_type;
	sam_cred_clear(&cred);

	if (!sam_auth_string_ok(req->sad))
		return INKAN__STATUS__SAD_INVALID;
	sam_auth_digest(req->sad, sh);

	/* Everything from the SAD lookup to its consumption is one write
	 * transaction: two requests can never both spend the same hash. */
	if (sam_store_begin(core->store) < 0)
		return INKAN__STATUS__INTERNAL;
	r = sam_store_sad_get(core->store, sh, &row);
	if (r == -ENOENT) {
		st = INKAN__STATUS__SAD_INVALID;
		goto fail;
	}
	if (r < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto fail;
	}
	if (row.expires <= core->now()) {
		st = INKAN__STATUS__SAD_EXPIRED;
		goto fail;
	}
	if (row.user_id != who->user_id ||
	    strcmp(row.cred_id, req->credential_id) != 0 ||
	    sodium_memcmp(row.token_hash, who->token_hash, 32) != 0) {
		st = INKAN__STATUS__SAD_INVALID;
		goto fail;
	}

	if (req->has_sign_algo_params &&
	    req->sign_algo_params.len > SAM_PSS_PARAMS_MAX) {
		st = INKAN__STATUS__INVALID_REQUEST;
		goto fail;
	}
	if (req->has_sign_algo_params && req->sign_algo_params.len > 0) {
		params = req->sign_algo_params.data;
		params_len = req->sign_algo_params.len;
	}
	st = sam_algo_map(key_type, req->sign_algo_oid, req->hash_algo_oid,
	    params, params_len, &plan->mech);
	if (st != INKAN__STATUS__OK)
		goto fail;
	st = check_digests(req->hashes, req->n_hashes, plan->mech.hash_len);
	if (st != INKAN__STATUS__OK)
		goto fail;
	if ((int64_t)req->n_hashes > row.remaining) {
		st = INKAN__STATUS__TOO_MANY_SIGNATURES;
		goto fail;
	}
	if (row.hash_alg != INKAN__HASH_ALG__HASH_NONE &&
	    row.hash_alg != (int)plan->mech.hash) {
		st = INKAN__STATUS__HASH_NOT_AUTHORIZED;
		goto fail;
	}
	for (size_t i = 0; i < req->n_hashes; i++) {
		r = sam_store_sad_hash_use(core->store, sh, req->hashes[i].data,
		    req->hashes[i].len);
		if (r < 0) {
			st = r == -ENOENT ? INKAN__STATUS__HASH_NOT_AUTHORIZED :
			    INKAN__STATUS__INTERNAL;
			goto fail;
		}
	}
	r = sam_store_sad_consume(core->store, sh, (int64_t)req->n_hashes);
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
