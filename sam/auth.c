/* auth.c — passwords, PINs, TOTP and access tokens. Secrets handled here are
 * only borrowed from the caller (or live in sodium_malloc'd memory that is
 * wiped on release); the database only ever sees hashes. */
#include <errno.h>
#include <string.h>
#include <sodium.h>
#include <liboath/oath.h>

#include "auth.h"
#include "rows.h"

int sam_auth_init(struct sam_core *core, bool moderate)
{
	uint8_t pw[32];
	int r;

	if (sodium_init() < 0)
		return -EIO;
	if (oath_init() != OATH_OK)
		return -EIO;
	if (core->kdf_ops == 0 || core->kdf_mem == 0) {
		core->kdf_ops = moderate ? crypto_pwhash_OPSLIMIT_MODERATE :
		    crypto_pwhash_OPSLIMIT_INTERACTIVE;
		core->kdf_mem = moderate ? crypto_pwhash_MEMLIMIT_MODERATE :
		    crypto_pwhash_MEMLIMIT_INTERACTIVE;
	}
	/* Login with an unknown name verifies against this hash of a random
	 * password (nobody knows it), so both paths cost one Argon2id run. */
	randombytes_buf(pw, sizeof pw);
	r = sam_auth_hash(core, pw, sizeof pw, core->dummy_hash);
	sodium_memzero(pw, sizeof pw);
	return r;
}

bool sam_auth_username_ok(const char *name)
{
	size_t n = 0;

	if (!name)
		return false;
	for (const char *p = name; *p; p++, n++) {
		char ch = *p;
		if (n >= SAM_NAME_MAX)
			return false;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '@' || ch == '-'))
			return false;
	}
	return n >= 1;
}

int sam_auth_hash(const struct sam_core *core, const uint8_t *secret,
    size_t len, char out[SAM_PWHASH_MAX])
{
	_Static_assert(SAM_PWHASH_MAX == crypto_pwhash_STRBYTES, "pwhash size");
	if (crypto_pwhash_str(out, (const char *)secret, len, core->kdf_ops,
	    core->kdf_mem) != 0)
		return -ENOMEM;
	return 0;
}

bool sam_auth_verify(const char *hash, const uint8_t *secret, size_t len)
{
	return crypto_pwhash_str_verify(hash, (const char *)secret, len) == 0;
}

static unsigned totp_window = SAM_TOTP_WINDOW;

void sam_auth_totp_window(unsigned steps)
{
	totp_window = steps;
}

bool sam_auth_totp(const uint8_t *secret, size_t secret_len, const char *otp,
    int64_t now, int64_t last_step, int64_t *step)
{
	uint64_t counter = 0;
	int pos = 0, r;

	if (strlen(otp) != SAM_OTP_LEN)
		return false;
	for (size_t i = 0; i < SAM_OTP_LEN; i++)
		if (otp[i] < '0' || otp[i] > '9')
			return false;
	r = oath_totp_validate3((const char *)secret, secret_len, (time_t)now,
	    SAM_TOTP_STEP, 0, totp_window, &pos, &counter, otp);
	if (r < 0)
		return false;
	/* replay: a step at or before the last accepted one is spent */
	if ((int64_t)counter <= last_step)
		return false;
	*step = (int64_t)counter;
	return true;
}

void sam_auth_random_string(char out[SAM_TOKEN_LEN + 1])
{
	uint8_t raw[SAM_TOKEN_BYTES];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, SAM_TOKEN_LEN + 1, raw, sizeof raw,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

void sam_auth_digest(const char *s, uint8_t out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)s, strlen(s));
}

bool sam_auth_string_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char ch = s[n];
		if (n >= SAM_TOKEN_LEN)
			return false;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return n == SAM_TOKEN_LEN;
}

Inkan__Status sam_auth_login(struct sam_core *core, const char *username,
    const ProtobufCBinaryData *password, char *token_out,
    uint32_t *expires_in)
{
	struct sam_user *u;
	struct sam_macb b;
	uint8_t th[32], du[32], dt[32];
	char what[80];
	Inkan__Status st = INKAN__STATUS__AUTH_FAILED;
	int64_t now, expires;
	int slot, r;

	if (!sam_auth_username_ok(username) || !password ||
	    password->len == 0 || password->len > SAM_LOGIN_PW_MAX)
		return INKAN__STATUS__AUTH_FAILED;
	u = sodium_malloc(sizeof *u);
	if (!u)
		return INKAN__STATUS__INTERNAL;
	sam_macb_init(&b);
	r = sam_store_user_by_name(core->store, username, u);
	if (r == -ENOENT) {
		/* Same work as for a known user: one MAC round trip, one
		 * Argon2id run. */
		randombytes_buf(dt, sizeof dt);
		sam_macb_new(&b, dt);
		st = sam_macb_run(core, &b);
		(void)sam_auth_verify(core->dummy_hash, password->data,
		    password->len);
		if (st == INKAN__STATUS__OK)
			st = INKAN__STATUS__AUTH_FAILED;
		goto out;
	}
	if (r < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	now = core->now();
	expires = now + (int64_t)core->token_lifetime;
	sam_auth_random_string(token_out);
	sam_auth_digest(token_out, th);
	sam_row_user(u, du);
	sam_row_token(th, u->id, expires, dt);
	sam_rows_what_user(u->id, u->name, what);
	sam_macb_check(&b, du, u->has_mac ? u->mac : NULL, what);
	slot = sam_macb_new(&b, dt);
	st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK)
		goto fail;
	st = INKAN__STATUS__AUTH_FAILED;
	if (!sam_auth_verify(u->pw_hash, password->data, password->len))
		goto fail;
	/* issue 7: a terminated signer logs in no more (the flag is in the
	 * registration row, which the termination MACed). */
	{
		struct sam_reg g;
		if (sam_store_reg_get(core->store, u->id, &g) == 0 &&
		    g.terminated)
			goto fail;
	}

	(void)sam_auth_purge(core);
	r = sam_store_token_add(core->store, th, u->id, expires, now,
	    b.out[slot]);
	if (r < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto fail;
	}
	*expires_in = core->token_lifetime;
	st = INKAN__STATUS__OK;
	goto out;
fail:
	sodium_memzero(token_out, SAM_TOKEN_LEN + 1);
out:
	sodium_free(u);
	return st;
}

Inkan__Status sam_auth_issue_token(struct sam_core *core, int64_t user_id,
    char *token_out, uint32_t *expires_in)
{
	struct sam_macb b;
	uint8_t th[32], dt[32];
	int64_t now = core->now();
	int64_t expires = now + (int64_t)core->token_lifetime;
	Inkan__Status st;

	sam_auth_random_string(token_out);
	sam_auth_digest(token_out, th);
	sam_row_token(th, user_id, expires, dt);
	sam_macb_init(&b);
	sam_macb_new(&b, dt);
	st = sam_macb_run(core, &b);
	if (st == INKAN__STATUS__OK && sam_store_token_add(core->store, th,
	    user_id, expires, now, b.out[0]) < 0)
		st = INKAN__STATUS__INTERNAL;
	if (st != INKAN__STATUS__OK) {
		sodium_memzero(token_out, SAM_TOKEN_LEN + 1);
		return st;
	}
	*expires_in = core->token_lifetime;
	return INKAN__STATUS__OK;
}

Inkan__Status sam_auth_token(struct sam_core *core, const char *token,
    struct sam_who *who, struct sam_macb *b)
{
	struct sam_token_row t;
	struct sam_macb own;
	uint8_t d[32];
	char what[80];
	Inkan__Status st;
	int r;

	memset(who, 0, sizeof *who);
	if (!sam_auth_string_ok(token))
		return INKAN__STATUS__INVALID_TOKEN;
	sam_auth_digest(token, who->token_hash);
	r = sam_store_token_get(core->store, who->token_hash, &t);
	if (r == -ENOENT)
		return INKAN__STATUS__INVALID_TOKEN;
	if (r < 0)
		return INKAN__STATUS__INTERNAL;
	if (t.expires <= core->now())
		return INKAN__STATUS__INVALID_TOKEN;
	sam_row_token(who->token_hash, t.user_id, t.expires, d);
	/* For an integrity alert: names the row (user id and name), never
	 * the token, of which only its hash was looked up. */
	snprintf(what, sizeof what, "access token of user %lld (%.40s)",
	    (long long)t.user_id, t.name);
	if (!b) {
		sam_macb_init(&own);
		sam_macb_check(&own, d, t.has_mac ? t.mac : NULL, what);
		st = sam_macb_run(core, &own);
		if (st != INKAN__STATUS__OK)
			return st;
	} else if (sam_macb_check(b, d, t.has_mac ? t.mac : NULL, what) < 0) {
		return INKAN__STATUS__INTERNAL;
	}
	who->user_id = t.user_id;
	who->token_expires = t.expires;
	memcpy(who->name, t.name, sizeof who->name);
	return INKAN__STATUS__OK;
}

Inkan__Status sam_auth_revoke(struct sam_core *core, const char *token)
{
	uint8_t th[32];
	int r;

	if (!sam_auth_string_ok(token))
		return INKAN__STATUS__OK;      /* nothing of ours to revoke */
	sam_auth_digest(token, th);
	if ((r = sam_store_begin(core->store)) < 0)
		return INKAN__STATUS__INTERNAL;
	if ((r = sam_store_sad_del_by_token(core->store, th)) < 0 ||
	    (r = sam_store_token_del(core->store, th)) < 0) {
		sam_store_rollback(core->store);
		return INKAN__STATUS__INTERNAL;
	}
	if (sam_store_commit(core->store) < 0)
		return INKAN__STATUS__INTERNAL;
	return INKAN__STATUS__OK;
}

int sam_auth_purge(struct sam_core *core)
{
	int64_t now = core->now();
	return sam_store_purge(core->store, now, now - SAM_SAD_PURGE_GRACE);
}
