/* backup_srv.c — inkan-scm's backup handler and one-shot restore (see
 * backup_srv.h).
 * SECURITY: the handler obeys the SAM only (PEER_SAM, checked by the
 * dispatch table) and only with key_backup = true in [scm]; the SO PIN it
 * receives is used for one C_Login and never logged or kept; what it
 * answers is wrapped (signer keys and the MAC key under the KEK, the KEK
 * under share1 XOR share2) and the two shares, which it wipes once sent.
 * The restore mode runs before any service, as the owner of the token's
 * PIN file, reads its input from stdin (bounded), restores into a token
 * that holds no signer key and no MAC key, and checks every key by a
 * signature OpenSSL verifies under the archived public key. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "backup.h"
#include "backup_srv.h"
#include "log.h"
#include "mac.h"
#include "util.h"

#define BK_SO_PIN_MAX 64
#define BK_STDIN_MAX (512u * 1024 * 1024)

static void key_hex(const uint8_t *id, char out[2 * P11_KEY_ID_LEN + 1])
{
	for (int i = 0; i < P11_KEY_ID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static const char *why(struct p11_token *t, int rc, char *buf, size_t len)
{
	if (rc == SCM_BK_SO_PIN)
		return "the SO PIN was refused by the token";
	if (rc == SCM_BK_BAD_SHARES)
		return "the shares do not unwrap the key-encryption key "
		    "(a wrong or missing share)";
	if (t->err[0] != '\0' || rc == -EIO || rc >= SCM_BK_SO_PIN)
		return p11_describe(t, buf, len);
	return p11_strerror(rc);
}

static Inkan__Status bk_refuse(struct srv_ctx *c, Inkan__Status st,
    const char *text)
{
	log_warn("backup: refused: %s", text);
	srv_detail(c, "%s", text);
	return st;
}

static Inkan__Status bk_status(int rc)
{
	switch (rc) {
	case SCM_BK_SO_PIN:
	case SCM_BK_NOT_EXTRACTABLE: return INKAN__STATUS__DENIED;
	case -ENOTCONN:
	case SCM_BK_RELOGIN: return INKAN__STATUS__UNAVAILABLE;
	default: return INKAN__STATUS__INTERNAL;
	}
}

static void free_rep_keys(Inkan__WrappedKey **pk, Inkan__WrappedKey *k)
{
	free(pk);
	free(k);
}

static Inkan__Status answer_wrap(struct srv_ctx *c,
    const Inkan__BackupWrapReq *r, struct scm_bk_env *e)
{
	Inkan__BackupWrapRep rep = INKAN__BACKUP_WRAP_REP__INIT;
	uint8_t s1[SCM_BK_SHARE_LEN], s2[SCM_BK_SHARE_LEN];
	uint8_t *wkek = NULL, *wmac = NULL;
	size_t wkek_len = 0, wmac_len = 0, n = 0;
	struct scm_bk_key *keys = NULL;
	Inkan__WrappedKey *rk = NULL, **prk = NULL;
	bool start = r->has_so_pin, next = r->has_after_key_id;
	bool finish = r->has_finish && r->finish, more = false, created;
	char buf[320];
	int rc;

	e->handles_reset = false;
	e->lost = false;
	if ((int)start + (int)next + (int)finish != 1 ||
	    (r->has_finish && !r->finish))
		return bk_refuse(c, INKAN__STATUS__INVALID_REQUEST,
		    "exactly one of so_pin, after_key_id, finish");
	if (finish) {
		scm_bk_finish(e->tok, &e->kek);
		srv_reply(c, &rep.base);
		return INKAN__STATUS__OK;
	}
	if (!e->key_backup || e->user_pin == NULL)
		return bk_refuse(c, INKAN__STATUS__DENIED,
		    "key backup is disabled in inkan-scm ([scm] key_backup)");
	if (next && (r->after_key_id.len != P11_KEY_ID_LEN ||
	    e->kek == CK_INVALID_HANDLE))
		return bk_refuse(c, INKAN__STATUS__INVALID_REQUEST,
		    "after_key_id must be 16 bytes, during a backup");
	if (start) {
		if (r->so_pin.len < 1 || r->so_pin.len > BK_SO_PIN_MAX)
			return bk_refuse(c, INKAN__STATUS__INVALID_REQUEST,
			    "so_pin must be 1..64 bytes");
		scm_bk_finish(e->tok, &e->kek);         /* an older backup */
		if (*e->mac_key == CK_INVALID_HANDLE) {
			rc = scm_mac_open(e->tok, true, true, e->mac_key,
			    &created);
			if (rc != 0) {
				*e->mac_key = CK_INVALID_HANDLE;
				goto fail;
			}
		}
		rc = scm_bk_start(e->tok, (const char *)r->so_pin.data,
		    r->so_pin.len, e->user_pin, e->user_pin_len, &e->kek, s1, s2, &wkek, &wkek_len, &wmac, &wmac_len);
		/* The logout invalidated every private handle. */
		e->handles_reset = true;
		*e->mac_key = CK_INVALID_HANDLE;
		if (rc == SCM_BK_RELOGIN)
			e->lost = true;
		if (rc != 0)
			goto fail;
		(void)scm_mac_open(e->tok, false, true, e->mac_key, &created);
		log_warn("backup: started under an SO login: a trusted session "
		    "KEK wraps the keys; shares handed to inkan-sam");
	}
	rc = scm_bk_page(e->tok, e->kek, next ? r->after_key_id.data : NULL,
	    &keys, &n, &more);
	if (rc != 0)
		goto fail;
	if (n > 0) {
		rk = calloc(n, sizeof *rk);
		prk = calloc(n, sizeof *prk);
		if (rk == NULL || prk == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	for (size_t i = 0; i < n; i++) {
		inkan__wrapped_key__init(&rk[i]);
		rk[i].key_id.data = keys[i].id;
		rk[i].key_id.len = P11_KEY_ID_LEN;
		rk[i].key_type = (Inkan__KeyType)keys[i].type;
		rk[i].spki.data = keys[i].spki;
		rk[i].spki.len = keys[i].spki_len;
		rk[i].wrapped.data = keys[i].wrapped;
		rk[i].wrapped.len = keys[i].wrapped_len;
		prk[i] = &rk[i];
	}
	rep.n_keys = n;
	rep.keys = prk;
	rep.more = more;
	if (start) {
		rep.has_share1 = rep.has_share2 = true;
		rep.share1.data = s1;
		rep.share1.len = sizeof s1;
		rep.share2.data = s2;
		rep.share2.len = sizeof s2;
		rep.has_wrapped_kek = rep.has_wrapped_mac_key = true;
		rep.wrapped_kek.data = wkek;
		rep.wrapped_kek.len = wkek_len;
		rep.wrapped_mac_key.data = wmac;
		rep.wrapped_mac_key.len = wmac_len;
	}
	if (!more)
		scm_bk_finish(e->tok, &e->kek);         /* nothing left to wrap */
	srv_reply(c, &rep.base);
	log_info("backup: %zu key(s) wrapped%s", n, more ? ", more follow" : "");
	sodium_memzero(s1, sizeof s1);
	sodium_memzero(s2, sizeof s2);
	free(wkek);
	free(wmac);
	free_rep_keys(prk, rk);
	scm_bk_keys_free(keys, n);
	return INKAN__STATUS__OK;
fail:
	sodium_memzero(s1, sizeof s1);
	sodium_memzero(s2, sizeof s2);
	free(wkek);
	free(wmac);
	free_rep_keys(prk, rk);
	scm_bk_keys_free(keys, n);
	scm_bk_finish(e->tok, &e->kek);
	log_warn("backup: %s", why(e->tok, rc, buf, sizeof buf));
	srv_detail(c, "%s", why(e->tok, rc, buf, sizeof buf));
	return bk_status(rc);
}

Inkan__Status scm_bk_answer_wrap(struct srv_ctx *c,
    const Inkan__BackupWrapReq *r, struct scm_bk_env *e)
{
	Inkan__Status st = answer_wrap(c, r, e);

	/* The request is ours (unpacked for this call, freed by the server
	 * right after, unwiped): the SO PIN goes now, on every path. */
	if (r->has_so_pin && r->so_pin.data != NULL)
		sodium_memzero(r->so_pin.data, r->so_pin.len);
	return st;
}

/* ---- one-shot restore ---------------------------------------------------- */

/* Run as the owner of the PIN file (the service user), so that the token
 * objects written here belong to the daemon that will use them. */
static int become_pin_owner(const char *pin_file)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (stat(pin_file, &st) < 0)
		return -errno;
	if (st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(st.st_gid, st.st_gid,
	    st.st_gid) < 0 || setresuid(st.st_uid, st.st_uid, st.st_uid) < 0)
		return -errno;
	return 0;
}

static int read_user_pin(const char *path, char **pin, size_t *len)
{
	char *raw = NULL;
	size_t n = 0;
	int r = read_small_file(path, 256, &raw, &n);

	if (r < 0)
		return r;
	if (n == 0 || (*pin = sodium_malloc(n + 1)) == NULL) {
		sodium_memzero(raw, n);
		free(raw);
		return n == 0 ? -ENODATA : -ENOMEM;
	}
	memcpy(*pin, raw, n + 1);
	sodium_memzero(raw, n + 1);
	free(raw);
	*len = n;
	return 0;
}

static bool key_type_ok(Inkan__KeyType t)
{
	return t == INKAN__KEY_TYPE__KEY_EC_P256 ||
	    t == INKAN__KEY_TYPE__KEY_EC_P384 ||
	    t == INKAN__KEY_TYPE__KEY_RSA_2048 ||
	    t == INKAN__KEY_TYPE__KEY_RSA_3072;
}

int scm_bk_restore_input_parse(const uint8_t *data, size_t len,
    Inkan__BackupRestoreInput **out)
{
	Inkan__BackupRestoreInput *in;

	*out = NULL;
	in = inkan__backup_restore_input__unpack(NULL, len, data);
	if (in == NULL)
		return -EINVAL;
	if (in->unwrap_key.len != SCM_BK_SHARE_LEN ||
	    in->wrapped_kek.len == 0 || in->wrapped_kek.len > 64 ||
	    in->wrapped_mac_key.len == 0 ||
	    in->wrapped_mac_key.len > SCM_BK_WRAPPED_MAX)
		goto bad;
	for (size_t i = 0; i < in->n_keys; i++) {
		const Inkan__WrappedKey *k = in->keys[i];

		/* Strictly increasing ids (the archive's order): no key is
		 * put into the token twice under one CKA_ID. */
		if (k->key_id.len != P11_KEY_ID_LEN || !key_type_ok(k->key_type) ||
		    k->spki.len == 0 || k->spki.len > SCM_BK_SPKI_MAX ||
		    k->wrapped.len == 0 || k->wrapped.len > SCM_BK_WRAPPED_MAX ||
		    (i > 0 && memcmp(in->keys[i - 1]->key_id.data,
		    k->key_id.data, P11_KEY_ID_LEN) >= 0))
			goto bad;
	}
	*out = in;
	return 0;
bad:
	if (in->unwrap_key.data != NULL)
		sodium_memzero(in->unwrap_key.data, in->unwrap_key.len);
	inkan__backup_restore_input__free_unpacked(in, NULL);
	return -EINVAL;
}

/* A failed restore takes back what it put into the token (the MAC key and
 * the first `done` keys): the token is fresh again and the restore can be
 * run once more. What cannot be destroyed is named. */
static void restore_rollback(struct p11_token *t,
    const Inkan__BackupRestoreInput *in, size_t done, bool mac)
{
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	char hex[2 * P11_KEY_ID_LEN + 1];
	bool created;
	int left = 0;

	for (size_t i = 0; i < done; i++) {
		if (p11_destroy(t, in->keys[i]->key_id.data) != 0) {
			key_hex(in->keys[i]->key_id.data, hex);
			log_err("restore: key %s stays in the token", hex);
			left = 1;
		}
	}
	if (mac && (scm_mac_open(t, false, false, &h, &created) != 0 ||
	    t->f->C_DestroyObject(t->session, h) != CKR_OK)) {
		log_err("restore: the row-MAC key stays in the token");
		left = 1;
	}
	if (left)
		log_err("restore: initialise a fresh token before trying again");
	else if (done > 0 || mac)
		log_err("restore: what was restored was taken out again: the "
		    "token is as fresh as before");
}

int scm_bk_restore_main(const struct scm_bk_restore_cfg *cfg)
{
	Inkan__BackupRestoreInput *in = NULL;
	struct p11_token t;
	CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
	uint8_t *raw = NULL;
	size_t raw_len = 0, pin_len = 0, done = 0;
	char *pin = NULL, buf[320], hex[2 * P11_KEY_ID_LEN + 1];
	bool mac = false;
	int r, ret = 1;

	memset(&t, 0, sizeof t);
	if ((r = become_pin_owner(cfg->pin_file)) < 0) {
		log_err("restore: cannot become the owner of %s: %s",
		    cfg->pin_file, strerror(-r));
		return 1;
	}
	if ((r = read_fd_wiped(0, BK_STDIN_MAX, &raw, &raw_len)) < 0) {
		log_err("restore: reading the restore input: %s", strerror(-r));
		return 1;
	}
	r = scm_bk_restore_input_parse(raw, raw_len, &in);
	sodium_memzero(raw, raw_len);
	free(raw);
	if (r < 0) {
		log_err("restore: the restore input is malformed");
		goto out;
	}
	if ((r = read_user_pin(cfg->pin_file, &pin, &pin_len)) < 0) {
		log_err("restore: cannot read PIN file %s: %s", cfg->pin_file,
		    r == -ENODATA ? "empty" : strerror(-r));
		goto out;
	}
	r = p11_open(&t, cfg->module, cfg->token_label, cfg->token_serial, pin,
	    pin_len);
	sodium_free(pin);
	if (r != 0) {
		log_err("restore: cannot open the token: %s",
		    why(&t, r, buf, sizeof buf));
		goto out;
	}
	r = scm_bk_restore_begin(&t, in->unwrap_key.data, in->wrapped_kek.data,
	    in->wrapped_kek.len, &kek);
	if (r != 0) {
		log_err("restore: %s", why(&t, r, buf, sizeof buf));
		goto out;
	}
	r = scm_bk_restore_mac(&t, kek, in->wrapped_mac_key.data,
	    in->wrapped_mac_key.len, cfg->key_backup);
	if (r != 0) {
		log_err("restore: the row-MAC key: %s", why(&t, r, buf,
		    sizeof buf));
		goto out;
	}
	mac = true;
	printf("restored row-MAC key %s\n", SCM_MAC_LABEL);
	for (size_t i = 0; i < in->n_keys; i++) {
		const Inkan__WrappedKey *w = in->keys[i];
		struct scm_bk_key k;

		memset(&k, 0, sizeof k);
		memcpy(k.id, w->key_id.data, P11_KEY_ID_LEN);
		k.type = (enum p11_key_type)w->key_type;
		k.spki = w->spki.data;
		k.spki_len = w->spki.len;
		k.wrapped = w->wrapped.data;
		k.wrapped_len = w->wrapped.len;
		key_hex(k.id, hex);
		r = scm_bk_restore_key(&t, kek, &k, cfg->key_backup);
		if (r != 0) {
			log_err("restore: key %s: %s", hex,
			    why(&t, r, buf, sizeof buf));
			goto out;
		}
		done = i + 1;
		printf("restored key %s\n", hex);
	}
	fflush(stdout);
	ret = 0;
out:
	if (ret != 0 && in != NULL)
		restore_rollback(&t, in, done, mac);
	scm_bk_finish(&t, &kek);
	p11_close(&t);
	if (in != NULL) {
		sodium_memzero(in->unwrap_key.data, in->unwrap_key.len);
		inkan__backup_restore_input__free_unpacked(in, NULL);
	}
	return ret;
}
