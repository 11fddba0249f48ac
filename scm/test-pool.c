/* test-pool.c — scm/pool.c against a real SoftHSMv2 token in a temporary
 * directory: batches larger than the thread count signed by several
 * threads, each signature verified by OpenSSL against its own digest (the
 * order), single digests and one-thread pools, the lowest failing digest
 * reported, the pool reused after a failure, sessions that follow the
 * token's login through a backup-like SO login under scm_pool_hold, and
 * workers racing on an emptied handle cache. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "inkan-config.h"
#include "test-softhsm.h"
#include "pkcs11.h"
#include "pool.h"

#define LABEL "inkan-pool-test"
#define MAXN 256

static struct test_softhsm hsm;
static struct p11_token tok;
static const uint8_t id_ec[P11_KEY_ID_LEN] = { 0xec, 1, 2, 3, 4, 5, 6, 7,
	8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t id_rsa[P11_KEY_ID_LEN] = { 0x5a, 1, 2, 3, 4, 5, 6, 7,
	8, 9, 10, 11, 12, 13, 14, 15 };
static EVP_PKEY *pk_ec, *pk_rsa;

/* One batch: digests, their pointers, the answers. */
struct batch {
	size_t n;
	uint8_t d[MAXN][64];
	const uint8_t *dp[MAXN];
	uint8_t sigs[MAXN * P11_SIG_MAX];
	size_t lens[MAXN];
	struct scm_sign_job job;
};

static EVP_PKEY *keygen(const uint8_t *id, enum p11_key_type type)
{
	uint8_t *spki = NULL;
	const unsigned char *p;
	size_t len = 0;
	EVP_PKEY *k;

	assert_int_equal(p11_keygen(&tok, id, type, false, &spki, &len), 0);
	p = spki;
	k = d2i_PUBKEY(NULL, &p, (long)len);
	assert_non_null(k);
	free(spki);
	return k;
}

static int setup(void **state)
{
	(void)state;
	if (test_softhsm_make(&hsm, "pool") != 0 ||
	    test_softhsm_init_token(&hsm, LABEL) != 0)
		return -1;
	memset(&tok, 0, sizeof tok);
	if (p11_open(&tok, hsm.module, LABEL, NULL, USER_PIN,
	    strlen(USER_PIN)) != 0)
		return -1;
	pk_ec = keygen(id_ec, P11_KEY_EC_P256);
	pk_rsa = keygen(id_rsa, P11_KEY_RSA_2048);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(pk_ec);
	EVP_PKEY_free(pk_rsa);
	p11_close(&tok);
	test_softhsm_remove(&hsm);
	return 0;
}

static bool verifies(EVP_PKEY *pk, enum p11_mech mech, enum der_hash h,
    uint32_t salt, const uint8_t *d, const uint8_t *sig, size_t siglen)
{
	int r = test_sig_verifies(pk, mech, h, salt, d, sig, siglen);

	assert_int_not_equal(r, -1);
	return r == 1;
}

static struct batch *batch_new(size_t n, const uint8_t *id,
    enum p11_mech mech, enum der_hash h, uint32_t salt)
{
	struct batch *b = calloc(1, sizeof *b);

	assert_non_null(b);
	assert_true(n >= 1 && n <= MAXN);
	b->n = n;
	for (size_t i = 0; i < n; i++) {
		RAND_bytes(b->d[i], sizeof b->d[i]);
		b->dp[i] = b->d[i];
	}
	b->job = (struct scm_sign_job){
		.key_id = id, .mech = mech, .hash = h, .salt_len = salt,
		.n = n, .digests = b->dp, .dlen = der_hash_len(h),
		.sigs = b->sigs, .sig_lens = b->lens,
	};
	return b;
}

/* Every signature verifies against its own digest and not against its
 * neighbour's: the answer is in the request's order. */
static void check_batch(struct batch *b, EVP_PKEY *pk)
{
	const struct scm_sign_job *j = &b->job;

	for (size_t i = 0; i < b->n; i++) {
		const uint8_t *sig = b->sigs + i * P11_SIG_MAX;

		assert_true(b->lens[i] > 0 && b->lens[i] <= P11_SIG_MAX);
		assert_true(verifies(pk, j->mech, j->hash, j->salt_len,
		    b->d[i], sig, b->lens[i]));
		if (b->n > 1)
			assert_false(verifies(pk, j->mech, j->hash, j->salt_len,
			    b->d[(i + 1) % b->n], sig, b->lens[i]));
	}
}

static void sign_batch(struct scm_pool *p, size_t n, const uint8_t *id,
    EVP_PKEY *pk, enum p11_mech mech, enum der_hash h, uint32_t salt)
{
	struct batch *b = batch_new(n, id, mech, h, salt);
	size_t at = 99;

	assert_int_equal(scm_pool_sign(p, &b->job, &at), 0);
	assert_int_equal(at, 0);
	check_batch(b, pk);
	free(b);
}

static void test_bad_start(void **state)
{
	struct scm_pool *p = (struct scm_pool *)1;

	(void)state;
	assert_int_equal(scm_pool_start(&p, &tok, 0), -EINVAL);
	assert_null(p);
	assert_int_equal(scm_pool_start(&p, &tok, SCM_POOL_MAX_THREADS + 1),
	    -EINVAL);
	assert_null(p);
	/* a token that is not open: no session to share */
	{
		struct p11_token closed;

		memset(&closed, 0, sizeof closed);
		assert_int_equal(scm_pool_start(&p, &closed, 2), -ENOTCONN);
		assert_null(p);
	}
	scm_pool_stop(NULL);
}

/* More digests than threads, every mechanism, several pool sizes. */
static void test_batches(void **state)
{
	static const unsigned sizes[] = { 2, 3, 4, 8 };
	struct scm_pool *p;

	(void)state;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		assert_int_equal(scm_pool_start(&p, &tok, sizes[k]), 0);
		assert_int_equal(scm_pool_threads(p), sizes[k]);
		sign_batch(p, 37, id_ec, pk_ec, P11_MECH_ECDSA,
		    DER_HASH_SHA256, 0);
		sign_batch(p, sizes[k] + 1, id_ec, pk_ec, P11_MECH_ECDSA,
		    DER_HASH_SHA512, 0);
		sign_batch(p, sizes[k] - 1, id_ec, pk_ec, P11_MECH_ECDSA,
		    DER_HASH_SHA384, 0);
		scm_pool_stop(p);
	}
	assert_int_equal(scm_pool_start(&p, &tok, 3), 0);
	sign_batch(p, 11, id_rsa, pk_rsa, P11_MECH_RSA_PKCS1,
	    DER_HASH_SHA256, 0);
	sign_batch(p, 10, id_rsa, pk_rsa, P11_MECH_RSA_PSS, DER_HASH_SHA384,
	    48);
	sign_batch(p, MAXN, id_ec, pk_ec, P11_MECH_ECDSA, DER_HASH_SHA256, 0);
	scm_pool_stop(p);
}

/* A single digest is signed inline; sign_threads = 1 starts no thread. */
static void test_single_and_one_thread(void **state)
{
	struct scm_pool *p;

	(void)state;
	assert_int_equal(scm_pool_start(&p, &tok, 4), 0);
	sign_batch(p, 1, id_ec, pk_ec, P11_MECH_ECDSA, DER_HASH_SHA256, 0);
	scm_pool_stop(p);
	assert_int_equal(scm_pool_start(&p, &tok, 1), 0);
	assert_int_equal(scm_pool_threads(p), 0);
	sign_batch(p, 1, id_ec, pk_ec, P11_MECH_ECDSA, DER_HASH_SHA256, 0);
	sign_batch(p, 20, id_rsa, pk_rsa, P11_MECH_RSA_PSS, DER_HASH_SHA256,
	    32);
	scm_pool_stop(p);
}

/* All or nothing, and the failure reported is the lowest-numbered one, as
 * when one thread signs in order; the pool signs again afterwards. */
static void test_failing_digest(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4 };
	struct scm_pool *p;
	struct batch *b;
	size_t at;

	(void)state;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		assert_int_equal(scm_pool_start(&p, &tok, sizes[k]), 0);
		/* a digest p11_sign refuses (no data) in the middle ... */
		b = batch_new(40, id_ec, P11_MECH_ECDSA, DER_HASH_SHA256, 0);
		b->dp[23] = NULL;
		b->dp[31] = NULL;
		at = 0;
		assert_int_equal(scm_pool_sign(p, &b->job, &at),
		    P11_DIGEST_LENGTH);
		assert_int_equal(at, 23);
		/* ... first, last */
		b->dp[23] = b->d[23];
		b->dp[31] = b->d[31];
		b->dp[0] = NULL;
		assert_int_equal(scm_pool_sign(p, &b->job, &at),
		    P11_DIGEST_LENGTH);
		assert_int_equal(at, 0);
		b->dp[0] = b->d[0];
		b->dp[39] = NULL;
		assert_int_equal(scm_pool_sign(p, &b->job, &at),
		    P11_DIGEST_LENGTH);
		assert_int_equal(at, 39);
		free(b);
		/* a key that does not exist fails every digest: the first */
		b = batch_new(9, (const uint8_t *)"no-such-key-id!!",
		    P11_MECH_ECDSA, DER_HASH_SHA256, 0);
		assert_int_equal(scm_pool_sign(p, &b->job, &at), P11_NOT_FOUND);
		assert_int_equal(at, 0);
		free(b);
		/* the mechanism of another key type */
		b = batch_new(9, id_ec, P11_MECH_RSA_PSS, DER_HASH_SHA256, 32);
		assert_int_equal(scm_pool_sign(p, &b->job, &at),
		    P11_MECH_MISMATCH);
		free(b);
		/* and the same pool still signs */
		sign_batch(p, 9, id_ec, pk_ec, P11_MECH_ECDSA, DER_HASH_SHA256,
		    0);
		scm_pool_stop(p);
	}
}

/* A failing PKCS#11 call in a worker: its detail reaches the parent token,
 * where inkan-scm reads it for the log and the status. */
static void test_error_detail(void **state)
{
	static const uint8_t id_gone[P11_KEY_ID_LEN] = { 0x60, 0x9e };
	CK_OBJECT_HANDLE priv, pub;
	enum p11_key_type type;
	struct scm_pool *p;
	struct batch *b;
	EVP_PKEY *k;
	size_t at;
	char buf[300];

	(void)state;
	k = keygen(id_gone, P11_KEY_EC_P256);
	assert_int_equal(p11_find_key(&tok, id_gone, &priv, &pub, &type), 0);
	/* behind the cache's back: the cached handle goes stale, the retry
	 * finds nothing */
	assert_int_equal(tok.f->C_DestroyObject(tok.session, priv), CKR_OK);
	assert_int_equal(scm_pool_start(&p, &tok, 3), 0);
	b = batch_new(12, id_gone, P11_MECH_ECDSA, DER_HASH_SHA256, 0);
	tok.last_fn = "stale";
	assert_int_equal(scm_pool_sign(p, &b->job, &at), P11_NOT_FOUND);
	assert_int_equal(at, 0);
	/* what the worker saw replaced what the parent had */
	assert_null(tok.last_fn);
	assert_string_equal(p11_describe(&tok, buf, sizeof buf),
	    "no PKCS#11 error recorded");
	free(b);
	scm_pool_stop(p);
	assert_int_equal(tok.f->C_DestroyObject(tok.session, pub), CKR_OK);
	EVP_PKEY_free(k);
}

/* What a key backup does while it holds the pool: log the token out, in as
 * the SO, out, in as the user again. The workers' sessions are the
 * token's: they sign as the user again without a login of their own. */
static void test_hold_relogin(void **state)
{
	struct scm_pool *p;

	(void)state;
	assert_int_equal(scm_pool_start(&p, &tok, 2), 0);
	sign_batch(p, 8, id_ec, pk_ec, P11_MECH_ECDSA, DER_HASH_SHA256, 0);
	scm_pool_hold(p);
	assert_int_equal(tok.f->C_Logout(tok.session), CKR_OK);
	assert_int_equal(tok.f->C_Login(tok.session, CKU_SO,
	    (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)), CKR_OK);
	assert_int_equal(tok.f->C_Logout(tok.session), CKR_OK);
	assert_int_equal(tok.f->C_Login(tok.session, CKU_USER,
	    (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)), CKR_OK);
	p11_cache_clear(&tok);
	scm_pool_release(p);
	sign_batch(p, 8, id_ec, pk_ec, P11_MECH_ECDSA, DER_HASH_SHA256, 0);
	sign_batch(p, 5, id_rsa, pk_rsa, P11_MECH_RSA_PKCS1, DER_HASH_SHA512,
	    0);
	scm_pool_stop(p);
}

/* Workers miss the emptied handle cache together, search on their own
 * sessions and fill it at once, batch after batch. */
static void test_cache_race(void **state)
{
	struct scm_pool *p;

	(void)state;
	assert_int_equal(scm_pool_start(&p, &tok, 4), 0);
	for (int round = 0; round < 30; round++) {
		p11_cache_clear(&tok);
		sign_batch(p, 8, round % 2 ? id_rsa : id_ec,
		    round % 2 ? pk_rsa : pk_ec,
		    round % 2 ? P11_MECH_RSA_PKCS1 : P11_MECH_ECDSA,
		    DER_HASH_SHA256, 0);
	}
	scm_pool_stop(p);
}

int main(void)
{
	if (!test_softhsm_available())
		return 77;              /* meson: skipped */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_start),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_single_and_one_thread),
		cmocka_unit_test(test_failing_digest),
		cmocka_unit_test(test_error_detail),
		cmocka_unit_test(test_hold_relogin),
		cmocka_unit_test(test_cache_race),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
