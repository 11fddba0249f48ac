/* signer.c — inkan-sam's answers to inkan-sic (signer socket, PEER_SIC).
 * SECURITY: the SIC is untrusted; every field is re-validated by the rules in
 * auth.c / sad.c before anything happens. Secrets that pass through here
 * (password, PIN, OTP, token, SAD) are wiped after use and never logged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "log.h"
#include "sam.h"
#include "auth.h"
#include "sad.h"
#include "scm_client.h"
#include "store.h"
#include "x509.h"

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

	tok = sodium_malloc(SAM_TOKEN_LEN + 1);
	if (!tok) {
		sam_wipe_bin(&req->password);
		return INKAN__STATUS__INTERNAL;
	}
	st = sam_auth_login(&app->core, req->username, &req->password, tok,
	    &expires_in);
	sam_wipe_bin(&req->password);
	if (st == INKAN__STATUS__OK) {
		rep.access_token = tok;
		rep.expires_in = expires_in;
		if (srv_reply(c, &rep.base) < 0)
			st = INKAN__STATUS__INTERNAL;
	}
	if (st == INKAN__STATUS__OK)
		log_info("login ok user=%s", req->username);
	else
		log_warn("login failed user=%s: %s", log_name(req->username),
		    sam_status_name(st));
	sodium_free(tok);
	return st;
}

Inkan__Status sam_answer_revoke(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__RevokeReq *req = (const Inkan__RevokeReq *)m;
	Inkan__RevokeRep rep = INKAN__REVOKE_REP__INIT;
	Inkan__Status st;

	st = sam_auth_revoke(&app->core, req->access_token);
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

Inkan__Status sam_answer_list(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__ListReq *req = (const Inkan__ListReq *)m;
	Inkan__ListRep rep = INKAN__LIST_REP__INIT;
	struct id_list l = { 0 };
	struct sam_who who;
	Inkan__Status st;

	st = sam_auth_token(&app->core, req->access_token, &who);
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

Inkan__Status sam_answer_cred_info(struct srv_ctx *c, const ProtobufCMessage *m)
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

	st = sam_auth_token(&app->core, req->access_token, &who);
	if (st != INKAN__STATUS__OK)
		return st;
	st = sam_sad_cred(&app->core, who.user_id, req->credential_id, false,
	    &cred);
	if (st != INKAN__STATUS__OK)
		return st;

	rep.credential_id = cred.id;
	rep.key_type = (Inkan__KeyType)cred.key_type;
	rep.enabled = cred.cert && cred.status == SAM_CRED_ENABLED;
	rep.sign_algos = (char **)sam_algo_sign_oids(cred.key_type, &n_algos);
	rep.n_sign_algos = n_algos;
	rep.key_bits = sam_algo_key_bits(cred.key_type);
	rep.curve_oid = (char *)sam_algo_curve_oid(cred.key_type);
	rep.multisign = app->core.multisign;
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

Inkan__Status sam_answer_authorize(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__AuthorizeReq *req = (const Inkan__AuthorizeReq *)m;
	Inkan__AuthorizeRep rep = INKAN__AUTHORIZE_REP__INIT;
	struct sam_who who = { 0 };
	uint32_t expires_in = 0;
	Inkan__Status st;
	char *sad;

	sad = sodium_malloc(SAM_TOKEN_LEN + 1);
	if (!sad) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	st = sam_sad_authorize(&app->core, req, sad, &expires_in, &who);
	if (st == INKAN__STATUS__OK) {
		rep.sad = sad;
		rep.expires_in = expires_in;
		if (srv_reply(c, &rep.base) < 0)
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
	return st;
}

Inkan__Status sam_answer_sign(struct srv_ctx *c, const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__SignReq *req = (const Inkan__SignReq *)m;
	Inkan__SignRep rep = INKAN__SIGN_REP__INIT;
	Inkan__SignDigestReq dreq = INKAN__SIGN_DIGEST_REQ__INIT;
	Inkan__SignDigestRep *drep = NULL;
	struct sam_sign_plan plan;
	struct sam_who who = { 0 };
	Inkan__Status st;

	st = sam_sad_sign(&app->core, req, &plan, &who);
	if (st != INKAN__STATUS__OK) {
		log_warn("sign refused user=%s cred=%s: %s",
		    who.name[0] ? who.name : "(no session)",
		    log_cred(req->credential_id), sam_status_name(st));
		return st;
	}
	/* The hashes are spent from here on, whatever happens next. */
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
		log_err("sign failed user=%s cred=%s n=%zu (hashes spent): %s, "
		    "SCM answered %s, transport %s", who.name,
		    req->credential_id, plan.count, sam_status_name(st),
		    sam_status_name(app->scm.last_status),
		    app->scm.last_err ? strerror(-app->scm.last_err) : "ok");
		return st;
	}
	if (drep->n_signatures != plan.count) {
		log_err("sign failed cred=%s: SCM returned %zu signatures for %zu",
		    req->credential_id, drep->n_signatures, plan.count);
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < drep->n_signatures; i++)
		if (drep->signatures[i].len == 0) {
			st = INKAN__STATUS__INTERNAL;
			goto out;
		}
	rep.n_signatures = drep->n_signatures;
	rep.signatures = drep->signatures;
	if (srv_reply(c, &rep.base) < 0) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	log_info("sign ok user=%s cred=%s n=%zu", who.name, req->credential_id,
	    plan.count);
out:
	protobuf_c_message_free_unpacked(&drep->base, NULL);
	return st;
}
