/* test-softhsm.c — see test-softhsm.h. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "inkan-config.h"
#include "test-softhsm.h"

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
