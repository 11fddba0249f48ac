/* der.c — DigestInfo, ECDSA r||s -> DER and EC point/params helpers for
 * inkan-scm (see der.h). Pure functions: no PKCS#11, no I/O, no logging. */
#include <errno.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "der.h"

/* DigestInfo prefixes: SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING (len) }
 * for id-sha256/384/512 (2.16.840.1.101.3.4.2.1/.2/.3), RFC 8017 §9.2 note 1. */
static const uint8_t prefix_sha256[19] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};
static const uint8_t prefix_sha384[19] = {
	0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30,
};
static const uint8_t prefix_sha512[19] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
};

/* prime256v1 1.2.840.10045.3.1.7 and secp384r1 1.3.132.0.34 */
const uint8_t der_oid_p256[10] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
};
const uint8_t der_oid_p384[7] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
};

size_t der_hash_len(enum der_hash h)
{
	switch (h) {
	case DER_HASH_SHA256: return 32;
	case DER_HASH_SHA384: return 48;
	case DER_HASH_SHA512: return 64;
	case DER_HASH_NONE: break;
	}
	return 0;
}

int der_digest_info(enum der_hash h, const uint8_t *digest, size_t dlen,
    uint8_t *out, size_t outmax, size_t *outlen)
{
	const uint8_t *prefix;

	switch (h) {
	case DER_HASH_SHA256: prefix = prefix_sha256; break;
	case DER_HASH_SHA384: prefix = prefix_sha384; break;
	case DER_HASH_SHA512: prefix = prefix_sha512; break;
	default: return -EINVAL;
	}
	if (digest == NULL || dlen != der_hash_len(h))
		return -EINVAL;
	if (outmax < sizeof prefix_sha256 + dlen)
		return -ENOBUFS;
	memcpy(out, prefix, sizeof prefix_sha256);
	memcpy(out + sizeof prefix_sha256, digest, dlen);
	*outlen = sizeof prefix_sha256 + dlen;
	return 0;
}

int der_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t *out,
    size_t outmax, size_t *outlen)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p;
	size_t half;
	int n, rc = -ENOMEM;

	if (raw == NULL || rawlen == 0 || rawlen % 2 != 0 || rawlen > 2 * 66)
		return -EINVAL;
	half = rawlen / 2;
	r = BN_bin2bn(raw, (int)half, NULL);
	s = BN_bin2bn(raw + half, (int)half, NULL);
	if (r == NULL || s == NULL)
		goto out;
	/* r = 0 or s = 0 is never a valid signature: the token misbehaved. */
	if (BN_is_zero(r) || BN_is_zero(s)) {
		rc = -EINVAL;
		goto out;
	}
	sig = ECDSA_SIG_new();
	if (sig == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;   /* owned by sig now */
	n = i2d_ECDSA_SIG(sig, NULL);
	if (n <= 0)
		goto out;
	if ((size_t)n > outmax) {
		rc = -ENOBUFS;
		goto out;
	}
	p = out;
	if (i2d_ECDSA_SIG(sig, &p) != n)
		goto out;
	*outlen = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rc;
}

int der_ec_point_unwrap(const uint8_t *in, size_t len, size_t point_len,
    const uint8_t **point)
{
	size_t hdr;

	if (in == NULL || point_len < 3 || point_len > 255)
		return -EINVAL;
	/* OCTET STRING, short or one-byte long length form. */
	hdr = point_len < 128 ? 2 : 3;
	if (len == hdr + point_len && in[0] == 0x04) {
		if (hdr == 2 && in[1] != point_len)
			return -EINVAL;
		if (hdr == 3 && (in[1] != 0x81 || in[2] != point_len))
			return -EINVAL;
		if (in[hdr] != 0x04)    /* uncompressed form only */
			return -EINVAL;
		*point = in + hdr;
		return 0;
	}
	/* Bare point (some modules ignore the DER wrapping). */
	if (len == point_len && in[0] == 0x04) {
		*point = in;
		return 0;
	}
	return -EINVAL;
}
