/* signer.c — inkan-sam's answers to inkan-sic (signer socket, PEER_SIC).
 * SECURITY: the SIC is untrusted; every field is re-validated by the rules in
 * auth.c / sad.c before anything happens. Secrets that pass through here
 * (password, PIN, OTP, token, SAD) are wiped after use and never logged.
 * A signature leaves only after its hashes were marked signed in the
 * database (reserve -> SCM -> commit -> reply); a row that fails its MAC is
 * refused with an ALERT line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "log.h"
#include "sam.h"
#include "auth.h"
#include "sad.h"
#include "scm_client.h"
#include "store.h"
#include "x509.h"
#include "audit.h"

void sam_wipe_str(const char *s)
{
	/* as for sam_wipe_bin: the unpacked request is ours until freed */
	if (s && *s)
		sodium_memzero((char *)s, strlen(s));
}

void sam_wipe_bin(const ProtobufCBinaryData *b)
{
	/* The message is ours (unpacked for this request, freed by the
	 * server right after the handler): overwriting it is safe. */
	if (b && b->data && b->len)
		sodium_memzero(b->data, b->len);
}

const char *sam_status_name(Inkan__Status st)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&inkan__status__descriptor, st);
	return v ? v->name : "?";
}

void sam_notes_begin(struct sam_app *app)
{
	memset(&app->core.notes, 0, sizeof app->core.notes);
}

void sam_notes_end(struct sam_app *app, const char *op, const char *user)
{
	struct sam_notes *n = &app->core.notes;

	if (n->alert[0])
		log_err("ALERT integrity: %s; %s refused (user=%s)", n->alert, op,
		    user && *user ? user : "-");
	if (n->locked) {
		if (n->locked_until == SAM_LOCK_FOREVER)
			log_warn("lock: user=%s locked after %lld consecutive "
			    "failures, until an operator unlocks", user,
			    (long long)n->failures);
		else
			log_warn("lock: user=%s locked after %lld consecutive "
			    "failures, for %u s", user, (long long)n->failures,
			    app->core.lock_seconds);
	}
	if (n->alert[0])
		audit_alert(op, user, n->alert);                /* issue 5 */
	if (n->locked)
		audit_lock(user, n->failures, n->locked_until); /* issue 5 */
	memset(n, 0, sizeof *n);
}

/* Test-only fault injection (INKAN_TEST_FAULT, see main.c): hold the
 * request here so that a test can kill a process at this point. */
static void fault_pause(unsigned seconds, const char *where)
{
	struct timespec ts = { .tv_sec = (time_t)seconds };

	if (!seconds)
		return;
	log_warn("TEST FAULT: pausing %u s %s", seconds, where);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A user name fit for a log line: only if it passes the name rule. */
static const char *log_name(const char *name)
{
	return sam_auth_username_ok(name) ? name : "(malformed)";
}

static const char *log_cred(const char *id)
{
	return sam_cred_id_ok(id) ? id : "(malformed)";
}

Inkan__Status sam_answer_login(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__LoginReq *req = (const Inkan__LoginReq *)m;
	Inkan__LoginRep rep = INKAN__LOGIN_REP__INIT;
	Inkan__Status st;
	uint32_t expires_in = 0;
	char *tok;

	sam_notes_begin(app);
	if (!audit_ready()) {           /* issue 5: no token without its record */
		sam_wipe_bin(&req->password);
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	}
	tok = sodium_malloc(SAM_TOKEN_LEN + 1);
	if (!tok) {
		sam_wipe_bin(&req->password);
		return INKAN__STATUS__INTERNAL;
	}
	st = sam_auth_login(&app->core, req->username, &req->password, tok,
	    &expires_in);
	sam_wipe_bin(&req->password);
	audit_login(c, req->username, st);                      /* issue 5 */
	if (st == INKAN__STATUS__OK) {
		rep.access_token = tok;
		rep.expires_in = expires_in;
		if (audit_release(c, &rep.base, true) < 0)      /* issue 5 */
			st = INKAN__STATUS__INTERNAL;
	}
	if (st == INKAN__STATUS__OK)
		log_info("login ok user=%s", req->username);
	else
		log_warn("login failed user=%s: %s", log_name(req->username),
		    sam_status_name(st));
	sam_notes_end(app, "login", log_name(req->username));
	sodium_free(tok);
	return st;
}

static Inkan__Status answer_revoke(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__RevokeReq *req = (const Inkan__RevokeReq *)m;
	Inkan__RevokeRep rep = INKAN__REVOKE_REP__INIT;
	Inkan__Status st;

	st = sam_auth_revoke(&app->core, req->access_token);
	audit_revoke(c, st);                                    /* issue 5 */
	if (st != INKAN__STATUS__OK)
		return st;
	log_info("token revoked");
	return srv_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL : st;
}

struct id_list {
	char **ids;
	size_t n, cap;
};

static int collect_id(void *arg, const char *id)
{
	struct id_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		char **v = realloc(l->ids, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->ids = v;
		l->cap = cap;
	}
	if (!(l->ids[l->n] = strdup(id)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static Inkan__Status answer_list(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__ListReq *req = (const Inkan__ListReq *)m;
	Inkan__ListRep rep = INKAN__LIST_REP__INIT;
	struct id_list l = { 0 };
	struct sam_who who;
	Inkan__Status st;

	sam_notes_begin(app);
	st = sam_auth_token(&app->core, req->access_token, &who, NULL);
	sam_notes_end(app, "list", who.name);
	if (st != INKAN__STATUS__OK)
		return st;
	if (sam_store_cred_ids(app->core.store, who.user_id, collect_id, &l) < 0)
		st = INKAN__STATUS__INTERNAL;
	if (st == INKAN__STATUS__OK) {
		rep.n_credential_ids = l.n;
		rep.credential_ids = l.ids;
		if (srv_reply(c, &rep.base) < 0)
			st = INKAN__STATUS__INTERNAL;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.ids[i]);
	free(l.ids);
	return st;
}

struct der_list {
	ProtobufCBinaryData *v;
	size_t n, cap;
};

static int collect_der(void *arg, const uint8_t *der, size_t len)
{
	struct der_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4;
		ProtobufCBinaryData *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].data = malloc(len ? len : 1);
	if (!l->v[l->n].data)
		return -ENOMEM;
	memcpy(l->v[l->n].data, der, len);
	l->v[l->n].len = len;
	l->n++;
	return 0;
}

static Inkan__Status answer_cred_info(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__CredInfoReq *req = (const Inkan__CredInfoReq *)m;
	Inkan__CredInfoRep rep = INKAN__CRED_INFO_REP__INIT;
	struct der_list certs = { 0 };
	struct sam_cred cred;
	struct sam_who who;
	char from[16], to[16];
	size_t n_algos;
	Inkan__Status st;

	struct sam_macb b;

	sam_notes_begin(app);
	sam_macb_init(&b);
	st = sam_auth_token(&app->core, req->access_token, &who, &b);
	if (st == INKAN__STATUS__OK) {
		st = sam_sad_cred(&app->core, who.user_id, req->credential_id,
		    false, &cred, &b);
		if (st == INKAN__STATUS__OK) {
			st = sam_macb_run(&app->core, &b);
			if (st != INKAN__STATUS__OK)
				sam_cred_clear(&cred);
		}
	}
	sam_notes_end(app, "credential info", who.name);
	if (st != INKAN__STATUS__OK)
		return st;

	rep.credential_id = cred.id;
	rep.key_type = (Inkan__KeyType)cred.key_type;
	rep.enabled = cred.cert && cred.status == SAM_CRED_ENABLED;
	rep.sign_algos = (char **)sam_algo_sign_oids(cred.key_type, &n_algos);
	rep.n_sign_algos = n_algos;
	rep.key_bits = sam_algo_key_bits(cred.key_type);
	rep.curve_oid = (char *)sam_algo_curve_oid(cred.key_type);
	rep.multisign = sam_cred_multisign(&app->core, &cred);
	if (cred.cert) {
		if (collect_der(&certs, cred.cert, cred.cert_len) < 0 ||
		    sam_store_chain_get(app->core.store, cred.id, collect_der,
		    &certs) < 0) {
			st = INKAN__STATUS__INTERNAL;
			goto out;
		}
		rep.n_certificates = certs.n;
		rep.certificates = certs.v;
		rep.subject_dn = cred.subject_dn;
		rep.issuer_dn = cred.issuer_dn;
		rep.serial_hex = cred.serial_hex;
		sam_gtime(cred.not_before, from);
		sam_gtime(cred.not_after, to);
		rep.valid_from = from;
		rep.valid_to = to;
	}
	if (srv_reply(c, &rep.base) < 0)
		st = INKAN__STATUS__INTERNAL;
out:
	for (size_t i = 0; i < certs.n; i++)
		free(certs.v[i].data);
	free(certs.v);
	sam_cred_clear(&cred);
	return st;
}

static Inkan__Status answer_authorize(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__AuthorizeReq *req = (const Inkan__AuthorizeReq *)m;
	Inkan__AuthorizeRep rep = INKAN__AUTHORIZE_REP__INIT;
	struct sam_who who = { 0 };
	uint32_t expires_in = 0;
	Inkan__Status st;
	char *sad;

	sam_notes_begin(app);
	sad = NULL;
	if (!audit_ready()) {           /* issue 5: no SAD without its record */
		st = INKAN__STATUS__AUDIT_UNAVAILABLE;
		goto out;
	}
	sad = sodium_malloc(SAM_TOKEN_LEN + 1);
	if (!sad) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	st = sam_sad_authorize(&app->core, req, sad, &expires_in, &who);
	audit_authorize(c, &who, req, sad, st);                 /* issue 5 */
	if (st == INKAN__STATUS__OK) {
		rep.sad = sad;
		rep.expires_in = expires_in;
		if (audit_release(c, &rep.base, true) < 0)      /* issue 5 */
			st = INKAN__STATUS__INTERNAL;
	}
out:
	sam_wipe_bin(&req->pin);
	sam_wipe_bin(&req->otp);
	if (sad)
		sodium_free(sad);
	if (st == INKAN__STATUS__OK)
		log_info("authorize ok user=%s cred=%s n=%u", who.name,
		    req->credential_id, req->num_signatures);
	else
		log_warn("authorize failed user=%s cred=%s: %s",
		    who.name[0] ? who.name : "(no session)",
		    log_cred(req->credential_id), sam_status_name(st));
	sam_notes_end(app, "authorize", who.name);
	return st;
}

/* No signature was released for plan: its hashes go back to the SAD. */
static void give_back(struct sam_app *app, const struct sam_sign_plan *plan,
    const char *user, const char *cred)
{
	int n = 0, r = sam_sad_release(&app->core, plan, &n);

	if (r < 0)
		log_err("sign op=%016llx user=%s cred=%s: could not give %zu "
		    "reserved hashes back (%s); they are given back at the "
		    "next start", (unsigned long long)plan->op, user, cred,
		    plan->count, strerror(-r));
	else
		log_warn("sign op=%016llx user=%s cred=%s: no signature "
		    "released, %d hashes given back to the SAD (retry)",
		    (unsigned long long)plan->op, user, cred, n);
}

static Inkan__Status answer_sign(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__SignReq *req = (const Inkan__SignReq *)m;
	Inkan__SignRep rep = INKAN__SIGN_REP__INIT;
	Inkan__SignDigestReq dreq = INKAN__SIGN_DIGEST_REQ__INIT;
	Inkan__SignDigestRep *drep = NULL;
	struct sam_sign_plan plan;
	struct sam_who who = { 0 };
	Inkan__Status st;
	int r;

	if (!audit_ready())   /* issue 5: no signature without its record */
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	sam_notes_begin(app);
	st = sam_sad_sign(&app->core, req, &plan, &who);
	sam_notes_end(app, "sign", who.name);
	if (st != INKAN__STATUS__OK) {
		audit_sign(c, &who, req, st);                   /* issue 5 */
		log_warn("sign refused user=%s cred=%s: %s",
		    who.name[0] ? who.name : "(no session)",
		    log_cred(req->credential_id), sam_status_name(st));
		return st;
	}
	if (plan.redelivered) {
		/* The answer to an earlier, committed request was lost on the
		 * way: the same signatures again, never new ones. */
		rep.n_signatures = plan.count;
		rep.signatures = plan.sigs;
		audit_sign_redelivered(c, &who, req);           /* issue 5 */
		r = audit_release(c, &rep.base, false);
		if (r == 0)
			log_info("sign redelivered user=%s cred=%s n=%zu",
			    who.name, req->credential_id, plan.count);
		sam_sign_plan_clear(&plan);
		return r == 0 ? INKAN__STATUS__OK : INKAN__STATUS__INTERNAL;
	}
	/* Reserved (durably): nobody else can use these hashes now. */
	fault_pause(app->fault_after_reserve, "after reserving the hashes");
	dreq.key_id.data = plan.key_id;
	dreq.key_id.len = SAM_KEY_ID_LEN;
	dreq.mech = plan.mech.mech;
	dreq.hash_alg = plan.mech.hash;
	if (plan.mech.mech == INKAN__SIGN_MECH__MECH_RSA_PSS) {
		dreq.has_salt_len = 1;
		dreq.salt_len = plan.mech.salt_len;
	}
	dreq.n_digests = req->n_hashes;
	dreq.digests = req->hashes;
	st = sam_req_sign(&app->scm, &dreq, &drep);
	if (st != INKAN__STATUS__OK) {
		log_err("sign failed op=%016llx user=%s cred=%s n=%zu: %s, SCM "
		    "answered %s, transport %s", (unsigned long long)plan.op,
		    who.name, req->credential_id, plan.count,
		    sam_status_name(st), sam_status_name(app->scm.last_status),
		    app->scm.last_err ? strerror(-app->scm.last_err) : "ok");
		/* A late answer is never read (the connection was dropped):
		 * whatever the SCM computed was not released. */
		give_back(app, &plan, who.name, req->credential_id);
		audit_sign(c, &who, req, st);                   /* issue 5 */
		return st == INKAN__STATUS__UNAVAILABLE ?
		    INKAN__STATUS__UNAVAILABLE : INKAN__STATUS__INTERNAL;
	}
	st = INKAN__STATUS__INTERNAL;
	if (drep->n_signatures != plan.count) {
		log_err("sign failed cred=%s: SCM returned %zu signatures for %zu",
		    req->credential_id, drep->n_signatures, plan.count);
		give_back(app, &plan, who.name, req->credential_id);
		goto out;
	}
	for (size_t i = 0; i < drep->n_signatures; i++)
		if (drep->signatures[i].len == 0) {
			give_back(app, &plan, who.name, req->credential_id);
			goto out;
		}
	fault_pause(app->fault_after_scm, "with the signatures, before commit");
	/* Commit before release: a signature is out only for hashes the
	 * database says are signed. */
	if ((r = sam_sad_commit(&app->core, &plan, drep->signatures)) < 0) {
		log_err("sign op=%016llx cred=%s: commit failed (%s): "
		    "signatures withheld", (unsigned long long)plan.op,
		    req->credential_id, strerror(-r));
		give_back(app, &plan, who.name, req->credential_id);
		goto out;
	}
	rep.n_signatures = drep->n_signatures;
	rep.signatures = drep->signatures;
	/* issue 5: the record first; the signatures leave with it on disk */
	audit_sign(c, &who, req, INKAN__STATUS__OK);
	if (audit_release(c, &rep.base, false) < 0) {
		log_err("sign op=%016llx user=%s cred=%s: signed and committed, "
		    "but the reply to inkan-sic failed: a retry with the same "
		    "SAD gets the same signatures",
		    (unsigned long long)plan.op, who.name, req->credential_id);
		goto out;
	}
	st = INKAN__STATUS__OK;
	log_info("sign ok op=%016llx user=%s cred=%s n=%zu",
	    (unsigned long long)plan.op, who.name, req->credential_id,
	    plan.count);
out:
	if (st != INKAN__STATUS__OK)
		audit_sign(c, &who, req, st);                   /* issue 5 */
	protobuf_c_message_free_unpacked(&drep->base, NULL);
	return st;
}

static Inkan__Status answer_extend(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__ExtendReq *req = (const Inkan__ExtendReq *)m;
	Inkan__ExtendRep rep = INKAN__EXTEND_REP__INIT;
	struct sam_who who = { 0 };
	uint32_t expires_in = 0;
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	char *sad;

	if (!audit_ready())     /* issue 5: no SAD without its record */
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	sam_notes_begin(app);
	sad = sodium_malloc(SAM_TOKEN_LEN + 1);
	if (sad)
		st = sam_sad_extend(&app->core, req, sad, &expires_in, &who);
	audit_extend(c, &who, req, sad, st);                    /* issue 5 */
	if (st == INKAN__STATUS__OK) {
		rep.sad = sad;
		rep.expires_in = expires_in;
		if (audit_release(c, &rep.base, true) < 0)      /* issue 5 */
			st = INKAN__STATUS__INTERNAL;
	}
	if (sad)
		sodium_free(sad);
	sam_notes_end(app, "extend", who.name);
	if (st == INKAN__STATUS__OK)
		log_info("extend ok user=%s cred=%s: new SAD, the old one is "
		    "gone", who.name, req->credential_id);
	else
		log_warn("extend failed user=%s cred=%s: %s",
		    who.name[0] ? who.name : "(no session)",
		    log_cred(req->credential_id), sam_status_name(st));
	return st;
}

/* The bearer secrets of a request (access token, SAD) do not outlive it:
 * wiped in the unpacked message once the answer is out (the transport wipes
 * its own frame buffers, proto/ipc.c). */
Inkan__Status sam_answer_revoke(struct srv_ctx *c, const ProtobufCMessage *m)
{
	Inkan__Status st = answer_revoke(c, m);
	sam_wipe_str(((const Inkan__RevokeReq *)m)->access_token);
	return st;
}

Inkan__Status sam_answer_list(struct srv_ctx *c, const ProtobufCMessage *m)
{
	Inkan__Status st = answer_list(c, m);
	sam_wipe_str(((const Inkan__ListReq *)m)->access_token);
	return st;
}

Inkan__Status sam_answer_cred_info(struct srv_ctx *c, const ProtobufCMessage *m)
{
	Inkan__Status st = answer_cred_info(c, m);
	sam_wipe_str(((const Inkan__CredInfoReq *)m)->access_token);
	return st;
}

Inkan__Status sam_answer_authorize(struct srv_ctx *c, const ProtobufCMessage *m)
{
	Inkan__Status st = answer_authorize(c, m);
	sam_wipe_str(((const Inkan__AuthorizeReq *)m)->access_token);
	return st;
}

Inkan__Status sam_answer_sign(struct srv_ctx *c, const ProtobufCMessage *m)
{
	const Inkan__SignReq *req = (const Inkan__SignReq *)m;
	Inkan__Status st = answer_sign(c, m);
	sam_wipe_str(req->access_token);
	sam_wipe_str(req->sad);
	return st;
}

Inkan__Status sam_answer_extend(struct srv_ctx *c, const ProtobufCMessage *m)
{
	const Inkan__ExtendReq *req = (const Inkan__ExtendReq *)m;
	Inkan__Status st = answer_extend(c, m);
	sam_wipe_str(req->access_token);
	sam_wipe_str(req->sad);
	return st;
}
