/* oauth.c — the OAuth2 authorization code flow with PKCE S256 in inkan-sam.
 * SECURITY: inkan-sic only renders the consent page and relays the signer's
 * answer; everything is decided here. A client and its redirect URIs must be
 * registered ([sam] oauth_client). On the consent answer the password is
 * checked by the login rule (sam_auth_login) and, for scope=credential, PIN
 * and OTP by the AUTHORIZE rule (sam_sad_authorize: ownership, lockout, TOTP
 * replay, hashes bound, count, expiry) under that new access token, so the
 * resulting SAD is bound exactly like one from credentials/authorize. The
 * code handed to the client is 256 random bits; this process keeps only its
 * SHA-256, the client, redirect URI and S256 challenge it is bound to, and
 * the access token and SAD sealed (XSalsa20-Poly1305) under a key derived
 * from the code itself: nothing in this table can be redeemed without the
 * code and the PKCE verifier. Codes are single use and die after 60 s;
 * whatever is not redeemed is revoked (token and SAD rows deleted). Never
 * logs a password, PIN, OTP, code, verifier, token or SAD. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "log.h"
#include "audit.h"
#include "auth.h"
#include "oauth.h"
#include "sad.h"
#include "store.h"

struct client {
	char id[SAM_OAUTH_CLIENT_ID_MAX + 1];
	char redirect[SAM_OAUTH_REDIRECTS_MAX][SAM_OAUTH_REDIRECT_MAX + 1];
	size_t n_redirect;
	bool has_secret;
	uint8_t secret_hash[32];        /* SHA-256 of the client secret */
};

/* T "." S, sealed */
#define SEAL_PLAIN (SAM_TOKEN_LEN + 1 + SAM_TOKEN_LEN)

struct code {
	bool live;
	uint8_t hash[32];               /* SHA-256 of the code */
	int64_t expires;
	char client_id[SAM_OAUTH_CLIENT_ID_MAX + 1];
	char redirect_uri[SAM_OAUTH_REDIRECT_MAX + 1];
	char challenge[SAM_OAUTH_CODE_LEN + 1];
	bool credential;
	char cred_id[SAM_CRED_ID_LEN + 1];
	char user[SAM_NAME_MAX + 1];
	int64_t grant_expires;          /* the token's (service) or SAD's */
	uint8_t token_hash[32];         /* to revoke what is never redeemed */
	uint8_t nonce[crypto_secretbox_NONCEBYTES];
	uint8_t box[crypto_secretbox_MACBYTES + SEAL_PLAIN];
	size_t box_len;
};

static struct client clients[SAM_OAUTH_CLIENTS_MAX];
static size_t n_clients;
static struct code codes[SAM_OAUTH_CODES_MAX];

/* ---- configuration ------------------------------------------------------- */

static bool vis(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return n > 0;
}

static bool uri_form_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > SAM_OAUTH_REDIRECT_MAX || !vis(u, n) ||
	    strchr(u, '#'))
		return false;
	return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
}

void sam_oauth_reset(void)
{
	sodium_memzero(clients, sizeof clients);
	sodium_memzero(codes, sizeof codes);
	n_clients = 0;
}

int sam_oauth_client_config(const char *value)
{
	struct client c;
	char buf[2048], *save = NULL, *tok;
	size_t i;

	memset(&c, 0, sizeof c);
	if (strlen(value) >= sizeof buf || n_clients == SAM_OAUTH_CLIENTS_MAX)
		return -EINVAL;
	strcpy(buf, value);
	tok = strtok_r(buf, " \t", &save);
	if (!tok || strlen(tok) > SAM_OAUTH_CLIENT_ID_MAX ||
	    !vis(tok, strlen(tok)))
		return -EINVAL;
	strcpy(c.id, tok);
	for (i = 0; i < n_clients; i++)
		if (strcmp(clients[i].id, c.id) == 0)
			return -EINVAL;
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if (strncmp(tok, "secret-sha256=", 14) == 0) {
			size_t bl = 0;

			if (c.has_secret || strlen(tok + 14) != 64 ||
			    sodium_hex2bin(c.secret_hash, 32, tok + 14, 64, NULL,
			    &bl, NULL) < 0 || bl != 32)
				return -EINVAL;
			c.has_secret = true;
			continue;
		}
		if (!uri_form_ok(tok) || c.n_redirect == SAM_OAUTH_REDIRECTS_MAX)
			return -EINVAL;
		strcpy(c.redirect[c.n_redirect++], tok);
	}
	if (c.n_redirect == 0)
		return -EINVAL;
	clients[n_clients++] = c;
	return 0;
}

static const struct client *client_get(const char *id)
{
	for (size_t i = 0; id && i < n_clients; i++)
		if (strcmp(clients[i].id, id) == 0)
			return &clients[i];
	return NULL;
}

/* "http://127.0.0.1" / "http://[::1]" authority of a registered URI without
 * a port: the request may add any port (RFC 8252 7.3). */
static bool loopback_match(const char *reg, const char *req)
{
	static const char *const hosts[] = { "http://127.0.0.1",
	    "http://[::1]" };

	for (size_t i = 0; i < 2; i++) {
		size_t hl = strlen(hosts[i]);
		const char *p;

		if (strncmp(reg, hosts[i], hl) != 0 ||
		    (reg[hl] != '/' && reg[hl] != '\0') ||
		    strncmp(req, hosts[i], hl) != 0)
			continue;
		p = req + hl;
		if (*p == ':') {
			size_t d = strspn(p + 1, "0123456789");

			if (d == 0 || d > 5)
				return false;
			p += 1 + d;
		}
		return strcmp(p, reg + hl) == 0;
	}
	return false;
}

static bool redirect_registered(const struct client *c, const char *uri)
{
	if (!uri || !uri_form_ok(uri))
		return false;
	for (size_t i = 0; i < c->n_redirect; i++)
		if (strcmp(c->redirect[i], uri) == 0 ||
		    loopback_match(c->redirect[i], uri))
			return true;
	return false;
}

/* ---- codes --------------------------------------------------------------- */

static void code_key(const char *code, uint8_t key[crypto_secretbox_KEYBYTES])
{
	static const uint8_t ctx[] = "inkan-oauth2-code-seal-v1";

	crypto_generichash(key, crypto_secretbox_KEYBYTES,
	    (const uint8_t *)code, strlen(code), ctx, sizeof ctx - 1);
}

static void revoke_hash(struct sam_core *core, const uint8_t th[32])
{
	if (sam_store_begin(core->store) < 0)
		return;
	if (sam_store_sad_del_by_token(core->store, th) < 0 ||
	    sam_store_token_del(core->store, th) < 0) {
		sam_store_rollback(core->store);
		return;
	}
	(void)sam_store_commit(core->store);
}

static void code_drop(struct sam_core *core, struct code *k, bool revoke)
{
	if (revoke)
		revoke_hash(core, k->token_hash);
	sodium_memzero(k, sizeof *k);
}

/* Expired codes: what they would have granted is revoked. */
static void sweep(struct sam_core *core)
{
	int64_t now = core->now();

	for (size_t i = 0; i < SAM_OAUTH_CODES_MAX; i++)
		if (codes[i].live && codes[i].expires <= now)
			code_drop(core, &codes[i], true);
}

static struct code *code_slot(void)
{
	for (size_t i = 0; i < SAM_OAUTH_CODES_MAX; i++)
		if (!codes[i].live)
			return &codes[i];
	return NULL;
}

/* Every slot is compared, so the time taken does not say which matched. */
static struct code *code_find(const char *code)
{
	struct code *hit = NULL;
	uint8_t h[32];

	crypto_hash_sha256(h, (const uint8_t *)code, strlen(code));
	for (size_t i = 0; i < SAM_OAUTH_CODES_MAX; i++)
		if (codes[i].live && sodium_memcmp(codes[i].hash, h, 32) == 0)
			hit = &codes[i];
	return hit;
}

static bool challenge_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n != SAM_OAUTH_CODE_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* RFC 7636 4.1 and 4.6: BASE64URL(SHA256(verifier)) == challenge. */
static bool pkce_ok(const char *verifier, const char *challenge)
{
	uint8_t h[32];
	char b[SAM_OAUTH_CODE_LEN + 1];
	size_t n = verifier ? strlen(verifier) : 0;

	if (n < 43 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = verifier[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~'))
			return false;
	}
	crypto_hash_sha256(h, (const uint8_t *)verifier, n);
	sodium_bin2base64(b, sizeof b, h, sizeof h,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return sodium_memcmp(b, challenge, SAM_OAUTH_CODE_LEN) == 0;
}

/* ---- the rules ------------------------------------------------------------ */

Inkan__Status sam_oauth_prepare(struct sam_core *core,
    const Inkan__OAuthPrepareReq *req, struct sam_cred *cred, bool *have_cred)
{
	const struct client *c = client_get(req->client_id);
	int r;

	*have_cred = false;
	if (!c || !redirect_registered(c, req->redirect_uri))
		return INKAN__STATUS__OAUTH_INVALID_CLIENT;
	if (!req->credential_id)
		return INKAN__STATUS__OK;
	/* Only for display on the consent page; the row is checked (owner,
	 * MAC, state, validity) by AUTHORIZE when the signer answers. */
	if (!sam_cred_id_ok(req->credential_id))
		return INKAN__STATUS__UNKNOWN_CREDENTIAL;
	r = sam_store_cred_get(core->store, req->credential_id, cred);
	if (r == -ENOENT)
		return INKAN__STATUS__UNKNOWN_CREDENTIAL;
	if (r < 0)
		return INKAN__STATUS__INTERNAL;
	*have_cred = true;
	if (!cred->cert || cred->status != SAM_CRED_ENABLED)
		return INKAN__STATUS__CREDENTIAL_DISABLED;
	return INKAN__STATUS__OK;
}

void sam_oauth_sad_id(const char *sad, char out[17])
{
	uint8_t h[32];

	sam_auth_digest(sad, h);
	sodium_bin2hex(out, 17, h, 8);
}

Inkan__Status sam_oauth_authorize(struct sam_core *core,
    const Inkan__OAuthAuthorizeReq *req, char *code_out, uint32_t *expires_in,
    char *sad_id)
{
	const struct client *c = client_get(req->client_id);
	Inkan__AuthorizeReq ar = INKAN__AUTHORIZE_REQ__INIT;
	struct sam_who who;
	struct code *k;
	char *plain = NULL, *tok = NULL, *sad = NULL;
	uint8_t key[crypto_secretbox_KEYBYTES];
	uint32_t tok_exp = 0, sad_exp = 0;
	bool credential;
	Inkan__Status st;
	int64_t now;

	if (sad_id)
		sad_id[0] = '\0';
	if (!c || !redirect_registered(c, req->redirect_uri))
		return INKAN__STATUS__OAUTH_INVALID_CLIENT;
	if (!challenge_ok(req->code_challenge))
		return INKAN__STATUS__INVALID_REQUEST;
	if (strcmp(req->scope, "credential") == 0)
		credential = true;
	else if (strcmp(req->scope, "service") == 0)
		credential = false;
	else
		return INKAN__STATUS__INVALID_REQUEST;
	if (credential && (!req->credential_id || !req->has_num_signatures ||
	    !sam_cred_id_ok(req->credential_id)))
		return credential && req->credential_id &&
		    !sam_cred_id_ok(req->credential_id) ?
		    INKAN__STATUS__UNKNOWN_CREDENTIAL :
		    INKAN__STATUS__INVALID_REQUEST;
	if (!credential && (req->credential_id || req->n_hashes ||
	    req->has_pin || req->has_otp))
		return INKAN__STATUS__INVALID_REQUEST;
	sweep(core);
	k = code_slot();
	if (!k)
		return INKAN__STATUS__UNAVAILABLE;      /* retry shortly */

	tok = sodium_malloc(SAM_TOKEN_LEN + 1);
	sad = sodium_malloc(SAM_TOKEN_LEN + 1);
	plain = sodium_malloc(SEAL_PLAIN + 1);
	if (!tok || !sad || !plain) {
		st = INKAN__STATUS__INTERNAL;
		goto out;
	}
	/* 1. user name and password: the login rule, and a fresh token */
	st = sam_auth_login(core, req->username, &req->password, tok, &tok_exp);
	if (st != INKAN__STATUS__OK)
		goto out;
	now = core->now();
	memset(k, 0, sizeof *k);
	sam_auth_digest(tok, k->token_hash);
	k->grant_expires = now + tok_exp;
	/* 2. credential scope: PIN + OTP and the SAD, the AUTHORIZE rule */
	if (credential) {
		ar.access_token = tok;
		ar.credential_id = req->credential_id;
		ar.num_signatures = req->num_signatures;
		ar.hash_algo_oid = req->hash_algo_oid;
		ar.n_hashes = req->n_hashes;
		ar.hashes = req->hashes;
		ar.has_pin = req->has_pin;
		ar.pin = req->pin;
		ar.has_otp = req->has_otp;
		ar.otp = req->otp;
		ar.description = req->description;
		memset(&who, 0, sizeof who);
		st = sam_sad_authorize(core, &ar, sad, &sad_exp, &who);
		if (st != INKAN__STATUS__OK) {
			revoke_hash(core, k->token_hash);
			memset(k, 0, sizeof *k);
			goto out;
		}
		k->grant_expires = now + sad_exp;
		memcpy(k->cred_id, req->credential_id, SAM_CRED_ID_LEN + 1);
		if (sad_id)
			sam_oauth_sad_id(sad, sad_id);
	}
	snprintf(k->user, sizeof k->user, "%s", req->username);
	/* 3. the code, and the grant sealed under it */
	sam_auth_random_string(code_out);
	crypto_hash_sha256(k->hash, (const uint8_t *)code_out,
	    SAM_OAUTH_CODE_LEN);
	k->expires = now + SAM_OAUTH_CODE_LIFETIME;
	snprintf(k->client_id, sizeof k->client_id, "%s", req->client_id);
	snprintf(k->redirect_uri, sizeof k->redirect_uri, "%s",
	    req->redirect_uri);
	memcpy(k->challenge, req->code_challenge, SAM_OAUTH_CODE_LEN + 1);
	k->credential = credential;
	memcpy(plain, tok, SAM_TOKEN_LEN);
	plain[SAM_TOKEN_LEN] = '.';
	memcpy(plain + SAM_TOKEN_LEN + 1, credential ? sad : tok, SAM_TOKEN_LEN);
	randombytes_buf(k->nonce, sizeof k->nonce);
	code_key(code_out, key);
	crypto_secretbox_easy(k->box, (const uint8_t *)plain, SEAL_PLAIN,
	    k->nonce, key);
	k->box_len = crypto_secretbox_MACBYTES + SEAL_PLAIN;
	k->live = true;
	*expires_in = SAM_OAUTH_CODE_LIFETIME;
	st = INKAN__STATUS__OK;
out:
	sodium_memzero(key, sizeof key);
	if (tok)
		sodium_free(tok);
	if (sad)
		sodium_free(sad);
	if (plain)
		sodium_free(plain);
	return st;
}

Inkan__Status sam_oauth_token(struct sam_core *core,
    const Inkan__OAuthTokenReq *req, char *token_out, char *sad_out,
    struct sam_oauth_grant *g)
{
	const struct client *c;
	struct code k, *slot;
	uint8_t key[crypto_secretbox_KEYBYTES], sh[32];
	char *plain;
	int64_t now;
	bool ok;

	memset(g, 0, sizeof *g);
	sweep(core);
	if (!req->code || strlen(req->code) != SAM_OAUTH_CODE_LEN)
		return INKAN__STATUS__OAUTH_INVALID_GRANT;
	slot = code_find(req->code);
	if (!slot)
		return INKAN__STATUS__OAUTH_INVALID_GRANT;
	/* Single use: whatever follows, this code is spent. */
	k = *slot;
	sodium_memzero(slot, sizeof *slot);
	memcpy(g->user, k.user, sizeof g->user);
	c = client_get(k.client_id);
	ok = c && strcmp(req->client_id, k.client_id) == 0 &&
	    strcmp(req->redirect_uri, k.redirect_uri) == 0;
	if (ok && c->has_secret) {
		crypto_hash_sha256(sh, req->has_client_secret ?
		    req->client_secret.data : (const uint8_t *)"",
		    req->has_client_secret ? req->client_secret.len : 0);
		if (!req->has_client_secret ||
		    sodium_memcmp(sh, c->secret_hash, 32) != 0) {
			code_drop(core, &k, true);
			return INKAN__STATUS__OAUTH_INVALID_CLIENT;
		}
	}
	if (!ok || !pkce_ok(req->code_verifier, k.challenge)) {
		code_drop(core, &k, true);
		return INKAN__STATUS__OAUTH_INVALID_GRANT;
	}
	plain = sodium_malloc(SEAL_PLAIN + 1);
	if (!plain) {
		code_drop(core, &k, true);
		return INKAN__STATUS__INTERNAL;
	}
	code_key(req->code, key);
	if (crypto_secretbox_open_easy((uint8_t *)plain, k.box, k.box_len,
	    k.nonce, key) < 0) {
		sodium_memzero(key, sizeof key);
		sodium_free(plain);
		code_drop(core, &k, true);
		return INKAN__STATUS__OAUTH_INVALID_GRANT;
	}
	sodium_memzero(key, sizeof key);
	memcpy(token_out, plain, SAM_TOKEN_LEN);
	token_out[SAM_TOKEN_LEN] = '\0';
	if (k.credential) {
		memcpy(sad_out, plain + SAM_TOKEN_LEN + 1, SAM_TOKEN_LEN);
		sad_out[SAM_TOKEN_LEN] = '\0';
		memcpy(g->cred_id, k.cred_id, SAM_CRED_ID_LEN + 1);
		g->credential = true;
	}
	sodium_free(plain);
	now = core->now();
	g->expires_in = k.grant_expires > now ?
	    (uint32_t)(k.grant_expires - now) : 0;
	code_drop(core, &k, false);
	return INKAN__STATUS__OK;
}

/* ---- handlers ------------------------------------------------------------- */

static const char *log_client(const char *id)
{
	return id && client_get(id) ? id : "(unregistered)";
}

Inkan__Status sam_answer_oauth_prepare(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__OAuthPrepareReq *req = (const Inkan__OAuthPrepareReq *)m;
	Inkan__OAuthPrepareRep rep = INKAN__OAUTH_PREPARE_REP__INIT;
	struct sam_cred cred;
	bool have = false;
	Inkan__Status st;

	memset(&cred, 0, sizeof cred);
	st = sam_oauth_prepare(&app->core, req, &cred, &have);
	if (st == INKAN__STATUS__OK) {
		rep.subject_dn = have ? cred.subject_dn : NULL;
		if (srv_reply(c, &rep.base) < 0)
			st = INKAN__STATUS__INTERNAL;
	} else if (st == INKAN__STATUS__OAUTH_INVALID_CLIENT) {
		log_warn("oauth2 consent page refused: client=%s redirect "
		    "not registered", log_client(req->client_id));
	}
	if (have)
		sam_cred_clear(&cred);
	return st;
}

/* issue 5: every grant has its record in the audit trail before the code
 * or token leaves (audit_release); never a password, PIN, OTP, code,
 * verifier, token, SAD or client secret in it (the SAD by its audit id). */
static void audit_oauth(const char *event, const char *user,
    const char *client, const char *scope, const char *cred, size_t n,
    const ProtobufCBinaryData *hashes, const char *sad_id, Inkan__Status st)
{
	char actor[AUDIT_ACTOR_MAX];
	struct audit_ev *e;

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	e = audit_ev_new(event, audit_actor_signer(actor, user));
	audit_ev_add(e, "client", client);
	audit_ev_add(e, "scope", scope);
	audit_ev_add(e, "user", user);
	if (cred && sam_cred_id_ok(cred))
		audit_ev_add(e, "cred", cred);
	if (n > 0 && n <= SAM_HASHES_MAX && hashes) {
		audit_ev_addf(e, "n", "%zu", n);
		audit_ev_add_hex_list(e, "hashes", hashes, n);
	}
	if (st == INKAN__STATUS__OK) {
		if (sad_id && sad_id[0])
			audit_ev_add(e, "sad", sad_id);
		audit_ev_release(e);
	}
	audit_ev_end(e, st == INKAN__STATUS__OK,
	    st == INKAN__STATUS__OK ? NULL : sam_status_name(st));
}

Inkan__Status sam_answer_oauth_authorize(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__OAuthAuthorizeReq *req =
	    (const Inkan__OAuthAuthorizeReq *)m;
	Inkan__OAuthAuthorizeRep rep = INKAN__OAUTH_AUTHORIZE_REP__INIT;
	const char *user = sam_auth_username_ok(req->username) ?
	    req->username : "(malformed)";
	const char *client = log_client(req->client_id);
	uint32_t expires_in = 0;
	char sad_id[17] = "";
	Inkan__Status st;
	char *code = NULL;

	sam_notes_begin(app);
	if (!audit_ready()) {           /* no grant without its record */
		st = INKAN__STATUS__AUDIT_UNAVAILABLE;
		goto out;
	}
	code = sodium_malloc(SAM_OAUTH_CODE_LEN + 1);
	st = code ? sam_oauth_authorize(&app->core, req, code, &expires_in,
	    sad_id) : INKAN__STATUS__INTERNAL;
	audit_oauth("oauth2.authorize", user, client, req->scope,
	    req->credential_id, req->n_hashes, req->hashes, sad_id, st);
	if (st == INKAN__STATUS__OK) {
		rep.code = code;
		rep.expires_in = expires_in;
		if (audit_release(c, &rep.base, true) < 0)
			st = INKAN__STATUS__INTERNAL;
	}
out:
	sam_wipe_bin(&req->password);
	sam_wipe_bin(&req->pin);
	sam_wipe_bin(&req->otp);
	if (st == INKAN__STATUS__OK)
		log_info("oauth2 authorize ok user=%s client=%s scope=%s%s%s "
		    "n=%zu", user, client, req->scope,
		    req->credential_id ? " cred=" : "",
		    req->credential_id && sam_cred_id_ok(req->credential_id) ?
		    req->credential_id : "", req->n_hashes);
	else
		log_warn("oauth2 authorize failed user=%s client=%s: %s", user,
		    client, sam_status_name(st));
	sam_notes_end(app, "oauth2 authorize", user);
	if (code)
		sodium_free(code);
	return st;
}

Inkan__Status sam_answer_oauth_token(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__OAuthTokenReq *req = (const Inkan__OAuthTokenReq *)m;
	Inkan__OAuthTokenRep rep = INKAN__OAUTH_TOKEN_REP__INIT;
	const char *client = log_client(req->client_id);
	struct sam_oauth_grant g;
	char *tok = NULL, *sad = NULL, sad_id[17] = "";
	Inkan__Status st;

	memset(&g, 0, sizeof g);
	sam_notes_begin(app);
	if (!audit_ready()) {           /* no token without its record */
		st = INKAN__STATUS__AUDIT_UNAVAILABLE;
		goto out;
	}
	tok = sodium_malloc(SAM_TOKEN_LEN + 1);
	sad = sodium_malloc(SAM_TOKEN_LEN + 1);
	st = tok && sad ? sam_oauth_token(&app->core, req, tok, sad, &g) :
	    INKAN__STATUS__INTERNAL;
	if (st == INKAN__STATUS__OK && g.credential)
		sam_oauth_sad_id(sad, sad_id);
	/* A refused exchange is recorded too when the code was real (it
	 * is spent and its grant revoked); guesses at codes are only logged. */
	if (g.user[0])
		audit_oauth("oauth2.token", g.user, client,
		    st == INKAN__STATUS__OK ? (g.credential ? "credential" :
		    "service") : "-", g.credential ? g.cred_id : NULL, 0, NULL,
		    sad_id, st);
	if (st == INKAN__STATUS__OK) {
		rep.access_token = tok;
		rep.sad = g.credential ? sad : NULL;
		rep.expires_in = g.expires_in;
		rep.scope = (char *)(g.credential ? "credential" : "service");
		rep.credential_id = g.credential ? g.cred_id : NULL;
		if (audit_release(c, &rep.base, true) < 0)
			st = INKAN__STATUS__INTERNAL;
	}
out:
	sam_wipe_bin(&req->client_secret);
	/* SECURITY: the user, the client id (public) and the scope only;
	 * never the code, verifier, client secret, token or SAD (t-oauth
	 * searches the logs, audit trail and database for every one). */
	if (st == INKAN__STATUS__OK)
		log_info("oauth2 token issued user=%s client=%s scope=%s",
		    g.user, client, rep.scope);
	else
		log_warn("oauth2 token refused client=%s: %s", client,
		    sam_status_name(st));
	sam_notes_end(app, "oauth2 token", g.user);
	if (tok)
		sodium_free(tok);
	if (sad)
		sodium_free(sad);
	return st;
}
