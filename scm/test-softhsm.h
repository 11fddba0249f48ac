/* test-softhsm.h — what scm's unit tests share: a real SoftHSMv2 token
 * store of their own (a temporary directory with a tokens/ subdirectory and
 * a softhsm2.conf naming it, made current through SOFTHSM2_CONF), and the
 * OpenSSL check of a signature the token made. */
#ifndef INKAN_SCM_TEST_SOFTHSM_H
#define INKAN_SCM_TEST_SOFTHSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pkcs11.h"

struct test_softhsm {
	char dir[64];           /* /tmp/inkan-test-TAG-XXXXXX */
	char conf[192];         /* DIR/softhsm2.conf */
	const char *module;     /* $INKAN_TEST_PKCS11_MODULE or SoftHSMv2 */
};

/* The PINs every scm unit test gives its tokens. */
#define SO_PIN "so-secret-1234"
#define USER_PIN "user-secret-1234"

/* Is the PKCS#11 module ($INKAN_TEST_PKCS11_MODULE, else SoftHSMv2) there?
 * When not, says so on stdout ("SKIP: ...") and returns false. */
bool test_softhsm_available(void);

/* Make the directory, tokens/ and the config; set SOFTHSM2_CONF. 0 or -1. */
int test_softhsm_make(struct test_softhsm *s, const char *tag);

/* Write a SoftHSMv2 config at PATH whose token directory is TOKENDIR. */
int test_softhsm_write_conf(const char *path, const char *tokendir);

/* Initialise a token labelled LABEL in the store (SO_PIN, USER_PIN). 0 or
 * -1. */
int test_softhsm_init_token(const struct test_softhsm *s, const char *label);

/* Remove the directory and all in it (nothing when it was never made). */
void test_softhsm_remove(struct test_softhsm *s);

/* Does sig verify with OpenSSL as a signature of digest d (der_hash_len(h)
 * bytes) by pk, the way inkan-scm signs with mech (RSA-PSS: MGF1 with h,
 * salt bytes of salt)? 1 yes, 0 no, -1 OpenSSL could not be set up. */
int test_sig_verifies(EVP_PKEY *pk, enum p11_mech mech, enum der_hash h,
    uint32_t salt, const uint8_t *d, const uint8_t *sig, size_t siglen);

#endif
