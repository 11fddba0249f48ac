/* test-cms.c — unit test of tools/cms.c: a detached CMS built with only the
 * certificate's public key, signed through the callback by a software key,
 * must verify with OpenSSL (certificate trusted) and must stop verifying
 * when one byte of the content changes. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cms.h"

static const char content[] =
	"inkan test document: the quick brown fox jumps over the lazy dog\n";

struct soft_signer {
	EVP_PKEY *key;
	const char *md;
	int raw_ec;       /* return r||s instead of DER */
	int corrupt;      /* sign something else */
	int calls;
	size_t last_hash_len;
};

static int soft_sign(void *arg, const uint8_t *hash, size_t hash_len,
    uint8_t **sig, size_t *sig_len)
{
	struct soft_signer *s = arg;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(s->key, NULL);
	uint8_t h[EVP_MAX_MD_SIZE];
	size_t len = 0;

	s->calls++;
	s->last_hash_len = hash_len;
	memcpy(h, hash, hash_len);
	if (s->corrupt)
		h[0] ^= 1;
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	if (EVP_PKEY_is_a(s->key, "RSA"))
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx,
	    EVP_get_digestbyname(s->md)), 1);
	assert_int_equal(EVP_PKEY_sign(ctx, NULL, &len, h, hash_len), 1);
	*sig = malloc(len);
	assert_non_null(*sig);
	assert_int_equal(EVP_PKEY_sign(ctx, *sig, &len, h, hash_len), 1);
	EVP_PKEY_CTX_free(ctx);

	if (s->raw_ec) {
		const unsigned char *p = *sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		size_t n = (size_t)EVP_PKEY_get_bits(s->key) / 8;
		uint8_t *raw = malloc(2 * n);

		assert_non_null(es);
		assert_non_null(raw);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)n), (int)n);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + n, (int)n), (int)n);
		ECDSA_SIG_free(es);
		free(*sig);
		*sig = raw;
		len = 2 * n;
	}
	*sig_len = len;
	return 0;
}

static X509 *self_signed_named(EVP_PKEY *key, const char *cn, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
	    "critical,digitalSignature,nonRepudiation");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static X509 *self_signed(EVP_PKEY *key)
{
	return self_signed_named(key, "inkan test signer", 4242);
}

/* Digest content through cms_digest_fd, as inkan-sign does with the file. */
static void digest_content(const struct cms_algo *algo, const char *data,
    size_t len, uint8_t *out, size_t *out_len)
{
	int fd = memfd_create("content", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(cms_digest_fd(fd, algo, out, out_len), 0);
	close(fd);
}

/* Full OpenSSL verification with cert as the only trust anchor. */
static int verify_trusted(const uint8_t *der, size_t der_len, X509 *cert,
    const char *data, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len);
	X509_STORE *store = X509_STORE_new();
	BIO *in = BIO_new_mem_buf(data, (int)len);
	int ok;

	assert_non_null(cms);
	assert_ptr_equal(p, der + der_len);
	assert_non_null(store);
	assert_int_equal(X509_STORE_add_cert(store, cert), 1);
	ok = CMS_verify(cms, NULL, store, in, NULL, CMS_BINARY | CMS_DETACHED);
	ERR_clear_error();
	BIO_free(in);
	X509_STORE_free(store);
	CMS_ContentInfo_free(cms);
	return ok;
}

static void check_attrs(const uint8_t *der, size_t der_len,
    const uint8_t *digest, size_t digest_len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len);
	CMS_SignerInfo *si;
	ASN1_OCTET_STRING *md;
	ASN1_OBJECT *ct;

	assert_non_null(cms);
	assert_true(CMS_is_detached(cms));
	assert_int_equal(sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)), 1);
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	assert_int_equal(CMS_signed_get_attr_count(si), 3);
	ct = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType),
	    -3, V_ASN1_OBJECT);
	assert_non_null(ct);
	assert_int_equal(OBJ_obj2nid(ct), NID_pkcs7_data);
	md = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest),
	    -3, V_ASN1_OCTET_STRING);
	assert_non_null(md);
	assert_int_equal(ASN1_STRING_length(md), (int)digest_len);
	assert_memory_equal(ASN1_STRING_get0_data(md), digest, digest_len);
	assert_true(CMS_signed_get_attr_by_NID(si,
	    NID_id_smime_aa_signingCertificateV2, -1) >= 0);
	CMS_ContentInfo_free(cms);
}

static void run_case(EVP_PKEY *key, const char *want_sign_oid, int raw_ec)
{
	X509 *cert = self_signed(key);
	struct cms_algo algo;
	struct soft_signer ss = { .key = key, .raw_ec = raw_ec };
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t dlen = 0, der_len = 0;
	uint8_t *der = NULL;
	char *changed;
	BIO *in;

	assert_int_equal(cms_choose_algo(X509_get0_pubkey(cert), &algo), 0);
	assert_string_equal(algo.sign_oid, want_sign_oid);
	ss.md = algo.md_name;
	digest_content(&algo, content, sizeof(content) - 1, digest, &dlen);
	assert_int_equal(dlen, algo.md_len);

	in = BIO_new_mem_buf(content, sizeof(content) - 1);
	assert_int_equal(cms_sign_detached(cert, NULL, &algo, digest, dlen, in,
	    soft_sign, &ss, &der, &der_len), 0);
	BIO_free(in);
	assert_int_equal(ss.calls, 1);
	assert_int_equal(ss.last_hash_len, algo.md_len);

	check_attrs(der, der_len, digest, dlen);
	assert_int_equal(verify_trusted(der, der_len, cert, content,
	    sizeof(content) - 1), 1);

	changed = strdup(content);
	assert_non_null(changed);
	changed[10] ^= 0x20;
	assert_int_equal(verify_trusted(der, der_len, cert, changed,
	    sizeof(content) - 1), 0);
	/* One byte more also breaks it. */
	assert_int_equal(verify_trusted(der, der_len, cert, content,
	    sizeof(content)), 0);
	free(changed);
	free(der);
	X509_free(cert);
}

static void test_ec_p256(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	assert_non_null(key);
	run_case(key, "1.2.840.10045.4.3.2", 0);
	EVP_PKEY_free(key);
}

static void test_ec_p256_raw_signature(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	assert_non_null(key);
	run_case(key, "1.2.840.10045.4.3.2", 1);
	EVP_PKEY_free(key);
}

static void test_ec_p384(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-384");

	assert_non_null(key);
	run_case(key, "1.2.840.10045.4.3.3", 0);
	EVP_PKEY_free(key);
}

static void test_rsa2048(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);

	assert_non_null(key);
	run_case(key, "1.2.840.113549.1.1.11", 0);
	EVP_PKEY_free(key);
}

/* A signature over anything but the attribute hash never yields output. */
static void test_bad_signature_refused(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = self_signed(key);
	struct cms_algo algo;
	struct soft_signer ss = { .key = key, .corrupt = 1 };
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t dlen = 0, der_len = 0;
	uint8_t *der = NULL;
	BIO *in = BIO_new_mem_buf(content, sizeof(content) - 1);

	assert_int_equal(cms_choose_algo(X509_get0_pubkey(cert), &algo), 0);
	ss.md = algo.md_name;
	digest_content(&algo, content, sizeof(content) - 1, digest, &dlen);
	assert_int_equal(cms_sign_detached(cert, NULL, &algo, digest, dlen, in,
	    soft_sign, &ss, &der, &der_len), -EBADMSG);
	assert_null(der);
	ERR_clear_error();
	BIO_free(in);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* The wrong content digest (hash of other data) is caught locally too. */
static void test_wrong_content_refused(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = self_signed(key);
	struct cms_algo algo;
	struct soft_signer ss = { .key = key };
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t dlen = 0, der_len = 0;
	uint8_t *der = NULL;
	BIO *in = BIO_new_mem_buf(content, sizeof(content) - 2);

	assert_int_equal(cms_choose_algo(X509_get0_pubkey(cert), &algo), 0);
	ss.md = algo.md_name;
	digest_content(&algo, content, sizeof(content) - 1, digest, &dlen);
	assert_int_equal(cms_sign_detached(cert, NULL, &algo, digest, dlen, in,
	    soft_sign, &ss, &der, &der_len), -EBADMSG);
	ERR_clear_error();
	BIO_free(in);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* Chain certificates end up in the SignedData, duplicates once. */
static void test_chain_added(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256"), *ca_key = EVP_EC_gen("P-256");
	X509 *cert = self_signed(key);
	X509 *ca = self_signed_named(ca_key, "inkan test CA", 1);
	STACK_OF(X509) *chain = sk_X509_new_null(), *got;
	struct cms_algo algo;
	struct soft_signer ss = { .key = key };
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t dlen = 0, der_len = 0;
	uint8_t *der = NULL;
	const unsigned char *p;
	CMS_ContentInfo *cms;
	BIO *in = BIO_new_mem_buf(content, sizeof(content) - 1);

	assert_int_equal(sk_X509_push(chain, ca), 1);
	assert_int_equal(sk_X509_push(chain, cert), 2);
	assert_int_equal(sk_X509_push(chain, ca), 3);
	assert_int_equal(cms_choose_algo(X509_get0_pubkey(cert), &algo), 0);
	ss.md = algo.md_name;
	digest_content(&algo, content, sizeof(content) - 1, digest, &dlen);
	assert_int_equal(cms_sign_detached(cert, chain, &algo, digest, dlen, in,
	    soft_sign, &ss, &der, &der_len), 0);
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len);
	assert_non_null(cms);
	got = CMS_get1_certs(cms);
	assert_int_equal(sk_X509_num(got), 2);
	sk_X509_pop_free(got, X509_free);
	CMS_ContentInfo_free(cms);
	free(der);
	BIO_free(in);
	sk_X509_free(chain);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
}

static void test_unsupported_key(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct cms_algo algo;

	assert_non_null(key);
	assert_int_equal(cms_choose_algo(key, &algo), -ENOTSUP);
	EVP_PKEY_free(key);
	key = EVP_EC_gen("P-521");
	assert_non_null(key);
	assert_int_equal(cms_choose_algo(key, &algo), -ENOTSUP);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_p256),
		cmocka_unit_test(test_ec_p256_raw_signature),
		cmocka_unit_test(test_ec_p384),
		cmocka_unit_test(test_rsa2048),
		cmocka_unit_test(test_bad_signature_refused),
		cmocka_unit_test(test_wrong_content_refused),
		cmocka_unit_test(test_chain_added),
		cmocka_unit_test(test_unsupported_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
