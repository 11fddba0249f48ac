/* test-oauth.c — unit tests of inkan-sam's OAuth2 rules (sam/oauth.c) on a
 * real SQLite database with an injected clock: client registration and
 * redirect matching (loopback ports), every factor checked before a code,
 * codes single use, bound to client / redirect URI / PKCE S256 verifier,
 * dead after 60 s with their grant revoked, confidential clients, and the
 * credential-scope grant being an access token plus a SAD bound to it that
 * signHash accepts for exactly its digests. No sockets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>
#include <liboath/oath.h>

#include "sam.h"
#include "auth.h"
#include "oauth.h"
#include "rows.h"
#include "sad.h"
#include "store.h"

static int64_t fake_now;
static int64_t clock_fake(void) { return fake_now; }

static uint8_t mac_key[crypto_auth_hmacsha256_KEYBYTES];
static int mac_local(void *arg, const uint8_t (*in)[SAM_MAC_LEN], size_t n,
    uint8_t (*out)[SAM_MAC_LEN])
{
	(void)arg;
	for (size_t i = 0; i < n; i++)
		crypto_auth_hmacsha256(out[i], in[i], SAM_MAC_LEN, mac_key);
	return 0;
}

static const uint8_t totp[20] = "olga-totp-secret-020";

struct fx {
	char dir[64], db[96];
	struct sam_core core;
	char cred[SAM_CRED_ID_LEN + 1];
	uint8_t digest[32];
	char verifier[44], challenge[44];
	char otp[7];
};

static void pkce(struct fx *f)
{
	uint8_t r[32], d[32];

	randombytes_buf(r, sizeof r);
	sodium_bin2base64(f->verifier, 44, r, 32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(d, (const uint8_t *)f->verifier, 43);
	sodium_bin2base64(f->challenge, 44, d, 32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char pwh[SAM_PWHASH_MAX], pinh[SAM_PWHASH_MAX];
	static const uint8_t spki[] = "not-a-real-spki";
	static const uint8_t der[] = "not-a-real-cert";
	uint8_t kid[SAM_KEY_ID_LEN], mac[SAM_MAC_LEN];
	struct sam_user *u = sodium_malloc(sizeof *u);
	struct sam_cred c, upd;
	int64_t uid;

	assert_non_null(f);
	fake_now = 1750000000;
	strcpy(f->dir, "/tmp/inkan-test-oauth-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof f->db, "%s/sam.db", f->dir);
	f->core.now = clock_fake;
	f->core.sad_lifetime = 300;
	f->core.token_lifetime = 3600;
	f->core.multisign = 10;
	f->core.redeliver = true;
	f->core.lock_after = 5;
	f->core.lock_seconds = 300;
	f->core.kdf_ops = crypto_pwhash_OPSLIMIT_MIN;
	f->core.kdf_mem = crypto_pwhash_MEMLIMIT_MIN;
	f->core.mac = mac_local;
	randombytes_buf(mac_key, sizeof mac_key);
	assert_int_equal(sam_auth_init(&f->core, false), 0);
	assert_int_equal(sam_store_open(f->db, &f->core.store), 0);
	assert_int_equal(sam_auth_hash(&f->core, (const uint8_t *)"pw-olga-1", 9,
	    pwh), 0);
	assert_int_equal(sam_auth_hash(&f->core, (const uint8_t *)"2468", 4,
	    pinh), 0);
	assert_int_equal(sam_rows_user_add(&f->core, "olga", pwh, pinh, totp,
	    20, fake_now, &uid), INKAN__STATUS__OK);
	/* one P-256 credential with a (fake) certificate, valid now */
	randombytes_buf(kid, sizeof kid);
	for (size_t i = 0; i < sizeof kid; i++)
		sprintf(f->cred + 2 * i, "%02x", kid[i]);
	assert_int_equal(sam_store_user_by_id(f->core.store, uid, u), 0);
	assert_int_equal(sam_rows_cred_add(&f->core, u, f->cred,
	    INKAN__KEY_TYPE__KEY_EC_P256, kid, spki, sizeof spki, fake_now, NULL),
	    INKAN__STATUS__OK);
	sodium_free(u);
	assert_int_equal(sam_store_cred_get(f->core.store, f->cred, &c), 0);
	upd = c;
	upd.status = SAM_CRED_ENABLED;
	upd.cert = (uint8_t *)der;
	upd.cert_len = sizeof der;
	upd.subject_dn = (char *)"CN=olga,O=inkan";
	upd.issuer_dn = (char *)"CN=ca";
	upd.serial_hex = (char *)"01";
	upd.not_before = fake_now - 86400;
	upd.not_after = fake_now + 86400 * 365;
	assert_int_equal(sam_rows_cred_remac(&f->core, &c, &upd, mac),
	    INKAN__STATUS__OK);
	assert_int_equal(sam_store_cred_set_cert(f->core.store, f->cred,
	    upd.cert, upd.cert_len, upd.subject_dn, upd.issuer_dn,
	    upd.serial_hex, upd.not_before, upd.not_after, SAM_CRED_ENABLED,
	    mac), 0);
	sam_cred_clear(&c);
	randombytes_buf(f->digest, sizeof f->digest);

	sam_oauth_reset();
	assert_int_equal(sam_oauth_client_config(
	    "app http://127.0.0.1/callback https://app.example/cb"), 0);
	/* secret "s3cret" */
	assert_int_equal(sam_oauth_client_config("billing https://b.example/cb "
	    "secret-sha256=1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"),
	    0);
	pkce(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	const char *sfx[] = { "", "-wal", "-shm" };
	char path[128];

	sam_oauth_reset();
	sam_store_close(f->core.store);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s%s", f->db, sfx[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The OTP of the current step; the clock moves on a step after each use
 * (each step is accepted once). */
static void otp(struct fx *f)
{
	fake_now += 30;
	assert_int_equal(oath_totp_generate((const char *)totp, 20,
	    (time_t)fake_now, 30, 0, 6, f->otp), OATH_OK);
}

struct areq {
	Inkan__OAuthAuthorizeReq r;
	ProtobufCBinaryData h;
};

static void areq_init(struct areq *a, struct fx *f, const char *scope,
    const char *pw, const char *pin)
{
	Inkan__OAuthAuthorizeReq init = INKAN__OAUTH_AUTHORIZE_REQ__INIT;

	a->r = init;
	a->r.client_id = (char *)"app";
	a->r.redirect_uri = (char *)"http://127.0.0.1:49152/callback";
	a->r.scope = (char *)scope;
	a->r.code_challenge = f->challenge;
	a->r.username = (char *)"olga";
	a->r.password.data = (uint8_t *)pw;
	a->r.password.len = strlen(pw);
	if (strcmp(scope, "credential") == 0) {
		a->r.has_pin = a->r.has_otp = 1;
		a->r.pin.data = (uint8_t *)pin;
		a->r.pin.len = strlen(pin);
		a->r.otp.data = (uint8_t *)f->otp;
		a->r.otp.len = 6;
		a->r.credential_id = f->cred;
		a->r.has_num_signatures = 1;
		a->r.num_signatures = 1;
		a->h.data = f->digest;
		a->h.len = 32;
		a->r.n_hashes = 1;
		a->r.hashes = &a->h;
	}
}

struct treq {
	Inkan__OAuthTokenReq r;
	char tok[SAM_TOKEN_LEN + 1], sad[SAM_TOKEN_LEN + 1];
	struct sam_oauth_grant g;
};

static Inkan__Status token(struct fx *f, struct treq *t, const char *code,
    const char *verifier, const char *client, const char *redirect)
{
	Inkan__OAuthTokenReq init = INKAN__OAUTH_TOKEN_REQ__INIT;

	memset(t, 0, sizeof *t);
	t->r = init;
	t->r.code = (char *)code;
	t->r.code_verifier = (char *)verifier;
	t->r.client_id = (char *)client;
	t->r.redirect_uri = (char *)redirect;
	return sam_oauth_token(&f->core, &t->r, t->tok, t->sad, &t->g);
}

static Inkan__Status authorize(struct fx *f, const char *scope,
    const char *pw, const char *pin, char code[SAM_OAUTH_CODE_LEN + 1])
{
	struct areq a;
	uint32_t exp = 0;
	Inkan__Status st;

	areq_init(&a, f, scope, pw, pin);
	st = sam_oauth_authorize(&f->core, &a.r, code, &exp, NULL);
	if (st == INKAN__STATUS__OK)
		assert_int_equal(exp, SAM_OAUTH_CODE_LIFETIME);
	return st;
}

/* *again: the answer was the kept signature of an earlier commit. */
static Inkan__Status sign_with(struct fx *f, const char *tok, const char *sad,
    const uint8_t *digest, bool *again)
{
	Inkan__SignReq r = INKAN__SIGN_REQ__INIT;
	ProtobufCBinaryData h = { 32, (uint8_t *)digest };
	struct sam_sign_plan plan;
	struct sam_who who;
	Inkan__Status st;

	r.access_token = (char *)tok;
	r.credential_id = f->cred;
	r.sad = (char *)sad;
	r.sign_algo_oid = (char *)"1.2.840.10045.4.3.2";
	r.n_hashes = 1;
	r.hashes = &h;
	st = sam_sad_sign(&f->core, &r, &plan, &who);
	*again = st == INKAN__STATUS__OK && plan.redelivered;
	if (st == INKAN__STATUS__OK && !*again)
		assert_int_equal(sam_sad_commit(&f->core, &plan, &h), 0);
	sam_sign_plan_clear(&plan);
	return st;
}

static void test_client_config(void **state)
{
	(void)state;
	sam_oauth_reset();
	assert_int_equal(sam_oauth_client_config("a https://x.example/cb"), 0);
	assert_int_equal(sam_oauth_client_config("a https://y.example/cb"),
	    -EINVAL);                           /* the same id twice */
	assert_int_equal(sam_oauth_client_config("b"), -EINVAL);
	assert_int_equal(sam_oauth_client_config("c ftp://x/cb"), -EINVAL);
	assert_int_equal(sam_oauth_client_config("d https://x/cb#frag"), -EINVAL);
	assert_int_equal(sam_oauth_client_config("e https://x/cb secret-sha256=12"),
	    -EINVAL);
	assert_int_equal(sam_oauth_client_config(""), -EINVAL);
}

static void test_prepare(void **state)
{
	struct fx *f = *state;
	Inkan__OAuthPrepareReq r = INKAN__OAUTH_PREPARE_REQ__INIT;
	struct sam_cred c;
	bool have;
	static const char *const good[] = {
		"http://127.0.0.1/callback", "http://127.0.0.1:8/callback",
		"http://127.0.0.1:65535/callback", "https://app.example/cb",
	};
	static const char *const bad[] = {
		"http://127.0.0.1:/callback", "http://127.0.0.1:123456/callback",
		"http://127.0.0.1:80/callback/x", "http://127.0.0.1.evil/callback",
		"https://app.example/cb?x", "https://app.example:443/cb",
		"http://localhost/callback", "https://127.0.0.1/callback",
	};

	r.client_id = (char *)"app";
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		r.redirect_uri = (char *)good[i];
		assert_int_equal(sam_oauth_prepare(&f->core, &r, &c, &have),
		    INKAN__STATUS__OK);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r.redirect_uri = (char *)bad[i];
		if (sam_oauth_prepare(&f->core, &r, &c, &have) !=
		    INKAN__STATUS__OAUTH_INVALID_CLIENT)
			fail_msg("redirect %s accepted", bad[i]);
	}
	r.client_id = (char *)"nobody";
	r.redirect_uri = (char *)good[0];
	assert_int_equal(sam_oauth_prepare(&f->core, &r, &c, &have),
	    INKAN__STATUS__OAUTH_INVALID_CLIENT);
	r.client_id = (char *)"app";
	r.credential_id = f->cred;
	assert_int_equal(sam_oauth_prepare(&f->core, &r, &c, &have),
	    INKAN__STATUS__OK);
	assert_true(have);
	assert_string_equal(c.subject_dn, "CN=olga,O=inkan");
	sam_cred_clear(&c);
	r.credential_id = (char *)"00000000000000000000000000000000";
	assert_int_equal(sam_oauth_prepare(&f->core, &r, &c, &have),
	    INKAN__STATUS__UNKNOWN_CREDENTIAL);
}

static void test_factors_before_code(void **state)
{
	struct fx *f = *state;
	char code[SAM_OAUTH_CODE_LEN + 1];
	struct areq a;
	uint32_t exp;

	otp(f);
	assert_int_equal(authorize(f, "credential", "wrong", "2468", code),
	    INKAN__STATUS__AUTH_FAILED);
	assert_int_equal(authorize(f, "credential", "pw-olga-1", "1111", code),
	    INKAN__STATUS__INVALID_PIN);
	memcpy(f->otp, "000000", 6);
	assert_int_equal(authorize(f, "credential", "pw-olga-1", "2468", code),
	    INKAN__STATUS__INVALID_OTP);
	areq_init(&a, f, "credential", "pw-olga-1", "2468");
	a.r.has_otp = 0;
	assert_int_equal(sam_oauth_authorize(&f->core, &a.r, code, &exp, NULL),
	    INKAN__STATUS__MISSING_FACTOR);
	areq_init(&a, f, "credential", "pw-olga-1", "2468");
	a.r.code_challenge = (char *)"short";
	assert_int_equal(sam_oauth_authorize(&f->core, &a.r, code, &exp, NULL),
	    INKAN__STATUS__INVALID_REQUEST);
	areq_init(&a, f, "admin", "pw-olga-1", "2468");
	assert_int_equal(sam_oauth_authorize(&f->core, &a.r, code, &exp, NULL),
	    INKAN__STATUS__INVALID_REQUEST);
	areq_init(&a, f, "service", "pw-olga-1", "2468");
	a.r.redirect_uri = (char *)"https://evil.example/cb";
	assert_int_equal(sam_oauth_authorize(&f->core, &a.r, code, &exp, NULL),
	    INKAN__STATUS__OAUTH_INVALID_CLIENT);
	areq_init(&a, f, "service", "pw-olga-1", "2468");
	a.r.has_pin = 1;                /* factors belong to credential scope */
	assert_int_equal(sam_oauth_authorize(&f->core, &a.r, code, &exp, NULL),
	    INKAN__STATUS__INVALID_REQUEST);
	/* an OTP accepted once: the same one again is a replay */
	otp(f);
	assert_int_equal(authorize(f, "credential", "pw-olga-1", "2468", code),
	    INKAN__STATUS__OK);
	assert_int_equal(authorize(f, "credential", "pw-olga-1", "2468", code),
	    INKAN__STATUS__INVALID_OTP);
}

static void test_credential_grant(void **state)
{
	struct fx *f = *state;
	char code[SAM_OAUTH_CODE_LEN + 1];
	uint8_t other[32];
	bool again = false;
	struct treq t;

	otp(f);
	assert_int_equal(authorize(f, "credential", "pw-olga-1", "2468", code),
	    INKAN__STATUS__OK);
	fake_now += 10;
	assert_int_equal(token(f, &t, code, f->verifier, "app",
	    "http://127.0.0.1:49152/callback"), INKAN__STATUS__OK);
	assert_true(t.g.credential);
	assert_string_equal(t.g.cred_id, f->cred);
	assert_string_equal(t.g.user, "olga");
	assert_int_equal(t.g.expires_in, 300 - 10);  /* the SAD's remaining life */
	assert_true(sam_auth_string_ok(t.tok));
	assert_true(sam_auth_string_ok(t.sad));
	/* single use */
	{
		struct treq t2;

		assert_int_equal(token(f, &t2, code, f->verifier, "app",
		    "http://127.0.0.1:49152/callback"),
		    INKAN__STATUS__OAUTH_INVALID_GRANT);
	}
	/* the SAD is bound like one: only its digest, only with its token */
	randombytes_buf(other, sizeof other);
	assert_int_equal(sign_with(f, t.tok, t.sad, other, &again),
	    INKAN__STATUS__HASH_NOT_AUTHORIZED);
	assert_int_equal(sign_with(f, t.tok, t.sad, f->digest, &again),
	    INKAN__STATUS__OK);
	assert_false(again);
	/* used up: the same digest again is the kept signature (a lost
	 * answer), never a second one */
	assert_int_equal(sign_with(f, t.tok, t.sad, f->digest, &again),
	    INKAN__STATUS__OK);
	assert_true(again);
}

static void test_service_grant(void **state)
{
	struct fx *f = *state;
	char code[SAM_OAUTH_CODE_LEN + 1];
	struct sam_who who;
	struct treq t;

	assert_int_equal(authorize(f, "service", "pw-olga-1", NULL, code),
	    INKAN__STATUS__OK);
	assert_int_equal(token(f, &t, code, f->verifier, "app",
	    "http://127.0.0.1:49152/callback"), INKAN__STATUS__OK);
	assert_false(t.g.credential);
	assert_int_equal(t.g.expires_in, 3600);
	assert_int_equal(sam_auth_token(&f->core, t.tok, &who, NULL),
	    INKAN__STATUS__OK);
	assert_string_equal(who.name, "olga");
}

static void test_code_bindings(void **state)
{
	struct fx *f = *state;
	char code[SAM_OAUTH_CODE_LEN + 1], bad[44];
	struct treq t;

	/* each refusal burns the code and revokes what it would have given */
	struct {
		const char *verifier, *client, *redirect;
	} cases[] = {
		{ NULL, "app", "http://127.0.0.1:49152/callback" },
		{ f->verifier, "billing", "http://127.0.0.1:49152/callback" },
		{ f->verifier, "app", "http://127.0.0.1:49153/callback" },
		{ f->verifier, "app", "https://app.example/cb" },
	};

	memcpy(bad, f->verifier, sizeof bad);
	bad[5] = bad[5] == 'A' ? 'B' : 'A';
	cases[0].verifier = bad;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(authorize(f, "service", "pw-olga-1", NULL,
		    code), INKAN__STATUS__OK);
		assert_int_equal(token(f, &t, code, cases[i].verifier,
		    cases[i].client, cases[i].redirect),
		    INKAN__STATUS__OAUTH_INVALID_GRANT);
		assert_int_equal(token(f, &t, code, f->verifier, "app",
		    "http://127.0.0.1:49152/callback"),
		    INKAN__STATUS__OAUTH_INVALID_GRANT);
	}
	/* a code that does not exist, or of another length */
	assert_int_equal(token(f, &t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    f->verifier, "app", "http://127.0.0.1:49152/callback"),
	    INKAN__STATUS__OAUTH_INVALID_GRANT);
	assert_int_equal(token(f, &t, "x", f->verifier, "app",
	    "http://127.0.0.1:49152/callback"),
	    INKAN__STATUS__OAUTH_INVALID_GRANT);
}

static void test_code_expiry(void **state)
{
	struct fx *f = *state;
	char code[SAM_OAUTH_CODE_LEN + 1];
	struct treq t;

	otp(f);
	assert_int_equal(authorize(f, "credential", "pw-olga-1", "2468", code),
	    INKAN__STATUS__OK);
	fake_now += SAM_OAUTH_CODE_LIFETIME;
	assert_int_equal(token(f, &t, code, f->verifier, "app",
	    "http://127.0.0.1:49152/callback"),
	    INKAN__STATUS__OAUTH_INVALID_GRANT);
	/* within its 60 s a code is good */
	assert_int_equal(authorize(f, "service", "pw-olga-1", NULL, code),
	    INKAN__STATUS__OK);
	fake_now += SAM_OAUTH_CODE_LIFETIME - 1;
	assert_int_equal(token(f, &t, code, f->verifier, "app",
	    "http://127.0.0.1:49152/callback"), INKAN__STATUS__OK);
}

static void test_confidential_client(void **state)
{
	struct fx *f = *state;
	char code[SAM_OAUTH_CODE_LEN + 1];
	struct areq a;
	struct treq t;
	uint32_t exp;

	areq_init(&a, f, "service", "pw-olga-1", NULL);
	a.r.client_id = (char *)"billing";
	a.r.redirect_uri = (char *)"https://b.example/cb";
	assert_int_equal(sam_oauth_authorize(&f->core, &a.r, code, &exp, NULL),
	    INKAN__STATUS__OK);
	assert_int_equal(token(f, &t, code, f->verifier, "billing",
	    "https://b.example/cb"), INKAN__STATUS__OAUTH_INVALID_CLIENT);
	assert_int_equal(sam_oauth_authorize(&f->core, &a.r, code, &exp, NULL),
	    INKAN__STATUS__OK);
	{
		Inkan__OAuthTokenReq r = INKAN__OAUTH_TOKEN_REQ__INIT;
		char tok[SAM_TOKEN_LEN + 1], sad[SAM_TOKEN_LEN + 1];
		struct sam_oauth_grant g;

		r.code = code;
		r.code_verifier = f->verifier;
		r.client_id = (char *)"billing";
		r.redirect_uri = (char *)"https://b.example/cb";
		r.has_client_secret = 1;
		r.client_secret.data = (uint8_t *)"wrong";
		r.client_secret.len = 5;
		assert_int_equal(sam_oauth_token(&f->core, &r, tok, sad, &g),
		    INKAN__STATUS__OAUTH_INVALID_CLIENT);
		assert_int_equal(sam_oauth_authorize(&f->core, &a.r, code,
		    &exp, NULL), INKAN__STATUS__OK);
		r.client_secret.data = (uint8_t *)"s3cret";
		r.client_secret.len = 6;
		assert_int_equal(sam_oauth_token(&f->core, &r, tok, sad, &g),
		    INKAN__STATUS__OK);
	}
}

static void test_table_full(void **state)
{
	struct fx *f = *state;
	char code[SAM_OAUTH_CODE_LEN + 1];
	int i;

	for (i = 0; i < SAM_OAUTH_CODES_MAX; i++)
		assert_int_equal(authorize(f, "service", "pw-olga-1", NULL,
		    code), INKAN__STATUS__OK);
	assert_int_equal(authorize(f, "service", "pw-olga-1", NULL, code),
	    INKAN__STATUS__UNAVAILABLE);
	fake_now += SAM_OAUTH_CODE_LIFETIME;   /* all expire: room again */
	assert_int_equal(authorize(f, "service", "pw-olga-1", NULL, code),
	    INKAN__STATUS__OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_config),
		cmocka_unit_test_setup_teardown(test_prepare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_factors_before_code, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_credential_grant, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_service_grant, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_code_bindings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_code_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_confidential_client, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup,
		    teardown),
	};

	if (sodium_init() < 0 || oath_init() != OATH_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
