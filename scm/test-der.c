/* test-der.c — unit tests of scm/der.c against OpenSSL: DigestInfo bytes and
 * their acceptance by RSA PKCS#1 v1.5 verification, length checks, raw
 * ECDSA r||s -> DER round trips and verification, EC point unwrapping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "der.h"

static const struct {
	enum der_hash h;
	int nid;
	size_t len;
	const EVP_MD *(*md)(void);
} hashes[] = {
	{ DER_HASH_SHA256, NID_sha256, 32, EVP_sha256 },
	{ DER_HASH_SHA384, NID_sha384, 48, EVP_sha384 },
	{ DER_HASH_SHA512, NID_sha512, 64, EVP_sha512 },
};

/* OpenSSL's own encoding of DigestInfo {hash OID, NULL} + digest. */
static int openssl_digest_info(int nid, const uint8_t *d, size_t len,
    uint8_t **out)
{
	X509_SIG *sig = X509_SIG_new();
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *os;
	int n;

	assert_non_null(sig);
	X509_SIG_getm(sig, &alg, &os);
	assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL,
	    NULL), 1);
	assert_int_equal(ASN1_OCTET_STRING_set(os, d, (int)len), 1);
	*out = NULL;
	n = i2d_X509_SIG(sig, out);
	X509_SIG_free(sig);
	assert_true(n > 0);
	return n;
}

static void test_digest_info_bytes(void **state)
{
	uint8_t d[64], out[DER_DIGEST_INFO_MAX], *ref;
	size_t outlen;
	int n;

	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
		assert_int_equal(der_hash_len(hashes[i].h), hashes[i].len);
		RAND_bytes(d, sizeof d);
		assert_int_equal(der_digest_info(hashes[i].h, d, hashes[i].len,
		    out, sizeof out, &outlen), 0);
		n = openssl_digest_info(hashes[i].nid, d, hashes[i].len, &ref);
		assert_int_equal(outlen, (size_t)n);
		assert_memory_equal(out, ref, outlen);
		OPENSSL_free(ref);
	}
	/* Known prefix bytes for SHA-256 (RFC 8017 §9.2 note 1). */
	static const uint8_t p256[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	assert_int_equal(der_digest_info(DER_HASH_SHA256, d, 32, out,
	    sizeof out, &outlen), 0);
	assert_memory_equal(out, p256, sizeof p256);
}

/* What the token does for CKM_RSA_PKCS: PKCS#1 type-1 padding around the
 * DigestInfo, with no hash of its own. OpenSSL's verification with the hash
 * set must accept it. */
static void test_digest_info_rsa_verify(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	uint8_t d[64], di[DER_DIGEST_INFO_MAX], sig[256];
	size_t dilen, siglen;
	EVP_PKEY_CTX *ctx;

	assert_non_null(key);
	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
		RAND_bytes(d, sizeof d);
		assert_int_equal(der_digest_info(hashes[i].h, d, hashes[i].len,
		    di, sizeof di, &dilen), 0);
		ctx = EVP_PKEY_CTX_new(key, NULL);
		assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING), 1);
		siglen = sizeof sig;
		assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, di, dilen), 1);
		EVP_PKEY_CTX_free(ctx);

		ctx = EVP_PKEY_CTX_new(key, NULL);
		assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx,
		    hashes[i].md()), 1);
		assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen, d,
		    hashes[i].len), 1);
		/* and not for another digest */
		d[0] ^= 1;
		assert_int_not_equal(EVP_PKEY_verify(ctx, sig, siglen, d,
		    hashes[i].len), 1);
		EVP_PKEY_CTX_free(ctx);
	}
	EVP_PKEY_free(key);
}

static void test_digest_info_lengths(void **state)
{
	uint8_t d[65] = { 0 }, out[DER_DIGEST_INFO_MAX];
	size_t outlen = 0;
	static const size_t bad[] = { 0, 1, 20, 31, 33, 47, 49, 63, 65 };

	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
		for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
			assert_int_equal(der_digest_info(hashes[i].h, d, bad[j],
			    out, sizeof out, &outlen), -EINVAL);
		for (size_t j = 0; j < sizeof hashes / sizeof hashes[0]; j++)
			if (j != i)
				assert_int_equal(der_digest_info(hashes[i].h, d,
				    hashes[j].len, out, sizeof out, &outlen),
				    -EINVAL);
		/* one byte short of room */
		assert_int_equal(der_digest_info(hashes[i].h, d, hashes[i].len,
		    out, 19 + hashes[i].len - 1, &outlen), -ENOBUFS);
	}
	assert_int_equal(der_digest_info(DER_HASH_NONE, d, 32, out, sizeof out,
	    &outlen), -EINVAL);
	assert_int_equal(der_digest_info((enum der_hash)7, d, 32, out,
	    sizeof out, &outlen), -EINVAL);
	assert_int_equal(der_digest_info(DER_HASH_SHA256, NULL, 32, out,
	    sizeof out, &outlen), -EINVAL);
	assert_int_equal(der_hash_len(DER_HASH_NONE), 0);
}

/* Sign with a software key, take r and s out as fixed-width halves, rebuild
 * the DER with der.c and check it equals OpenSSL's and verifies. Enough
 * rounds that leading-zero and high-bit halves both occur. */
static void ecdsa_round_trips(const char *curve, size_t half, const EVP_MD *md)
{
	EVP_PKEY *key = EVP_EC_gen(curve);
	uint8_t d[64], raw[2 * 66], der[DER_ECDSA_SIG_MAX], sig[200];
	const unsigned char *p;
	size_t siglen, derlen, dlen = (size_t)EVP_MD_get_size(md);
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	EVP_PKEY_CTX *ctx;
	int high = 0, short_half = 0;

	assert_non_null(key);
	for (int round = 0; round < 300; round++) {
		RAND_bytes(d, sizeof d);
		ctx = EVP_PKEY_CTX_new(key, NULL);
		assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
		siglen = sizeof sig;
		assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, d, dlen), 1);
		EVP_PKEY_CTX_free(ctx);
		p = sig;
		es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		assert_int_equal(BN_bn2binpad(r, raw, (int)half), (int)half);
		assert_int_equal(BN_bn2binpad(s, raw + half, (int)half),
		    (int)half);
		if (raw[0] & 0x80 || raw[half] & 0x80)
			high++;
		if (raw[0] == 0 || raw[half] == 0)
			short_half++;

		assert_int_equal(der_ecdsa_raw_to_der(raw, 2 * half, der,
		    sizeof der, &derlen), 0);
		/* DER is canonical: identical to OpenSSL's encoding */
		assert_int_equal(derlen, siglen);
		assert_memory_equal(der, sig, siglen);
		ECDSA_SIG_free(es);

		ctx = EVP_PKEY_CTX_new(key, NULL);
		assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
		assert_int_equal(EVP_PKEY_verify(ctx, der, derlen, d, dlen), 1);
		EVP_PKEY_CTX_free(ctx);
	}
	/* half the halves have the top bit set; 1/128 of them start 0x00 */
	assert_true(high > 0);
	(void)short_half;
	EVP_PKEY_free(key);
}

static void test_ecdsa_p256(void **state)
{
	ecdsa_round_trips("P-256", 32, EVP_sha256());
}

static void test_ecdsa_p384(void **state)
{
	ecdsa_round_trips("P-384", 48, EVP_sha384());
	ecdsa_round_trips("P-384", 48, EVP_sha256());
}

/* Edge cases with exact expected bytes. */
static void test_ecdsa_edges(void **state)
{
	uint8_t raw[64], der[DER_ECDSA_SIG_MAX];
	size_t derlen;
	const unsigned char *p;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;

	/* r = 1 (31 leading zero bytes), s = 0x80 00..00 (high bit: needs a
	 * 0x00 pad byte in DER). */
	memset(raw, 0, sizeof raw);
	raw[31] = 0x01;
	raw[32] = 0x80;
	assert_int_equal(der_ecdsa_raw_to_der(raw, 64, der, sizeof der,
	    &derlen), 0);
	assert_int_equal(derlen, 2 + 3 + 2 + 33);
	static const uint8_t head[] = { 0x30, 0x26, 0x02, 0x01, 0x01, 0x02,
	    0x21, 0x00, 0x80, 0x00 };
	assert_memory_equal(der, head, sizeof head);
	for (size_t i = sizeof head; i < derlen; i++)
		assert_int_equal(der[i], 0);
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	assert_non_null(es);
	assert_ptr_equal(p, der + derlen);
	ECDSA_SIG_get0(es, &r, &s);
	assert_true(BN_is_one(r));
	assert_int_equal(BN_num_bits(s), 256);
	ECDSA_SIG_free(es);

	/* both halves all 0xff: two 33-byte INTEGERs */
	memset(raw, 0xff, sizeof raw);
	assert_int_equal(der_ecdsa_raw_to_der(raw, 64, der, sizeof der,
	    &derlen), 0);
	assert_int_equal(derlen, 2 + 35 + 35);
	assert_int_equal(der[2], 0x02);
	assert_int_equal(der[3], 0x21);
	assert_int_equal(der[4], 0x00);

	/* P-384 size with high bits: SEQUENCE length still short form */
	uint8_t raw384[96];
	memset(raw384, 0xa5, sizeof raw384);
	assert_int_equal(der_ecdsa_raw_to_der(raw384, 96, der, sizeof der,
	    &derlen), 0);
	assert_int_equal(derlen, 2 + 51 + 51);
	assert_int_equal(der[1], 102);

	/* 66-byte halves (P-521 sized) need the long length form */
	uint8_t raw521[132];
	memset(raw521, 0xff, sizeof raw521);
	assert_int_equal(der_ecdsa_raw_to_der(raw521, 132, der, sizeof der,
	    &derlen), 0);
	assert_int_equal(derlen, DER_ECDSA_SIG_MAX);
	assert_int_equal(der[1], 0x81);
}

static void test_ecdsa_refused(void **state)
{
	uint8_t raw[134], der[DER_ECDSA_SIG_MAX];
	size_t derlen;

	memset(raw, 0x11, sizeof raw);
	assert_int_equal(der_ecdsa_raw_to_der(raw, 0, der, sizeof der,
	    &derlen), -EINVAL);
	assert_int_equal(der_ecdsa_raw_to_der(raw, 63, der, sizeof der,
	    &derlen), -EINVAL);
	assert_int_equal(der_ecdsa_raw_to_der(raw, 134, der, sizeof der,
	    &derlen), -EINVAL);
	assert_int_equal(der_ecdsa_raw_to_der(NULL, 64, der, sizeof der,
	    &derlen), -EINVAL);
	/* r = 0 */
	memset(raw, 0, 32);
	assert_int_equal(der_ecdsa_raw_to_der(raw, 64, der, sizeof der,
	    &derlen), -EINVAL);
	/* s = 0 */
	memset(raw, 0x11, 32);
	memset(raw + 32, 0, 32);
	assert_int_equal(der_ecdsa_raw_to_der(raw, 64, der, sizeof der,
	    &derlen), -EINVAL);
	/* too little room */
	memset(raw, 0x11, 64);
	assert_int_equal(der_ecdsa_raw_to_der(raw, 64, der, 20, &derlen),
	    -ENOBUFS);
}

static void test_ec_point(void **state)
{
	uint8_t buf[3 + 97], pt[97];
	const uint8_t *out;

	memset(pt, 0x5a, sizeof pt);
	pt[0] = 0x04;
	/* DER-wrapped P-256 */
	buf[0] = 0x04; buf[1] = 65;
	memcpy(buf + 2, pt, 65);
	assert_int_equal(der_ec_point_unwrap(buf, 67, 65, &out), 0);
	assert_ptr_equal(out, buf + 2);
	/* bare P-256 */
	assert_int_equal(der_ec_point_unwrap(pt, 65, 65, &out), 0);
	assert_ptr_equal(out, pt);
	/* DER-wrapped P-384 */
	buf[0] = 0x04; buf[1] = 97;
	memcpy(buf + 2, pt, 97);
	assert_int_equal(der_ec_point_unwrap(buf, 99, 97, &out), 0);
	/* wrong inner length, wrong total, compressed point, wrong tag */
	buf[1] = 96;
	assert_int_equal(der_ec_point_unwrap(buf, 99, 97, &out), -EINVAL);
	buf[1] = 97;
	assert_int_equal(der_ec_point_unwrap(buf, 98, 97, &out), -EINVAL);
	buf[2] = 0x02;
	assert_int_equal(der_ec_point_unwrap(buf, 99, 97, &out), -EINVAL);
	buf[2] = 0x04; buf[0] = 0x03;
	assert_int_equal(der_ec_point_unwrap(buf, 99, 97, &out), -EINVAL);
	assert_int_equal(der_ec_point_unwrap(buf, 99, 65, &out), -EINVAL);
}

/* CKA_EC_PARAMS constants are what OpenSSL encodes for the curve OIDs. */
static void test_curve_oids(void **state)
{
	unsigned char *p = NULL;
	int n;

	n = i2d_ASN1_OBJECT(OBJ_nid2obj(NID_X9_62_prime256v1), &p);
	assert_int_equal(n, (int)sizeof der_oid_p256);
	assert_memory_equal(p, der_oid_p256, sizeof der_oid_p256);
	OPENSSL_free(p);
	p = NULL;
	n = i2d_ASN1_OBJECT(OBJ_nid2obj(NID_secp384r1), &p);
	assert_int_equal(n, (int)sizeof der_oid_p384);
	assert_memory_equal(p, der_oid_p384, sizeof der_oid_p384);
	OPENSSL_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_info_bytes),
		cmocka_unit_test(test_digest_info_rsa_verify),
		cmocka_unit_test(test_digest_info_lengths),
		cmocka_unit_test(test_ecdsa_p256),
		cmocka_unit_test(test_ecdsa_p384),
		cmocka_unit_test(test_ecdsa_edges),
		cmocka_unit_test(test_ecdsa_refused),
		cmocka_unit_test(test_ec_point),
		cmocka_unit_test(test_curve_oids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
