/* test-softhsm.h — scm's unit tests run on a real SoftHSMv2 token store of
 * their own: a temporary directory with a tokens/ subdirectory and a
 * softhsm2.conf naming it, made current through SOFTHSM2_CONF. */
#ifndef INKAN_SCM_TEST_SOFTHSM_H
#define INKAN_SCM_TEST_SOFTHSM_H

#include <stddef.h>

struct test_softhsm {
	char dir[64];           /* /tmp/inkan-test-TAG-XXXXXX */
	char conf[192];         /* DIR/softhsm2.conf */
	const char *module;     /* $INKAN_TEST_PKCS11_MODULE or SoftHSMv2 */
};

/* Make the directory, tokens/ and the config; set SOFTHSM2_CONF. 0 or -1. */
int test_softhsm_make(struct test_softhsm *s, const char *tag);

/* Write a SoftHSMv2 config at PATH whose token directory is TOKENDIR. */
int test_softhsm_write_conf(const char *path, const char *tokendir);

/* Remove the directory and all in it (nothing when it was never made). */
void test_softhsm_remove(struct test_softhsm *s);

#endif
