/* cms.h — a detached CMS SignedData (RFC 5652) whose one signature is made
 * elsewhere: we build the SignerInfo with only the certificate's public key,
 * hash the DER of its signed attributes (content-type, message-digest,
 * ESS signing-certificate-v2) and hand that hash to a "remote signer"
 * callback (inkan-sign: the CSC signHash call; tests: a software key). The
 * result is verified locally before it is returned, so a bad signature never
 * reaches a file. Library code: returns 0 or -errno, never logs. */
#ifndef INKAN_TOOLS_CMS_H
#define INKAN_TOOLS_CMS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Signature algorithm chosen for a key. */
struct cms_algo {
	const char *name;        /* "ecdsa-with-SHA256", for messages */
	const char *sign_oid;    /* CSC signAlgo */
	const char *hash_oid;    /* CSC hashAlgorithmOID */
	const char *md_name;     /* EVP_MD name: "SHA256" */
	size_t md_len;
	int is_ec;               /* signatures are DER ECDSA-Sig-Value */
	size_t coord_len;        /* EC: bytes of r and of s in raw r||s form */
};

/* EC P-256 -> ecdsa-with-SHA256, P-384 -> ecdsa-with-SHA384, RSA (2048 ..
 * 4096 bits) -> sha256WithRSAEncryption. -ENOTSUP for anything else. */
int cms_choose_algo(EVP_PKEY *pub, struct cms_algo *out);

/* Digest everything readable from fd with algo's hash. out holds
 * EVP_MAX_MD_SIZE bytes; *len gets algo->md_len. 0 or -errno. */
int cms_digest_fd(int fd, const struct cms_algo *algo, uint8_t *out,
    size_t *len);

/* Remote signer: sign the digest `hash` (hash_len bytes, already hashed with
 * the algorithm's md) and return the signature in *sig (malloc'd; for EC a
 * DER ECDSA-Sig-Value, raw r||s is also accepted). 0 or -errno. */
typedef int (*cms_signer_fn)(void *arg, const uint8_t *hash, size_t hash_len,
    uint8_t **sig, size_t *sig_len);

/* Step 1: a detached SignedData with one SignerInfo for cert, its signed
 * attributes set from content_digest, and chain (may be NULL) added as
 * certificates. On success *cms and *si (owned by *cms) are set. */
int cms_prepare(X509 *cert, STACK_OF(X509) *chain, const struct cms_algo *algo,
    const uint8_t *content_digest, size_t digest_len,
    CMS_ContentInfo **cms, CMS_SignerInfo **si);

/* Step 2: the DER of the signed attributes exactly as they are signed (SET OF
 * Attribute in DER order, tag 0x31) and its hash, the one the signer signs.
 * tbs_hash holds EVP_MAX_MD_SIZE bytes. */
int cms_signed_attrs_hash(CMS_SignerInfo *si, const struct cms_algo *algo,
    uint8_t *tbs_hash, size_t *tbs_len);

/* Step 3: put the signature into the SignerInfo. For EC, a raw r||s of the
 * right size is converted to DER first. */
int cms_set_signature(CMS_SignerInfo *si, const struct cms_algo *algo,
    const uint8_t *sig, size_t sig_len);

/* Step 4: serialise, parse the bytes back and verify that parsed copy
 * against content (rewound first; signer certificate taken from the
 * SignedData, its chain not checked). Only then are the DER bytes returned
 * (*der malloc'd). -EBADMSG when the signature does not verify. */
int cms_finish(CMS_ContentInfo *cms, BIO *content, uint8_t **der,
    size_t *der_len);

/* All four steps with the signer callback. */
int cms_sign_detached(X509 *cert, STACK_OF(X509) *chain,
    const struct cms_algo *algo, const uint8_t *content_digest,
    size_t digest_len, BIO *content, cms_signer_fn signer, void *arg,
    uint8_t **der, size_t *der_len);

#endif
