/* admin.c — inkan-sam's answers to inkanctl on the role sockets: the
 * administrator (PEER_ADMIN: users and their registration, certificate
 * import, listings; revocation and termination in lifecycle.c) and the security officer (PEER_SO: unlock, disable /
 * enable, per-credential multisign, lock state).
 * SECURITY: no message here can make a signer's key sign caller-chosen data,
 * nor generate a key (issue 7: only the signer instructs that, with both
 * factors: lifecycle.c). No message here
 * issues a token or a SAD. Every row written here carries its HSM MAC, and
 * every row changed here is checked against its MAC first (rows.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <liboath/oath.h>
#include <openssl/crypto.h>

#include "log.h"
#include "util.h"
#include "sam.h"
#include "algo.h"
#include "auth.h"
#include "rows.h"
#include "sad.h"
#include "scm_client.h"
#include "store.h"
#include "x509.h"
#include "audit.h"
#include "lifecycle.h"

/* The registration's subject, joined (x509.h); -EINVAL if a field is bad. */
static int join_subject(const Inkan__Subject *sj, char out[SAM_SUBJECT_MAX + 1])
{
	const char *f[SAM_SUBJECT_FIELDS] = { sj->cn, sj->o, sj->ou, sj->c,
	    sj->serial, sj->email };
	size_t o = 0;

	for (int i = 0; i < SAM_SUBJECT_FIELDS; i++) {
		const char *v = f[i] ? f[i] : "";
		size_t n = strlen(v);

		if (memchr(v, SAM_SUBJECT_SEP, n) || n > SAM_SUBJECT_FIELD_MAX ||
		    o + n + 1 > SAM_SUBJECT_MAX)
			return -EINVAL;
		if (i)
			out[o++] = SAM_SUBJECT_SEP;
		memcpy(out + o, v, n);
		o += n;
	}
	out[o] = '\0';
	return sam_x509_subject_ok(out) ? 0 : -EINVAL;
}

Inkan__Status sam_answer_user_add(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	struct sam_core *core = &app->core;
	const Inkan__UserAddReq *req = (const Inkan__UserAddReq *)m;
	Inkan__UserAddRep rep = INKAN__USER_ADD_REP__INIT;
	struct sam_user *u = NULL;
	char pw_hash[SAM_PWHASH_MAX], pin_hash[SAM_PWHASH_MAX];
	uint8_t *totp = NULL;
	char *b32 = NULL, *b32_tmp = NULL, *uri = NULL;
	char subject[SAM_SUBJECT_MAX + 1], gen[SAM_ID_CODE_GEN_LEN + 1] = "";
	size_t b32_len = 0;
	int64_t uid = 0;
	Inkan__Status st = INKAN__STATUS__INVALID_REQUEST;
	int r;

	if (!audit_ready()) {           /* issue 5: no change without its record */
		st = INKAN__STATUS__AUDIT_UNAVAILABLE;
		goto out;
	}
	if (!sam_auth_username_ok(req->username)) {
		srv_detail(c, "user name: 1..64 of A-Z a-z 0-9 . _ @ -");
		goto out;
	}
	if (req->password.len < SAM_ADMIN_PW_MIN ||
	    req->password.len > SAM_LOGIN_PW_MAX) {
		srv_detail(c, "password: 8..128 bytes");
		goto out;
	}
	if (req->pin.len < SAM_PIN_MIN_NEW || req->pin.len > SAM_PIN_MAX) {
		srv_detail(c, "PIN: 4..64 bytes");
		goto out;
	}
	if (req->subject && join_subject(req->subject, subject) < 0) {
		srv_detail(c, "subject: CN 1..64 characters; O, OU likewise; C "
		    "two capital letters; serialNumber printable ASCII; "
		    "emailAddress with an @");
		goto out;
	}
	if (!req->subject)
		snprintf(subject, sizeof subject, "%s%c%c%c%c%c", req->username,
		    SAM_SUBJECT_SEP, SAM_SUBJECT_SEP, SAM_SUBJECT_SEP,
		    SAM_SUBJECT_SEP, SAM_SUBJECT_SEP);
	if (req->has_id_code && !sam_x509_id_code_ok(req->id_code.data,
	    req->id_code.len)) {
		srv_detail(c, "identification code: 8..64 printable ASCII "
		    "characters, no spaces");
		goto out;
	}
	st = INKAN__STATUS__INTERNAL;
	if (!(u = sodium_malloc(sizeof *u)))
		goto out;
	r = sam_store_user_by_name(core->store, req->username, u);
	if (r == 0) {
		st = INKAN__STATUS__EXISTS;
		goto out;
	}
	if (r != -ENOENT)
		goto out;
	if (sam_auth_hash(core, req->password.data, req->password.len,
	    pw_hash) < 0 ||
	    sam_auth_hash(core, req->pin.data, req->pin.len, pin_hash) < 0)
		goto out;
	if (!(totp = sodium_malloc(SAM_TOTP_SECRET_LEN)))
		goto out;
	randombytes_buf(totp, SAM_TOTP_SECRET_LEN);
	if (oath_base32_encode((const char *)totp, SAM_TOTP_SECRET_LEN,
	    &b32_tmp, &b32_len) != OATH_OK)
		goto out;
	if (!(b32 = sodium_malloc(b32_len + 1)) || !(uri = sodium_malloc(256)))
		goto out;
	memcpy(b32, b32_tmp, b32_len);
	b32[b32_len] = '\0';
	snprintf(uri, 256, "otpauth://totp/inkan:%s?secret=%s&issuer=inkan"
	    "&algorithm=SHA1&digits=6&period=30", req->username, b32);

	sam_notes_begin(app);
	st = sam_rows_user_add(core, req->username, pw_hash, pin_hash, totp,
	    SAM_TOTP_SECRET_LEN, core->now(), &uid);
	/* issue 7: the registration (subject, one-time identification code) */
	if (st == INKAN__STATUS__OK)
		st = sam_lc_register(core, uid, req->username, subject,
		    req->has_id_code ? &req->id_code : NULL,
		    req->has_gen_id_code && req->gen_id_code, gen);
	sam_notes_end(app, "user add", req->username);
	if (st != INKAN__STATUS__OK)
		goto out;
	rep.username = req->username;
	if (gen[0])
		rep.id_code = gen;
	rep.totp_secret_b32 = b32;
	rep.otpauth_uri = uri;
	audit_user_add(c, req->username, INKAN__STATUS__OK);   /* issue 5 */
	st = audit_reply_secret(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
out:
	if (st != INKAN__STATUS__OK)
		audit_user_add(c, req->username, st);           /* issue 5 */
	sam_wipe_bin(&req->password);
	sam_wipe_bin(&req->pin);
	sam_wipe_bin(&req->id_code);
	sodium_memzero(gen, sizeof gen);
	if (b32_tmp) {
		sodium_memzero(b32_tmp, b32_len);
		free(b32_tmp);
	}
	if (b32)
		sodium_free(b32);
	if (uri)
		sodium_free(uri);
	if (totp)
		sodium_free(totp);
	if (u)
		sodium_free(u);
	if (st == INKAN__STATUS__OK)
		log_info("admin: user added user=%s (peer uid %u)", req->username,
		    (unsigned)c->cred.uid);
	else
		log_warn("admin: user add failed: %s", sam_status_name(st));
	return st;
}

struct user_list {
	Inkan__UserInfo *v;
	Inkan__UserInfo **p;
	size_t n, cap;
};

static int collect_user(void *arg, const char *name, int64_t n_creds,
    int64_t created)
{
	struct user_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		Inkan__UserInfo *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	Inkan__UserInfo *u = &l->v[l->n];
	inkan__user_info__init(u);
	if (!(u->username = strdup(name)))
		return -ENOMEM;
	u->credentials = n_creds < 0 ? 0 : (uint32_t)n_creds;
	u->created = created;
	l->n++;
	return 0;
}

Inkan__Status sam_answer_user_list(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	Inkan__UserListRep rep = INKAN__USER_LIST_REP__INIT;
	struct user_list l = { 0 };
	Inkan__Status st = INKAN__STATUS__INTERNAL;

	if (sam_store_user_list(app->core.store, collect_user, &l) < 0)
		goto out;
	if (l.n && !(l.p = calloc(l.n, sizeof *l.p)))
		goto out;
	for (size_t i = 0; i < l.n; i++)
		l.p[i] = &l.v[i];
	rep.n_users = l.n;
	rep.users = l.p;
	if (srv_reply(c, &rep.base) == 0)
		st = INKAN__STATUS__OK;
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].username);
	free(l.v);
	free(l.p);
	return st;
}

struct cred_list {
	Inkan__CredSummary *v;
	Inkan__CredSummary **p;
	size_t n, cap;
};

static int collect_cred(void *arg, const struct sam_cred *cr,
    const char *username)
{
	struct cred_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		Inkan__CredSummary *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	Inkan__CredSummary *s = &l->v[l->n];
	inkan__cred_summary__init(s);
	s->key_type = (Inkan__KeyType)cr->key_type;
	s->enabled = cr->cert && cr->status == SAM_CRED_ENABLED;
	l->n++;     /* counted now so that the cleanup frees partial entries */
	if (!(s->credential_id = strdup(cr->id)) ||
	    !(s->username = strdup(username)))
		return -ENOMEM;
	if (cr->subject_dn && !(s->subject_dn = strdup(cr->subject_dn)))
		return -ENOMEM;
	if (cr->cert) {
		if (!(s->valid_to = malloc(16)))
			return -ENOMEM;
		sam_gtime(cr->not_after, s->valid_to);
	}
	return 0;
}

Inkan__Status sam_answer_cred_list(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__CredListReq *req = (const Inkan__CredListReq *)m;
	Inkan__CredListRep rep = INKAN__CRED_LIST_REP__INIT;
	struct cred_list l = { 0 };
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	const char *filter = NULL;

	if (req->username && *req->username) {
		struct sam_user *u;
		int r;
		if (!sam_auth_username_ok(req->username))
			return INKAN__STATUS__INVALID_REQUEST;
		if (!(u = sodium_malloc(sizeof *u)))
			return INKAN__STATUS__INTERNAL;
		r = sam_store_user_by_name(app->core.store, req->username, u);
		sodium_free(u);
		if (r == -ENOENT)
			return INKAN__STATUS__NOT_FOUND;
		if (r < 0)
			return INKAN__STATUS__INTERNAL;
		filter = req->username;
	}
	if (sam_store_cred_list(app->core.store, filter, collect_cred, &l) < 0)
		goto out;
	if (l.n && !(l.p = calloc(l.n, sizeof *l.p)))
		goto out;
	for (size_t i = 0; i < l.n; i++)
		l.p[i] = &l.v[i];
	rep.n_credentials = l.n;
	rep.credentials = l.p;
	if (srv_reply(c, &rep.base) == 0)
		st = INKAN__STATUS__OK;
out:
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].credential_id);
		free(l.v[i].username);
		free(l.v[i].subject_dn);
		free(l.v[i].valid_to);
	}
	free(l.v);
	free(l.p);
	return st;
}

Inkan__Status sam_answer_cred_import(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	struct sam_store *store = app->core.store;
	const Inkan__CredImportReq *req = (const Inkan__CredImportReq *)m;
	Inkan__CredImportRep rep = INKAN__CRED_IMPORT_REP__INIT;
	struct sam_cert_info ci = { 0 };
	struct sam_cred cred = { 0 }, upd;
	uint8_t mac[SAM_MAC_LEN];
	X509 *x = NULL, *chain[SAM_CHAIN_MAX] = { NULL };
	char to[16], why[160];
	bool gone;
	Inkan__Status st;

	if (!audit_ready())     /* issue 5: no change without its record */
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	if (!sam_cred_id_ok(req->credential_id))
		return INKAN__STATUS__NOT_FOUND;
	if (sam_store_cred_get(store, req->credential_id, &cred) < 0)
		return INKAN__STATUS__NOT_FOUND;
	if (cred.status == SAM_CRED_DESTROYED) {        /* issue 7 */
		srv_detail(c, "the credential's key was destroyed");
		st = INKAN__STATUS__CREDENTIAL_REVOKED;
		goto out;
	}
	st = INKAN__STATUS__INVALID_REQUEST;
	if (req->certificate.len == 0 || req->certificate.len > SAM_CERT_MAX ||
	    sam_x509_parse(req->certificate.data, req->certificate.len, &x) < 0) {
		srv_detail(c, "certificate: DER, at most 16 KiB");
		goto out;
	}
	if (sam_x509_key_matches(x, cred.spki, cred.spki_len) < 0) {
		st = INKAN__STATUS__KEY_MISMATCH;
		goto out;
	}
	if (req->n_chain > SAM_CHAIN_MAX) {
		srv_detail(c, "chain: at most 8 certificates");
		goto out;
	}
	for (size_t i = 0; i < req->n_chain; i++) {
		if (req->chain[i].len == 0 || req->chain[i].len > SAM_CERT_MAX ||
		    sam_x509_parse(req->chain[i].data, req->chain[i].len,
		    &chain[i]) < 0) {
			srv_detail(c, "chain[%zu]: DER, at most 16 KiB", i);
			goto out;
		}
	}
	/* issue 7: valid now, meant for signatures, issued under a trust
	 * anchor; only then can the key ever sign */
	st = sam_lc_cert_check(x, chain, req->n_chain, app->core.now(), why,
	    sizeof why);
	if (st != INKAN__STATUS__OK) {
		srv_detail(c, "%s", why);
		goto out;
	}
	st = INKAN__STATUS__INVALID_REQUEST;
	if (sam_x509_info(x, &ci) < 0) {
		srv_detail(c, "certificate: unreadable names or validity");
		goto out;
	}

	/* The new row, MACed; a credential the security officer disabled
	 * stays disabled (only the SO enables it again). */
	upd = cred;
	upd.cert = req->certificate.data;
	upd.cert_len = req->certificate.len;
	upd.subject_dn = ci.subject_dn;
	upd.issuer_dn = ci.issuer_dn;
	upd.serial_hex = ci.serial_hex;
	upd.not_before = ci.not_before;
	upd.not_after = ci.not_after;
	upd.status = cred.status == SAM_CRED_DISABLED ? SAM_CRED_DISABLED :
	    SAM_CRED_ENABLED;
	sam_notes_begin(app);
	st = sam_rows_cred_remac(&app->core, &cred, &upd, mac);
	sam_notes_end(app, "certificate import", "-");
	if (st != INKAN__STATUS__OK)
		goto out;
	st = INKAN__STATUS__INTERNAL;
	if (sam_store_begin(store) < 0)
		goto out;
	if (sam_store_cred_set_cert(store, cred.id, req->certificate.data,
	    req->certificate.len, ci.subject_dn, ci.issuer_dn, ci.serial_hex,
	    ci.not_before, ci.not_after, upd.status, mac) < 0 ||
	    sam_store_chain_clear(store, cred.id) < 0)
		goto rollback;
	for (size_t i = 0; i < req->n_chain; i++)
		if (sam_store_chain_add(store, cred.id, (int)i, req->chain[i].data,
		    req->chain[i].len) < 0)
			goto rollback;
	if (sam_store_commit(store) < 0)
		goto out;
	sam_gtime(ci.not_after, to);
	rep.subject_dn = ci.subject_dn;
	rep.valid_to = to;
	audit_cert_import(c, cred.id, ci.serial_hex, ci.issuer_dn, ci.subject_dn,
	    to, INKAN__STATUS__OK);                             /* issue 5 */
	/* issue 7: a renewal is complete: the key it replaces is destroyed */
	if (cred.replaces[0] && sam_lc_destroy(app, c, cred.replaces, "renewed",
	    &gone) != INKAN__STATUS__OK)
		log_err("admin: renewal of cred=%s: the old key %s could not be "
		    "destroyed yet (revoke it)", cred.id, cred.replaces);
	st = audit_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
	goto out;
rollback:
	sam_store_rollback(store);
out:
	if (st != INKAN__STATUS__OK)
		audit_cert_import(c, cred.id, NULL, NULL, NULL, NULL, st);
	if (st == INKAN__STATUS__OK)
		log_info("admin: certificate imported cred=%s serial=%s "
		    "chain=%zu", cred.id, ci.serial_hex, req->n_chain);
	else
		log_warn("admin: certificate import failed cred=%s: %s",
		    cred.id, sam_status_name(st));
	X509_free(x);
	for (size_t i = 0; i < SAM_CHAIN_MAX; i++)
		X509_free(chain[i]);
	sam_cert_info_clear(&ci);
	sam_cred_clear(&cred);
	return st;
}

/* ---- security officer ---------------------------------------------------- */

/* The credential of an SO request, its row MAC checked. */
static Inkan__Status so_cred(struct sam_app *app, const char *id,
    struct sam_cred *cred)
{
	struct sam_macb b;
	uint8_t d[32];
	char what[80];
	Inkan__Status st;

	memset(cred, 0, sizeof *cred);
	if (!sam_cred_id_ok(id))
		return INKAN__STATUS__NOT_FOUND;
	if (sam_store_cred_get(app->core.store, id, cred) < 0)
		return INKAN__STATUS__NOT_FOUND;
	sam_row_cred(cred, d);
	sam_rows_what_cred(cred->id, what);
	sam_macb_init(&b);
	sam_macb_check(&b, d, cred->has_mac ? cred->mac : NULL, what);
	sam_notes_begin(app);
	st = sam_macb_run(&app->core, &b);
	sam_notes_end(app, "security officer request", "-");
	if (st != INKAN__STATUS__OK)
		sam_cred_clear(cred);
	return st;
}

Inkan__Status sam_answer_user_unlock(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	struct sam_core *core = &app->core;
	const Inkan__UserUnlockReq *req = (const Inkan__UserUnlockReq *)m;
	Inkan__UserUnlockRep rep = INKAN__USER_UNLOCK_REP__INIT;
	struct sam_cred cred;
	struct sam_user *u;
	bool by_name = req->username && *req->username;
	bool by_cred = req->credential_id && *req->credential_id;
	Inkan__Status st;
	int r;

	if (by_name == by_cred) {
		srv_detail(c, "give exactly one of user name and credential");
		return INKAN__STATUS__INVALID_REQUEST;
	}
	if (!audit_ready())     /* issue 5: no change without its record */
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	if (by_name && !sam_auth_username_ok(req->username))
		return INKAN__STATUS__INVALID_REQUEST;
	if (!(u = sodium_malloc(sizeof *u)))
		return INKAN__STATUS__INTERNAL;
	if (by_cred) {
		/* the lock is the signer's: unlock the credential's owner */
		st = so_cred(app, req->credential_id, &cred);
		if (st != INKAN__STATUS__OK)
			goto out;
		r = sam_store_user_by_id(core->store, cred.user_id, u);
		sam_cred_clear(&cred);
	} else {
		r = sam_store_user_by_name(core->store, req->username, u);
	}
	st = r == -ENOENT ? INKAN__STATUS__NOT_FOUND : INKAN__STATUS__INTERNAL;
	if (r < 0)
		goto out;
	st = INKAN__STATUS__INTERNAL;
	if (sam_store_user_failures(core->store, u->id, 0, 0) < 0)
		goto out;
	rep.username = u->name;
	rep.was_locked = u->locked_until > core->now();
	rep.failures = u->failures < 0 ? 0 : u->failures > UINT32_MAX ?
	    UINT32_MAX : (uint32_t)u->failures;
	log_warn("unlock: user=%s unlocked by the security officer (peer uid "
	    "%u); was %s, %u consecutive failures", u->name,
	    (unsigned)c->cred.uid, rep.was_locked ? "locked" : "not locked",
	    rep.failures);
	audit_so_event(c, "user.unlock", u->name, NULL, "was_locked",
	    rep.was_locked ? "yes" : "no");                     /* issue 5 */
	st = audit_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
out:
	if (st != INKAN__STATUS__OK)
		log_warn("so: unlock failed: %s", sam_status_name(st));
	sodium_free(u);
	return st;
}

Inkan__Status sam_answer_cred_state(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	struct sam_store *store = app->core.store;
	const Inkan__CredStateReq *req = (const Inkan__CredStateReq *)m;
	Inkan__CredStateRep rep = INKAN__CRED_STATE_REP__INIT;
	struct sam_cred cred, upd;
	uint8_t mac[SAM_MAC_LEN];
	Inkan__Status st;

	if (!audit_ready())     /* issue 5: no change without its record */
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	st = so_cred(app, req->credential_id, &cred);
	if (st != INKAN__STATUS__OK)
		return st;
	if (req->enabled && !cred.cert) {
		srv_detail(c, "no certificate imported yet");
		st = INKAN__STATUS__INVALID_REQUEST;
		goto out;
	}
	upd = cred;
	upd.status = req->enabled ? SAM_CRED_ENABLED : SAM_CRED_DISABLED;
	sam_notes_begin(app);
	st = sam_rows_cred_remac(&app->core, &cred, &upd, mac);
	sam_notes_end(app, "credential state", "-");
	if (st != INKAN__STATUS__OK)
		goto out;
	st = INKAN__STATUS__INTERNAL;
	if (sam_store_begin(store) < 0)
		goto out;
	/* Disabling also ends every SAD issued for the credential: enabling
	 * it again does not bring them back. */
	if (sam_store_cred_set_status(store, cred.id, upd.status, mac) < 0 ||
	    (!req->enabled && sam_store_sad_del_by_cred(store, cred.id) < 0)) {
		sam_store_rollback(store);
		goto out;
	}
	if (sam_store_commit(store) < 0)
		goto out;
	rep.credential_id = cred.id;
	rep.enabled = req->enabled;
	log_warn("so: credential %s %s by the security officer (peer uid %u)",
	    cred.id, req->enabled ? "enabled" : "disabled (its SADs deleted)",
	    (unsigned)c->cred.uid);
	audit_so_event(c, req->enabled ? "cred.enable" : "cred.disable", NULL,
	    cred.id, NULL, NULL);                               /* issue 5 */
	st = audit_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
out:
	if (st != INKAN__STATUS__OK)
		log_warn("so: credential %s state change failed: %s", cred.id,
		    sam_status_name(st));
	sam_cred_clear(&cred);
	return st;
}

Inkan__Status sam_answer_cred_multisign(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__CredMultisignReq *req = (const Inkan__CredMultisignReq *)m;
	Inkan__CredMultisignRep rep = INKAN__CRED_MULTISIGN_REP__INIT;
	struct sam_cred cred, upd;
	uint8_t mac[SAM_MAC_LEN];
	Inkan__Status st;

	if (req->multisign > SAM_HASHES_MAX) {
		srv_detail(c, "multisign: 0 (service default) to %d",
		    SAM_HASHES_MAX);
		return INKAN__STATUS__INVALID_REQUEST;
	}
	if (!audit_ready())     /* issue 5: no change without its record */
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	st = so_cred(app, req->credential_id, &cred);
	if (st != INKAN__STATUS__OK)
		return st;
	upd = cred;
	upd.multisign = req->multisign;
	sam_notes_begin(app);
	st = sam_rows_cred_remac(&app->core, &cred, &upd, mac);
	sam_notes_end(app, "credential multisign", "-");
	if (st != INKAN__STATUS__OK)
		goto out;
	if (sam_store_cred_set_multisign(app->core.store, cred.id,
	    req->multisign, mac) < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	rep.multisign = req->multisign;
	rep.effective = sam_cred_multisign(&app->core, &upd);
	log_warn("so: credential %s multisign set to %u (effective %u%s) by "
	    "the security officer (peer uid %u)", cred.id, req->multisign,
	    rep.effective, rep.effective == 1 ? ": no multi-hash batches" : "",
	    (unsigned)c->cred.uid);
	{
		char ms[16];
		snprintf(ms, sizeof ms, "%u", req->multisign);
		audit_so_event(c, "cred.multisign", NULL, cred.id, "multisign",
		    ms);                                        /* issue 5 */
	}
	st = audit_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
out:
	sam_cred_clear(&cred);
	return st;
}

static int count_id(void *arg, const char *id)
{
	(void)id;
	(*(uint32_t *)arg)++;
	return 0;
}

Inkan__Status sam_answer_user_show(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__UserShowReq *req = (const Inkan__UserShowReq *)m;
	Inkan__UserShowRep rep = INKAN__USER_SHOW_REP__INIT;
	struct sam_user *u;
	uint32_t n = 0;
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	int r;

	if (!sam_auth_username_ok(req->username))
		return INKAN__STATUS__INVALID_REQUEST;
	if (!(u = sodium_malloc(sizeof *u)))
		return INKAN__STATUS__INTERNAL;
	r = sam_store_user_by_name(app->core.store, req->username, u);
	if (r == -ENOENT)
		st = INKAN__STATUS__NOT_FOUND;
	if (r < 0 || sam_store_cred_ids(app->core.store, u->id, count_id,
	    &n) < 0)
		goto out;
	rep.username = u->name;
	rep.failures = u->failures < 0 ? 0 : u->failures > UINT32_MAX ?
	    UINT32_MAX : (uint32_t)u->failures;
	rep.locked = u->locked_until > app->core.now();
	rep.locked_until = !rep.locked ? 0 :
	    u->locked_until == SAM_LOCK_FOREVER ? -1 : u->locked_until;
	rep.credentials = n;
	st = srv_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
out:
	sodium_free(u);
	return st;
}
