/* backup_archive.c — the backup archive and share formats (see
 * backup_archive.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "backup_archive.h"

static const char magic[8] = { 'I', 'N', 'K', 'A', 'N', 'B', 'K', '1' };

static int derive(const uint8_t s1[BK_SHARE_LEN],
    const uint8_t s2[BK_SHARE_LEN], uint8_t key[32])
{
	uint8_t w[BK_SHARE_LEN];
	int r;

	for (int i = 0; i < BK_SHARE_LEN; i++)
		w[i] = s1[i] ^ s2[i];
	r = crypto_kdf_derive_from_key(key, 32, 1, "inkanbak", w);
	sodium_memzero(w, sizeof w);
	return r == 0 ? 0 : -EINVAL;
}

int bk_archive_seal(const uint8_t id[BK_ID_LEN], int64_t created_ms,
    const uint8_t s1[BK_SHARE_LEN], const uint8_t s2[BK_SHARE_LEN],
    const uint8_t *payload, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t key[32], *a;
	unsigned long long clen = 0;
	uint64_t t = (uint64_t)created_ms;

	if (len > SIZE_MAX - BK_HDR_LEN - crypto_aead_xchacha20poly1305_ietf_ABYTES)
		return -EFBIG;
	a = malloc(BK_HDR_LEN + len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
	if (a == NULL)
		return -ENOMEM;
	memcpy(a, magic, 8);
	memcpy(a + 8, id, BK_ID_LEN);
	for (int i = 0; i < 8; i++)
		a[24 + i] = (uint8_t)(t >> (56 - 8 * i));
	randombytes_buf(a + 32, 24);
	if (derive(s1, s2, key) < 0) {
		free(a);
		return -EINVAL;
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt(a + BK_HDR_LEN, &clen,
	    payload, len, a, BK_HDR_LEN, NULL, a + 32, key);
	sodium_memzero(key, sizeof key);
	*out = a;
	*out_len = BK_HDR_LEN + (size_t)clen;
	return 0;
}

int bk_archive_peek(const uint8_t *a, size_t len, uint8_t id[BK_ID_LEN],
    int64_t *created_ms)
{
	uint64_t t = 0;

	if (len < BK_HDR_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    memcmp(a, magic, 8) != 0)
		return -EINVAL;
	memcpy(id, a + 8, BK_ID_LEN);
	for (int i = 0; i < 8; i++)
		t = (t << 8) | a[24 + i];
	*created_ms = (int64_t)t;
	return 0;
}

int bk_archive_open(const uint8_t *a, size_t len,
    const uint8_t s1[BK_SHARE_LEN], const uint8_t s2[BK_SHARE_LEN],
    uint8_t **payload, size_t *plen)
{
	uint8_t key[32], id[BK_ID_LEN], *p;
	unsigned long long n = 0;
	int64_t created;
	int r;

	if ((r = bk_archive_peek(a, len, id, &created)) < 0)
		return r;
	if ((p = malloc(len - BK_HDR_LEN)) == NULL)
		return -ENOMEM;
	if (derive(s1, s2, key) < 0) {
		free(p);
		return -EINVAL;
	}
	r = crypto_aead_xchacha20poly1305_ietf_decrypt(p, &n, NULL,
	    a + BK_HDR_LEN, len - BK_HDR_LEN, a, BK_HDR_LEN, a + 32, key);
	sodium_memzero(key, sizeof key);
	if (r != 0) {
		free(p);
		return -EBADMSG;
	}
	*payload = p;
	*plen = (size_t)n;
	return 0;
}

static void share_check(const uint8_t id[BK_ID_LEN], int n,
    const uint8_t share[BK_SHARE_LEN], char hex[9])
{
	crypto_generichash_state st;
	uint8_t d[32], nb = (uint8_t)n;

	crypto_generichash_init(&st, (const unsigned char *)"inkan-share", 11,
	    sizeof d);
	crypto_generichash_update(&st, &nb, 1);
	crypto_generichash_update(&st, id, BK_ID_LEN);
	crypto_generichash_update(&st, share, BK_SHARE_LEN);
	crypto_generichash_final(&st, d, sizeof d);
	sodium_bin2hex(hex, 9, d, 4);
}

void bk_share_format(const uint8_t id[BK_ID_LEN], int n,
    const uint8_t share[BK_SHARE_LEN], char out[BK_SHARE_TEXT_MAX])
{
	char idh[2 * BK_ID_LEN + 1], sh[2 * BK_SHARE_LEN + 1], ck[9];

	sodium_bin2hex(idh, sizeof idh, id, BK_ID_LEN);
	sodium_bin2hex(sh, sizeof sh, share, BK_SHARE_LEN);
	share_check(id, n, share, ck);
	snprintf(out, BK_SHARE_TEXT_MAX, "inkan backup share %d of 2\n"
	    "archive: %s\nshare: %s\ncheck: %s\n", n, idh, sh, ck);
	sodium_memzero(sh, sizeof sh);
}

int bk_share_parse(const char *text, size_t len, uint8_t id[BK_ID_LEN],
    int *n, uint8_t share[BK_SHARE_LEN])
{
	char buf[BK_SHARE_TEXT_MAX], idh[2 * BK_ID_LEN + 1];
	char sh[2 * BK_SHARE_LEN + 1], ck[9], want[9];
	size_t got;
	int r = -EINVAL, num = 0, end = 0;

	if (len == 0 || len >= sizeof buf)
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (sscanf(buf, "inkan backup share %d of 2\narchive: %32[0-9a-f]\n"
	    "share: %64[0-9a-f]\ncheck: %8[0-9a-f]\n%n", &num, idh, sh, ck,
	    &end) != 4 || (size_t)end != len || (num != 1 && num != 2) ||
	    strlen(idh) != 32 || strlen(sh) != 64 || strlen(ck) != 8)
		goto out;
	if (sodium_hex2bin(id, BK_ID_LEN, idh, 32, NULL, &got, NULL) != 0 ||
	    got != BK_ID_LEN ||
	    sodium_hex2bin(share, BK_SHARE_LEN, sh, 64, NULL, &got, NULL) != 0 ||
	    got != BK_SHARE_LEN)
		goto out;
	share_check(id, num, share, want);
	if (sodium_memcmp(want, ck, 8) != 0) {
		r = -EBADMSG;
		goto out;
	}
	*n = num;
	r = 0;
out:
	sodium_memzero(buf, sizeof buf);
	sodium_memzero(sh, sizeof sh);
	return r;
}
