/* cms.c — detached CMS SignedData with an externally made signature. Only
 * public OpenSSL 3.0 API is used: OpenSSL does not export the encoder of the
 * signed attributes, so their DER is built here the way RFC 5652 5.4 says
 * (each Attribute DER-encoded, SET OF sorted, explicit SET tag). */
#include "cms.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/objects.h>

/* Signed attributes we put in: content-type, message-digest,
 * signing-certificate-v2. A few more fit, in case OpenSSL adds some. */
#define CMS_MAX_ATTRS 16

int cms_choose_algo(EVP_PKEY *pub, struct cms_algo *out)
{
	memset(out, 0, sizeof(*out));
	if (EVP_PKEY_is_a(pub, "EC")) {
		char group[64];
		size_t glen = 0;
		int nid;

		if (!EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME,
		    group, sizeof(group), &glen))
			return -ENOTSUP;
		nid = OBJ_txt2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		out->is_ec = 1;
		if (nid == NID_X9_62_prime256v1) {
			out->name = "ecdsa-with-SHA256";
			out->sign_oid = "1.2.840.10045.4.3.2";
			out->hash_oid = "2.16.840.1.101.3.4.2.1";
			out->md_name = "SHA256";
			out->md_len = 32;
			out->coord_len = 32;
			return 0;
		}
		if (nid == NID_secp384r1) {
			out->name = "ecdsa-with-SHA384";
			out->sign_oid = "1.2.840.10045.4.3.3";
			out->hash_oid = "2.16.840.1.101.3.4.2.2";
			out->md_name = "SHA384";
			out->md_len = 48;
			out->coord_len = 48;
			return 0;
		}
		return -ENOTSUP;
	}
	if (EVP_PKEY_is_a(pub, "RSA")) {
		int bits = EVP_PKEY_get_bits(pub);

		if (bits < 2048 || bits > 4096)
			return -ENOTSUP;
		out->name = "sha256WithRSAEncryption";
		out->sign_oid = "1.2.840.113549.1.1.11";
		out->hash_oid = "2.16.840.1.101.3.4.2.1";
		out->md_name = "SHA256";
		out->md_len = 32;
		return 0;
	}
	return -ENOTSUP;
}

int cms_digest_fd(int fd, const struct cms_algo *algo, uint8_t *out,
    size_t *len)
{
	EVP_MD_CTX *ctx = NULL;
	EVP_MD *md = NULL;
	uint8_t buf[65536];
	unsigned int n = 0;
	int r = -ENOMEM;

	md = EVP_MD_fetch(NULL, algo->md_name, NULL);
	ctx = EVP_MD_CTX_new();
	if (md == NULL || ctx == NULL || !EVP_DigestInit_ex(ctx, md, NULL))
		goto out;
	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (got == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)got))
			goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, out, &n) || n != algo->md_len) {
		r = -EIO;
		goto out;
	}
	*len = n;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return r;
}

/* ESS signing-certificate-v2 (RFC 5035): SHA-256 of the certificate DER
 * plus its issuer and serial, so the signer certificate cannot be swapped. */
static int add_signing_cert_v2(CMS_SignerInfo *si, X509 *cert)
{
	ESS_SIGNING_CERT_V2 *sc = NULL;
	unsigned char *der = NULL;
	int len, r = -ENOMEM;

	sc = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, NULL, 1);
	if (sc == NULL)
		goto out;
	len = i2d_ESS_SIGNING_CERT_V2(sc, &der);
	if (len <= 0)
		goto out;
	if (!CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2,
	    V_ASN1_SEQUENCE, der, len))
		goto out;
	r = 0;
out:
	OPENSSL_free(der);
	ESS_SIGNING_CERT_V2_free(sc);
	return r;
}

int cms_prepare(X509 *cert, STACK_OF(X509) *chain, const struct cms_algo *algo,
    const uint8_t *content_digest, size_t digest_len,
    CMS_ContentInfo **cmsp, CMS_SignerInfo **sip)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	EVP_PKEY *pub;
	EVP_MD *md = NULL;
	int i, j, r = -EINVAL;

	if (digest_len != algo->md_len)
		return -EINVAL;
	pub = X509_get0_pubkey(cert);
	if (pub == NULL)
		return -EINVAL;
	md = EVP_MD_fetch(NULL, algo->md_name, NULL);
	if (md == NULL)
		return -ENOTSUP;

	/* An empty detached SignedData of id-data, nothing signed yet. */
	cms = CMS_sign(NULL, NULL, NULL, NULL,
	    CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
	if (cms == NULL) {
		r = -ENOMEM;
		goto err;
	}
	/* The public key satisfies CMS_add1_signer's key/certificate match and
	 * sets the signatureAlgorithm; CMS_PARTIAL keeps it from signing.
	 * No S/MIME capabilities; the ESS attribute is added below. */
	si = CMS_add1_signer(cms, cert, pub, md,
	    CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP);
	if (si == NULL)
		goto err;

	r = -ENOMEM;
	if (!CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType,
	    V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1))
		goto err;
	if (!CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest,
	    V_ASN1_OCTET_STRING, content_digest, (int)digest_len))
		goto err;
	r = add_signing_cert_v2(si, cert);
	if (r < 0)
		goto err;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		int dup = X509_cmp(c, cert) == 0;

		for (j = 0; j < i && !dup; j++)
			dup = X509_cmp(c, sk_X509_value(chain, j)) == 0;
		if (dup)
			continue;
		if (!CMS_add1_cert(cms, c)) {
			r = -ENOMEM;
			goto err;
		}
	}
	EVP_MD_free(md);
	*cmsp = cms;
	*sip = si;
	return 0;
err:
	CMS_ContentInfo_free(cms);
	EVP_MD_free(md);
	return r;
}

struct der_item {
	unsigned char *p;
	size_t len;
};

/* DER SET OF order (X.690 11.6): octet-string comparison, a proper prefix
 * first — the same rule OpenSSL applies when it writes the SET. */
static int der_item_cmp(const void *a, const void *b)
{
	const struct der_item *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Definite-length DER header for a SET of len bytes; returns its size. */
static size_t der_set_header(size_t len, uint8_t hdr[6])
{
	size_t n = 0;

	hdr[n++] = 0x31;
	if (len < 0x80) {
		hdr[n++] = (uint8_t)len;
	} else if (len <= 0xff) {
		hdr[n++] = 0x81;
		hdr[n++] = (uint8_t)len;
	} else if (len <= 0xffff) {
		hdr[n++] = 0x82;
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	} else {
		hdr[n++] = 0x83;
		hdr[n++] = (uint8_t)(len >> 16);
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	}
	return n;
}

int cms_signed_attrs_hash(CMS_SignerInfo *si, const struct cms_algo *algo,
    uint8_t *tbs_hash, size_t *tbs_len)
{
	struct der_item items[CMS_MAX_ATTRS];
	EVP_MD_CTX *ctx = NULL;
	EVP_MD *md = NULL;
	uint8_t hdr[6];
	size_t total = 0, hlen;
	unsigned int n = 0;
	int count, i, r = -EINVAL;

	memset(items, 0, sizeof(items));
	count = CMS_signed_get_attr_count(si);
	if (count <= 0 || count > CMS_MAX_ATTRS)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		X509_ATTRIBUTE *a = CMS_signed_get_attr(si, i);
		int len = a != NULL ? i2d_X509_ATTRIBUTE(a, &items[i].p) : -1;

		if (len <= 0)
			goto out;
		items[i].len = (size_t)len;
		total += (size_t)len;
	}
	if (total > 0xffffff)
		goto out;
	qsort(items, (size_t)count, sizeof(items[0]), der_item_cmp);
	hlen = der_set_header(total, hdr);

	r = -ENOMEM;
	md = EVP_MD_fetch(NULL, algo->md_name, NULL);
	ctx = EVP_MD_CTX_new();
	if (md == NULL || ctx == NULL || !EVP_DigestInit_ex(ctx, md, NULL) ||
	    !EVP_DigestUpdate(ctx, hdr, hlen))
		goto out;
	for (i = 0; i < count; i++)
		if (!EVP_DigestUpdate(ctx, items[i].p, items[i].len))
			goto out;
	if (!EVP_DigestFinal_ex(ctx, tbs_hash, &n) || n != algo->md_len)
		goto out;
	*tbs_len = n;
	r = 0;
out:
	for (i = 0; i < CMS_MAX_ATTRS; i++)
		OPENSSL_free(items[i].p);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return r;
}

/* A strict DER ECDSA-Sig-Value re-encodes to the same bytes. */
static int is_der_ecdsa_sig(const uint8_t *sig, size_t len)
{
	const unsigned char *p = sig;
	unsigned char *re = NULL;
	ECDSA_SIG *s;
	int ok = 0, rlen;

	s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (s == NULL) {
		ERR_clear_error();
		return 0;
	}
	if (p == sig + len) {
		rlen = i2d_ECDSA_SIG(s, &re);
		ok = rlen > 0 && (size_t)rlen == len && memcmp(re, sig, len) == 0;
	}
	OPENSSL_free(re);
	ECDSA_SIG_free(s);
	return ok;
}

int cms_set_signature(CMS_SignerInfo *si, const struct cms_algo *algo,
    const uint8_t *sig, size_t sig_len)
{
	ASN1_OCTET_STRING *os = CMS_SignerInfo_get0_signature(si);
	unsigned char *der = NULL;
	int r = -EINVAL;

	if (os == NULL || sig_len == 0 || sig_len > 2048)
		return -EINVAL;
	if (algo->is_ec && !is_der_ecdsa_sig(sig, sig_len)) {
		/* Some services return raw r||s (PKCS#11 CKM_ECDSA format). */
		ECDSA_SIG *s;
		BIGNUM *br, *bs;
		int len;

		if (sig_len != 2 * algo->coord_len)
			return -EINVAL;
		s = ECDSA_SIG_new();
		br = BN_bin2bn(sig, (int)algo->coord_len, NULL);
		bs = BN_bin2bn(sig + algo->coord_len, (int)algo->coord_len, NULL);
		if (s == NULL || br == NULL || bs == NULL ||
		    !ECDSA_SIG_set0(s, br, bs)) {
			BN_free(br);
			BN_free(bs);
			ECDSA_SIG_free(s);
			return -ENOMEM;
		}
		len = i2d_ECDSA_SIG(s, &der);
		ECDSA_SIG_free(s);
		if (len <= 0)
			return -ENOMEM;
		r = ASN1_STRING_set(os, der, len) ? 0 : -ENOMEM;
		OPENSSL_free(der);
		return r;
	}
	return ASN1_STRING_set(os, sig, (int)sig_len) ? 0 : -ENOMEM;
}

int cms_finish(CMS_ContentInfo *cms, BIO *content, uint8_t **derp,
    size_t *der_len)
{
	CMS_ContentInfo *copy = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len, r = -ENOMEM;

	len = i2d_CMS_ContentInfo(cms, &der);
	if (len <= 0)
		goto out;
	/* Verify exactly the bytes that will be written. */
	p = der;
	copy = d2i_CMS_ContentInfo(NULL, &p, len);
	if (copy == NULL || p != der + len) {
		r = -EBADMSG;
		goto out;
	}
	if (BIO_reset(content) < 0) {
		r = -EIO;
		goto out;
	}
	if (CMS_verify(copy, NULL, NULL, content, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY | CMS_DETACHED) != 1) {
		r = -EBADMSG;
		goto out;
	}
	*derp = malloc((size_t)len);
	if (*derp == NULL)
		goto out;
	memcpy(*derp, der, (size_t)len);
	*der_len = (size_t)len;
	r = 0;
out:
	CMS_ContentInfo_free(copy);
	OPENSSL_free(der);
	return r;
}

int cms_sign_detached(X509 *cert, STACK_OF(X509) *chain,
    const struct cms_algo *algo, const uint8_t *content_digest,
    size_t digest_len, BIO *content, cms_signer_fn signer, void *arg,
    uint8_t **der, size_t *der_len)
{
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	uint8_t tbs[EVP_MAX_MD_SIZE];
	size_t tbs_len = 0, sig_len = 0;
	uint8_t *sig = NULL;
	int r;

	r = cms_prepare(cert, chain, algo, content_digest, digest_len, &cms, &si);
	if (r < 0)
		return r;
	r = cms_signed_attrs_hash(si, algo, tbs, &tbs_len);
	if (r < 0)
		goto out;
	r = signer(arg, tbs, tbs_len, &sig, &sig_len);
	if (r < 0)
		goto out;
	r = cms_set_signature(si, algo, sig, sig_len);
	if (r < 0)
		goto out;
	r = cms_finish(cms, content, der, der_len);
out:
	free(sig);
	CMS_ContentInfo_free(cms);
	return r;
}
