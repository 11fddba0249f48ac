/* test-pkcs11.c — scm/pkcs11.c against a real SoftHSMv2 token in a temporary
 * directory: token set-up errors, keygen for every key type, the private
 * key's attributes, signatures with every mechanism verified by OpenSSL,
 * CSR proof of possession, destruction and the handle cache. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
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
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "inkan-config.h"
#include "test-softhsm.h"
#include "pkcs11.h"

#define LABEL "inkan-test"

static struct test_softhsm hsm;
static struct p11_token tok;

static int setup(void **state)
{
	if (test_softhsm_make(&hsm, "p11") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	p11_close(&tok);
	test_softhsm_remove(&hsm);
	return 0;
}

static void test_setup_errors(void **state)
{
	struct p11_token t;
	char other[128], buf[300];

	/* missing config file: named in the error */
	snprintf(other, sizeof other, "%s/nonexistent.conf", hsm.dir);
	setenv("SOFTHSM2_CONF", other, 1);
	memset(&t, 0, sizeof t);
	assert_int_equal(p11_open(&t, hsm.module, LABEL, NULL, USER_PIN,
	    strlen(USER_PIN)), P11_BAD_SETUP);
	assert_non_null(strstr(p11_describe(&t, buf, sizeof buf),
	    "nonexistent.conf"));

	/* config whose token directory is missing: named too */
	snprintf(other, sizeof other, "%s/other.conf", hsm.dir);
	assert_int_equal(test_softhsm_write_conf(other, "/nonexistent/inkan-tokens"), 0);
	setenv("SOFTHSM2_CONF", other, 1);
	memset(&t, 0, sizeof t);
	assert_int_equal(p11_open(&t, hsm.module, LABEL, NULL, USER_PIN,
	    strlen(USER_PIN)), P11_BAD_SETUP);
	assert_non_null(strstr(p11_describe(&t, buf, sizeof buf),
	    "/nonexistent/inkan-tokens"));
	setenv("SOFTHSM2_CONF", hsm.conf, 1);

	/* module that does not load */
	memset(&t, 0, sizeof t);
	assert_int_equal(p11_open(&t, "/nonexistent/libpkcs11.so", LABEL,
	    NULL, USER_PIN, strlen(USER_PIN)), P11_BAD_SETUP);

	/* no token yet */
	memset(&t, 0, sizeof t);
	assert_int_equal(p11_open(&t, hsm.module, LABEL, NULL, USER_PIN,
	    strlen(USER_PIN)), P11_TOKEN_NOT_FOUND);
}

static void test_init_token(void **state)
{
	struct p11_token t;
	char buf[300];

	memset(&t, 0, sizeof t);
	assert_int_equal(p11_init_token(&t, hsm.module, LABEL, SO_PIN,
	    strlen(SO_PIN), USER_PIN, strlen(USER_PIN)), 0);
	memset(&t, 0, sizeof t);
	assert_int_equal(p11_init_token(&t, hsm.module, LABEL, SO_PIN,
	    strlen(SO_PIN), USER_PIN, strlen(USER_PIN)), P11_TOKEN_EXISTS);
	assert_non_null(strstr(p11_describe(&t, buf, sizeof buf), "exists"));
	/* label longer than 32 bytes */
	memset(&t, 0, sizeof t);
	assert_int_equal(p11_init_token(&t, hsm.module,
	    "0123456789012345678901234567890123", SO_PIN, strlen(SO_PIN),
	    USER_PIN, strlen(USER_PIN)), -EINVAL);

	/* wrong user PIN: C_Login fails with CKR_PIN_INCORRECT */
	memset(&t, 0, sizeof t);
	assert_int_equal(p11_open(&t, hsm.module, LABEL, NULL, "wrong-pin", 9),
	    -EIO);
	assert_string_equal(t.last_fn, "C_Login");
	assert_int_equal(t.last_rv, CKR_PIN_INCORRECT);
	assert_string_equal(p11_describe(&t, buf, sizeof buf),
	    "C_Login failed: CKR_PIN_INCORRECT");

	memset(&tok, 0, sizeof tok);
	assert_int_equal(p11_open(&tok, hsm.module, LABEL, NULL, USER_PIN,
	    strlen(USER_PIN)), 0);
}

static CK_BBOOL get_bool(CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = 0xee;
	CK_ATTRIBUTE a = { type, &v, sizeof v };

	assert_int_equal(tok.f->C_GetAttributeValue(tok.session, h, &a, 1),
	    CKR_OK);
	assert_true(v == CK_TRUE || v == CK_FALSE);
	return v;
}

static void check_attributes(const uint8_t *id, enum p11_key_type type,
    bool extractable)
{
	CK_OBJECT_HANDLE priv, pub;
	enum p11_key_type got;
	uint8_t buf[1024];
	CK_ATTRIBUTE a = { type <= P11_KEY_EC_P384 ? CKA_VALUE :
	    CKA_PRIVATE_EXPONENT, buf, sizeof buf };

	assert_int_equal(p11_find_key(&tok, id, &priv, &pub, &got), 0);
	assert_int_equal(got, type);
	assert_int_equal(get_bool(priv, CKA_TOKEN), CK_TRUE);
	assert_int_equal(get_bool(priv, CKA_PRIVATE), CK_TRUE);
	assert_int_equal(get_bool(priv, CKA_SENSITIVE), CK_TRUE);
	assert_int_equal(get_bool(priv, CKA_ALWAYS_SENSITIVE), CK_TRUE);
	assert_int_equal(get_bool(priv, CKA_EXTRACTABLE),
	    extractable ? CK_TRUE : CK_FALSE);
	assert_int_equal(get_bool(priv, CKA_NEVER_EXTRACTABLE),
	    extractable ? CK_FALSE : CK_TRUE);
	assert_int_equal(get_bool(priv, CKA_WRAP_WITH_TRUSTED), CK_TRUE);
	assert_int_equal(get_bool(priv, CKA_SIGN), CK_TRUE);
	assert_int_equal(get_bool(priv, CKA_SIGN_RECOVER), CK_FALSE);
	assert_int_equal(get_bool(priv, CKA_DECRYPT), CK_FALSE);
	assert_int_equal(get_bool(priv, CKA_UNWRAP), CK_FALSE);
	assert_int_equal(get_bool(priv, CKA_DERIVE), CK_FALSE);
	assert_int_equal(get_bool(pub, CKA_VERIFY), CK_TRUE);
	assert_int_equal(get_bool(pub, CKA_ENCRYPT), CK_FALSE);
	assert_int_equal(get_bool(pub, CKA_WRAP), CK_FALSE);
	assert_int_equal(get_bool(pub, CKA_DERIVE), CK_FALSE);
	/* the secret itself never comes out */
	assert_int_equal(tok.f->C_GetAttributeValue(tok.session, priv, &a, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	assert_true(a.ulValueLen == CK_UNAVAILABLE_INFORMATION);
}

static EVP_PKEY *spki_key(const uint8_t *spki, size_t len)
{
	const unsigned char *p = spki;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);

	assert_non_null(k);
	assert_ptr_equal(p, spki + len);
	return k;
}

/* Sign a random digest on the token and verify it with OpenSSL. */
static void sign_verify(const uint8_t *id, EVP_PKEY *pk, enum p11_mech mech,
    enum der_hash h, uint32_t salt)
{
	uint8_t d[64], sig[P11_SIG_MAX];
	size_t dlen = der_hash_len(h), siglen = 0;

	RAND_bytes(d, sizeof d);
	assert_int_equal(p11_sign(&tok, id, mech, h, salt, d, dlen, sig,
	    &siglen), 0);
	assert_int_equal(test_sig_verifies(pk, mech, h, salt, d, sig, siglen), 1);
	d[0] ^= 1;   /* leftmost: ECDSA truncates long digests */
	assert_int_equal(test_sig_verifies(pk, mech, h, salt, d, sig, siglen), 0);
}

/* A CSR for pub, signed by some other key (the SCM ignores that signature). */
static uint8_t *make_csr(EVP_PKEY *pub, size_t *len)
{
	EVP_PKEY *junk = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n;

	assert_non_null(junk);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Taro Yamada", -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, pub), 1);
	assert_true(X509_REQ_sign(req, junk, EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(junk);
	return der;
}

static void check_csr(const uint8_t *id, enum p11_key_type type, EVP_PKEY *pk)
{
	uint8_t *csr, *out = NULL;
	size_t csrlen, outlen = 0;
	const unsigned char *p;
	X509_REQ *req;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	EVP_PKEY *other;
	int want;

	csr = make_csr(pk, &csrlen);
	assert_int_equal(p11_sign_csr(&tok, id, csr, csrlen, &out, &outlen), 0);
	p = out;
	req = d2i_X509_REQ(NULL, &p, (long)outlen);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, pk), 1);
	X509_REQ_get0_signature(req, NULL, &alg);
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	want = type == P11_KEY_EC_P256 ? NID_ecdsa_with_SHA256 :
	    type == P11_KEY_EC_P384 ? NID_ecdsa_with_SHA384 :
	    NID_sha256WithRSAEncryption;
	assert_int_equal(OBJ_obj2nid(obj), want);
	X509_REQ_free(req);
	free(out);

	/* truncated / trailing garbage */
	assert_int_equal(p11_sign_csr(&tok, id, csr, csrlen - 1, &out,
	    &outlen), P11_BAD_CSR);
	OPENSSL_free(csr);

	/* a request for another public key is refused */
	other = EVP_EC_gen(type == P11_KEY_EC_P384 ? "P-384" : "P-256");
	csr = make_csr(other, &csrlen);
	assert_int_equal(p11_sign_csr(&tok, id, csr, csrlen, &out, &outlen),
	    P11_KEY_MISMATCH);
	OPENSSL_free(csr);
	EVP_PKEY_free(other);
}

static void one_key(enum p11_key_type type, bool extractable)
{
	uint8_t id[P11_KEY_ID_LEN], d[64] = { 0 }, sig[P11_SIG_MAX];
	uint8_t *spki = NULL, *spki2 = NULL, *x = NULL;
	size_t len = 0, len2 = 0, xl = 0, siglen;
	enum p11_key_type got;
	bool ec = type <= P11_KEY_EC_P384;
	size_t modlen = type == P11_KEY_RSA_2048 ? 256 : 384;
	EVP_PKEY *pk;

	RAND_bytes(id, sizeof id);
	assert_int_equal(p11_keygen(&tok, id, type, extractable, &spki, &len),
	    0);
	pk = spki_key(spki, len);
	/* the id is taken now */
	assert_int_equal(p11_keygen(&tok, id, type, extractable, &x, &xl),
	    P11_EXISTS);
	assert_int_equal(p11_pubkey(&tok, id, &spki2, &len2, &got), 0);
	assert_int_equal(got, type);
	assert_int_equal(len2, len);
	assert_memory_equal(spki2, spki, len);
	free(spki2);

	check_attributes(id, type, extractable);

	if (ec) {
		sign_verify(id, pk, P11_MECH_ECDSA, DER_HASH_SHA256, 0);
		sign_verify(id, pk, P11_MECH_ECDSA, DER_HASH_SHA384, 0);
		sign_verify(id, pk, P11_MECH_ECDSA, DER_HASH_SHA512, 0);
		assert_int_equal(p11_sign(&tok, id, P11_MECH_RSA_PKCS1,
		    DER_HASH_SHA256, 0, d, 32, sig, &siglen),
		    P11_MECH_MISMATCH);
		assert_int_equal(p11_sign(&tok, id, P11_MECH_RSA_PSS,
		    DER_HASH_SHA256, 32, d, 32, sig, &siglen),
		    P11_MECH_MISMATCH);
	} else {
		for (enum der_hash h = DER_HASH_SHA256; h <= DER_HASH_SHA512;
		    h++) {
			size_t hl = der_hash_len(h);
			sign_verify(id, pk, P11_MECH_RSA_PKCS1, h, 0);
			sign_verify(id, pk, P11_MECH_RSA_PSS, h, 0);
			sign_verify(id, pk, P11_MECH_RSA_PSS, h, (uint32_t)hl);
			/* largest salt: emLen - hLen - 2 */
			sign_verify(id, pk, P11_MECH_RSA_PSS, h,
			    (uint32_t)(modlen - hl - 2));
			assert_int_equal(p11_sign(&tok, id, P11_MECH_RSA_PSS, h,
			    (uint32_t)(modlen - hl - 1), d, hl, sig, &siglen),
			    P11_SALT_TOO_LONG);
		}
		assert_int_equal(p11_sign(&tok, id, P11_MECH_ECDSA,
		    DER_HASH_SHA256, 0, d, 32, sig, &siglen),
		    P11_MECH_MISMATCH);
		/* salt only for PSS */
		assert_int_equal(p11_sign(&tok, id, P11_MECH_RSA_PKCS1,
		    DER_HASH_SHA256, 32, d, 32, sig, &siglen), -EINVAL);
	}
	/* digest length must be exactly the hash length */
	assert_int_equal(p11_sign(&tok, id, ec ? P11_MECH_ECDSA :
	    P11_MECH_RSA_PKCS1, DER_HASH_SHA256, 0, d, 31, sig, &siglen),
	    P11_DIGEST_LENGTH);
	assert_int_equal(p11_sign(&tok, id, ec ? P11_MECH_ECDSA :
	    P11_MECH_RSA_PKCS1, DER_HASH_SHA384, 0, d, 32, sig, &siglen),
	    P11_DIGEST_LENGTH);
	assert_int_equal(p11_sign(&tok, id, ec ? P11_MECH_ECDSA :
	    P11_MECH_RSA_PKCS1, DER_HASH_NONE, 0, d, 32, sig, &siglen),
	    P11_UNSUPPORTED);

	check_csr(id, type, pk);

	assert_int_equal(p11_destroy(&tok, id), 0);
	assert_int_equal(p11_sign(&tok, id, ec ? P11_MECH_ECDSA :
	    P11_MECH_RSA_PKCS1, DER_HASH_SHA256, 0, d, 32, sig, &siglen),
	    P11_NOT_FOUND);
	assert_int_equal(p11_pubkey(&tok, id, &x, &xl, &got), P11_NOT_FOUND);
	assert_int_equal(p11_destroy(&tok, id), P11_NOT_FOUND);
	EVP_PKEY_free(pk);
	free(spki);
}

static void test_p256(void **state) { one_key(P11_KEY_EC_P256, false); }
static void test_p256_backup(void **state) { one_key(P11_KEY_EC_P256, true); }
static void test_p384(void **state) { one_key(P11_KEY_EC_P384, false); }
static void test_rsa2048(void **state) { one_key(P11_KEY_RSA_2048, false); }
static void test_rsa3072(void **state) { one_key(P11_KEY_RSA_3072, true); }

static void test_bad_type(void **state)
{
	uint8_t id[P11_KEY_ID_LEN] = { 1 }, *spki = NULL;
	size_t len;

	assert_int_equal(p11_keygen(&tok, id, P11_KEY_NONE, false, &spki,
	    &len), P11_UNSUPPORTED);
	assert_int_equal(p11_keygen(&tok, id, (enum p11_key_type)9, false,
	    &spki, &len), P11_UNSUPPORTED);
}

/* Keys survive a restart and are found again by CKA_ID (cache miss path);
 * a key destroyed behind the cache's back is reported as gone. */
static void test_reopen_and_stale(void **state)
{
	uint8_t id1[P11_KEY_ID_LEN], id2[P11_KEY_ID_LEN], d[32] = { 0 };
	uint8_t *spki, sig[P11_SIG_MAX];
	size_t len, siglen;
	CK_OBJECT_HANDLE priv, pub;
	enum p11_key_type got;
	CK_TOKEN_INFO ti;
	char serial[17];
	EVP_PKEY *pk;

	RAND_bytes(id1, sizeof id1);
	RAND_bytes(id2, sizeof id2);
	assert_int_equal(p11_keygen(&tok, id1, P11_KEY_EC_P384, false, &spki,
	    &len), 0);
	pk = spki_key(spki, len);
	free(spki);
	assert_int_equal(p11_keygen(&tok, id2, P11_KEY_RSA_2048, false, &spki,
	    &len), 0);
	free(spki);

	/* reopen, this time selecting the token by its serial number */
	assert_int_equal(tok.f->C_GetTokenInfo(tok.slot, &ti), CKR_OK);
	memcpy(serial, ti.serialNumber, sizeof ti.serialNumber);
	serial[sizeof ti.serialNumber] = '\0';
	for (size_t i = strlen(serial); i > 0 && serial[i - 1] == ' '; i--)
		serial[i - 1] = '\0';
	p11_close(&tok);
	memset(&tok, 0, sizeof tok);
	assert_int_equal(p11_open(&tok, hsm.module, NULL, "no-such-serial", USER_PIN,
	    strlen(USER_PIN)), P11_TOKEN_NOT_FOUND);
	memset(&tok, 0, sizeof tok);
	assert_int_equal(p11_open(&tok, hsm.module, NULL, serial, USER_PIN,
	    strlen(USER_PIN)), 0);
	assert_int_equal(p11_find_key(&tok, id2, &priv, &pub, &got), 0);
	assert_int_equal(got, P11_KEY_RSA_2048);
	sign_verify(id1, pk, P11_MECH_ECDSA, DER_HASH_SHA384, 0);
	assert_int_equal(p11_find_key(&tok, id1, &priv, &pub, &got), 0);
	assert_int_equal(got, P11_KEY_EC_P384);

	/* destroyed without p11_destroy: the cached handle is stale */
	assert_int_equal(tok.f->C_DestroyObject(tok.session, priv), CKR_OK);
	assert_int_equal(tok.f->C_DestroyObject(tok.session, pub), CKR_OK);
	assert_int_equal(p11_sign(&tok, id1, P11_MECH_ECDSA, DER_HASH_SHA256,
	    0, d, 32, sig, &siglen), P11_NOT_FOUND);
	assert_int_equal(p11_destroy(&tok, id2), 0);
	EVP_PKEY_free(pk);
}

int main(void)
{
	if (!test_softhsm_available())
		return 77;              /* meson: skipped */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_errors),
		cmocka_unit_test(test_init_token),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_p256),
		cmocka_unit_test(test_p256_backup),
		cmocka_unit_test(test_p384),
		cmocka_unit_test(test_rsa2048),
		cmocka_unit_test(test_rsa3072),
		cmocka_unit_test(test_reopen_and_stale),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
