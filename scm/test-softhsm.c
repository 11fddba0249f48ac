/* test-softhsm.c — see test-softhsm.h. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rsa.h>

#include "inkan-config.h"
#include "test-softhsm.h"

bool test_softhsm_available(void)
{
	const char *m = getenv("INKAN_TEST_PKCS11_MODULE");

	if (m == NULL)
		m = INKAN_SOFTHSM_MODULE;
	if (access(m, R_OK) == 0)
		return true;
	printf("SKIP: no PKCS#11 module at %s\n", m);
	return false;
}

int test_softhsm_write_conf(const char *path, const char *tokendir)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return -1;
	fprintf(fp, "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\nslots.removable = false\n", tokendir);
	return fclose(fp) == 0 ? 0 : -1;
}

int test_softhsm_make(struct test_softhsm *s, const char *tag)
{
	char tokendir[128];

	s->module = getenv("INKAN_TEST_PKCS11_MODULE");
	if (s->module == NULL)
		s->module = INKAN_SOFTHSM_MODULE;
	snprintf(s->dir, sizeof s->dir, "/tmp/inkan-test-%s-XXXXXX", tag);
	if (mkdtemp(s->dir) == NULL) {
		s->dir[0] = '\0';
		return -1;
	}
	snprintf(tokendir, sizeof tokendir, "%s/tokens", s->dir);
	snprintf(s->conf, sizeof s->conf, "%s/softhsm2.conf", s->dir);
	if (mkdir(tokendir, 0700) != 0 ||
	    test_softhsm_write_conf(s->conf, tokendir) != 0)
		return -1;
	return setenv("SOFTHSM2_CONF", s->conf, 1);
}

int test_softhsm_init_token(const struct test_softhsm *s, const char *label)
{
	struct p11_token t;

	memset(&t, 0, sizeof t);
	return p11_init_token(&t, s->module, label, SO_PIN, strlen(SO_PIN),
	    USER_PIN, strlen(USER_PIN)) == 0 ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

void test_softhsm_remove(struct test_softhsm *s)
{
	if (s->dir[0] != '\0')
		nftw(s->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	s->dir[0] = '\0';
}

static const EVP_MD *md_of(enum der_hash h)
{
	return h == DER_HASH_SHA256 ? EVP_sha256() :
	    h == DER_HASH_SHA384 ? EVP_sha384() : EVP_sha512();
}

int test_sig_verifies(EVP_PKEY *pk, enum p11_mech mech, enum der_hash h,
    uint32_t salt, const uint8_t *d, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	int ok = -1;

	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md_of(h)) != 1)
		goto out;
	if (mech == P11_MECH_RSA_PKCS1) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
			goto out;
	} else if (mech == P11_MECH_RSA_PSS) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md_of(h)) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)salt) != 1)
			goto out;
	}
	ok = EVP_PKEY_verify(ctx, sig, siglen, d, der_hash_len(h)) == 1;
out:
	EVP_PKEY_CTX_free(ctx);
	return ok;
}
