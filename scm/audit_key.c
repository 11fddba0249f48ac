/* audit_key.c — the audit key of inkan-scm (see audit_key.h). Made by the
 * token itself (CKM_EC_KEY_PAIR_GEN); its private half can sign and do
 * nothing else, and can never be read. Its CKA_ID ("inkan-audit", 11 bytes)
 * is not 16 bytes long, so no signer-key request (which names a 16-byte
 * CKA_ID) can ever reach it, and the audit request names no key at all. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "audit_key.h"
#include "der.h"

/* SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING } header:
 * followed by the 65-byte uncompressed point. */
static const uint8_t spki_p256_prefix[26] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
	0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
	0x42, 0x00,
};

static int ak_fail(struct p11_token *t, const char *fn, CK_RV rv)
{
	t->last_fn = fn;
	t->last_rv = rv;
	return -EIO;
}

static int find_by_label(struct p11_token *t, CK_OBJECT_CLASS cls,
    CK_OBJECT_HANDLE *hs, CK_ULONG max, CK_ULONG *n)
{
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_LABEL, (void *)SCM_AUDIT_LABEL, sizeof SCM_AUDIT_LABEL - 1 },
	};
	CK_RV rv, rv2;

	*n = 0;
	rv = t->f->C_FindObjectsInit(t->session, tmpl, 2);
	if (rv != CKR_OK)
		return ak_fail(t, "C_FindObjectsInit", rv);
	rv = t->f->C_FindObjects(t->session, hs, max, n);
	rv2 = t->f->C_FindObjectsFinal(t->session);
	if (rv != CKR_OK)
		return ak_fail(t, "C_FindObjects", rv);
	if (rv2 != CKR_OK)
		return ak_fail(t, "C_FindObjectsFinal", rv2);
	return 0;
}

/* The private key must be what we would have made. */
static int check_private(struct p11_token *t, CK_OBJECT_HANDLE h)
{
	CK_KEY_TYPE kt = 0;
	CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
	CK_BBOOL decrypt = CK_TRUE, unwrap = CK_TRUE, derive = CK_TRUE;
	uint8_t params[16];
	CK_ATTRIBUTE a[] = {
		{ CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_SENSITIVE, &sensitive, sizeof sensitive },
		{ CKA_EXTRACTABLE, &extractable, sizeof extractable },
		{ CKA_DECRYPT, &decrypt, sizeof decrypt },
		{ CKA_UNWRAP, &unwrap, sizeof unwrap },
		{ CKA_DERIVE, &derive, sizeof derive },
		{ CKA_EC_PARAMS, params, sizeof params },
	};
	CK_RV rv;

	rv = t->f->C_GetAttributeValue(t->session, h, a, sizeof a / sizeof a[0]);
	if (rv != CKR_OK)
		return ak_fail(t, "C_GetAttributeValue", rv);
	if (kt != CKK_EC || a[6].ulValueLen != sizeof der_oid_p256 ||
	    memcmp(params, der_oid_p256, sizeof der_oid_p256) != 0 ||
	    sensitive != CK_TRUE || extractable != CK_FALSE ||
	    decrypt != CK_FALSE || unwrap != CK_FALSE || derive != CK_FALSE) {
		snprintf(t->err, sizeof t->err, "the key labelled \"%s\" is not "
		    "a sensitive, non-extractable, sign-only EC P-256 key",
		    SCM_AUDIT_LABEL);
		return P11_UNSUPPORTED;
	}
	return 0;
}

static int load_spki(struct p11_token *t, struct scm_audit_key *k)
{
	uint8_t buf[128];
	const uint8_t *point;
	CK_ATTRIBUTE a = { CKA_EC_POINT, buf, sizeof buf };
	CK_RV rv;

	rv = t->f->C_GetAttributeValue(t->session, k->pub, &a, 1);
	if (rv != CKR_OK)
		return ak_fail(t, "C_GetAttributeValue", rv);
	if (der_ec_point_unwrap(buf, a.ulValueLen, 65, &point) != 0) {
		snprintf(t->err, sizeof t->err, "audit key: CKA_EC_POINT is not "
		    "an uncompressed P-256 point");
		return -EIO;
	}
	memcpy(k->spki, spki_p256_prefix, sizeof spki_p256_prefix);
	memcpy(k->spki + sizeof spki_p256_prefix, point, 65);
	return 0;
}

static int generate(struct p11_token *t, struct scm_audit_key *k)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	static const char id[] = SCM_AUDIT_LABEL;
	CK_ATTRIBUTE pub_t[] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &no, sizeof no },
		{ CKA_VERIFY, &yes, sizeof yes },
		{ CKA_ENCRYPT, &no, sizeof no },
		{ CKA_WRAP, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_MODIFIABLE, &no, sizeof no },
		{ CKA_EC_PARAMS, (void *)der_oid_p256, sizeof der_oid_p256 },
		{ CKA_ID, (void *)id, sizeof id - 1 },
		{ CKA_LABEL, (void *)SCM_AUDIT_LABEL, sizeof SCM_AUDIT_LABEL - 1 },
	};
	CK_ATTRIBUTE priv_t[] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SIGN, &yes, sizeof yes },
		{ CKA_SIGN_RECOVER, &no, sizeof no },
		{ CKA_DECRYPT, &no, sizeof no },
		{ CKA_UNWRAP, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &no, sizeof no },
		{ CKA_MODIFIABLE, &no, sizeof no },
		{ CKA_ID, (void *)id, sizeof id - 1 },
		{ CKA_LABEL, (void *)SCM_AUDIT_LABEL, sizeof SCM_AUDIT_LABEL - 1 },
	};
	CK_RV rv;

	rv = t->f->C_GenerateKeyPair(t->session, &mech, pub_t,
	    sizeof pub_t / sizeof pub_t[0], priv_t,
	    sizeof priv_t / sizeof priv_t[0], &k->pub, &k->priv);
	if (rv != CKR_OK)
		return ak_fail(t, "C_GenerateKeyPair", rv);
	return 0;
}

int scm_audit_open(struct p11_token *t, struct scm_audit_key *k,
    bool create, bool *created)
{
	CK_OBJECT_HANDLE priv[2], pub[2];
	CK_ULONG np, nq;
	int rc;

	*created = false;
	memset(k, 0, sizeof *k);
	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	t->err[0] = '\0';
	t->last_fn = NULL;
	t->last_rv = CKR_OK;
	if ((rc = find_by_label(t, CKO_PRIVATE_KEY, priv, 2, &np)) != 0 ||
	    (rc = find_by_label(t, CKO_PUBLIC_KEY, pub, 2, &nq)) != 0)
		return rc;
	if (np > 1 || nq > 1) {
		snprintf(t->err, sizeof t->err, "more than one key labelled "
		    "\"%s\" on the token", SCM_AUDIT_LABEL);
		return -EEXIST;
	}
	if (np == 0 && nq == 0) {
		if (!create)
			return P11_NOT_FOUND;
		if ((rc = generate(t, k)) != 0)
			return rc;
		*created = true;
	} else if (np == 1 && nq == 1) {
		k->priv = priv[0];
		k->pub = pub[0];
	} else {
		snprintf(t->err, sizeof t->err, "only one half of the key pair "
		    "labelled \"%s\" is on the token", SCM_AUDIT_LABEL);
		return -EEXIST;
	}
	if ((rc = check_private(t, k->priv)) != 0)
		return rc;
	return load_spki(t, k);
}

int scm_audit_digest(uint64_t seq, const uint8_t head[32], uint8_t out[32])
{
	static const char hexd[] = "0123456789abcdef";
	char hex[65], msg[128];
	int n;

	if (seq == 0)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = hexd[head[i] >> 4];
		hex[2 * i + 1] = hexd[head[i] & 15];
	}
	hex[64] = '\0';
	n = snprintf(msg, sizeof msg, "inkan-audit checkpoint v1 seq=%" PRIu64
	    " head=%s", seq, hex);
	if (n < 0 || (size_t)n >= sizeof msg)
		return -EINVAL;
	SHA256((const unsigned char *)msg, (size_t)n, out);
	return 0;
}

int scm_audit_sign(struct p11_token *t, const struct scm_audit_key *k,
    const uint8_t digest[32], uint8_t *sig, size_t *sig_len)
{
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	uint8_t raw[64];
	CK_ULONG n = sizeof raw;
	CK_RV rv;

	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	rv = t->f->C_SignInit(t->session, &mech, k->priv);
	if (rv != CKR_OK)
		return ak_fail(t, "C_SignInit", rv);
	rv = t->f->C_Sign(t->session, (CK_BYTE *)digest, 32, raw, &n);
	if (rv != CKR_OK)
		return ak_fail(t, "C_Sign", rv);
	if (n != sizeof raw) {
		snprintf(t->err, sizeof t->err, "audit key: C_Sign returned %lu "
		    "bytes", (unsigned long)n);
		return -EIO;
	}
	return der_ecdsa_raw_to_der(raw, n, sig, DER_ECDSA_SIG_MAX, sig_len);
}
