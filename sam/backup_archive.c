/* backup_archive.c — the backup archive and share formats, the payload
 * checks and the old trail's scan (see backup_archive.h). Everything here
 * decodes external input (files an operator hands over): fuzz targets in
 * tests/fuzz/fuzz-backup-*.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit_format.h"
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
	char buf[BK_SHARE_TEXT_MAX], canon[BK_SHARE_TEXT_MAX];
	char idh[2 * BK_ID_LEN + 1], sh[2 * BK_SHARE_LEN + 1], ck[9], want[9];
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
	/* One spelling only: sscanf lets "+1", " 01", other white space and a
	 * missing last newline through; what was read must format back to
	 * exactly the input. */
	bk_share_format(id, num, share, canon);
	if (strlen(canon) != len || sodium_memcmp(canon, buf, len) != 0)
		goto out;
	*n = num;
	r = 0;
out:
	sodium_memzero(buf, sizeof buf);
	sodium_memzero(canon, sizeof canon);
	sodium_memzero(sh, sizeof sh);
	if (r != 0)
		sodium_memzero(share, BK_SHARE_LEN);
	return r;
}

bool bk_hex_ok(const char *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

bool bk_wrapped_key_ok(const Inkan__WrappedKey *k)
{
	return k->key_id.len == BK_ID_LEN &&
	    k->key_type >= INKAN__KEY_TYPE__KEY_EC_P256 &&
	    k->key_type <= INKAN__KEY_TYPE__KEY_RSA_3072 &&
	    k->spki.len > 0 && k->spki.len <= BK_SPKI_MAX &&
	    k->wrapped.len > 0 && k->wrapped.len <= BK_WRAPPED_MAX;
}

int bk_payload_parse(const uint8_t *data, size_t len,
    Inkan__BackupPayload **out)
{
	Inkan__BackupPayload *p;

	*out = NULL;
	p = inkan__backup_payload__unpack(NULL, len, data);
	if (p == NULL)
		return -EINVAL;
	if (p->version != 1 || !bk_hex_ok(p->audit_head, 64) ||
	    p->wrapped_kek.len == 0 || p->wrapped_kek.len > BK_WRAPPED_KEK_MAX ||
	    p->wrapped_mac_key.len == 0 ||
	    p->wrapped_mac_key.len > BK_WRAPPED_MAX ||
	    p->database.len < BK_DB_MIN)
		goto bad;
	for (size_t i = 0; i < p->n_keys; i++)
		if (!bk_wrapped_key_ok(p->keys[i]) || (i > 0 &&
		    memcmp(p->keys[i - 1]->key_id.data, p->keys[i]->key_id.data,
		    BK_ID_LEN) >= 0))
			goto bad;
	*out = p;
	return 0;
bad:
	inkan__backup_payload__free_unpacked(p, NULL);
	return -EINVAL;
}

/* ---- the old audit trail ------------------------------------------------- */

void bk_trail_init(struct bk_trail *t, uint64_t head_seq,
    const char *head_hash, int (*destroyed)(void *, const char *),
    void *arg)
{
	memset(t, 0, sizeof *t);
	t->head_seq = head_seq;
	snprintf(t->head_hash, sizeof t->head_hash, "%s", head_hash);
	t->destroyed = destroyed;
	t->arg = arg;
	t->seen_head = head_seq == 0;
}

int bk_trail_feed(struct bk_trail *t, const char *name, const char *buf,
    size_t len)
{
	struct audit_rec rec;
	const struct audit_tok *cred;
	char err[128], id[2 * BK_ID_LEN + 2];
	size_t pos = 0;
	int r;

	while (pos < len) {
		const char *line = buf + pos, *nl;
		size_t ll;

		nl = memchr(line, '\n', len - pos);
		if (nl == NULL) {
			t->torn++;              /* a torn last line */
			break;
		}
		ll = (size_t)(nl - line);
		pos += ll + 1;
		r = audit_parse(line, ll, &rec, err, sizeof err);
		if (r == 0 && !audit_hash_ok(line, &rec)) {
			snprintf(err, sizeof err, "its hash does not match");
			r = -EINVAL;
		}
		if (r < 0) {
			snprintf(t->problem, sizeof t->problem, "%s: the record "
			    "after seq %" PRIu64 " is damaged (%s)", name, t->last,
			    err);
			return -EBADMSG;
		}
		if (t->last != 0 && (rec.seq != t->last + 1 ||
		    strcmp(rec.prev, t->prev) != 0)) {
			snprintf(t->problem, sizeof t->problem, "%s: the hash "
			    "chain breaks at seq %" PRIu64, name, rec.seq);
			return -EBADMSG;
		}
		t->last = rec.seq;
		memcpy(t->prev, rec.hash, sizeof t->prev);
		if (rec.seq == t->head_seq && t->head_seq != 0) {
			if (strcmp(rec.hash, t->head_hash) != 0) {
				snprintf(t->problem, sizeof t->problem, "record "
				    "%" PRIu64 " is not the archived chain head: "
				    "this trail is not the one the backup was "
				    "made from", t->head_seq);
				return -EBADMSG;
			}
			t->seen_head = true;
		}
		if (rec.seq <= t->head_seq ||
		    !audit_tok_eq(&rec.event, "key.destroy") ||
		    (cred = audit_get(&rec, "cred")) == NULL ||
		    audit_decode(cred, id, sizeof id) < 0 ||
		    !bk_hex_ok(id, 2 * BK_ID_LEN))
			continue;
		if (!t->seen_head) {
			/* After the head by number, but the head was not met:
			 * the trail does not continue the archived one. */
			snprintf(t->problem, sizeof t->problem, "%s: the trail "
			    "starts after the archived chain head (seq %" PRIu64
			    ")", name, t->head_seq);
			return -EBADMSG;
		}
		if (t->destroyed != NULL &&
		    (r = t->destroyed(t->arg, id)) < 0)
			return r;
		t->found++;
	}
	return 0;
}

int bk_trail_end(struct bk_trail *t)
{
	if (!t->seen_head) {
		snprintf(t->problem, sizeof t->problem, "the archived chain head "
		    "(seq %" PRIu64 ") is not in this trail", t->head_seq);
		return -EBADMSG;
	}
	return 0;
}
