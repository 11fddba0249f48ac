/* lifecycle.c — the key and certificate lifecycle (issue 7; lifecycle.h).
 *
 * SECURITY: key generation happens only on the signer's instruction, with
 * both factors and the one-time identification code the CA handed them
 * (SIGNER_CRED_CREATE): no administrator message generates a key. The CSR
 * is built here from the registration's subject, signed by the new key in
 * the HSM and checked before it leaves. Keys are destroyed on revocation,
 * renewal (when the new certificate is registered), expiry and termination;
 * the credential is marked DESTROYED (MACed) before the HSM is asked, so a
 * failure half-way leaves a key that can no longer sign, never the reverse. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "util.h"
#include "sam.h"
#include "algo.h"
#include "auth.h"
#include "audit.h"
#include "lifecycle.h"
#include "rows.h"
#include "sad.h"
#include "scm_client.h"
#include "store.h"
#include "x509.h"

static X509_STORE *anchors;

int sam_lc_load_anchors(const char *path)
{
	FILE *f = fopen(path, "re");
	X509 *x;
	int n = 0;

	if (!f)
		return -errno;
	X509_STORE_free(anchors);
	anchors = X509_STORE_new();
	if (!anchors) {
		fclose(f);
		return -ENOMEM;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(anchors, x) == 1)
			n++;
		X509_free(x);
	}
	fclose(f);
	ERR_clear_error();
	if (n == 0) {
		X509_STORE_free(anchors);
		anchors = NULL;
		return -EINVAL;
	}
	return n;
}

bool sam_lc_have_anchors(void)
{
	return anchors != NULL;
}

/* ---- registration and the identification code ---------------------------- */

static void gen_code(char out[SAM_ID_CODE_GEN_LEN + 1])
{
	/* no 0/O, 1/I/L: read aloud and typed by people */
	static const char alpha[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = alpha[randombytes_uniform(sizeof alpha - 1)];
	}
	out[o] = '\0';
}

Inkan__Status sam_lc_register(struct sam_core *core, int64_t user_id,
    const char *name, const char *subject, const ProtobufCBinaryData *code,
    bool gen, char gen_out[SAM_ID_CODE_GEN_LEN + 1])
{
	struct sam_reg *g = sodium_malloc(sizeof *g);
	Inkan__Status st;

	if (!g)
		return INKAN__STATUS__INTERNAL;
	st = sam_rows_reg_check(core, user_id, name, g);
	if (st == INKAN__STATUS__NOT_FOUND) {
		memset(g, 0, sizeof *g);
		/* CN = the user name until the operator records more */
		snprintf(g->subject, sizeof g->subject, "%s%c%c%c%c%c", name,
		    SAM_SUBJECT_SEP, SAM_SUBJECT_SEP, SAM_SUBJECT_SEP,
		    SAM_SUBJECT_SEP, SAM_SUBJECT_SEP);
		g->idcode_used = 1;     /* nothing to use yet */
		st = INKAN__STATUS__OK;
	}
	if (st != INKAN__STATUS__OK)
		goto out;
	st = INKAN__STATUS__INVALID_REQUEST;
	if (subject) {
		if (!sam_x509_subject_ok(subject))
			goto out;
		snprintf(g->subject, sizeof g->subject, "%s", subject);
	}
	if (!sam_x509_subject_ok(g->subject))
		goto out;
	if (code && code->len > 0) {
		if (!sam_x509_id_code_ok(code->data, code->len))
			goto out;
		if (sam_auth_hash(core, code->data, code->len,
		    g->idcode_hash) < 0) {
			st = INKAN__STATUS__INTERNAL;
			goto out;
		}
		g->idcode_used = 0;
	} else if (gen) {
		gen_code(gen_out);
		if (sam_auth_hash(core, (const uint8_t *)gen_out,
		    strlen(gen_out), g->idcode_hash) < 0) {
			st = INKAN__STATUS__INTERNAL;
			goto out;
		}
		g->idcode_used = 0;
	}
	st = sam_rows_reg_write(core, user_id, g);
out:
	sodium_free(g);
	return st;
}

/* ---- certificate checks ---------------------------------------------------- */

Inkan__Status sam_lc_cert_check(X509 *cert, X509 *const *chain, size_t n,
    int64_t now, char *why, size_t why_len)
{
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;
	uint32_t ku;
	Inkan__Status st = INKAN__STATUS__INVALID_REQUEST;
	int rc;

	snprintf(why, why_len, "internal error");
	if (X509_cmp_time(X509_get0_notBefore(cert), &(time_t){ (time_t)now }) > 0 ||
	    X509_cmp_time(X509_get0_notAfter(cert), &(time_t){ (time_t)now }) < 0) {
		snprintf(why, why_len, "the certificate is not valid now "
		    "(notBefore/notAfter)");
		st = INKAN__STATUS__CERT_EXPIRED;
		goto out;
	}
	/* The extension must be there and allow signatures: a certificate
	 * without keyUsage says nothing about what the CA meant. */
	if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE)) {
		snprintf(why, why_len, "the certificate has no keyUsage");
		goto out;
	}
	ku = X509_get_key_usage(cert);
	if (!(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
		snprintf(why, why_len, "keyUsage allows neither digitalSignature "
		    "nor nonRepudiation");
		goto out;
	}
	if (!anchors) {
		snprintf(why, why_len, "no [sam] trust_anchors configured: "
		    "nothing to check the chain against");
		goto out;
	}
	if (!(untrusted = sk_X509_new_null()) || !(ctx = X509_STORE_CTX_new()))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (!sk_X509_push(untrusted, chain[i]))
			goto fail;
	if (X509_STORE_CTX_init(ctx, anchors, cert, untrusted) != 1)
		goto fail;
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, (time_t)now);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
	rc = X509_verify_cert(ctx);
	if (rc != 1) {
		snprintf(why, why_len, "no chain to a trust anchor: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	st = INKAN__STATUS__OK;
	why[0] = '\0';
	goto out;
fail:
	st = INKAN__STATUS__INTERNAL;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);        /* the certificates are the caller's */
	ERR_clear_error();
	return st;
}

/* ---- destruction ------------------------------------------------------------ */

Inkan__Status sam_lc_destroy(struct sam_app *app, const struct srv_ctx *c,
    const char *cred_id, const char *why, bool *gone)
{
	struct sam_core *core = &app->core;
	struct sam_cred cred, upd;
	struct sam_macb b;
	uint8_t d[32], mac[SAM_MAC_LEN];
	char what[80];
	Inkan__Status st;
	int r;

	*gone = false;
	if (!sam_cred_id_ok(cred_id))
		return INKAN__STATUS__NOT_FOUND;
	r = sam_store_cred_get(core->store, cred_id, &cred);
	if (r == -ENOENT)
		return INKAN__STATUS__NOT_FOUND;
	if (r < 0)
		return INKAN__STATUS__INTERNAL;
	if (cred.status != SAM_CRED_DESTROYED) {
		upd = cred;
		upd.status = SAM_CRED_DESTROYED;
		st = sam_rows_cred_remac(core, &cred, &upd, mac);
		if (st != INKAN__STATUS__OK)
			goto out;
		st = INKAN__STATUS__INTERNAL;
		if (sam_store_begin(core->store) < 0)
			goto out;
		if (sam_store_cred_set_status(core->store, cred.id,
		    SAM_CRED_DESTROYED, mac) < 0 ||
		    sam_store_sad_del_by_cred(core->store, cred.id) < 0) {
			sam_store_rollback(core->store);
			goto out;
		}
		if (sam_store_commit(core->store) < 0)
			goto out;
	} else {
		/* already marked: its MAC must hold before we act on it */
		sam_row_cred(&cred, d);
		sam_rows_what_cred(cred.id, what);
		sam_macb_init(&b);
		sam_macb_check(&b, d, cred.has_mac ? cred.mac : NULL, what);
		st = sam_macb_run(core, &b);
		if (st != INKAN__STATUS__OK)
			goto out;
	}
	/* Unusable from here on; now the key itself. */
	st = sam_req_destroy(&app->scm, cred.key_id);
	if (st != INKAN__STATUS__OK &&
	    app->scm.last_status == INKAN__STATUS__NOT_FOUND)
		st = INKAN__STATUS__OK;         /* gone already (a retry) */
	*gone = st == INKAN__STATUS__OK;
	audit_key_destroy(c, cred.id, *gone, why);      /* issue 5 */
	if (*gone)
		log_info("lifecycle: key of cred=%s destroyed (%s)", cred.id, why);
	else
		log_err("lifecycle: cred=%s is marked destroyed, but inkan-scm "
		    "could not destroy its key (%s): retry the revocation",
		    cred.id, sam_status_name(st));
out:
	sam_cred_clear(&cred);
	return st;
}

#define LC_SWEEP_MAX 1024     /* keys destroyed per sweep; more: next round */

static int collect_id(void *arg, const char *id)
{
	char ***v = arg;
	size_t n = 0;
	char **nv;

	while (*v && (*v)[n])
		n++;
	if (n >= LC_SWEEP_MAX)
		return -E2BIG;
	if (!(nv = realloc(*v, (n + 2) * sizeof *nv)))
		return -ENOMEM;
	*v = nv;
	if (!(nv[n] = strdup(id)))
		return -ENOMEM;
	nv[n + 1] = NULL;
	return 0;
}

static void free_ids(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* -E2BIG: LC_SWEEP_MAX keys were destroyed and more remain. */
int sam_lc_sweep(struct sam_app *app)
{
	char **ids = NULL;
	int n = 0, r;
	bool gone;

	r = sam_store_cred_expired(app->core.store, app->core.now(), collect_id,
	    &ids);
	if (r < 0 && r != -E2BIG) {
		log_err("lifecycle: cannot list expired certificates");
		free_ids(ids);
		return -EIO;
	}
	for (size_t i = 0; ids && ids[i]; i++)
		if (sam_lc_destroy(app, NULL, ids[i], "expired", &gone) ==
		    INKAN__STATUS__OK && gone)
			n++;
	free_ids(ids);
	if (n)
		log_info("lifecycle: %d keys of expired certificates destroyed%s",
		    n, r == -E2BIG ? "; more in the next round" : "");
	return r == -E2BIG ? -E2BIG : n;
}

void sam_lc_tick(struct sam_app *app)
{
	static int64_t next;
	int64_t now = app->core.now();

	if (now < next || !audit_ready())
		return;
	next = now + (int64_t)(app->cfg.expiry_check ? app->cfg.expiry_check :
	    86400);
	if (sam_lc_sweep(app) == -E2BIG)
		next = now;             /* the rest in the next poll round */
}

/* ---- the signer instructs key generation ------------------------------------- */

/* " (SCM: ...)" when the SCM refused or could not be reached. */
static const char *scm_why(const struct sam_scm *scm)
{
	static char buf[96];
	if (scm->last_status != INKAN__STATUS__OK)
		snprintf(buf, sizeof buf, " (SCM answered %s)",
		    sam_status_name(scm->last_status));
	else if (scm->last_err < 0)
		snprintf(buf, sizeof buf, " (SCM: %s)", strerror(-scm->last_err));
	else
		buf[0] = '\0';
	return buf;
}


static void audit_create(const struct sam_who *who, const char *cred_id,
    int key_type, const char *replaces, Inkan__Status st, const char *why)
{
	char actor[AUDIT_ACTOR_MAX], reason[96];
	struct audit_ev *e;

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	snprintf(reason, sizeof reason, "%s%s%s",
	    st == INKAN__STATUS__OK ? "" : sam_status_name(st),
	    why && *why && st != INKAN__STATUS__OK ? "@" : "",
	    why && st != INKAN__STATUS__OK ? why : "");
	e = audit_ev_new("key.generate", who->name[0] ?
	    audit_actor_signer(actor, who->name) : "signer:(no session)");
	if (who->name[0])
		audit_ev_add(e, "user", who->name);
	if (cred_id)
		audit_ev_add(e, "cred", cred_id);
	{
		static const char *const names[] = { "none", "p256", "p384",
		    "rsa2048", "rsa3072" };
		audit_ev_add(e, "key_type", key_type >= 0 && key_type < 5 ?
		    names[key_type] : "unknown");
	}
	audit_ev_add(e, "by", "signer");
	if (replaces && sam_cred_id_ok(replaces))
		audit_ev_add(e, "replaces", replaces);
	audit_ev_end(e, st == INKAN__STATUS__OK, reason[0] ? reason : NULL);
}

Inkan__Status sam_answer_signer_cred_create(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	struct sam_core *core = &app->core;
	const Inkan__CredCreateReq *req = (const Inkan__CredCreateReq *)m;
	Inkan__CredCreateRep rep = INKAN__CRED_CREATE_REP__INIT;
	Inkan__KeygenRep *kg = NULL;
	Inkan__SignCsrRep *cs = NULL;
	struct sam_reg *g = NULL;
	struct sam_user *u = NULL;
	struct sam_who who = { 0 };
	struct sam_cred old;
	struct sam_macb b;
	uint8_t key_id[SAM_KEY_ID_LEN];
	char id[SAM_CRED_ID_LEN + 1] = "";
	const char *replaces = req->replaces && *req->replaces ?
	    req->replaces : NULL;
	uint8_t *tmpl = NULL;
	size_t tmpl_len = 0;
	bool key_made = false;
	const char *why = "";
	Inkan__Status st;

	memset(&old, 0, sizeof old);
	if (!audit_ready())             /* issue 5: no key without its record */
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	sam_macb_init(&b);
	st = sam_auth_token(core, req->access_token, &who, &b);
	if (st == INKAN__STATUS__OK)
		st = sam_macb_run(core, &b);
	if (st != INKAN__STATUS__OK) {
		why = "token";
		goto out;
	}
	st = INKAN__STATUS__INVALID_REQUEST;
	if (!sam_algo_key_type_valid(req->key_type)) {
		why = "key type";
		goto out;
	}
	if (!sam_x509_id_code_ok(req->id_code.data, req->id_code.len)) {
		st = INKAN__STATUS__ID_CODE_INVALID;
		why = "code format";
		goto out;
	}
	if (replaces) {
		/* a renewal: of one of the signer's own usable credentials */
		st = sam_sad_cred(core, who.user_id, replaces, true, &old, NULL);
		if (st != INKAN__STATUS__OK) {
			why = "replaces";
			goto out;
		}
	}
	if (!(g = sodium_malloc(sizeof *g)) || !(u = sodium_malloc(sizeof *u))) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	st = sam_rows_reg_check(core, who.user_id, who.name, g);
	if (st == INKAN__STATUS__NOT_FOUND)
		st = INKAN__STATUS__ID_CODE_INVALID;    /* never registered */
	if (st != INKAN__STATUS__OK) {
		why = "registration";
		goto out;
	}
	if (g->terminated) {
		st = INKAN__STATUS__DENIED;
		why = "terminated";
		goto out;
	}
	/* Both factors (counted towards the lock like any authorisation),
	 * then the code: a guess at the code costs a factor check first. */
	sam_notes_begin(app);
	st = sam_sad_factors(core, who.user_id, &req->pin, &req->otp);
	sam_notes_end(app, "credential create", who.name);
	if (st != INKAN__STATUS__OK) {
		why = "factors";
		goto out;
	}
	if (g->idcode_used || !g->idcode_hash[0] ||
	    !sam_auth_verify(g->idcode_hash, req->id_code.data,
	    req->id_code.len)) {
		st = INKAN__STATUS__ID_CODE_INVALID;
		why = "code";
		goto out;
	}
	if (sam_store_user_by_id(core->store, who.user_id, u) < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}

	randombytes_buf(key_id, sizeof key_id);
	hex_encode(key_id, sizeof key_id, id);
	st = sam_req_keygen(&app->scm, key_id, req->key_type,
	    app->cfg.key_backup, &kg);
	if (st != INKAN__STATUS__OK) {
		why = "keygen";
		goto out;
	}
	key_made = true;
	st = INKAN__STATUS__INTERNAL;
	if (sam_x509_spki_check(kg->spki.data, kg->spki.len, req->key_type) < 0) {
		why = "SCM returned a key of another type";
		goto out;
	}
	if (sam_x509_csr_template(req->key_type, kg->spki.data, kg->spki.len,
	    g->subject, req->id_code.data, req->id_code.len, &tmpl,
	    &tmpl_len) < 0) {
		why = "CSR template";
		goto out;
	}
	st = sam_req_sign_csr(&app->scm, key_id, tmpl, tmpl_len, &cs);
	if (st != INKAN__STATUS__OK) {
		why = "sign CSR";
		goto out;
	}
	st = INKAN__STATUS__INTERNAL;
	if (sam_x509_csr_check(cs->csr.data, cs->csr.len, kg->spki.data,
	    kg->spki.len, g->subject, req->id_code.data, req->id_code.len) < 0) {
		why = "CSR from SCM does not verify";
		goto out;
	}
	/* The credential and the spent code, in one transaction. */
	if (sam_store_begin(core->store) < 0)
		goto out;
	g->idcode_used = 1;
	st = sam_rows_cred_add(core, u, id, req->key_type, key_id,
	    kg->spki.data, kg->spki.len, core->now(), replaces);
	if (st == INKAN__STATUS__OK)
		st = sam_rows_reg_write(core, who.user_id, g);
	if (st != INKAN__STATUS__OK) {
		sam_store_rollback(core->store);
		why = "store";
		goto out;
	}
	if (sam_store_commit(core->store) < 0) {
		st = INKAN__STATUS__INTERNAL;
		why = "store";
		goto out;
	}
	key_made = false;      /* recorded: the key now belongs to a credential */
	rep.credential_id = id;
	rep.csr = cs->csr;
	audit_create(&who, id, req->key_type, replaces, INKAN__STATUS__OK, NULL);
	st = audit_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
out:
	if (st != INKAN__STATUS__OK)
		audit_create(&who, NULL, req->key_type, replaces, st, why);
	if (key_made) {
		bool gone = sam_req_destroy(&app->scm, key_id) ==
		    INKAN__STATUS__OK;
		audit_key_destroy(c, id, gone, "unused");       /* issue 5 */
		if (!gone)
			log_err("lifecycle: could not destroy unused key %s", id);
	}
	if (st == INKAN__STATUS__OK)
		log_info("lifecycle: credential created by the signer user=%s "
		    "cred=%s type=%d%s%s", who.name, id, (int)req->key_type,
		    replaces ? " renews " : "", replaces ? replaces : "");
	else
		log_warn("lifecycle: credential create refused user=%s: %s at "
		    "%s%s", who.name[0] ? who.name : "(no session)",
		    sam_status_name(st), why, key_made || !strcmp(why, "keygen") ?
		    scm_why(&app->scm) : "");
	sam_wipe_bin(&req->pin);
	sam_wipe_bin(&req->otp);
	sam_wipe_bin(&req->id_code);
	OPENSSL_free(tmpl);
	sam_cred_clear(&old);
	if (kg)
		protobuf_c_message_free_unpacked(&kg->base, NULL);
	if (cs)
		protobuf_c_message_free_unpacked(&cs->base, NULL);
	if (g)
		sodium_free(g);
	if (u)
		sodium_free(u);
	return st;
}

/* ---- the administrator: codes, revocation, termination ------------------------ */

static Inkan__Status user_named(struct sam_app *app, const char *name,
    int64_t *id)
{
	struct sam_user *u;
	int r;

	if (!sam_auth_username_ok(name))
		return INKAN__STATUS__NOT_FOUND;
	if (!(u = sodium_malloc(sizeof *u)))
		return INKAN__STATUS__INTERNAL;
	r = sam_store_user_by_name(app->core.store, name, u);
	*id = u->id;
	sodium_free(u);
	if (r == -ENOENT)
		return INKAN__STATUS__NOT_FOUND;
	return r < 0 ? INKAN__STATUS__INTERNAL : INKAN__STATUS__OK;
}

Inkan__Status sam_answer_user_idcode(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__UserIdcodeReq *req = (const Inkan__UserIdcodeReq *)m;
	Inkan__UserIdcodeRep rep = INKAN__USER_IDCODE_REP__INIT;
	char gen[SAM_ID_CODE_GEN_LEN + 1] = "", actor[AUDIT_ACTOR_MAX];
	int64_t uid = 0;
	bool given = req->has_id_code && req->id_code.len > 0;
	Inkan__Status st;

	if (!audit_ready())
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	st = user_named(app, req->username, &uid);
	if (st == INKAN__STATUS__OK && given &&
	    !sam_x509_id_code_ok(req->id_code.data, req->id_code.len)) {
		srv_detail(c, "identification code: 8..64 printable ASCII "
		    "characters, no spaces");
		st = INKAN__STATUS__INVALID_REQUEST;
	}
	if (st == INKAN__STATUS__OK)
		st = sam_lc_register(&app->core, uid, req->username, NULL,
		    given ? &req->id_code : NULL, !given, gen);
	audit_record("user.idcode", audit_actor_peer(actor, c),
	    st == INKAN__STATUS__OK, st == INKAN__STATUS__OK ? NULL :
	    sam_status_name(st), "user", sam_auth_username_ok(req->username) ?
	    req->username : "(malformed)", "source", given ? "ca" : "generated",
	    NULL);
	if (st == INKAN__STATUS__OK) {
		if (!given)
			rep.id_code = gen;
		st = audit_reply_secret(c, &rep.base) < 0 ?
		    INKAN__STATUS__INTERNAL : INKAN__STATUS__OK;
		log_info("admin: new identification code for user=%s (%s)",
		    req->username, given ? "the CA's" : "generated");
	}
	sam_wipe_bin(&req->id_code);
	sodium_memzero(gen, sizeof gen);
	return st;
}

Inkan__Status sam_answer_cred_revoke(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__CredRevokeReq *req = (const Inkan__CredRevokeReq *)m;
	Inkan__CredRevokeRep rep = INKAN__CRED_REVOKE_REP__INIT;
	char why[80];
	bool gone = false;
	Inkan__Status st;

	if (!audit_ready())
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	if (req->reason && (strlen(req->reason) > 40 ||
	    !sam_auth_username_ok(req->reason))) {
		srv_detail(c, "reason: up to 40 of A-Z a-z 0-9 . _ @ -");
		return INKAN__STATUS__INVALID_REQUEST;
	}
	snprintf(why, sizeof why, "revoked%s%s", req->reason ? ":" : "",
	    req->reason ? req->reason : "");
	st = sam_lc_destroy(app, c, req->credential_id, why, &gone);
	if (st != INKAN__STATUS__OK)
		return st;
	rep.destroyed = gone;
	return audit_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
}

Inkan__Status sam_answer_user_terminate(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	struct sam_core *core = &app->core;
	const Inkan__UserTerminateReq *req = (const Inkan__UserTerminateReq *)m;
	Inkan__UserTerminateRep rep = INKAN__USER_TERMINATE_REP__INIT;
	struct sam_reg *g = NULL;
	char **ids = NULL, actor[AUDIT_ACTOR_MAX], nbuf[12];
	int64_t uid = 0;
	unsigned n = 0, failed = 0;
	bool gone;
	Inkan__Status st;

	if (!audit_ready())
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	if (req->reason && (strlen(req->reason) > 40 ||
	    !sam_auth_username_ok(req->reason))) {
		srv_detail(c, "reason: up to 40 of A-Z a-z 0-9 . _ @ -");
		return INKAN__STATUS__INVALID_REQUEST;
	}
	st = user_named(app, req->username, &uid);
	if (st != INKAN__STATUS__OK)
		return st;
	/* First no login, no token, no SAD; then the keys. */
	st = sam_lc_register(core, uid, req->username, NULL, NULL, false, NULL);
	if (st != INKAN__STATUS__OK)
		goto out;
	st = INKAN__STATUS__INTERNAL;
	if (!(g = sodium_malloc(sizeof *g)))
		goto out;
	st = sam_rows_reg_check(core, uid, req->username, g);
	if (st != INKAN__STATUS__OK)
		goto out;
	g->terminated = 1;
	g->idcode_used = 1;
	st = INKAN__STATUS__INTERNAL;
	if (sam_store_begin(core->store) < 0)
		goto out;
	st = sam_rows_reg_write(core, uid, g);
	if (st == INKAN__STATUS__OK &&
	    sam_store_token_del_user(core->store, uid) < 0)
		st = INKAN__STATUS__INTERNAL;
	if (st != INKAN__STATUS__OK) {
		sam_store_rollback(core->store);
		goto out;
	}
	if (sam_store_commit(core->store) < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	if (sam_store_cred_ids(core->store, uid, collect_id, &ids) < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	for (size_t i = 0; ids && ids[i]; i++) {
		if (sam_lc_destroy(app, c, ids[i], "terminated", &gone) ==
		    INKAN__STATUS__OK && gone)
			n++;
		else
			failed++;
	}
	st = failed ? INKAN__STATUS__UNAVAILABLE : INKAN__STATUS__OK;
out:
	snprintf(nbuf, sizeof nbuf, "%u", n);
	audit_record("user.terminate", audit_actor_peer(actor, c),
	    st == INKAN__STATUS__OK, st == INKAN__STATUS__OK ? NULL :
	    sam_status_name(st), "user", req->username, "keys_destroyed",
	    nbuf, NULL);
	if (st == INKAN__STATUS__OK) {
		rep.keys_destroyed = n;
		st = audit_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
		    INKAN__STATUS__OK;
		log_info("admin: user=%s terminated, %u keys destroyed",
		    req->username, n);
	} else
		log_warn("admin: termination of user=%s: %s (%u keys destroyed, "
		    "%u not yet: run it again)", req->username,
		    sam_status_name(st), n, failed);
	free_ids(ids);
	if (g)
		sodium_free(g);
	return st;
}
