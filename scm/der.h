/* der.h — the few DER encodings inkan-scm builds around PKCS#11 signatures:
 * PKCS#1 v1.5 DigestInfo, raw ECDSA r||s -> ECDSA-Sig-Value, and the
 * CKA_EC_POINT / CKA_EC_PARAMS forms. Pure functions (no PKCS#11, no I/O, no
 * logging) so they can be tested against OpenSSL on their own. */
#ifndef INKAN_SCM_DER_H
#define INKAN_SCM_DER_H

#include <stddef.h>
#include <stdint.h>

enum der_hash {
	DER_HASH_NONE = 0,
	DER_HASH_SHA256 = 1,
	DER_HASH_SHA384 = 2,
	DER_HASH_SHA512 = 3,
};

/* Digest length of h in bytes, 0 for an unknown value. */
size_t der_hash_len(enum der_hash h);

/* Longest DigestInfo (SHA-512: 19-byte prefix + 64). */
#define DER_DIGEST_INFO_MAX 83

/* DigestInfo ::= SEQUENCE { AlgorithmIdentifier {hash OID, NULL}, OCTET
 * STRING digest } for h. dlen must equal der_hash_len(h) exactly.
 * Returns 0, -EINVAL (unknown hash, wrong length) or -ENOBUFS. */
int der_digest_info(enum der_hash h, const uint8_t *digest, size_t dlen,
    uint8_t *out, size_t outmax, size_t *outlen);

/* Longest ECDSA-Sig-Value for a field of up to 66 bytes (P-521). */
#define DER_ECDSA_SIG_MAX 141

/* Raw r||s (as CKM_ECDSA returns it: two big-endian halves of equal length)
 * -> DER ECDSA-Sig-Value { INTEGER r, INTEGER s }. Refuses an odd or
 * oversized length and r or s equal to zero. Returns 0, -EINVAL, -ENOMEM or
 * -ENOBUFS. */
int der_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t *out,
    size_t outmax, size_t *outlen);

/* CKA_EC_PARAMS of the curves inkan uses: the DER-encoded named-curve OID. */
extern const uint8_t der_oid_p256[10];
extern const uint8_t der_oid_p384[7];

/* CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (some
 * modules return the bare point). Sets *point to the point_len bytes of
 * 04||X||Y inside in. Returns 0 or -EINVAL. */
int der_ec_point_unwrap(const uint8_t *in, size_t len, size_t point_len,
    const uint8_t **point);

#endif
