/* algo.c — OID tables and the signHash algorithm mapping. The SCM builds
 * DigestInfo / PSS encodings from (mech, hash, salt); here we only decide
 * which of those a request may ask for. */
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "algo.h"

static const char *const ec_algos[] = {
	OID_ECDSA_SHA256, OID_ECDSA_SHA384, OID_ECDSA_SHA512,
};
static const char *const rsa_algos[] = {
	OID_RSA, OID_RSA_SHA256, OID_RSA_SHA384, OID_RSA_SHA512, OID_RSA_PSS,
};

int sam_algo_key_type_valid(int kt)
{
	return kt == INKAN__KEY_TYPE__KEY_EC_P256 ||
	    kt == INKAN__KEY_TYPE__KEY_EC_P384 ||
	    kt == INKAN__KEY_TYPE__KEY_RSA_2048 ||
	    kt == INKAN__KEY_TYPE__KEY_RSA_3072;
}

int sam_algo_key_is_ec(int kt)
{
	return kt == INKAN__KEY_TYPE__KEY_EC_P256 ||
	    kt == INKAN__KEY_TYPE__KEY_EC_P384;
}

unsigned sam_algo_key_bits(int kt)
{
	switch (kt) {
	case INKAN__KEY_TYPE__KEY_EC_P256: return 256;
	case INKAN__KEY_TYPE__KEY_EC_P384: return 384;
	case INKAN__KEY_TYPE__KEY_RSA_2048: return 2048;
	case INKAN__KEY_TYPE__KEY_RSA_3072: return 3072;
	default: return 0;
	}
}

const char *sam_algo_curve_oid(int kt)
{
	switch (kt) {
	case INKAN__KEY_TYPE__KEY_EC_P256: return OID_P256;
	case INKAN__KEY_TYPE__KEY_EC_P384: return OID_P384;
	default: return NULL;
	}
}

const char *const *sam_algo_sign_oids(int kt, size_t *n)
{
	if (sam_algo_key_is_ec(kt)) {
		*n = sizeof ec_algos / sizeof ec_algos[0];
		return ec_algos;
	}
	if (sam_algo_key_type_valid(kt)) {
		*n = sizeof rsa_algos / sizeof rsa_algos[0];
		return rsa_algos;
	}
	*n = 0;
	return NULL;
}

size_t sam_algo_hash_len(Inkan__HashAlg alg)
{
	switch (alg) {
	case INKAN__HASH_ALG__HASH_SHA256: return 32;
	case INKAN__HASH_ALG__HASH_SHA384: return 48;
	case INKAN__HASH_ALG__HASH_SHA512: return 64;
	default: return 0;
	}
}

Inkan__HashAlg sam_algo_hash_by_len(size_t len)
{
	switch (len) {
	case 32: return INKAN__HASH_ALG__HASH_SHA256;
	case 48: return INKAN__HASH_ALG__HASH_SHA384;
	case 64: return INKAN__HASH_ALG__HASH_SHA512;
	default: return INKAN__HASH_ALG__HASH_NONE;
	}
}

Inkan__Status sam_algo_hash_by_oid(const char *oid, Inkan__HashAlg *alg,
    size_t *len)
{
	Inkan__HashAlg a = INKAN__HASH_ALG__HASH_NONE;

	if (!strcmp(oid, OID_SHA256))
		a = INKAN__HASH_ALG__HASH_SHA256;
	else if (!strcmp(oid, OID_SHA384))
		a = INKAN__HASH_ALG__HASH_SHA384;
	else if (!strcmp(oid, OID_SHA512))
		a = INKAN__HASH_ALG__HASH_SHA512;
	else
		return INKAN__STATUS__UNSUPPORTED_ALGO;
	*alg = a;
	if (len)
		*len = sam_algo_hash_len(a);
	return INKAN__STATUS__OK;
}

static Inkan__HashAlg hash_by_nid(int nid)
{
	switch (nid) {
	case NID_sha256: return INKAN__HASH_ALG__HASH_SHA256;
	case NID_sha384: return INKAN__HASH_ALG__HASH_SHA384;
	case NID_sha512: return INKAN__HASH_ALG__HASH_SHA512;
	default: return INKAN__HASH_ALG__HASH_NONE;   /* SHA-1 included */
	}
}

/* RSASSA-PSS-params (RFC 4055): hashAlgorithm [0] default sha1,
 * maskGenAlgorithm [1] default mgf1SHA1, saltLength [2] default 20,
 * trailerField [3] default 1. */
static Inkan__Status pss_params(const uint8_t *der, size_t len,
    Inkan__HashAlg *hash, int64_t *salt)
{
	const unsigned char *p = der;
	RSA_PSS_PARAMS *pss;
	X509_ALGOR *mgf_hash = NULL;
	Inkan__Status st = INKAN__STATUS__OK;
	int64_t trailer = 1;
	int hash_nid = NID_sha1, mgf_nid = NID_sha1;

	if (len == 0 || len > 256)
		return INKAN__STATUS__INVALID_REQUEST;
	pss = d2i_RSA_PSS_PARAMS(NULL, &p, (long)len);
	if (!pss || p != der + len) {
		st = INKAN__STATUS__INVALID_REQUEST;
		goto out;
	}
	if (pss->hashAlgorithm)
		hash_nid = OBJ_obj2nid(pss->hashAlgorithm->algorithm);
	if (pss->maskGenAlgorithm) {
		if (OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1) {
			st = INKAN__STATUS__UNSUPPORTED_ALGO;
			goto out;
		}
		mgf_hash = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
		    pss->maskGenAlgorithm->parameter);
		if (!mgf_hash) {
			st = INKAN__STATUS__INVALID_REQUEST;
			goto out;
		}
		mgf_nid = OBJ_obj2nid(mgf_hash->algorithm);
	}
	*hash = hash_by_nid(hash_nid);
	if (*hash == INKAN__HASH_ALG__HASH_NONE || mgf_nid != hash_nid) {
		st = INKAN__STATUS__UNSUPPORTED_ALGO;
		goto out;
	}
	*salt = 20;
	if (pss->saltLength && !ASN1_INTEGER_get_int64(salt, pss->saltLength)) {
		st = INKAN__STATUS__INVALID_REQUEST;
		goto out;
	}
	if (pss->trailerField &&
	    !ASN1_INTEGER_get_int64(&trailer, pss->trailerField))
		trailer = -1;
	if (*salt < 0 || trailer != 1)
		st = INKAN__STATUS__INVALID_REQUEST;
out:
	X509_ALGOR_free(mgf_hash);
	RSA_PSS_PARAMS_free(pss);
	return st;
}

struct sign_algo {
	const char *oid;
	int ec;                     /* 1 EC key, 0 RSA key */
	Inkan__SignMech mech;
	Inkan__HashAlg hash;        /* NONE: taken from hashAlgo / params */
};

static const struct sign_algo sign_algos[] = {
	{ OID_ECDSA_SHA256, 1, INKAN__SIGN_MECH__MECH_ECDSA, INKAN__HASH_ALG__HASH_SHA256 },
	{ OID_ECDSA_SHA384, 1, INKAN__SIGN_MECH__MECH_ECDSA, INKAN__HASH_ALG__HASH_SHA384 },
	{ OID_ECDSA_SHA512, 1, INKAN__SIGN_MECH__MECH_ECDSA, INKAN__HASH_ALG__HASH_SHA512 },
	{ OID_RSA, 0, INKAN__SIGN_MECH__MECH_RSA_PKCS1, INKAN__HASH_ALG__HASH_NONE },
	{ OID_RSA_SHA256, 0, INKAN__SIGN_MECH__MECH_RSA_PKCS1, INKAN__HASH_ALG__HASH_SHA256 },
	{ OID_RSA_SHA384, 0, INKAN__SIGN_MECH__MECH_RSA_PKCS1, INKAN__HASH_ALG__HASH_SHA384 },
	{ OID_RSA_SHA512, 0, INKAN__SIGN_MECH__MECH_RSA_PKCS1, INKAN__HASH_ALG__HASH_SHA512 },
	{ OID_RSA_PSS, 0, INKAN__SIGN_MECH__MECH_RSA_PSS, INKAN__HASH_ALG__HASH_NONE },
};

Inkan__Status sam_algo_map(int key_type, const char *sign_oid,
    const char *hash_oid, const uint8_t *params, size_t params_len,
    struct sam_mech *out)
{
	const struct sign_algo *a = NULL;
	Inkan__HashAlg given = INKAN__HASH_ALG__HASH_NONE;
	Inkan__Status st;
	int64_t salt = 0;

	memset(out, 0, sizeof *out);
	if (!sam_algo_key_type_valid(key_type))
		return INKAN__STATUS__INTERNAL;
	if (!sign_oid || !*sign_oid)
		return INKAN__STATUS__INVALID_REQUEST;
	for (size_t i = 0; i < sizeof sign_algos / sizeof sign_algos[0]; i++)
		if (!strcmp(sign_algos[i].oid, sign_oid))
			a = &sign_algos[i];
	if (!a || a->ec != sam_algo_key_is_ec(key_type))
		return INKAN__STATUS__UNSUPPORTED_ALGO;
	if (hash_oid && *hash_oid) {
		st = sam_algo_hash_by_oid(hash_oid, &given, NULL);
		if (st != INKAN__STATUS__OK)
			return st;
	}

	out->mech = a->mech;
	if (a->mech == INKAN__SIGN_MECH__MECH_RSA_PSS && params) {
		Inkan__HashAlg h = INKAN__HASH_ALG__HASH_NONE;
		st = pss_params(params, params_len, &h, &salt);
		if (st != INKAN__STATUS__OK)
			return st;
		if (given != INKAN__HASH_ALG__HASH_NONE && given != h)
			return INKAN__STATUS__INVALID_REQUEST;
		out->hash = h;
	} else if (a->hash != INKAN__HASH_ALG__HASH_NONE) {
		/* the OID names the hash; a hashAlgo beside it must agree */
		if (given != INKAN__HASH_ALG__HASH_NONE && given != a->hash)
			return INKAN__STATUS__INVALID_REQUEST;
		out->hash = a->hash;
	} else {
		/* rsaEncryption, or PSS without params: hashAlgo is required */
		if (given == INKAN__HASH_ALG__HASH_NONE)
			return INKAN__STATUS__INVALID_REQUEST;
		out->hash = given;
		salt = (int64_t)sam_algo_hash_len(given);
	}
	out->hash_len = sam_algo_hash_len(out->hash);
	if (out->mech == INKAN__SIGN_MECH__MECH_RSA_PSS) {
		int64_t max = (int64_t)(sam_algo_key_bits(key_type) / 8) -
		    (int64_t)out->hash_len - 2;
		if (salt > max)
			return INKAN__STATUS__INVALID_REQUEST;
		out->salt_len = (uint32_t)salt;
	}
	return INKAN__STATUS__OK;
}
