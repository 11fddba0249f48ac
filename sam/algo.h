/* algo.h — the algorithms inkan signs with: hash and signature OIDs, what each
 * key type can do (CSC key.algo), and the mapping of a signHash request's
 * (signAlgo, hashAlgo, signAlgoParams) onto the SCM's (mechanism, hash, salt).
 * Library code: pure functions, no state. */
#ifndef INKAN_SAM_ALGO_H
#define INKAN_SAM_ALGO_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define OID_SHA256 "2.16.840.1.101.3.4.2.1"
#define OID_SHA384 "2.16.840.1.101.3.4.2.2"
#define OID_SHA512 "2.16.840.1.101.3.4.2.3"
#define OID_ECDSA_SHA256 "1.2.840.10045.4.3.2"
#define OID_ECDSA_SHA384 "1.2.840.10045.4.3.3"
#define OID_ECDSA_SHA512 "1.2.840.10045.4.3.4"
#define OID_RSA "1.2.840.113549.1.1.1"
#define OID_RSA_SHA256 "1.2.840.113549.1.1.11"
#define OID_RSA_SHA384 "1.2.840.113549.1.1.12"
#define OID_RSA_SHA512 "1.2.840.113549.1.1.13"
#define OID_RSA_PSS "1.2.840.113549.1.1.10"
#define OID_P256 "1.2.840.10045.3.1.7"
#define OID_P384 "1.3.132.0.34"

struct sam_mech {
	Inkan__SignMech mech;
	Inkan__HashAlg hash;
	size_t hash_len;
	uint32_t salt_len;          /* PSS only */
};

/* Known key type (1..4)? */
int sam_algo_key_type_valid(int kt);
int sam_algo_key_is_ec(int kt);
unsigned sam_algo_key_bits(int kt);
/* Curve OID of an EC key type, NULL for RSA. */
const char *sam_algo_curve_oid(int kt);
/* Signature algorithm OIDs the key type can produce (CSC key.algo). */
const char *const *sam_algo_sign_oids(int kt, size_t *n);

/* Hash algorithm by OID: OK, or UNSUPPORTED_ALGO. */
Inkan__Status sam_algo_hash_by_oid(const char *oid, Inkan__HashAlg *alg,
    size_t *len);
/* 0 for HASH_NONE / unknown. */
size_t sam_algo_hash_len(Inkan__HashAlg alg);
/* Hash algorithm implied by a digest length (32/48/64), HASH_NONE otherwise. */
Inkan__HashAlg sam_algo_hash_by_len(size_t len);

/* The signHash rules: key type + sign algo OID (+ hash OID, NULL if absent)
 * (+ DER params, NULL if absent) -> mechanism. UNSUPPORTED_ALGO for an algo
 * the key cannot do or an unsupported hash; INVALID_REQUEST for missing or
 * inconsistent fields and unusable PSS parameters. */
Inkan__Status sam_algo_map(int key_type, const char *sign_oid,
    const char *hash_oid, const uint8_t *params, size_t params_len,
    struct sam_mech *out);

#endif
