/* totp.c — TOTP through liboath; the decoded key is copied to sodium memory
 * and liboath's own malloc'd copy is wiped before it is freed. */
#include "totp.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <sodium.h>

#define B32_MAX 256

int totp_code(const char *secret_b32, time_t when, char out[TOTP_DIGITS + 1])
{
	char *norm;
	char *key = NULL;
	size_t keylen = 0, n = 0, i;
	int r;

	if (strlen(secret_b32) > B32_MAX)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	norm = sodium_malloc(B32_MAX + 1);
	if (norm == NULL)
		return -ENOMEM;
	/* liboath wants upper-case base32; drop separators people type. */
	for (i = 0; secret_b32[i] != '\0'; i++) {
		unsigned char c = (unsigned char)secret_b32[i];
		if (c == ' ' || c == '-')
			continue;
		norm[n++] = (char)toupper(c);
	}
	norm[n] = '\0';
	if (n == 0) {
		r = -EINVAL;
		goto out;
	}

	if (oath_init() != OATH_OK) {
		r = -EIO;
		goto out;
	}
	r = oath_base32_decode(norm, n, &key, &keylen);
	if (r != OATH_OK || keylen == 0) {
		r = -EINVAL;
		goto done;
	}
	r = oath_totp_generate(key, keylen, when, TOTP_STEP,
	    OATH_TOTP_DEFAULT_START_TIME, TOTP_DIGITS, out);
	r = (r == OATH_OK) ? 0 : -EIO;
done:
	if (key != NULL) {
		sodium_memzero(key, keylen);
		free(key);
	}
	oath_done();
out:
	sodium_memzero(norm, B32_MAX + 1);
	sodium_free(norm);
	return r;
}
