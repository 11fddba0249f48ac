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

/* A registration's subject (issue 7), stored joined: CN, O, OU, C,
 * serialNumber, emailAddress, separated by SAM_SUBJECT_SEP (0x1f), absent
 * fields empty. CN required; O/OU like a CN; C two capital letters;
 * serialNumber printable ASCII <= 64; emailAddress printable ASCII <= 128
 * with an '@'. */
#define SAM_SUBJECT_FIELDS 6
#define SAM_SUBJECT_FIELD_MAX 256
#define SAM_SUBJECT_SEP '\x1f'
int sam_x509_subject_ok(const char *subject);
/* One-time identification code: 8..64 printable ASCII without spaces. */
#define SAM_ID_CODE_MIN 8
#define SAM_ID_CODE_MAX 64
int sam_x509_id_code_ok(const uint8_t *code, size_t len);

/* Unsigned PKCS#10 request (placeholder signature) for the SCM to sign,
 * with the registration's subject and, when code is not NULL, the
 * identification code as challengePassword. *der is OPENSSL_malloc'd. */
int sam_x509_csr_template(int kt, const uint8_t *spki, size_t spki_len,
    const char *subject, const uint8_t *code, size_t code_len, uint8_t **der,
    size_t *der_len);
/* The SCM's signed CSR: parses, carries spki, exactly that subject and
 * challengePassword (none when code is NULL), and its signature verifies
 * with spki. 0 or -EBADMSG. */
int sam_x509_csr_check(const uint8_t *csr, size_t len, const uint8_t *spki,
    size_t spki_len, const char *subject, const uint8_t *code,
    size_t code_len);

/* "YYYYMMDDHHMMSSZ" (UTC). */
void sam_gtime(int64_t t, char out[16]);

#endif
