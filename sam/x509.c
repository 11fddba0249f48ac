/* x509.c — certificates and CSRs with OpenSSL. Everything parsed here comes
 * from the operator or the SCM and is checked strictly: the whole DER input
 * must be consumed, keys are compared as canonical DER. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "algo.h"
#include "sam.h"
#include "x509.h"

#define DN_MAX 4096

void sam_cert_info_clear(struct sam_cert_info *ci)
{
	free(ci->subject_dn);
	free(ci->issuer_dn);
	free(ci->serial_hex);
	memset(ci, 0, sizeof *ci);
}

int sam_x509_parse(const uint8_t *der, size_t len, X509 **out)
{
	const unsigned char *p = der;
	X509 *x;

	*out = NULL;
	if (!der || len == 0 || len > 1024 * 1024)
		return -EINVAL;
	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		X509_free(x);
		ERR_clear_error();
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static char *name_rfc2253(const X509_NAME *nm)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (!b)
		return NULL;
	/* RFC 2253/4514 with UTF-8 left as UTF-8 (not \\XX-escaped); every
	 * string type is converted to UTF-8, so the text is valid UTF-8. */
	if (X509_NAME_print_ex(b, nm, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_get_mem_data(b, &data);
		if (n >= 0 && n <= DN_MAX) {
			s = malloc((size_t)n + 1);
			if (s) {
				memcpy(s, data, (size_t)n);
				s[n] = '\0';
			}
		}
	}
	BIO_free(b);
	return s;
}

static int asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int sam_x509_info(X509 *x, struct sam_cert_info *ci)
{
	BIGNUM *bn = NULL;
	char *hex;
	int r = -ENOMEM;

	memset(ci, 0, sizeof *ci);
	ci->subject_dn = name_rfc2253(X509_get_subject_name(x));
	ci->issuer_dn = name_rfc2253(X509_get_issuer_name(x));
	if (!ci->subject_dn || !ci->issuer_dn)
		goto fail;
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (!bn || !(hex = BN_bn2hex(bn)))   /* upper case */
		goto fail;
	ci->serial_hex = strdup(hex);
	OPENSSL_free(hex);
	if (!ci->serial_hex)
		goto fail;
	r = -EINVAL;
	if (asn1_time_epoch(X509_get0_notBefore(x), &ci->not_before) < 0 ||
	    asn1_time_epoch(X509_get0_notAfter(x), &ci->not_after) < 0)
		goto fail;
	BN_free(bn);
	return 0;
fail:
	BN_free(bn);
	sam_cert_info_clear(ci);
	ERR_clear_error();
	return r;
}

static int pubkey_der_equal(EVP_PKEY *pk, const uint8_t *spki, size_t len)
{
	unsigned char *der = NULL;
	int n, eq;

	if (!pk)
		return 0;
	n = i2d_PUBKEY(pk, &der);
	eq = n > 0 && (size_t)n == len && memcmp(der, spki, len) == 0;
	OPENSSL_free(der);
	return eq;
}

int sam_x509_key_matches(X509 *x, const uint8_t *spki, size_t spki_len)
{
	int eq = pubkey_der_equal(X509_get0_pubkey(x), spki, spki_len);
	ERR_clear_error();
	return eq ? 0 : -EKEYREJECTED;
}

static EVP_PKEY *spki_parse(const uint8_t *spki, size_t len)
{
	const unsigned char *p = spki;
	EVP_PKEY *pk;

	if (!spki || len == 0 || len > 4096)
		return NULL;
	pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (pk && p != spki + len) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

int sam_x509_spki_check(const uint8_t *spki, size_t len, int kt)
{
	EVP_PKEY *pk = spki_parse(spki, len);
	char group[64];
	size_t glen = 0;
	int ok = 0;

	if (!pk)
		goto out;
	if (!pubkey_der_equal(pk, spki, len))
		goto out;
	if (sam_algo_key_is_ec(kt)) {
		int want = kt == INKAN__KEY_TYPE__KEY_EC_P256 ?
		    NID_X9_62_prime256v1 : NID_secp384r1;
		ok = EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
		    EVP_PKEY_get_group_name(pk, group, sizeof group, &glen) &&
		    OBJ_sn2nid(group) == want;
	} else if (sam_algo_key_type_valid(kt)) {
		ok = EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA &&
		    (unsigned)EVP_PKEY_get_bits(pk) == sam_algo_key_bits(kt);
	}
out:
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return ok ? 0 : -EINVAL;
}

int sam_x509_cn_ok(const char *cn)
{
	size_t chars = 0;
	const unsigned char *p = (const unsigned char *)cn;

	if (!cn || !*cn || strlen(cn) > 4 * 64)
		return 0;
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if ((*p & 0xc0) != 0x80)    /* count code points, not bytes */
			chars++;
	}
	return chars >= 1 && chars <= 64;
}

/* The joined subject (x509.h) split into its fields; 0 or -EINVAL. */
static int subject_split(const char *subject,
    char f[SAM_SUBJECT_FIELDS][SAM_SUBJECT_FIELD_MAX + 1])
{
	const char *p = subject;

	for (int i = 0; i < SAM_SUBJECT_FIELDS; i++) {
		const char *e = strchr(p, SAM_SUBJECT_SEP);
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if ((e == NULL) != (i == SAM_SUBJECT_FIELDS - 1) ||
		    n > SAM_SUBJECT_FIELD_MAX)
			return -EINVAL;
		memcpy(f[i], p, n);
		f[i][n] = '\0';
		p = e ? e + 1 : p + n;
	}
	return 0;
}

static int printable_ascii(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return 0;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

int sam_x509_subject_ok(const char *subject)
{
	char f[SAM_SUBJECT_FIELDS][SAM_SUBJECT_FIELD_MAX + 1];

	if (!subject || strlen(subject) > SAM_SUBJECT_MAX ||
	    subject_split(subject, f) < 0 || !sam_x509_cn_ok(f[0]))
		return 0;
	for (int i = 1; i <= 2; i++)    /* O, OU: like a CN, or absent */
		if (f[i][0] && !sam_x509_cn_ok(f[i]))
			return 0;
	if (f[3][0] && (strlen(f[3]) != 2 || f[3][0] < 'A' || f[3][0] > 'Z' ||
	    f[3][1] < 'A' || f[3][1] > 'Z'))
		return 0;       /* C: two capital letters (ISO 3166) */
	if (f[4][0] && !printable_ascii(f[4], 64))
		return 0;       /* serialNumber: PrintableString-ish */
	if (f[5][0] && (!printable_ascii(f[5], 128) || !strchr(f[5], '@') ||
	    strchr(f[5], ' ')))
		return 0;       /* emailAddress: IA5String */
	return 1;
}

/* C, O, OU, CN, serialNumber, emailAddress — the usual order, most
 * significant first. */
static X509_NAME *subject_name(const char *subject)
{
	static const int nid[SAM_SUBJECT_FIELDS] = { NID_commonName,
	    NID_organizationName, NID_organizationalUnitName, NID_countryName,
	    NID_serialNumber, NID_pkcs9_emailAddress };
	static const int order[SAM_SUBJECT_FIELDS] = { 3, 1, 2, 0, 4, 5 };
	char f[SAM_SUBJECT_FIELDS][SAM_SUBJECT_FIELD_MAX + 1];
	X509_NAME *nm;

	if (!sam_x509_subject_ok(subject) || subject_split(subject, f) < 0 ||
	    !(nm = X509_NAME_new()))
		return NULL;
	for (int k = 0; k < SAM_SUBJECT_FIELDS; k++) {
		int i = order[k];
		if (f[i][0] && !X509_NAME_add_entry_by_NID(nm, nid[i],
		    i >= 3 ? MBSTRING_ASC : MBSTRING_UTF8,
		    (const unsigned char *)f[i], -1, -1, 0)) {
			X509_NAME_free(nm);
			return NULL;
		}
	}
	return nm;
}

int sam_x509_id_code_ok(const uint8_t *code, size_t len)
{
	if (len < SAM_ID_CODE_MIN || len > SAM_ID_CODE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (code[i] < 0x21 || code[i] > 0x7e)
			return 0;
	return 1;
}

/* The CSR's challengePassword: exactly code. */
static int challenge_matches(X509_REQ *req, const uint8_t *code, size_t len)
{
	int loc = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *t;

	if (code == NULL)
		return loc < 0;
	if (loc < 0 || X509_REQ_get_attr_by_NID(req,
	    NID_pkcs9_challengePassword, loc) >= 0)
		return 0;       /* absent, or twice */
	a = X509_REQ_get_attr(req, loc);
	if (!a || X509_ATTRIBUTE_count(a) != 1 ||
	    !(t = X509_ATTRIBUTE_get0_type(a, 0)) ||
	    (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_UTF8STRING &&
	    t->type != V_ASN1_IA5STRING))
		return 0;
	return (size_t)ASN1_STRING_length(t->value.asn1_string) == len &&
	    memcmp(ASN1_STRING_get0_data(t->value.asn1_string), code, len) == 0;
}
int sam_x509_csr_template(int kt, const uint8_t *spki, size_t spki_len,
    const char *subject, const uint8_t *code, size_t code_len, uint8_t **der,
    size_t *der_len)
{
	X509_REQ *req = NULL;
	X509_NAME *nm = NULL;
	EVP_PKEY *pk = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *sig = NULL;
	unsigned char *out = NULL;
	static const unsigned char placeholder[1] = { 0 };
	int n, r = -EINVAL, nid;

	*der = NULL;
	*der_len = 0;
	if (!sam_x509_subject_ok(subject) || !sam_algo_key_type_valid(kt) ||
	    (code != NULL && !sam_x509_id_code_ok(code, code_len)))
		return -EINVAL;
	switch (kt) {
	case INKAN__KEY_TYPE__KEY_EC_P256: nid = NID_ecdsa_with_SHA256; break;
	case INKAN__KEY_TYPE__KEY_EC_P384: nid = NID_ecdsa_with_SHA384; break;
	default: nid = NID_sha256WithRSAEncryption; break;
	}
	if (!(pk = spki_parse(spki, spki_len)) || !(nm = subject_name(subject)) ||
	    !(req = X509_REQ_new()) || !(alg = X509_ALGOR_new()) ||
	    !(sig = ASN1_BIT_STRING_new()))
		goto out;
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, nm) ||
	    !X509_REQ_set_pubkey(req, pk))
		goto out;
	/* issue 7: the identification code for the CA (PKCS#9
	 * challengePassword, PrintableString when it fits, else UTF8String) */
	if (code != NULL && !X509_REQ_add1_attr_by_NID(req,
	    NID_pkcs9_challengePassword, MBSTRING_ASC, code, (int)code_len))
		goto out;
	/* The SCM replaces algorithm and signature; these only make the
	 * structure encodable. */
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(nid),
	    sam_algo_key_is_ec(kt) ? V_ASN1_UNDEF : V_ASN1_NULL, NULL) ||
	    !X509_REQ_set1_signature_algo(req, alg) ||
	    !ASN1_BIT_STRING_set(sig, (unsigned char *)placeholder, 1))
		goto out;
	X509_REQ_set0_signature(req, sig);
	sig = NULL;
	n = i2d_X509_REQ(req, &out);
	if (n <= 0)
		goto out;
	*der = out;
	*der_len = (size_t)n;
	r = 0;
out:
	ASN1_BIT_STRING_free(sig);
	X509_ALGOR_free(alg);
	X509_REQ_free(req);
	X509_NAME_free(nm);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return r;
}

int sam_x509_csr_check(const uint8_t *csr, size_t len, const uint8_t *spki,
    size_t spki_len, const char *subject, const uint8_t *code,
    size_t code_len)
{
	const unsigned char *p = csr;
	X509_REQ *req = NULL;
	X509_NAME *want = NULL;
	EVP_PKEY *pk;
	int r = -EBADMSG;

	if (!csr || len == 0 || len > 64 * 1024)
		return -EBADMSG;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	if (!req || p != csr + len)
		goto out;
	pk = X509_REQ_get0_pubkey(req);
	if (!pubkey_der_equal(pk, spki, spki_len))
		goto out;
	if (!(want = subject_name(subject)) ||
	    X509_NAME_cmp(X509_REQ_get_subject_name(req), want) != 0 ||
	    !challenge_matches(req, code, code_len))
		goto out;
	if (X509_REQ_verify(req, pk) != 1)
		goto out;
	r = 0;
out:
	X509_NAME_free(want);
	X509_REQ_free(req);
	ERR_clear_error();
	return r;
}

void sam_gtime(int64_t t, char out[16])
{
	struct tm tm;
	time_t tt = (time_t)t;

	memset(&tm, 0, sizeof tm);
	if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0) {
		strcpy(out, "00000101000000Z");
		return;
	}
	char buf[64];    /* roomy: the compiler cannot see the field ranges */
	snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, buf, 15);
	out[15] = '\0';
}
