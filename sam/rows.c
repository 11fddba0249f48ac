/* rows.c — row digests, MAC batches and MACed writes (see rows.h). The
 * digest of a row is SHA-256 over a domain tag and every field that decides
 * who may sign with which key, each field length-prefixed so that no two rows
 * share an encoding. Counters that change on every attempt (failures, lock,
 * TOTP step, a SAD's remaining count and hash states) are not covered: see
 * docs/security.md for what that leaves to a database writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "rows.h"

/* ---- canonical encoding ------------------------------------------------ */

static void put_bytes(crypto_hash_sha256_state *h, const void *p, size_t len)
{
	uint8_t l[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
	    (uint8_t)(len >> 8), (uint8_t)len };
	crypto_hash_sha256_update(h, l, sizeof l);
	if (len)
		crypto_hash_sha256_update(h, p, len);
}

static void put_str(crypto_hash_sha256_state *h, const char *s)
{
	/* NULL and "" differ: a flag byte first */
	uint8_t present = s != NULL;
	crypto_hash_sha256_update(h, &present, 1);
	put_bytes(h, s ? s : "", s ? strlen(s) : 0);
}

static void put_i64(crypto_hash_sha256_state *h, int64_t v)
{
	uint64_t u = (uint64_t)v;
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(u >> (56 - 8 * i));
	put_bytes(h, b, sizeof b);
}

static void tag(crypto_hash_sha256_state *h, const char *t)
{
	crypto_hash_sha256_init(h);
	put_str(h, "inkan/row-mac/v1");
	put_str(h, t);
}

void sam_row_user(const struct sam_user *u, uint8_t out[32])
{
	crypto_hash_sha256_state h;

	tag(&h, "user");
	put_i64(&h, u->id);
	put_str(&h, u->name);
	put_str(&h, u->pw_hash);
	put_str(&h, u->pin_hash);
	put_bytes(&h, u->totp_secret, u->totp_len);
	crypto_hash_sha256_final(&h, out);
	sodium_memzero(&h, sizeof h);     /* it saw the TOTP secret */
}

void sam_row_cred(const struct sam_cred *c, uint8_t out[32])
{
	crypto_hash_sha256_state h;
	uint8_t has_cert = c->cert != NULL;

	tag(&h, "credential");
	put_str(&h, c->id);
	put_i64(&h, c->user_id);
	put_i64(&h, c->key_type);
	put_bytes(&h, c->key_id, SAM_KEY_ID_LEN);
	put_bytes(&h, c->spki, c->spki_len);
	put_bytes(&h, &has_cert, 1);
	put_bytes(&h, c->cert, c->cert_len);
	put_str(&h, c->subject_dn);
	put_str(&h, c->issuer_dn);
	put_str(&h, c->serial_hex);
	put_i64(&h, c->not_before);
	put_i64(&h, c->not_after);
	put_i64(&h, c->status);
	put_i64(&h, c->multisign);
	if (c->replaces[0] != '\0') {      /* schema 4: a renewal's link */
		put_str(&h, "replaces");
		put_str(&h, c->replaces);
	}
	crypto_hash_sha256_final(&h, out);
}

void sam_row_reg(int64_t user_id, const struct sam_reg *g, uint8_t out[32])
{
	crypto_hash_sha256_state h;

	tag(&h, "registration");
	put_i64(&h, user_id);
	put_str(&h, g->subject);
	put_str(&h, g->idcode_hash);
	put_i64(&h, g->idcode_used);
	put_i64(&h, g->terminated);
	crypto_hash_sha256_final(&h, out);
}

void sam_row_token(const uint8_t token_hash[32], int64_t user_id,
    int64_t expires, uint8_t out[32])
{
	crypto_hash_sha256_state h;

	tag(&h, "token");
	put_bytes(&h, token_hash, 32);
	put_i64(&h, user_id);
	put_i64(&h, expires);
	crypto_hash_sha256_final(&h, out);
}

static int bin_cmp(const void *a, const void *b)
{
	const ProtobufCBinaryData *x = *(const ProtobufCBinaryData *const *)a;
	const ProtobufCBinaryData *y = *(const ProtobufCBinaryData *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->data, y->data, n) : 0;
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

int sam_row_sad(const uint8_t sad_hash[32], const struct sam_sad_row *r,
    const ProtobufCBinaryData *digests, size_t n, uint8_t out[32])
{
	const ProtobufCBinaryData **v = NULL;
	crypto_hash_sha256_state h;

	if (n) {
		v = malloc(n * sizeof *v);
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			v[i] = &digests[i];
		qsort(v, n, sizeof *v, bin_cmp);
	}
	tag(&h, "sad");
	put_bytes(&h, sad_hash, 32);
	put_i64(&h, r->user_id);
	put_str(&h, r->cred_id);
	put_bytes(&h, r->token_hash, 32);
	put_i64(&h, r->hash_alg);
	put_i64(&h, r->expires);
	put_i64(&h, (int64_t)n);
	for (size_t i = 0; i < n; i++)
		put_bytes(&h, v[i]->data, v[i]->len);
	crypto_hash_sha256_final(&h, out);
	free(v);
	return 0;
}

static int collect(void *arg, const uint8_t *digest, size_t len, int state)
{
	struct sam_digests *d = arg;

	if (len == 0 || len > SAM_DIGEST_MAX || d->n >= SAM_HASHES_MAX)
		return -EIO;       /* nothing we wrote looks like that */
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		ProtobufCBinaryData *v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		d->v = v;
		int *s = realloc(d->state, cap * sizeof *s);
		if (!s)
			return -ENOMEM;
		d->state = s;
		d->cap = cap;
	}
	d->v[d->n].data = malloc(len);
	if (!d->v[d->n].data)
		return -ENOMEM;
	memcpy(d->v[d->n].data, digest, len);
	d->v[d->n].len = len;
	d->state[d->n] = state;
	d->n++;
	return 0;
}

int sam_digests_load(struct sam_store *st, const uint8_t sad_hash[32],
    struct sam_digests *d)
{
	int r;

	memset(d, 0, sizeof *d);
	r = sam_store_sad_hashes(st, sad_hash, collect, d);
	if (r < 0)
		sam_digests_free(d);
	return r;
}

void sam_digests_free(struct sam_digests *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].data);
	free(d->v);
	free(d->state);
	memset(d, 0, sizeof *d);
}

/* ---- batches ----------------------------------------------------------- */

void sam_macb_init(struct sam_macb *b)
{
	b->n = 0;
}

int sam_macb_check(struct sam_macb *b, const uint8_t digest[32],
    const uint8_t *stored, const char *what)
{
	size_t i = b->n;

	if (i >= SAM_MAC_BATCH_MAX)
		return -ENOSPC;
	memcpy(b->in[i], digest, SAM_MAC_LEN);
	b->check[i] = true;
	b->have[i] = stored != NULL;
	if (stored)
		memcpy(b->want[i], stored, SAM_MAC_LEN);
	snprintf(b->what[i], sizeof b->what[i], "%s", what);
	b->n++;
	return (int)i;
}

int sam_macb_new(struct sam_macb *b, const uint8_t digest[32])
{
	size_t i = b->n;

	if (i >= SAM_MAC_BATCH_MAX)
		return -ENOSPC;
	memcpy(b->in[i], digest, SAM_MAC_LEN);
	b->check[i] = false;
	b->have[i] = false;
	b->what[i][0] = '\0';
	b->n++;
	return (int)i;
}

Inkan__Status sam_macb_run(struct sam_core *core, struct sam_macb *b)
{
	int r;

	if (b->n == 0)
		return INKAN__STATUS__OK;
	if (!core->mac) {
		snprintf(core->notes.alert, sizeof core->notes.alert,
		    "no MAC service configured: %s cannot be checked",
		    b->check[0] ? b->what[0] : "a new row");
		return INKAN__STATUS__INTEGRITY;
	}
	r = core->mac(core->mac_arg, (const uint8_t (*)[SAM_MAC_LEN])b->in,
	    b->n, b->out);
	if (r == -EAGAIN)
		return INKAN__STATUS__UNAVAILABLE;
	if (r < 0)
		return INKAN__STATUS__INTERNAL;
	for (size_t i = 0; i < b->n; i++) {
		if (!b->check[i])
			continue;
		if (!b->have[i]) {
			snprintf(core->notes.alert, sizeof core->notes.alert,
			    "%s carries no MAC", b->what[i]);
			return INKAN__STATUS__INTEGRITY;
		}
		if (sodium_memcmp(b->out[i], b->want[i], SAM_MAC_LEN) != 0) {
			snprintf(core->notes.alert, sizeof core->notes.alert,
			    "%s: row MAC mismatch (row edited outside inkan-sam)",
			    b->what[i]);
			return INKAN__STATUS__INTEGRITY;
		}
	}
	return INKAN__STATUS__OK;
}

void sam_rows_what_cred(const char *cred_id, char out[80])
{
	snprintf(out, 80, "credential %.32s", cred_id);
}

void sam_rows_what_user(int64_t id, const char *name, char out[80])
{
	snprintf(out, 80, "user %lld (%.40s)", (long long)id, name);
}

/* ---- MACed writes ------------------------------------------------------ */

Inkan__Status sam_rows_user_add(struct sam_core *core, const char *name,
    const char *pw_hash, const char *pin_hash, const uint8_t *totp,
    size_t totp_len, int64_t created, int64_t *id)
{
	struct sam_user *u;
	struct sam_macb b;
	uint8_t d[32];
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	int64_t uid = 0;
	int r;

	u = sodium_malloc(sizeof *u);
	if (!u)
		return INKAN__STATUS__INTERNAL;
	if (sam_store_begin(core->store) < 0)
		goto out;
	r = sam_store_user_add(core->store, name, pw_hash, pin_hash, totp,
	    totp_len, created, &uid);
	if (r == -EEXIST) {
		st = INKAN__STATUS__EXISTS;
		goto rollback;
	}
	/* the digest is made from the row as stored */
	if (r < 0 || sam_store_user_by_id(core->store, uid, u) < 0)
		goto rollback;
	sam_row_user(u, d);
	sam_macb_init(&b);
	sam_macb_new(&b, d);
	st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK)
		goto rollback;
	st = INKAN__STATUS__INTERNAL;
	if (sam_store_user_set_mac(core->store, uid, b.out[0]) < 0)
		goto rollback;
	if (sam_store_commit(core->store) < 0)
		goto out;
	if (id)
		*id = uid;
	st = INKAN__STATUS__OK;
	goto out;
rollback:
	sam_store_rollback(core->store);
out:
	sodium_free(u);
	return st;
}

Inkan__Status sam_rows_cred_add(struct sam_core *core,
    const struct sam_user *owner, const char *id, int key_type,
    const uint8_t *key_id, const uint8_t *spki, size_t spki_len,
    int64_t created, const char *replaces)
{
	struct sam_cred c;
	struct sam_macb b;
	uint8_t du[32], dc[32];
	char what[80];
	Inkan__Status st;
	int slot, r;

	memset(&c, 0, sizeof c);
	snprintf(c.id, sizeof c.id, "%s", id);
	c.user_id = owner->id;
	c.key_type = key_type;
	memcpy(c.key_id, key_id, SAM_KEY_ID_LEN);
	c.spki = (uint8_t *)spki;
	c.spki_len = spki_len;
	c.status = SAM_CRED_PENDING;
	if (replaces)
		snprintf(c.replaces, sizeof c.replaces, "%s", replaces);
	sam_row_user(owner, du);
	sam_row_cred(&c, dc);
	sam_rows_what_user(owner->id, owner->name, what);
	sam_macb_init(&b);
	sam_macb_check(&b, du, owner->has_mac ? owner->mac : NULL, what);
	slot = sam_macb_new(&b, dc);
	st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK)
		return st;
	r = sam_store_cred_add(core->store, id, owner->id, key_type, key_id,
	    spki, spki_len, created, c.replaces, b.out[slot]);
	if (r == -EEXIST)
		return INKAN__STATUS__EXISTS;
	return r < 0 ? INKAN__STATUS__INTERNAL : INKAN__STATUS__OK;
}

Inkan__Status sam_rows_cred_remac(struct sam_core *core,
    const struct sam_cred *old, const struct sam_cred *upd,
    uint8_t mac_out[SAM_MAC_LEN])
{
	struct sam_macb b;
	uint8_t d_old[32], d_new[32];
	char what[80];
	Inkan__Status st;
	int slot;

	sam_row_cred(old, d_old);
	sam_row_cred(upd, d_new);
	sam_rows_what_cred(old->id, what);
	sam_macb_init(&b);
	sam_macb_check(&b, d_old, old->has_mac ? old->mac : NULL, what);
	slot = sam_macb_new(&b, d_new);
	st = sam_macb_run(core, &b);
	if (st == INKAN__STATUS__OK)
		memcpy(mac_out, b.out[slot], SAM_MAC_LEN);
	return st;
}

Inkan__Status sam_rows_reg_check(struct sam_core *core, int64_t user_id,
    const char *name, struct sam_reg *g)
{
	struct sam_macb b;
	uint8_t d[32];
	char what[80];
	int r = sam_store_reg_get(core->store, user_id, g);

	if (r == -ENOENT)
		return INKAN__STATUS__NOT_FOUND;
	if (r < 0)
		return INKAN__STATUS__INTERNAL;
	sam_row_reg(user_id, g, d);
	snprintf(what, sizeof what, "registration of user %lld (%.40s)",
	    (long long)user_id, name);
	sam_macb_init(&b);
	sam_macb_check(&b, d, g->has_mac ? g->mac : NULL, what);
	return sam_macb_run(core, &b);
}

Inkan__Status sam_rows_reg_write(struct sam_core *core, int64_t user_id,
    struct sam_reg *g)
{
	struct sam_macb b;
	uint8_t d[32];
	Inkan__Status st;
	int slot;

	sam_row_reg(user_id, g, d);
	sam_macb_init(&b);
	slot = sam_macb_new(&b, d);
	st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK)
		return st;
	memcpy(g->mac, b.out[slot], 32);
	g->has_mac = true;
	return sam_store_reg_set(core->store, user_id, g) < 0 ?
	    INKAN__STATUS__INTERNAL : INKAN__STATUS__OK;
}
