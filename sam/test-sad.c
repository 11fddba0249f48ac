/* test-sad.c — unit tests of inkan-sam's rules on a real SQLite database in a
 * temporary directory, with an injected clock and a local HMAC key standing
 * in for inkan-scm's: login/tokens, the two factors (no SAD from one factor,
 * TOTP replay, lockout), every SAD binding, reserve/commit/release/recovery,
 * extendTransaction, row MACs against direct database edits, the signHash
 * algorithm mapping and the certificate/CSR helpers. No sockets. */
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
#include <sqlite3.h>
#include <liboath/oath.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sam.h"
#include "algo.h"
#include "auth.h"
#include "rows.h"
#include "sad.h"
#include "store.h"
#include "x509.h"

static int64_t fake_now;
static int64_t clock_fake(void) { return fake_now; }

/* The stand-in for inkan-scm's MAC key; calls counted, outage simulated. */
static uint8_t mac_key[crypto_auth_hmacsha256_KEYBYTES];
static int mac_calls;
static int mac_down;
static int mac_local(void *arg, const uint8_t (*in)[SAM_MAC_LEN], size_t n,
    uint8_t (*out)[SAM_MAC_LEN])
{
	(void)arg;
	mac_calls++;
	if (mac_down)
		return -EAGAIN;
	assert_true(n >= 1 && n <= SAM_MAC_BATCH_MAX);
	for (size_t i = 0; i < n; i++)
		crypto_auth_hmacsha256(out[i], in[i], SAM_MAC_LEN, mac_key);
	return 0;
}

static const uint8_t totp_alice[20] = "alice-totp-secret-20";
static const uint8_t totp_bob[20] = "bob-totp-secret-0020";

struct fx {
	char dir[64];
	char db[96];
	struct sam_core core;
	char tok_alice[SAM_TOKEN_LEN + 1];
	char tok_bob[SAM_TOKEN_LEN + 1];
	char cred_a[SAM_CRED_ID_LEN + 1];   /* alice, P-256, enabled */
	char cred_b[SAM_CRED_ID_LEN + 1];   /* alice, P-256, enabled */
	char cred_c[SAM_CRED_ID_LEN + 1];   /* alice, no certificate */
	char cred_d[SAM_CRED_ID_LEN + 1];   /* alice, RSA-2048, enabled */
	char cred_e[SAM_CRED_ID_LEN + 1];   /* bob, P-256, enabled */
	char cred_x[SAM_CRED_ID_LEN + 1];   /* alice, certificate expired */
};

static void add_user(struct fx *f, const char *name, const char *pw,
    const char *pin, const uint8_t *totp, int64_t *id)
{
	char pwh[SAM_PWHASH_MAX], pinh[SAM_PWHASH_MAX];
	assert_int_equal(sam_auth_hash(&f->core, (const uint8_t *)pw,
	    strlen(pw), pwh), 0);
	assert_int_equal(sam_auth_hash(&f->core, (const uint8_t *)pin,
	    strlen(pin), pinh), 0);
	assert_int_equal(sam_rows_user_add(&f->core, name, pwh, pinh, totp, 20,
	    fake_now, id), INKAN__STATUS__OK);
}

/* A credential row change the way admin.c makes it: MAC checked, remade. */
static void cred_change(struct fx *f, const char *id, int status,
    unsigned multisign, int64_t nb, int64_t na, int set_cert)
{
	static const uint8_t der[] = "not-a-real-cert";
	struct sam_cred c, upd;
	uint8_t mac[SAM_MAC_LEN];

	assert_int_equal(sam_store_cred_get(f->core.store, id, &c), 0);
	upd = c;
	upd.status = status;
	upd.multisign = multisign;
	if (set_cert) {
		upd.cert = (uint8_t *)der;
		upd.cert_len = sizeof der;
		upd.subject_dn = (char *)"CN=x";
		upd.issuer_dn = (char *)"CN=ca";
		upd.serial_hex = (char *)"01";
		upd.not_before = nb;
		upd.not_after = na;
	}
	assert_int_equal(sam_rows_cred_remac(&f->core, &c, &upd, mac),
	    INKAN__STATUS__OK);
	if (set_cert)
		assert_int_equal(sam_store_cred_set_cert(f->core.store, id,
		    upd.cert, upd.cert_len, upd.subject_dn, upd.issuer_dn,
		    upd.serial_hex, nb, na, status, mac), 0);
	else if (multisign != c.multisign)
		assert_int_equal(sam_store_cred_set_multisign(f->core.store, id,
		    multisign, mac), 0);
	else
		assert_int_equal(sam_store_cred_set_status(f->core.store, id,
		    status, mac), 0);
	sam_cred_clear(&c);
}

static void add_cred(struct fx *f, int64_t uid, int kt, char *id_out,
    int cert, int64_t nb, int64_t na)
{
	uint8_t kid[SAM_KEY_ID_LEN];
	static const uint8_t spki[] = "not-a-real-spki";
	struct sam_user *u = sodium_malloc(sizeof *u);
	randombytes_buf(kid, sizeof kid);
	for (size_t i = 0; i < sizeof kid; i++)
		sprintf(id_out + 2 * i, "%02x", kid[i]);
	assert_int_equal(sam_store_user_by_id(f->core.store, uid, u), 0);
	assert_int_equal(sam_rows_cred_add(&f->core, u, id_out, kt, kid,
	    spki, sizeof spki, fake_now, NULL), INKAN__STATUS__OK);
	sodium_free(u);
	if (cert)
		cred_change(f, id_out, SAM_CRED_ENABLED, 0, nb, na, 1);
}

/* Raw SQL on the database file, as someone with write access to it. */
static void db_edit(struct fx *f, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_true(sqlite3_changes(db) >= 1);
	sqlite3_close(db);
}

static void login(struct fx *f, const char *name, const char *pw, char *tok)
{
	ProtobufCBinaryData p = { strlen(pw), (uint8_t *)pw };
	uint32_t exp = 0;
	assert_int_equal(sam_auth_login(&f->core, name, &p, tok, &exp),
	    INKAN__STATUS__OK);
	assert_int_equal(exp, f->core.token_lifetime);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	int64_t alice, bob;

	assert_non_null(f);
	fake_now = 1750000000;          /* June 2025 */
	strcpy(f->dir, "/tmp/inkan-test-sad-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof f->db, "%s/sam.db", f->dir);
	f->core.now = clock_fake;
	f->core.sad_lifetime = 300;
	f->core.token_lifetime = 3600;
	f->core.multisign = 10;
	f->core.redeliver = true;
	f->core.lock_after = 5;
	f->core.lock_seconds = 300;
	f->core.kdf_ops = crypto_pwhash_OPSLIMIT_MIN;   /* fast tests */
	f->core.kdf_mem = crypto_pwhash_MEMLIMIT_MIN;
	f->core.mac = mac_local;
	randombytes_buf(mac_key, sizeof mac_key);
	mac_down = 0;
	assert_int_equal(sam_auth_init(&f->core, false), 0);
	assert_int_equal(sam_store_open(f->db, &f->core.store), 0);

	add_user(f, "alice", "alice-password", "1234", totp_alice, &alice);
	add_user(f, "bob@example.org", "bob-password", "9876", totp_bob, &bob);
	add_cred(f, alice, INKAN__KEY_TYPE__KEY_EC_P256, f->cred_a, 1,
	    fake_now - 86400, fake_now + 86400 * 365);
	add_cred(f, alice, INKAN__KEY_TYPE__KEY_EC_P256, f->cred_b, 1,
	    fake_now - 86400, fake_now + 86400 * 365);
	add_cred(f, alice, INKAN__KEY_TYPE__KEY_EC_P384, f->cred_c, 0, 0, 0);
	add_cred(f, alice, INKAN__KEY_TYPE__KEY_RSA_2048, f->cred_d, 1,
	    fake_now - 86400, fake_now + 86400 * 365);
	add_cred(f, bob, INKAN__KEY_TYPE__KEY_EC_P256, f->cred_e, 1,
	    fake_now - 86400, fake_now + 86400 * 365);
	add_cred(f, alice, INKAN__KEY_TYPE__KEY_EC_P256, f->cred_x, 1,
	    fake_now - 86400 * 365, fake_now - 1);
	login(f, "alice", "alice-password", f->tok_alice);
	login(f, "bob@example.org", "bob-password", f->tok_bob);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[128];

	sam_store_close(f->core.store);
	const char *sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s%s", f->db, sfx[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- helpers for requests ---- */

static uint8_t digests[8][64];

static void make_digests(void)
{
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 64; j++)
			digests[i][j] = (uint8_t)(i * 31 + j * 7 + 1);
}

static ProtobufCBinaryData dg(int i, size_t len)
{
	ProtobufCBinaryData b = { len, digests[i] };
	return b;
}

static void otp_now(const uint8_t *secret, char out[7])
{
	assert_int_equal(oath_totp_generate((const char *)secret, 20,
	    (time_t)fake_now, 30, 0, 6, out), OATH_OK);
}

struct authz {
	Inkan__AuthorizeReq req;
	ProtobufCBinaryData h[8];
	char otp[7];
	char pin[16];
};

static void authz_init(struct authz *a, const char *tok, const char *cred,
    int n, size_t len, const char *pin, const uint8_t *totp)
{
	Inkan__AuthorizeReq init = INKAN__AUTHORIZE_REQ__INIT;
	a->req = init;
	a->req.access_token = (char *)tok;
	a->req.credential_id = (char *)cred;
	a->req.num_signatures = (uint32_t)n;
	for (int i = 0; i < n; i++)
		a->h[i] = dg(i, len);
	a->req.n_hashes = (size_t)n;
	a->req.hashes = a->h;
	strcpy(a->pin, pin);
	a->req.has_pin = 1;
	a->req.pin.data = (uint8_t *)a->pin;
	a->req.pin.len = strlen(pin);
	otp_now(totp, a->otp);
	a->req.has_otp = 1;
	a->req.otp.data = (uint8_t *)a->otp;
	a->req.otp.len = 6;
}

static Inkan__Status authorize(struct fx *f, struct authz *a, char *sad)
{
	struct sam_who who;
	uint32_t exp = 0;
	Inkan__Status st;

	memset(sad, 'x', SAM_TOKEN_LEN + 1);
	st = sam_sad_authorize(&f->core, &a->req, sad, &exp, &who);
	if (st == INKAN__STATUS__OK) {
		assert_int_equal(strlen(sad), SAM_TOKEN_LEN);
		assert_true(sam_auth_string_ok(sad));
		assert_int_equal(exp, f->core.sad_lifetime);
	} else {
		/* no SAD leaves on failure: untouched or wiped */
		for (size_t i = 0; i < SAM_TOKEN_LEN + 1; i++)
			assert_true(sad[i] == sad[0] &&
			    (sad[0] == 'x' || sad[0] == '\0'));
	}
	return st;
}

/* An OK authorization of n digests (len bytes) for alice on cred. Moves the
 * clock to the next TOTP step first so each call has a fresh OTP. */
static void authorize_ok(struct fx *f, const char *cred, int n, size_t len,
    const char *hash_oid, char *sad)
{
	struct authz a;
	fake_now += 30;
	authz_init(&a, f->tok_alice, cred, n, len, "1234", totp_alice);
	a.req.hash_algo_oid = (char *)hash_oid;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
}

struct signr {
	Inkan__SignReq req;
	ProtobufCBinaryData h[8];
};

static void sign_init(struct signr *s, const char *tok, const char *cred,
    const char *sad, const char *algo)
{
	Inkan__SignReq init = INKAN__SIGN_REQ__INIT;
	s->req = init;
	s->req.access_token = (char *)tok;
	s->req.credential_id = (char *)cred;
	s->req.sad = (char *)sad;
	s->req.sign_algo_oid = (char *)algo;
	s->req.hashes = s->h;
}

static void sign_add(struct signr *s, int i, size_t len)
{
	s->h[s->req.n_hashes++] = dg(i, len);
}

static Inkan__Status sign(struct fx *f, struct signr *s,
    struct sam_sign_plan *plan)
{
	struct sam_who who;
	struct sam_sign_plan tmp;
	return sam_sad_sign(&f->core, &s->req, plan ? plan : &tmp, &who);
}

/* What the SCM would have answered: one distinct value per digest. */
static int commit(struct fx *f, const struct sam_sign_plan *p)
{
	ProtobufCBinaryData sigs[SAM_HASHES_MAX];
	uint8_t buf[SAM_HASHES_MAX][8];

	for (size_t i = 0; i < p->count; i++) {
		memcpy(buf[i], "sig", 3);
		memcpy(buf[i] + 3, p->digests[i].data, 5);
		sigs[i].data = buf[i];
		sigs[i].len = sizeof buf[i];
	}
	return sam_sad_commit(&f->core, p, sigs);
}

/* ---- login and tokens ---- */

static void test_login(void **state)
{
	struct fx *f = *state;
	char tok[SAM_TOKEN_LEN + 1];
	struct sam_who who;
	uint32_t exp;
	ProtobufCBinaryData bad = { 5, (uint8_t *)"wrong" };
	ProtobufCBinaryData good = { 14, (uint8_t *)"alice-password" };

	assert_int_equal(sam_auth_login(&f->core, "alice", &bad, tok, &exp),
	    INKAN__STATUS__AUTH_FAILED);
	assert_int_equal(sam_auth_login(&f->core, "nobody", &good, tok, &exp),
	    INKAN__STATUS__AUTH_FAILED);
	assert_int_equal(sam_auth_login(&f->core, "al ice", &good, tok, &exp),
	    INKAN__STATUS__AUTH_FAILED);
	assert_int_equal(sam_auth_login(&f->core, "", &good, tok, &exp),
	    INKAN__STATUS__AUTH_FAILED);

	assert_int_equal(strlen(f->tok_alice), SAM_TOKEN_LEN);
	assert_int_equal(sam_auth_token(&f->core, f->tok_alice, &who, NULL),
	    INKAN__STATUS__OK);
	assert_string_equal(who.name, "alice");
	/* one altered character */
	strcpy(tok, f->tok_alice);
	tok[10] = tok[10] == 'A' ? 'B' : 'A';
	assert_int_equal(sam_auth_token(&f->core, tok, &who, NULL),
	    INKAN__STATUS__INVALID_TOKEN);
	assert_int_equal(sam_auth_token(&f->core, "short", &who, NULL),
	    INKAN__STATUS__INVALID_TOKEN);
	assert_int_equal(sam_auth_token(&f->core, NULL, &who, NULL),
	    INKAN__STATUS__INVALID_TOKEN);

	/* expiry */
	fake_now += f->core.token_lifetime;
	assert_int_equal(sam_auth_token(&f->core, f->tok_alice, &who, NULL),
	    INKAN__STATUS__INVALID_TOKEN);
}

static void test_revoke(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	char tok2[SAM_TOKEN_LEN + 1];
	struct sam_who who;
	struct signr s;
	struct sam_sad_row row;
	uint8_t sh[32];

	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);
	assert_int_equal(sam_auth_revoke(&f->core, f->tok_alice),
	    INKAN__STATUS__OK);
	assert_int_equal(sam_auth_token(&f->core, f->tok_alice, &who, NULL),
	    INKAN__STATUS__INVALID_TOKEN);
	/* the SAD went with the token */
	sam_auth_digest(sad, sh);
	assert_int_equal(sam_store_sad_get(f->core.store, sh, &row), -ENOENT);
	login(f, "alice", "alice-password", tok2);
	sign_init(&s, tok2, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_INVALID);
	/* revoking garbage is harmless */
	assert_int_equal(sam_auth_revoke(&f->core, "nope"), INKAN__STATUS__OK);
}

/* ---- the happy path and single use ---- */

static void test_authorize_and_sign(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct sam_sign_plan plan;
	struct signr s;

	authorize_ok(f, f->cred_a, 2, 32, OID_SHA256, sad);

	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, &plan), INKAN__STATUS__OK);
	assert_int_equal(plan.count, 1);
	assert_int_equal(plan.mech.mech, INKAN__SIGN_MECH__MECH_ECDSA);
	assert_int_equal(plan.mech.hash, INKAN__HASH_ALG__HASH_SHA256);

	/* second use of the same hash */
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__HASH_NOT_AUTHORIZED);

	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 1, 32);
	assert_int_equal(sign(f, &s, &plan), INKAN__STATUS__OK);
	/* exhausted */
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__TOO_MANY_SIGNATURES);
}

static void test_sad_other_credential(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct signr s;

	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);
	sign_init(&s, f->tok_alice, f->cred_b, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_INVALID);
	/* and it is still good for its own credential */
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__OK);
}

static void test_sad_other_token(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1], tok2[SAM_TOKEN_LEN + 1];
	struct signr s;

	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);
	/* another user's token on alice's credential: not theirs */
	sign_init(&s, f->tok_bob, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__UNKNOWN_CREDENTIAL);
	/* another user's token on their own credential */
	sign_init(&s, f->tok_bob, f->cred_e, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_INVALID);
	/* alice again, but from another session */
	login(f, "alice", "alice-password", tok2);
	sign_init(&s, tok2, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_INVALID);
}

static void test_sad_hash_outside_list(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct signr s;

	authorize_ok(f, f->cred_a, 2, 32, NULL, sad);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 5, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__HASH_NOT_AUTHORIZED);
	/* one good, one foreign: nothing is consumed */
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	sign_add(&s, 5, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__HASH_NOT_AUTHORIZED);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	sign_add(&s, 1, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__OK);
}

static void test_sad_count(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct signr s;

	authorize_ok(f, f->cred_a, 2, 32, NULL, sad);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	sign_add(&s, 1, 32);
	sign_add(&s, 2, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__TOO_MANY_SIGNATURES);
	/* duplicates in one request */
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__INVALID_REQUEST);
	/* empty */
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__INVALID_REQUEST);
}

static void test_sad_expiry(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct signr s;

	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);
	fake_now += f->core.sad_lifetime;
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_EXPIRED);
	/* purge keeps it around long enough to say so */
	assert_int_equal(sam_auth_purge(&f->core), 0);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_EXPIRED);
}

static void test_sad_altered(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1], bad[SAM_TOKEN_LEN + 2];
	struct signr s;

	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);
	for (size_t pos = 0; pos < SAM_TOKEN_LEN; pos += 7) {
		strcpy(bad, sad);
		bad[pos] = bad[pos] == 'a' ? 'b' : 'a';
		sign_init(&s, f->tok_alice, f->cred_a, bad, OID_ECDSA_SHA256);
		sign_add(&s, 0, 32);
		assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_INVALID);
	}
	/* one character more or less */
	strcpy(bad, sad);
	strcat(bad, "a");
	sign_init(&s, f->tok_alice, f->cred_a, bad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_INVALID);
	strcpy(bad, sad);
	bad[SAM_TOKEN_LEN - 1] = '\0';
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_INVALID);
	/* the real one still works */
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__OK);
}

static void test_bound_hash_alg(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct signr s;

	/* SHA-512 digests bound; signing them as SHA-256 is a length error,
	 * and as the right length the hash must match */
	authorize_ok(f, f->cred_a, 1, 64, OID_SHA512, sad);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 64);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__INVALID_DIGEST_LENGTH);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__HASH_NOT_AUTHORIZED);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA512);
	sign_add(&s, 0, 64);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__OK);
}

static void test_sign_rsa_pss(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct sam_sign_plan plan;
	struct signr s;

	authorize_ok(f, f->cred_d, 2, 32, NULL, sad);
	/* PSS without params needs hashAlgo */
	sign_init(&s, f->tok_alice, f->cred_d, sad, OID_RSA_PSS);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__INVALID_REQUEST);
	s.req.hash_algo_oid = (char *)OID_SHA256;
	assert_int_equal(sign(f, &s, &plan), INKAN__STATUS__OK);
	assert_int_equal(plan.mech.mech, INKAN__SIGN_MECH__MECH_RSA_PSS);
	assert_int_equal(plan.mech.salt_len, 32);
	/* an EC algorithm on an RSA key */
	sign_init(&s, f->tok_alice, f->cred_d, sad, OID_ECDSA_SHA256);
	sign_add(&s, 1, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__UNSUPPORTED_ALGO);
	sign_init(&s, f->tok_alice, f->cred_d, sad, OID_RSA_SHA256);
	sign_add(&s, 1, 32);
	assert_int_equal(sign(f, &s, &plan), INKAN__STATUS__OK);
	assert_int_equal(plan.mech.mech, INKAN__SIGN_MECH__MECH_RSA_PKCS1);
}

/* ---- factors ---- */

static void test_missing_factor(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct authz a;

	fake_now += 30;
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.has_pin = 0;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__MISSING_FACTOR);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.pin.len = 0;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__MISSING_FACTOR);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.has_otp = 0;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__MISSING_FACTOR);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.otp.len = 0;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__MISSING_FACTOR);
	/* a wrong PIN without OTP is still only "missing", and not counted */
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "0000", totp_alice);
	a.req.has_otp = 0;
	for (int i = 0; i < 10; i++)
		assert_int_equal(authorize(f, &a, sad),
		    INKAN__STATUS__MISSING_FACTOR);
	/* both present: works (no lock from the above) */
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
}

static void test_wrong_factors(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct authz a;

	f->core.lock_after = 0;         /* lockout has its own test */
	fake_now += 30;
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1235", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_PIN);
	/* right PIN, bob's OTP */
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_bob);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_OTP);
	/* both wrong: the PIN is named */
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1235", totp_bob);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_PIN);
	/* malformed OTP */
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.otp.data = (uint8_t *)"12a456";
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_OTP);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.otp.len = 5;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_OTP);
	/* an OTP two steps old is outside the window */
	fake_now -= 60;
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	fake_now += 60;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_OTP);
	/* PIN over 64 bytes */
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	uint8_t longpin[65];
	memset(longpin, '1', sizeof longpin);
	a.req.pin.data = longpin;
	a.req.pin.len = sizeof longpin;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_PIN);
	/* and after all that, the right pair still works */
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
}

static void test_totp_replay(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct authz a, prev;

	fake_now += 30;
	authz_init(&prev, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	fake_now += 30;
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
	/* the same code again, even for another credential */
	a.req.credential_id = f->cred_b;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_OTP);
	/* the previous step's code, still inside the window */
	assert_int_equal(authorize(f, &prev, sad), INKAN__STATUS__INVALID_OTP);
	/* next step: fine */
	fake_now += 30;
	authz_init(&a, f->tok_alice, f->cred_b, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);

	/* pure function: step numbers */
	char otp[7];
	int64_t step = 0;
	otp_now(totp_alice, otp);
	assert_true(sam_auth_totp(totp_alice, 20, otp, fake_now, 0, &step));
	assert_int_equal(step, fake_now / 30);
	assert_false(sam_auth_totp(totp_alice, 20, otp, fake_now, step, &step));
}

static void test_lockout(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct authz a;

	fake_now += 30;
	for (int i = 0; i < 5; i++) {
		authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "0000", totp_alice);
		assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_PIN);
	}
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__LOCKED);
	/* bob is not affected */
	authz_init(&a, f->tok_bob, f->cred_e, 1, 32, "9876", totp_bob);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
	fake_now += f->core.lock_seconds;
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
}

/* ---- AUTHORIZE request checks ---- */

static void test_authorize_checks(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct authz a;

	fake_now += 30;
	authz_init(&a, "not-a-token", f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_TOKEN);
	authz_init(&a, f->tok_alice, f->cred_e, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__UNKNOWN_CREDENTIAL);
	authz_init(&a, f->tok_alice, "0123456789abcdef0123456789abcdef", 1, 32,
	    "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__UNKNOWN_CREDENTIAL);
	authz_init(&a, f->tok_alice, "../../etc", 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__UNKNOWN_CREDENTIAL);
	authz_init(&a, f->tok_alice, f->cred_c, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__CREDENTIAL_DISABLED);
	authz_init(&a, f->tok_alice, f->cred_x, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__CERT_EXPIRED);

	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.num_signatures = 0;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_REQUEST);
	a.req.num_signatures = f->core.multisign + 1;
	assert_int_equal(authorize(f, &a, sad),
	    INKAN__STATUS__TOO_MANY_SIGNATURES);
	a.req.num_signatures = 2;           /* one hash for two signatures */
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_REQUEST);
	a.req.num_signatures = 1;
	a.req.n_hashes = 0;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_REQUEST);

	authz_init(&a, f->tok_alice, f->cred_a, 2, 32, "1234", totp_alice);
	a.h[1] = a.h[0];
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_REQUEST);
	authz_init(&a, f->tok_alice, f->cred_a, 2, 32, "1234", totp_alice);
	a.h[1].len = 48;
	assert_int_equal(authorize(f, &a, sad),
	    INKAN__STATUS__INVALID_DIGEST_LENGTH);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 20, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad),
	    INKAN__STATUS__INVALID_DIGEST_LENGTH);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 19, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad),
	    INKAN__STATUS__INVALID_DIGEST_LENGTH);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.hash_algo_oid = (char *)OID_SHA384;
	assert_int_equal(authorize(f, &a, sad),
	    INKAN__STATUS__INVALID_DIGEST_LENGTH);
	a.req.hash_algo_oid = (char *)"1.3.14.3.2.26";      /* SHA-1 */
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__UNSUPPORTED_ALGO);
	/* none of the above consumed the OTP or locked the user */
	a.req.hash_algo_oid = (char *)OID_SHA256;
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);

	/* the certificate expires while the SAD lives: SIGN refuses */
	struct signr s;
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	cred_change(f, f->cred_a, SAM_CRED_ENABLED, 0, fake_now - 100,
	    fake_now - 1, 1);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__CERT_EXPIRED);
	/* ...and one not valid yet */
	cred_change(f, f->cred_a, SAM_CRED_ENABLED, 0, fake_now + 100,
	    fake_now + 86400, 1);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__CERT_EXPIRED);
	cred_change(f, f->cred_a, SAM_CRED_ENABLED, 0, fake_now - 100,
	    fake_now + 86400, 1);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__OK);
}

/* ---- algorithm mapping ---- */

/* RSASSA-PSS-params DER. hash/mgf: 0 absent, 1 SHA-256, 2 SHA-1, 3 SHA-384;
 * salt/trailer < 0: absent. */
static size_t pss_der(uint8_t *out, int hash, int mgf, int salt, int trailer)
{
	static const uint8_t sha256[] = { 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
	    0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00 };
	static const uint8_t sha384[] = { 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
	    0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00 };
	static const uint8_t sha1[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
	    0x03, 0x02, 0x1a, 0x05, 0x00 };
	static const uint8_t mgf1[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	    0xf7, 0x0d, 0x01, 0x01, 0x08 };
	const uint8_t *algs[] = { NULL, sha256, sha1, sha384 };
	size_t alg_len[] = { 0, sizeof sha256, sizeof sha1, sizeof sha384 };
	uint8_t body[128];
	size_t n = 0;

	if (hash) {
		body[n++] = 0xa0;
		body[n++] = (uint8_t)alg_len[hash];
		memcpy(body + n, algs[hash], alg_len[hash]);
		n += alg_len[hash];
	}
	if (mgf) {
		body[n++] = 0xa1;
		body[n++] = (uint8_t)(2 + sizeof mgf1 + alg_len[mgf]);
		body[n++] = 0x30;
		body[n++] = (uint8_t)(sizeof mgf1 + alg_len[mgf]);
		memcpy(body + n, mgf1, sizeof mgf1);
		n += sizeof mgf1;
		memcpy(body + n, algs[mgf], alg_len[mgf]);
		n += alg_len[mgf];
	}
	int vals[2] = { salt, trailer };
	for (int k = 0; k < 2; k++) {
		int v = vals[k];
		if (v < 0)
			continue;
		body[n++] = (uint8_t)(0xa2 + k);
		if (v < 0x80) {
			body[n++] = 3;
			body[n++] = 0x02;
			body[n++] = 1;
			body[n++] = (uint8_t)v;
		} else if (v < 0x100) {
			body[n++] = 4;
			body[n++] = 0x02;
			body[n++] = 2;
			body[n++] = 0;
			body[n++] = (uint8_t)v;
		} else {
			body[n++] = 4;
			body[n++] = 0x02;
			body[n++] = 2;
			body[n++] = (uint8_t)(v >> 8);
			body[n++] = (uint8_t)v;
		}
	}
	out[0] = 0x30;
	out[1] = (uint8_t)n;
	memcpy(out + 2, body, n);
	return n + 2;
}

static void test_algo_map(void **state)
{
	const int ec = INKAN__KEY_TYPE__KEY_EC_P256;
	const int rsa = INKAN__KEY_TYPE__KEY_RSA_2048;
	const int rsa3k = INKAN__KEY_TYPE__KEY_RSA_3072;
	struct sam_mech m;
	uint8_t p[160];
	size_t n;

	(void)state;
	assert_int_equal(sam_algo_map(ec, OID_ECDSA_SHA256, NULL, NULL, 0, &m),
	    INKAN__STATUS__OK);
	assert_int_equal(m.mech, INKAN__SIGN_MECH__MECH_ECDSA);
	assert_int_equal(m.hash, INKAN__HASH_ALG__HASH_SHA256);
	assert_int_equal(m.hash_len, 32);
	assert_int_equal(sam_algo_map(ec, OID_ECDSA_SHA384, OID_SHA384, NULL, 0,
	    &m), INKAN__STATUS__OK);
	assert_int_equal(m.hash, INKAN__HASH_ALG__HASH_SHA384);
	assert_int_equal(sam_algo_map(ec, OID_ECDSA_SHA384, OID_SHA256, NULL, 0,
	    &m), INKAN__STATUS__INVALID_REQUEST);
	assert_int_equal(sam_algo_map(ec, OID_RSA_SHA256, NULL, NULL, 0, &m),
	    INKAN__STATUS__UNSUPPORTED_ALGO);
	assert_int_equal(sam_algo_map(rsa, OID_ECDSA_SHA256, NULL, NULL, 0, &m),
	    INKAN__STATUS__UNSUPPORTED_ALGO);
	assert_int_equal(sam_algo_map(rsa, "1.2.840.113549.1.1.5", NULL, NULL, 0,
	    &m), INKAN__STATUS__UNSUPPORTED_ALGO);      /* sha1WithRSA */
	assert_int_equal(sam_algo_map(rsa, "", NULL, NULL, 0, &m),
	    INKAN__STATUS__INVALID_REQUEST);

	/* rsaEncryption needs hashAlgo */
	assert_int_equal(sam_algo_map(rsa, OID_RSA, NULL, NULL, 0, &m),
	    INKAN__STATUS__INVALID_REQUEST);
	assert_int_equal(sam_algo_map(rsa, OID_RSA, OID_SHA512, NULL, 0, &m),
	    INKAN__STATUS__OK);
	assert_int_equal(m.mech, INKAN__SIGN_MECH__MECH_RSA_PKCS1);
	assert_int_equal(m.hash, INKAN__HASH_ALG__HASH_SHA512);
	assert_int_equal(sam_algo_map(rsa, OID_RSA, "1.3.14.3.2.26", NULL, 0, &m),
	    INKAN__STATUS__UNSUPPORTED_ALGO);
	assert_int_equal(sam_algo_map(rsa, OID_RSA_SHA384, NULL, NULL, 0, &m),
	    INKAN__STATUS__OK);
	assert_int_equal(m.hash, INKAN__HASH_ALG__HASH_SHA384);
	assert_int_equal(m.mech, INKAN__SIGN_MECH__MECH_RSA_PKCS1);

	/* PSS without params */
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, NULL, 0, &m),
	    INKAN__STATUS__INVALID_REQUEST);
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, OID_SHA384, NULL, 0, &m),
	    INKAN__STATUS__OK);
	assert_int_equal(m.mech, INKAN__SIGN_MECH__MECH_RSA_PSS);
	assert_int_equal(m.salt_len, 48);

	/* PSS with params */
	n = pss_der(p, 1, 1, 32, -1);
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__OK);
	assert_int_equal(m.hash, INKAN__HASH_ALG__HASH_SHA256);
	assert_int_equal(m.salt_len, 32);
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, OID_SHA256, p, n, &m),
	    INKAN__STATUS__OK);
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, OID_SHA384, p, n, &m),
	    INKAN__STATUS__INVALID_REQUEST);
	n = pss_der(p, 1, 1, -1, 1);        /* default salt 20 */
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__OK);
	assert_int_equal(m.salt_len, 20);
	/* the maximum salt: 256 - 32 - 2 = 222 for RSA-2048/SHA-256 */
	n = pss_der(p, 1, 1, 222, -1);
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__OK);
	assert_int_equal(m.salt_len, 222);
	n = pss_der(p, 1, 1, 223, -1);
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__INVALID_REQUEST);
	assert_int_equal(sam_algo_map(rsa3k, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__OK);
	n = pss_der(p, 0, 0, -1, -1);       /* all defaults: SHA-1 */
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, OID_SHA256, p, n, &m),
	    INKAN__STATUS__UNSUPPORTED_ALGO);
	n = pss_der(p, 2, 2, 20, -1);       /* explicit SHA-1 */
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__UNSUPPORTED_ALGO);
	n = pss_der(p, 1, 0, 32, -1);       /* MGF1 defaults to SHA-1 */
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__UNSUPPORTED_ALGO);
	n = pss_der(p, 1, 3, 32, -1);       /* MGF1-SHA384 with SHA-256 */
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__UNSUPPORTED_ALGO);
	n = pss_der(p, 1, 1, 32, 2);        /* trailerField 2 */
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n, &m),
	    INKAN__STATUS__INVALID_REQUEST);
	n = pss_der(p, 1, 1, 32, -1);
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n - 1, &m),
	    INKAN__STATUS__INVALID_REQUEST);    /* truncated */
	p[n] = 0;
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, p, n + 1, &m),
	    INKAN__STATUS__INVALID_REQUEST);    /* trailing byte */
	static const uint8_t junk[] = { 0x04, 0x02, 0x01, 0x02 };
	assert_int_equal(sam_algo_map(rsa, OID_RSA_PSS, NULL, junk, sizeof junk,
	    &m), INKAN__STATUS__INVALID_REQUEST);

	/* key.algo lists */
	size_t k;
	const char *const *l = sam_algo_sign_oids(ec, &k);
	assert_int_equal(k, 3);
	assert_string_equal(l[0], OID_ECDSA_SHA256);
	l = sam_algo_sign_oids(rsa, &k);
	assert_int_equal(k, 5);
	assert_int_equal(sam_algo_key_bits(INKAN__KEY_TYPE__KEY_RSA_3072), 3072);
	assert_string_equal(sam_algo_curve_oid(INKAN__KEY_TYPE__KEY_EC_P384),
	    OID_P384);
	assert_null(sam_algo_curve_oid(rsa));
}

static void test_digest_length_sign(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct signr s;

	authorize_ok(f, f->cred_a, 1, 48, NULL, sad);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 48);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__INVALID_DIGEST_LENGTH);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA384);
	sign_add(&s, 0, 48);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__OK);
}

/* ---- certificates and CSRs ---- */

static X509 *self_signed(EVP_PKEY *k, const char *cn, long serial)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Inkan, Test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	ASN1_TIME_set(X509_getm_notBefore(x), 1700000000);
	ASN1_TIME_set(X509_getm_notAfter(x), 1800000000);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	X509_NAME_free(nm);
	return x;
}

static void test_x509(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256");
	unsigned char *spki = NULL, *der = NULL;
	int spki_len, der_len;
	struct sam_cert_info ci;
	X509 *x, *parsed;
	char t[16];

	(void)state;
	assert_non_null(k);
	spki_len = i2d_PUBKEY(k, &spki);
	assert_true(spki_len > 0);
	assert_int_equal(sam_x509_spki_check(spki, (size_t)spki_len,
	    INKAN__KEY_TYPE__KEY_EC_P256), 0);
	assert_int_not_equal(sam_x509_spki_check(spki, (size_t)spki_len,
	    INKAN__KEY_TYPE__KEY_EC_P384), 0);
	assert_int_not_equal(sam_x509_spki_check(spki, (size_t)spki_len,
	    INKAN__KEY_TYPE__KEY_RSA_2048), 0);

	x = self_signed(k, "Alice Example", 0xABCDEF);
	der_len = i2d_X509(x, &der);
	assert_int_equal(sam_x509_parse(der, (size_t)der_len, &parsed), 0);
	assert_int_equal(sam_x509_info(parsed, &ci), 0);
	assert_string_equal(ci.subject_dn, "CN=Alice Example,O=Inkan\\, Test");
	assert_string_equal(ci.issuer_dn, ci.subject_dn);
	assert_string_equal(ci.serial_hex, "ABCDEF");
	assert_int_equal(ci.not_before, 1700000000);
	assert_int_equal(ci.not_after, 1800000000);
	assert_int_equal(sam_x509_key_matches(parsed, spki, (size_t)spki_len), 0);
	X509_free(parsed);
	sam_cert_info_clear(&ci);
	/* non-ASCII names stay UTF-8; specials are escaped */
	X509 *u = self_signed(k, "Ōtani, Shōhei+1", 1);
	assert_int_equal(sam_x509_info(u, &ci), 0);
	assert_string_equal(ci.subject_dn, "CN=Ōtani\\, Shōhei\\+1,O=Inkan\\, Test");
	assert_string_equal(ci.serial_hex, "01");
	sam_cert_info_clear(&ci);
	X509_free(u);
	/* the certificate of another key */
	X509 *y = self_signed(k2, "Mallory", 2);
	assert_int_equal(sam_x509_key_matches(y, spki, (size_t)spki_len),
	    -EKEYREJECTED);
	X509_free(y);
	/* trailing garbage, truncation */
	unsigned char *longer = malloc((size_t)der_len + 1);
	memcpy(longer, der, (size_t)der_len);
	longer[der_len] = 0;
	assert_int_equal(sam_x509_parse(longer, (size_t)der_len + 1, &parsed),
	    -EINVAL);
	assert_int_equal(sam_x509_parse(der, (size_t)der_len - 1, &parsed),
	    -EINVAL);
	free(longer);

	sam_gtime(0, t);
	assert_string_equal(t, "19700101000000Z");
	sam_gtime(1800000000, t);
	assert_string_equal(t, "20270115080000Z");

	/* CSR: template, signed as the SCM would, checked */
	uint8_t *tmpl;
	size_t tmpl_len;
	assert_false(sam_x509_cn_ok(""));
	assert_false(sam_x509_cn_ok("a\nb"));
	char cn65[66];
	memset(cn65, 'c', 65);
	cn65[65] = 0;
	assert_false(sam_x509_cn_ok(cn65));
	cn65[64] = 0;
	assert_true(sam_x509_cn_ok(cn65));
	assert_true(sam_x509_cn_ok("Ōtani Shōhei"));
	/* issue 7: the registration's subject, joined; the code */
	static const char alice[] = "Alice\x1finkan test\x1f\x1fJP\x1fID-42\x1f";
	static const char bob[] = "Bob\x1finkan test\x1f\x1fJP\x1fID-42\x1f";
	static const uint8_t code[] = "K7QM-4XRT-ABCD-2345";
	assert_true(sam_x509_subject_ok(alice));
	assert_false(sam_x509_subject_ok("Alice"));             /* not joined */
	assert_false(sam_x509_subject_ok("Alice\x1f\x1f\x1fjp\x1f\x1f"));
	assert_false(sam_x509_subject_ok("Alice\x1f\x1f\x1f\x1f\x1fno-at"));
	assert_false(sam_x509_subject_ok("\x1f\x1f\x1f\x1f\x1f"));
	assert_false(sam_x509_id_code_ok((const uint8_t *)"short", 5));
	assert_false(sam_x509_id_code_ok((const uint8_t *)"has space1", 10));
	assert_true(sam_x509_id_code_ok(code, sizeof code - 1));
	assert_int_equal(sam_x509_csr_template(INKAN__KEY_TYPE__KEY_EC_P256, spki,
	    (size_t)spki_len, alice, code, sizeof code - 1, &tmpl, &tmpl_len), 0);
	/* unsigned: must not pass */
	assert_int_not_equal(sam_x509_csr_check(tmpl, tmpl_len, spki,
	    (size_t)spki_len, alice, code, sizeof code - 1), 0);
	const unsigned char *p = tmpl;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)tmpl_len);
	assert_non_null(req);
	assert_int_equal(X509_REQ_get_version(req), 0);
	assert_true(X509_REQ_sign(req, k, EVP_sha256()) > 0);
	unsigned char *signed_der = NULL;
	int signed_len = i2d_X509_REQ(req, &signed_der);
	assert_int_equal(sam_x509_csr_check(signed_der, (size_t)signed_len, spki,
	    (size_t)spki_len, alice, code, sizeof code - 1), 0);
	assert_int_not_equal(sam_x509_csr_check(signed_der, (size_t)signed_len,
	    spki, (size_t)spki_len, bob, code, sizeof code - 1), 0);
	/* the code is in it, exactly */
	assert_int_not_equal(sam_x509_csr_check(signed_der, (size_t)signed_len,
	    spki, (size_t)spki_len, alice, code, sizeof code - 2), 0);
	assert_int_not_equal(sam_x509_csr_check(signed_der, (size_t)signed_len,
	    spki, (size_t)spki_len, alice, NULL, 0), 0);
	/* signed by another key */
	assert_true(X509_REQ_sign(req, k2, EVP_sha256()) > 0);
	OPENSSL_free(signed_der);
	signed_der = NULL;
	signed_len = i2d_X509_REQ(req, &signed_der);
	assert_int_not_equal(sam_x509_csr_check(signed_der, (size_t)signed_len,
	    spki, (size_t)spki_len, alice, code, sizeof code - 1), 0);
	OPENSSL_free(signed_der);
	X509_REQ_free(req);
	OPENSSL_free(tmpl);

	X509_free(x);
	OPENSSL_free(der);
	OPENSSL_free(spki);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void test_store_schema(void **state)
{
	struct fx *f = *state;
	struct sam_store *st2;
	int v = 0;

	assert_int_equal(sam_store_schema_version(f->core.store, &v), 0);
	assert_int_equal(v, SAM_SCHEMA_VERSION);
	/* a second open of the same file is an upgrade no-op */
	assert_int_equal(sam_store_open(f->db, &st2), 0);
	assert_int_equal(sam_store_schema_version(st2, &v), 0);
	assert_int_equal(v, SAM_SCHEMA_VERSION);
	sam_store_close(st2);
	/* duplicate user */
	assert_int_equal(sam_store_user_add(f->core.store, "alice", "x", "y",
	    totp_alice, 20, 0, NULL), -EEXIST);
	/* only hashes of tokens are stored: the token itself is not a key */
	struct sam_who who;
	assert_int_equal(sam_auth_token(&f->core, f->tok_alice, &who, NULL),
	    INKAN__STATUS__OK);
	struct sam_token_row t;
	uint8_t raw[32] = { 0 };
	memcpy(raw, f->tok_alice, 32);
	assert_int_equal(sam_store_token_get(f->core.store, raw, &t), -ENOENT);
}


/* ---- issue 3: row MACs ---- */

/* Every edit of a MAC-covered row, made straight in the database, is refused
 * with INTEGRITY and an alert naming the row. */
static void test_mac_db_edits(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1], sql[512], pinh[SAM_PWHASH_MAX];
	struct authz a;
	char tok_bob2[SAM_TOKEN_LEN + 1];
	ProtobufCBinaryData pw = { 12, (uint8_t *)"bob-password" };
	uint32_t exp;

	/* baseline: all fine */
	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);

	/* 1. move alice's credential to bob: bob cannot use it */
	snprintf(sql, sizeof sql, "UPDATE credentials SET user_id = (SELECT id "
	    "FROM users WHERE name = 'bob@example.org') WHERE id = '%s'",
	    f->cred_b);
	db_edit(f, sql);
	fake_now += 30;
	f->core.notes.alert[0] = '\0';
	authz_init(&a, f->tok_bob, f->cred_b, 1, 32, "9876", totp_bob);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INTEGRITY);
	assert_non_null(strstr(f->core.notes.alert, f->cred_b));
	/* ... and the OTP was not spent or counted as a failure */
	snprintf(sql, sizeof sql, "UPDATE credentials SET user_id = (SELECT id "
	    "FROM users WHERE name = 'alice') WHERE id = '%s'", f->cred_b);
	db_edit(f, sql);
	authz_init(&a, f->tok_bob, f->cred_e, 1, 32, "9876", totp_bob);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);

	/* 2. a PIN hash the attacker knows */
	assert_int_equal(sam_auth_hash(&f->core, (const uint8_t *)"0000", 4,
	    pinh), 0);
	snprintf(sql, sizeof sql, "UPDATE users SET pin_hash = '%s' WHERE "
	    "name = 'alice'", pinh);
	db_edit(f, sql);
	fake_now += 30;
	f->core.notes.alert[0] = '\0';
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "0000", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INTEGRITY);
	assert_non_null(strstr(f->core.notes.alert, "alice"));
	/* login checks the user row too */
	ProtobufCBinaryData apw = { 14, (uint8_t *)"alice-password" };
	assert_int_equal(sam_auth_login(&f->core, "alice", &apw, tok_bob2, &exp),
	    INKAN__STATUS__INTEGRITY);

	/* 3. bob's TOTP secret replaced by alice's */
	db_edit(f, "UPDATE users SET totp_secret = (SELECT totp_secret FROM "
	    "users WHERE name = 'alice') WHERE name = 'bob@example.org'");
	fake_now += 30;
	authz_init(&a, f->tok_bob, f->cred_e, 1, 32, "9876", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INTEGRITY);
	assert_int_equal(sam_auth_login(&f->core, "bob@example.org", &pw,
	    tok_bob2, &exp), INKAN__STATUS__INTEGRITY);

	/* 4. a row without a MAC at all (an inserted one, say) */
	snprintf(sql, sizeof sql, "UPDATE credentials SET mac = NULL WHERE "
	    "id = '%s'", f->cred_e);
	db_edit(f, sql);
	f->core.notes.alert[0] = '\0';
	assert_int_equal(sam_sad_cred(&f->core, 2, f->cred_e, true,
	    &(struct sam_cred){ 0 }, NULL), INKAN__STATUS__INTEGRITY);
	assert_non_null(strstr(f->core.notes.alert, "no MAC"));
}

static void test_mac_tokens_and_sads(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1], sad2[SAM_TOKEN_LEN + 1], sql[256];
	struct sam_who who;
	struct signr s;

	/* a token's expiry pushed out */
	db_edit(f, "UPDATE tokens SET expires = expires + 86400 WHERE user_id = "
	    "(SELECT id FROM users WHERE name = 'bob@example.org')");
	f->core.notes.alert[0] = '\0';
	assert_int_equal(sam_auth_token(&f->core, f->tok_bob, &who, NULL),
	    INKAN__STATUS__INTEGRITY);
	assert_non_null(strstr(f->core.notes.alert, "access token"));

	/* a digest slipped into a SAD's list */
	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);
	uint8_t sh[32];
	sam_auth_digest(sad, sh);
	char hex[65];
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", sh[i]);
	snprintf(sql, sizeof sql, "INSERT INTO sad_hashes (sad_hash, digest, "
	    "used) VALUES (x'%s', x'%s', 0)", hex,
	    "0101010101010101010101010101010101010101010101010101010101010101");
	db_edit(f, sql);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__INTEGRITY);

	/* a SAD's expiry pushed out */
	authorize_ok(f, f->cred_a, 1, 32, NULL, sad2);
	sam_auth_digest(sad2, sh);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", sh[i]);
	snprintf(sql, sizeof sql, "UPDATE sads SET expires = expires + 3600 "
	    "WHERE hash = x'%s'", hex);
	db_edit(f, sql);
	sign_init(&s, f->tok_alice, f->cred_a, sad2, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__INTEGRITY);
}

/* One MAC round trip per request; none of them works without the MAC
 * service (fail closed). */
static void test_mac_round_trips(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1], sad2[SAM_TOKEN_LEN + 1];
	char tok[SAM_TOKEN_LEN + 1];
	struct authz a;
	struct signr s;
	ProtobufCBinaryData pw = { 14, (uint8_t *)"alice-password" };
	uint32_t exp;

	mac_calls = 0;
	authorize_ok(f, f->cred_a, 2, 32, NULL, sad);
	assert_int_equal(mac_calls, 1);
	mac_calls = 0;
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__OK);
	assert_int_equal(mac_calls, 1);
	mac_calls = 0;
	assert_int_equal(sam_auth_login(&f->core, "alice", &pw, tok, &exp),
	    INKAN__STATUS__OK);
	assert_int_equal(mac_calls, 1);

	mac_down = 1;
	fake_now += 30;
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad2), INKAN__STATUS__UNAVAILABLE);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 1, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__UNAVAILABLE);
	assert_int_equal(sam_auth_login(&f->core, "alice", &pw, tok, &exp),
	    INKAN__STATUS__UNAVAILABLE);
	assert_int_equal(sam_auth_login(&f->core, "nobody", &pw, tok, &exp),
	    INKAN__STATUS__UNAVAILABLE);
	mac_down = 0;
	/* the refused attempt did not spend the OTP: it works now */
	assert_int_equal(authorize(f, &a, sad2), INKAN__STATUS__OK);
	/* no MAC service configured at all: nothing passes */
	f->core.mac = NULL;
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__INTEGRITY);
}

/* ---- issue 3: reserve / commit / release / recovery ---- */

static int count_state(struct fx *f, const char *sad, int state)
{
	struct sam_digests d;
	uint8_t sh[32];
	int n = 0;

	sam_auth_digest(sad, sh);
	assert_int_equal(sam_digests_load(f->core.store, sh, &d), 0);
	for (size_t i = 0; i < d.n; i++)
		n += d.state[i] == state;
	sam_digests_free(&d);
	return n;
}

static int64_t remaining(struct fx *f, const char *sad)
{
	struct sam_sad_row row;
	uint8_t sh[32];

	sam_auth_digest(sad, sh);
	assert_int_equal(sam_store_sad_get(f->core.store, sh, &row), 0);
	return row.remaining;
}

static void test_reserve_commit(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct sam_sign_plan p1, p2, p3;
	struct signr s;
	int n;

	authorize_ok(f, f->cred_a, 3, 32, NULL, sad);
	/* reserve digest 0: nobody else can take it meanwhile */
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, &p1), INKAN__STATUS__OK);
	assert_true(p1.op > 0);
	assert_int_equal(count_state(f, sad, SAM_HASH_RESERVED), 1);
	assert_int_equal(remaining(f, sad), 2);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__HASH_NOT_AUTHORIZED);
	/* the SCM failed: given back, the signer retries with the same SAD */
	assert_int_equal(sam_sad_release(&f->core, &p1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(count_state(f, sad, SAM_HASH_AUTHORISED), 3);
	assert_int_equal(remaining(f, sad), 3);
	assert_int_equal(sign(f, &s, &p2), INKAN__STATUS__OK);
	/* a stale release of the first operation changes nothing */
	assert_int_equal(sam_sad_release(&f->core, &p1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(count_state(f, sad, SAM_HASH_RESERVED), 1);
	/* signatures came back: committed, never again */
	assert_int_equal(commit(f, &p2), 0);
	assert_int_equal(count_state(f, sad, SAM_HASH_SIGNED), 1);
	assert_int_equal(commit(f, &p2), -ESTALE);
	/* the answer was lost: the same request gets the kept signature, and
	 * nothing is signed or consumed */
	assert_int_equal(sign(f, &s, &p1), INKAN__STATUS__OK);
	assert_true(p1.redelivered);
	assert_int_equal(p1.count, 1);
	assert_int_equal(p1.sigs[0].len, 8);
	assert_memory_equal(p1.sigs[0].data, "sig", 3);
	assert_memory_equal(p1.sigs[0].data + 3, s.req.hashes[0].data, 5);
	sam_sign_plan_clear(&p1);
	assert_int_equal(remaining(f, sad), 2);
	assert_int_equal(count_state(f, sad, SAM_HASH_SIGNED), 1);
	/* ... but not for another algorithm: that would be a new signature */
	s.req.sign_algo_oid = (char *)OID_ECDSA_SHA384;
	assert_int_not_equal(sign(f, &s, NULL), INKAN__STATUS__OK);
	s.req.sign_algo_oid = (char *)OID_ECDSA_SHA256;
	/* ... nor mixed with a digest never signed */
	sign_add(&s, 1, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__HASH_NOT_AUTHORIZED);
	assert_int_equal(remaining(f, sad), 2);
	assert_int_equal(count_state(f, sad, SAM_HASH_AUTHORISED), 2);
	/* redeliver = no: a signed digest is refused outright */
	f->core.redeliver = false;
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__HASH_NOT_AUTHORIZED);
	f->core.redeliver = true;

	/* a crash between reserve and commit (digests 1 and 2): at the next
	 * start the reservation goes back to the SAD */
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 1, 32);
	sign_add(&s, 2, 32);
	assert_int_equal(sign(f, &s, &p3), INKAN__STATUS__OK);
	assert_int_equal(remaining(f, sad), 0);
	sam_store_close(f->core.store);
	assert_int_equal(sam_store_open(f->db, &f->core.store), 0);
	assert_int_equal(sam_sad_recover(&f->core, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(remaining(f, sad), 2);
	assert_int_equal(count_state(f, sad, SAM_HASH_SIGNED), 1);
	/* the late commit of the interrupted operation finds nothing */
	assert_int_equal(commit(f, &p3), -ESTALE);
	assert_int_equal(sign(f, &s, &p3), INKAN__STATUS__OK);
	assert_int_equal(commit(f, &p3), 0);
	assert_int_equal(remaining(f, sad), 0);
	assert_int_equal(sam_sad_recover(&f->core, &n), 0);
	assert_int_equal(n, 0);
}

/* ---- issue 3: extendTransaction ---- */

static Inkan__Status extend(struct fx *f, const char *tok, const char *cred,
    const char *sad, char *out, uint32_t *exp)
{
	Inkan__ExtendReq r = INKAN__EXTEND_REQ__INIT;
	struct sam_who who;

	r.access_token = (char *)tok;
	r.credential_id = (char *)cred;
	r.sad = (char *)sad;
	return sam_sad_extend(&f->core, &r, out, exp, &who);
}

static void test_extend(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1], nsad[SAM_TOKEN_LEN + 1];
	char nsad2[SAM_TOKEN_LEN + 1];
	struct sam_sign_plan p;
	struct signr s;
	uint32_t exp = 0;

	authorize_ok(f, f->cred_a, 3, 32, OID_SHA256, sad);
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, &p), INKAN__STATUS__OK);
	assert_int_equal(commit(f, &p), 0);

	/* only the SAD's own signer, token and credential */
	assert_int_equal(extend(f, f->tok_bob, f->cred_a, sad, nsad, &exp),
	    INKAN__STATUS__UNKNOWN_CREDENTIAL);
	assert_int_equal(extend(f, f->tok_alice, f->cred_b, sad, nsad, &exp),
	    INKAN__STATUS__SAD_INVALID);
	fake_now += 100;
	assert_int_equal(extend(f, f->tok_alice, f->cred_a, sad, nsad, &exp),
	    INKAN__STATUS__OK);
	assert_int_equal(exp, f->core.sad_lifetime);
	assert_string_not_equal(sad, nsad);
	assert_int_equal(remaining(f, nsad), 2);
	assert_int_equal(count_state(f, nsad, SAM_HASH_AUTHORISED), 2);
	/* the old SAD is gone */
	sign_init(&s, f->tok_alice, f->cred_a, sad, OID_ECDSA_SHA256);
	sign_add(&s, 1, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__SAD_INVALID);
	/* the new one carries the unused digests only, and the hash algo */
	sign_init(&s, f->tok_alice, f->cred_a, nsad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__HASH_NOT_AUTHORIZED);
	sign_init(&s, f->tok_alice, f->cred_a, nsad, OID_ECDSA_SHA256);
	sign_add(&s, 1, 32);
	sign_add(&s, 2, 32);
	assert_int_equal(sign(f, &s, &p), INKAN__STATUS__OK);
	assert_int_equal(commit(f, &p), 0);
	/* used up: nothing to extend */
	assert_int_equal(extend(f, f->tok_alice, f->cred_a, nsad, nsad2, &exp),
	    INKAN__STATUS__SAD_INVALID);
	/* never past the access token's own expiry; never an expired SAD */
	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);
	fake_now += f->core.token_lifetime - 500;
	assert_int_equal(extend(f, f->tok_alice, f->cred_a, sad, nsad, &exp),
	    INKAN__STATUS__SAD_EXPIRED);
}

static void test_extend_bound(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1], nsad[SAM_TOKEN_LEN + 1];
	uint32_t exp = 0;

	/* the token (issued at setup) has 3600 s; after 3400 s a fresh SAD
	 * can only be extended to the token's end */
	fake_now += f->core.token_lifetime - 200 - 30;
	authorize_ok(f, f->cred_a, 1, 32, NULL, sad);
	fake_now += 100;
	assert_int_equal(extend(f, f->tok_alice, f->cred_a, sad, nsad, &exp),
	    INKAN__STATUS__OK);
	assert_int_equal(exp, 100);
}

/* ---- issue 3: per-credential multisign, disabled credentials ---- */

static void test_cred_multisign_disabled(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct authz a;
	struct signr s;

	/* multisign 1: no batches */
	cred_change(f, f->cred_a, SAM_CRED_ENABLED, 1, 0, 0, 0);
	fake_now += 30;
	authz_init(&a, f->tok_alice, f->cred_a, 2, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad),
	    INKAN__STATUS__TOO_MANY_SIGNATURES);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
	/* other credentials keep the service's multisign */
	authorize_ok(f, f->cred_b, 3, 32, NULL, sad);
	/* a value above the service's is capped by it */
	cred_change(f, f->cred_a, SAM_CRED_ENABLED, 200, 0, 0, 0);
	fake_now += 30;
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	a.req.num_signatures = f->core.multisign + 1;
	assert_int_equal(authorize(f, &a, sad),
	    INKAN__STATUS__TOO_MANY_SIGNATURES);

	/* disabled: the SAD already issued stops working, and no new one */
	authorize_ok(f, f->cred_b, 1, 32, NULL, sad);
	cred_change(f, f->cred_b, SAM_CRED_DISABLED, 0, 0, 0, 0);
	sign_init(&s, f->tok_alice, f->cred_b, sad, OID_ECDSA_SHA256);
	sign_add(&s, 0, 32);
	assert_int_equal(sign(f, &s, NULL), INKAN__STATUS__CREDENTIAL_DISABLED);
	fake_now += 30;
	authz_init(&a, f->tok_alice, f->cred_b, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad),
	    INKAN__STATUS__CREDENTIAL_DISABLED);
	cred_change(f, f->cred_b, SAM_CRED_ENABLED, 0, 0, 0, 0);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
}

/* ---- issue 3: lock until unlocked, and across a restart ---- */

static void test_lock_forever_persistent(void **state)
{
	struct fx *f = *state;
	char sad[SAM_TOKEN_LEN + 1];
	struct sam_user *u = sodium_malloc(sizeof *u);
	struct authz a;

	f->core.lock_after = 3;
	f->core.lock_seconds = 0;           /* until an operator unlocks */
	fake_now += 30;
	for (int i = 0; i < 2; i++) {
		authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "0000", totp_alice);
		assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_PIN);
		assert_false(f->core.notes.locked);
	}
	/* restart between failures: the count survives */
	sam_store_close(f->core.store);
	assert_int_equal(sam_store_open(f->db, &f->core.store), 0);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "0000", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__INVALID_PIN);
	assert_true(f->core.notes.locked);
	assert_true(f->core.notes.locked_until == SAM_LOCK_FOREVER);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__LOCKED);
	/* half a year later, after a restart: still locked */
	fake_now += 180 * 86400;
	sam_store_close(f->core.store);
	assert_int_equal(sam_store_open(f->db, &f->core.store), 0);
	login(f, "alice", "alice-password", f->tok_alice);
	authz_init(&a, f->tok_alice, f->cred_a, 1, 32, "1234", totp_alice);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__LOCKED);
	/* the operator's unlock (admin.c) resets the record */
	assert_int_equal(sam_store_user_by_name(f->core.store, "alice", u), 0);
	assert_int_equal(sam_store_user_failures(f->core.store, u->id, 0, 0), 0);
	assert_int_equal(authorize(f, &a, sad), INKAN__STATUS__OK);
	sodium_free(u);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_login),
		T(test_revoke),
		T(test_authorize_and_sign),
		T(test_sad_other_credential),
		T(test_sad_other_token),
		T(test_sad_hash_outside_list),
		T(test_sad_count),
		T(test_sad_expiry),
		T(test_sad_altered),
		T(test_bound_hash_alg),
		T(test_sign_rsa_pss),
		T(test_missing_factor),
		T(test_wrong_factors),
		T(test_totp_replay),
		T(test_lockout),
		T(test_authorize_checks),
		cmocka_unit_test(test_algo_map),
		T(test_digest_length_sign),
		cmocka_unit_test(test_x509),
		T(test_store_schema),
		T(test_mac_db_edits),
		T(test_mac_tokens_and_sads),
		T(test_mac_round_trips),
		T(test_reserve_commit),
		T(test_extend),
		T(test_extend_bound),
		T(test_cred_multisign_disabled),
		T(test_lock_forever_persistent),
	};
	make_digests();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
