/* x509.h — the certificate and CSR handling of credential management:
 * strict DER parsing, the fields CSC's credentials/info shows, matching a
 * certificate to the stored key, and the PKCS#10 request the SCM signs.
 * Library code (OpenSSL): 0 or -errno, never logs. */
#ifndef INKAN_SAM_X509_H
#define INKAN_SAM_X509_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

struct sam_cert_info {
	char *subject_dn;           /* RFC 2253 */
	char *issuer_dn;
	char *serial_hex;           /* upper-case hex */
	int64_t not_before;         /* seconds since the epoch, UTC */
	int64_t not_after;
};
void sam_cert_info_clear(struct sam_cert_info *ci);

/* DER certificate that must use the whole input: 0 or -EINVAL. */
int sam_x509_parse(const uint8_t *der, size_t len, X509 **out);
int sam_x509_info(X509 *x, struct sam_cert_info *ci);
/* 0 if the certificate's public key, DER-encoded, is exactly spki;
 * -EKEYREJECTED otherwise. */
int sam_x509_key_matches(X509 *x, const uint8_t *spki, size_t spki_len);

/* 0 if spki is a canonical SubjectPublicKeyInfo of key type kt. */
int sam_x509_spki_check(const uint8_t *spki, size_t len, int kt);

/* CN of a CSR subject: 1..64 characters of UTF-8 without control characters. */
int sam_x509_cn_ok(const char *cn);
/* Unsigned PKCS#10 request (placeholder signature) for the SCM to sign.
 * *der is OPENSSL_malloc'd. */
int sam_x509_csr_template(int kt, const uint8_t *spki, size_t spki_len,
    const char *cn, uint8_t **der, size_t *der_len);
/* The SCM's signed CSR: parses, carries spki and subject CN=cn, and its
 * signature verifies with spki. 0 or -EBADMSG. */
int sam_x509_csr_check(const uint8_t *csr, size_t len, const uint8_t *spki,
    size_t spki_len, const char *cn);

/* "YYYYMMDDHHMMSSZ" (UTC). */
void sam_gtime(int64_t t, char out[16]);

#endif
