/* audit_sam.c — inkan-sam's side of the audit trail: the [sam] audit_* keys,
 * the checkpoint signer (inkan-scm's audit key; each signature is checked
 * here against the audit public key before it is written), the public key
 * file next to the trail, one record per signer and operator event, and the
 * auditor socket's show / verify / pubkey answers.
 * SECURITY: records carry names, credential ids, certificate serials and
 * issuers, digests and the SAD's id (the first 8 bytes of SHA-256(SAD)),
 * never a password, PIN, OTP, token, SAD or key. Digests are recorded only
 * for requests with a valid access token (an anonymous request cannot make
 * the trail grow by more than one short line). The trail is read back only
 * for PEER_AUDITOR requests. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "inkan-config.h"
#include "daemon.h"
#include "log.h"
#include "util.h"
#include "sam.h"
#include "auth.h"
#include "algo.h"
#include "sad.h"
#include "scm_client.h"
#include "store.h"
#include "audit.h"
#include "lifecycle.h"
#include "audit_format.h"

#define AUDIT_NOTES_MAX 64
#define AUDIT_SHOW_BUDGET (120 * 1024)   /* record text per show answer */
#define AUDIT_SHOW_LIMIT 1000

static struct {
	char *dir;
	uint64_t max_file;
	unsigned cp_records, cp_seconds;
	unsigned test_pause_ms;
	struct {
		char *key, *val;
	} notes[AUDIT_NOTES_MAX];
	size_t n_notes;
	struct sam_app *app;
	EVP_PKEY *pub;
	char fp[AUDIT_HEX_LEN + 1];
	int64_t key_retry_ms;
} S = {
	.max_file = AUDIT_DEFAULT_MAX_FILE,
	.cp_records = AUDIT_DEFAULT_CP_RECORDS,
	.cp_seconds = AUDIT_DEFAULT_CP_SECONDS,
};

/* ---- configuration ------------------------------------------------------ */

/* Configuration values are recorded; anything that looks like a secret is
 * not (there is none in [sam] today, but keys get added). */
static bool secret_key(const char *k)
{
	return strstr(k, "secret") || strstr(k, "password") ||
	    strstr(k, "pin") || strstr(k, "token_key");
}

static void note(const char *key, const char *value)
{
	for (size_t i = 0; i < S.n_notes; i++)
		if (!strcmp(S.notes[i].key, key)) {
			free(S.notes[i].val);
			S.notes[i].val = cfg_strdup(value);
			return;
		}
	if (S.n_notes == AUDIT_NOTES_MAX)
		return;
	S.notes[S.n_notes].key = cfg_strdup(key);
	S.notes[S.n_notes].val = cfg_strdup(secret_key(key) ? "(not recorded)" :
	    value);
	S.n_notes++;
}

/* 4096, 64K, 16M, 1G */
static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (v[0] < '0' || v[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -EINVAL;
	switch (*end) {
	case '\0': break;
	case 'K': n <<= 10; end++; break;
	case 'M': n <<= 20; end++; break;
	case 'G': n <<= 30; end++; break;
	default: return -EINVAL;
	}
	if (*end != '\0' || n < 4096 || n > (1ull << 40))
		return -EINVAL;
	*out = n;
	return 0;
}

int audit_config_key(const char *key, const char *value)
{
	unsigned long v;

	note(key, value);
	if (!strcmp(key, "audit_dir")) {
		if (value[0] != '/')
			return -EINVAL;
		free(S.dir);
		S.dir = cfg_strdup(value);
	} else if (!strcmp(key, "audit_max_file_size")) {
		if (parse_size(value, &S.max_file) < 0)
			return -EINVAL;
	} else if (!strcmp(key, "audit_checkpoint_records")) {
		if (cfg_uint(value, 1, 1000000, &v) < 0)
			return -EINVAL;
		S.cp_records = (unsigned)v;
	} else if (!strcmp(key, "audit_checkpoint_seconds")) {
		if (cfg_uint(value, 1, 86400, &v) < 0)
			return -EINVAL;
		S.cp_seconds = (unsigned)v;
	} else if (!strcmp(key, "audit_test_pause_ms")) {
		/* Tests only: hold each synced batch this long before its
		 * replies go out, so that a test can kill the SAM there. */
		if (cfg_uint(value, 0, 60000, &v) < 0)
			return -EINVAL;
		S.test_pause_ms = (unsigned)v;
	} else {
		return 0;
	}
	return 1;
}

/* ---- the audit key ------------------------------------------------------ */

static int write_pubkey_file(void)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *pem = NULL, *old = NULL;
	size_t oldlen = 0;
	long n;
	int fd, r = 0, dfd = audit_dir_fd();

	if (mem == NULL || dfd < 0 || !PEM_write_bio_PUBKEY(mem, S.pub)) {
		BIO_free(mem);
		return -ENOMEM;
	}
	n = BIO_get_mem_data(mem, &pem);
	if (audit_read_file(dfd, AUDIT_PUBKEY_FILE, 64 * 1024, &old, &oldlen) == 0 &&
	    oldlen == (size_t)n && memcmp(old, pem, (size_t)n) == 0) {
		free(old);
		BIO_free(mem);
		return 0;
	}
	if (old != NULL)
		log_warn("audit: %s/%s held another public key: rewritten",
		    S.dir, AUDIT_PUBKEY_FILE);
	free(old);
	fd = openat(dfd, AUDIT_PUBKEY_FILE, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, pem, (size_t)n) != n || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	BIO_free(mem);
	return r;
}

/* Fetch the audit public key from inkan-scm once (after the sandbox: the
 * SCM admits only the uid we run as). */
static int ensure_key(struct sam_app *app)
{
	Inkan__AuditKeyRep *rep = NULL;
	const unsigned char *p;
	EVP_PKEY *pk;
	Inkan__Status st;
	int64_t now = now_ms();
	int r;

	if (S.pub != NULL)
		return 0;
	if (now < S.key_retry_ms)
		return -EAGAIN;
	S.key_retry_ms = now + 1000;
	st = sam_req_audit_key(&app->scm, &rep);
	if (st != INKAN__STATUS__OK) {
		log_warn("audit: cannot get the audit public key from inkan-scm: "
		    "%s", sam_status_name(st));
		return -EAGAIN;
	}
	p = rep->spki.data;
	pk = d2i_PUBKEY(NULL, &p, (long)rep->spki.len);
	if (pk == NULL || p != rep->spki.data + rep->spki.len ||
	    EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    EVP_PKEY_get_bits(pk) != 256) {
		log_err("audit: inkan-scm answered a public key that is not EC "
		    "P-256");
		EVP_PKEY_free(pk);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		return -EPROTO;
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	S.pub = pk;
	audit_key_fingerprint(pk, S.fp);
	if ((r = write_pubkey_file()) < 0)
		log_warn("audit: cannot write %s/%s: %s", S.dir,
		    AUDIT_PUBKEY_FILE, strerror(-r));
	log_info("audit: checkpoints are signed by inkan-scm's audit key %s "
	    "(public key in %s/%s)", S.fp, S.dir, AUDIT_PUBKEY_FILE);
	audit_record("audit.key", AUDIT_ACTOR_SAM, true, NULL, "key", S.fp,
	    "file", AUDIT_PUBKEY_FILE, "alg", AUDIT_CP_ALG, NULL);
	return 0;
}

static int cp_sign(void *arg, uint64_t seq, const char *head, uint8_t *sig,
    size_t *sig_len, char *key_fp)
{
	struct sam_app *app = arg;
	Inkan__AuditSignRep *rep = NULL;
	uint8_t h[32], md[32];
	EVP_PKEY_CTX *ctx;
	Inkan__Status st;
	int ok, r;

	if ((r = ensure_key(app)) < 0)
		return r;
	if (hex_decode(head, h, sizeof h) != 32 ||
	    audit_cp_digest(seq, head, md) < 0)
		return -EINVAL;
	st = sam_req_audit_sign(&app->scm, seq, h, &rep);
	if (st != INKAN__STATUS__OK)
		return -EAGAIN;
	/* The SCM is trusted with the key, not with our trail: check. */
	ctx = EVP_PKEY_CTX_new(S.pub, NULL);
	ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_verify(ctx, rep->signature.data, rep->signature.len, md,
	    sizeof md) == 1 && rep->signature.len <= *sig_len;
	EVP_PKEY_CTX_free(ctx);
	if (ok) {
		memcpy(sig, rep->signature.data, rep->signature.len);
		*sig_len = rep->signature.len;
		memcpy(key_fp, S.fp, AUDIT_HEX_LEN + 1);
	} else {
		log_err("audit: inkan-scm's checkpoint signature does not verify "
		    "with the audit public key");
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return ok ? 0 : -EPROTO;
}

/* ---- start, serve, stop ------------------------------------------------- */

/* The details of the last `config` record in the trail, decoded, as
 * "k=v\n" lines; NULL when there is none. */
static char *last_config(void)
{
	char **names = NULL, *found = NULL;
	int n = audit_list_dir(S.dir, &names), dfd = audit_dir_fd();

	for (int i = n - 1; i >= 0 && found == NULL; i--) {
		char *buf = NULL;
		size_t len = 0, pos = 0;

		if (audit_read_file(dfd, names[i], (size_t)1 << 32, &buf, &len) < 0)
			break;
		while (pos < len) {
			const char *nl = memchr(buf + pos, '\n', len - pos);
			struct audit_rec r;
			size_t l;

			if (nl == NULL)
				break;
			l = (size_t)(nl - (buf + pos));
			if (audit_parse(buf + pos, l, &r, NULL, 0) == 0 &&
			    audit_tok_eq(&r.event, "config")) {
				size_t cap = l + 2 * r.n_kv + 2, off = 0;
				free(found);
				found = malloc(cap);
				for (size_t k = 0; found && k < r.n_kv; k++) {
					char v[1024];
					if (audit_decode(&r.kv[k].val, v, sizeof v) < 0)
						v[0] = '\0';
					off += (size_t)snprintf(found + off, cap - off,
					    "%.*s=%s\n", (int)r.kv[k].key.len,
					    r.kv[k].key.p, v);
				}
			}
			pos += l + 1;
		}
		free(buf);
	}
	if (n > 0)
		audit_free_list(names, n);
	return found;
}

static const char *prev_value(const char *prev, const char *key, char *buf,
    size_t len)
{
	size_t kl = strlen(key);
	const char *p = prev;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		if (ll > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(buf, len, "%.*s", (int)(ll - kl - 1), p + kl + 1);
			return buf;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void record_config(void)
{
	struct audit_ev *e = audit_ev_new("config", AUDIT_ACTOR_SAM);
	char *prev = last_config(), changed[1024] = "", buf[1024];
	size_t off = 0;

	for (size_t i = 0; i < S.n_notes; i++) {
		const char *k = S.notes[i].key;
		const char *pv;

		if (!audit_key_ok(k, strlen(k)) || !strcmp(k, "changed"))
			continue;
		audit_ev_add(e, k, S.notes[i].val);
		pv = prev ? prev_value(prev, k, buf, sizeof buf) : NULL;
		if (prev && (pv == NULL || strcmp(pv, S.notes[i].val) != 0))
			off += (size_t)snprintf(changed + off, off < sizeof changed ?
			    sizeof changed - off : 0, "%s%s", off ? "," : "", k);
	}
	/* Keys that were set before and are not now. */
	for (const char *p = prev; p && *p;) {
		const char *eq = strchr(p, '='), *nl = strchr(p, '\n');
		char k[AUDIT_KEY_MAX + 1];
		bool still = false;

		if (eq == NULL || nl == NULL || eq > nl)
			break;
		snprintf(k, sizeof k, "%.*s", (int)(eq - p), p);
		for (size_t i = 0; i < S.n_notes; i++)
			still = still || !strcmp(S.notes[i].key, k);
		if (!still && strcmp(k, "changed") != 0 && off < sizeof changed)
			off += (size_t)snprintf(changed + off, sizeof changed - off,
			    "%s%s", off ? "," : "", k);
		p = nl + 1;
	}
	audit_ev_add(e, "changed", prev ? (off ? changed : "none") : "unknown");
	free(prev);
	audit_ev_end(e, true, prev ? (off ? "changed" : "unchanged") : "first");
}

int audit_open(struct sam_app *app)
{
	struct audit_params p;
	char err[512], *db_dir, *slash, cr[16], cs[16], mf[24], pid[16];
	int r;

	S.app = app;
	if (S.dir == NULL) {
		/* Default: next to the database. */
		db_dir = cfg_strdup(app->cfg.database);
		slash = strrchr(db_dir, '/');
		if (slash != NULL)
			*slash = '\0';
		if (asprintf(&S.dir, "%s/audit", slash ? db_dir : ".") < 0)
			fatal("out of memory");
		free(db_dir);
		note("audit_dir", S.dir);
	}
	memset(&p, 0, sizeof p);
	p.dir = S.dir;
	p.max_file_size = S.max_file;
	p.cp_records = S.cp_records;
	p.cp_seconds = S.cp_seconds;
	p.cp_sign = cp_sign;
	p.cp_arg = app;
	p.test_pause_ms = S.test_pause_ms;
	r = audit_start(&p, err, sizeof err);
	if (r < 0) {
		log_err("audit trail: %s", err);
		if (r == -EBADMSG)
			log_err("audit trail: refusing to start on a damaged "
			    "trail; keep it for the auditors, verify it with "
			    "inkan-audit-verify, then move it aside");
		return r;
	}
	snprintf(cr, sizeof cr, "%u", S.cp_records);
	snprintf(cs, sizeof cs, "%u", S.cp_seconds);
	snprintf(mf, sizeof mf, "%" PRIu64, S.max_file);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	audit_record("process.start", AUDIT_ACTOR_SAM, true, NULL,
	    "version", INKAN_VERSION, "pid", pid, "cp_records", cr,
	    "cp_seconds", cs, "max_file_size", mf, "dir", S.dir, NULL);
	record_config();
	log_info("audit trail in %s (checkpoint every %u records or %u s, "
	    "files up to %" PRIu64 " bytes)", S.dir, S.cp_records, S.cp_seconds,
	    S.max_file);
	if (S.test_pause_ms)
		log_warn("TEST: audit_test_pause_ms = %u holds every synced batch "
		    "before its replies: never in production", S.test_pause_ms);
	return 0;
}

static void round_hook(void *a)
{
	struct sam_app *app = a;

	if (S.pub == NULL && audit_is_open())
		(void)ensure_key(app);
	sam_lc_tick(app);       /* issue 7: expired certificates lose their keys */
	audit_round(app);
}

static const struct srv_hooks hooks = {
	.round = round_hook,
	.refused = audit_refused,
};

void audit_serve(struct sam_app *app)
{
	(void)app;
	srv_set_hooks(&hooks);
}

void audit_close(struct sam_app *app)
{
	(void)app;
	audit_stop("shutdown");
	EVP_PKEY_free(S.pub);
	S.pub = NULL;
}

/* ---- events ------------------------------------------------------------- */

static const char *cred_text(const char *id)
{
	return sam_cred_id_ok(id) ? id : "(malformed)";
}

static const char *hash_name(size_t len, const char *oid)
{
	if (oid && *oid) {
		if (!strcmp(oid, "2.16.840.1.101.3.4.2.1"))
			return "sha256";
		if (!strcmp(oid, "2.16.840.1.101.3.4.2.2"))
			return "sha384";
		if (!strcmp(oid, "2.16.840.1.101.3.4.2.3"))
			return "sha512";
		return "other";
	}
	switch (sam_algo_hash_by_len(len)) {
	case INKAN__HASH_ALG__HASH_SHA256: return "sha256";
	case INKAN__HASH_ALG__HASH_SHA384: return "sha384";
	case INKAN__HASH_ALG__HASH_SHA512: return "sha512";
	default: return "unknown";
	}
}

/* The SAD's id: the first 8 bytes of the SHA-256 the database keys on. */
static void sad_id(const char *sad, char out[17])
{
	uint8_t h[32];

	sam_auth_digest(sad, h);
	hex_encode(h, 8, out);
}

static const char *printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static struct audit_ev *signer_event(const struct srv_ctx *c,
    const char *event, const struct sam_who *who)
{
	char actor[AUDIT_ACTOR_MAX];

	if (who != NULL && who->name[0])
		return audit_ev_new(event, audit_actor_signer(actor, who->name));
	return audit_ev_new(event, audit_actor_peer(actor, c));
}

static void add_cert(const struct srv_ctx *c, struct audit_ev *e,
    const char *cred_id)
{
	struct sam_app *app = c->app;
	struct sam_cred cred;

	if (!sam_cred_id_ok(cred_id))
		return;
	memset(&cred, 0, sizeof cred);
	if (sam_store_cred_get(app->core.store, cred_id, &cred) == 0) {
		audit_ev_add(e, "serial", cred.serial_hex);
		audit_ev_add(e, "issuer", cred.issuer_dn);
	}
	sam_cred_clear(&cred);
}

void audit_login(const struct srv_ctx *c, const char *username,
    Inkan__Status st)
{
	char actor[AUDIT_ACTOR_MAX];
	struct audit_ev *e;

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;         /* counted in the audit.outage record */
	e = audit_ev_new("login", audit_actor_signer(actor, username));
	audit_ev_add(e, "user", sam_auth_username_ok(username) ? username :
	    "(malformed)");
	if (st == INKAN__STATUS__OK)
		audit_ev_release(e);
	(void)c;
	audit_ev_end(e, st == INKAN__STATUS__OK,
	    st == INKAN__STATUS__OK ? NULL : sam_status_name(st));
}

void audit_authorize(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__AuthorizeReq *req, const char *sad, Inkan__Status st)
{
	struct audit_ev *e;
	char id[17];

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	e = signer_event(c, "authorize", who);
	audit_ev_add(e, "cred", cred_text(req->credential_id));
	if (who != NULL && who->user_id > 0) {
		audit_ev_add(e, "user", who->name);
		audit_ev_addf(e, "n", "%u", req->num_signatures);
		if (req->n_hashes > 0 && req->n_hashes <= SAM_HASHES_MAX) {
			audit_ev_add(e, "hash_alg", hash_name(req->hashes[0].len,
			    req->hash_algo_oid));
			audit_ev_add_hex_list(e, "hashes", req->hashes,
			    req->n_hashes);
		}
	}
	switch (st) {
	case INKAN__STATUS__INVALID_PIN: audit_ev_add(e, "factor", "pin"); break;
	case INKAN__STATUS__INVALID_OTP: audit_ev_add(e, "factor", "otp"); break;
	case INKAN__STATUS__MISSING_FACTOR:
		audit_ev_add(e, "factor", "missing");
		break;
	case INKAN__STATUS__LOCKED: audit_ev_add(e, "factor", "locked"); break;
	default: break;
	}
	if (st == INKAN__STATUS__OK && sad != NULL && sad[0]) {
		sad_id(sad, id);
		audit_ev_add(e, "sad", id);
		audit_ev_release(e);
	}
	audit_ev_end(e, st == INKAN__STATUS__OK,
	    st == INKAN__STATUS__OK ? NULL : sam_status_name(st));
}

static void sign_event(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__SignReq *req, Inkan__Status st, bool redelivered)
{
	struct audit_ev *e;
	char id[17], algo[80];

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	e = signer_event(c, redelivered ? "sign.redeliver" : "sign", who);
	audit_ev_add(e, "cred", cred_text(req->credential_id));
	if (who != NULL && who->user_id > 0) {
		audit_ev_add(e, "user", who->name);
		audit_ev_addf(e, "n", "%zu", req->n_hashes);
		if (req->n_hashes > 0 && req->n_hashes <= SAM_HASHES_MAX) {
			audit_ev_add(e, "hash_alg", hash_name(req->hashes[0].len,
			    req->hash_algo_oid));
			audit_ev_add_hex_list(e, "hashes", req->hashes,
			    req->n_hashes);
		}
		audit_ev_add(e, "sign_algo", printable(req->sign_algo_oid, algo,
		    sizeof algo));
		if (sam_auth_string_ok(req->sad)) {
			sad_id(req->sad, id);
			audit_ev_add(e, "sad", id);
		}
		add_cert(c, e, req->credential_id);
	}
	if (st == INKAN__STATUS__OK)
		audit_ev_release(e);
	audit_ev_end(e, st == INKAN__STATUS__OK,
	    st == INKAN__STATUS__OK ? NULL : sam_status_name(st));
}

void audit_sign(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__SignReq *req, Inkan__Status st)
{
	sign_event(c, who, req, st, false);
}

void audit_sign_redelivered(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__SignReq *req)
{
	sign_event(c, who, req, INKAN__STATUS__OK, true);
}

void audit_revoke(const struct srv_ctx *c, Inkan__Status st)
{
	char actor[AUDIT_ACTOR_MAX];

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	audit_record("token.revoke", audit_actor_peer(actor, c),
	    st == INKAN__STATUS__OK,
	    st == INKAN__STATUS__OK ? NULL : sam_status_name(st), NULL);
}

void audit_user_add(const struct srv_ctx *c, const char *username,
    Inkan__Status st)
{
	char actor[AUDIT_ACTOR_MAX];

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	audit_record("user.add", audit_actor_peer(actor, c),
	    st == INKAN__STATUS__OK,
	    st == INKAN__STATUS__OK ? NULL : sam_status_name(st),
	    "user", sam_auth_username_ok(username) ? username : "(malformed)",
	    NULL);
}

static const char *key_type_text(int kt)
{
	switch (kt) {
	case INKAN__KEY_TYPE__KEY_EC_P256: return "p256";
	case INKAN__KEY_TYPE__KEY_EC_P384: return "p384";
	case INKAN__KEY_TYPE__KEY_RSA_2048: return "rsa2048";
	case INKAN__KEY_TYPE__KEY_RSA_3072: return "rsa3072";
	default: return "unknown";
	}
}

void audit_keygen(const struct srv_ctx *c, const char *username,
    const char *cred_id, int key_type, Inkan__Status st, const char *why)
{
	char actor[AUDIT_ACTOR_MAX], reason[96];

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	snprintf(reason, sizeof reason, "%s%s%s",
	    st == INKAN__STATUS__OK ? "" : sam_status_name(st),
	    why && *why && st != INKAN__STATUS__OK ? "@" : "",
	    why && st != INKAN__STATUS__OK ? why : "");
	audit_record("key.generate", audit_actor_peer(actor, c),
	    st == INKAN__STATUS__OK, reason[0] ? reason : NULL,
	    "user", sam_auth_username_ok(username) ? username : "(malformed)",
	    "cred", cred_id && sam_cred_id_ok(cred_id) ? cred_id : NULL,
	    "key_type", key_type_text(key_type), NULL);
}

void audit_key_destroy(const struct srv_ctx *c, const char *cred_id, bool ok,
    const char *why)
{
	char actor[AUDIT_ACTOR_MAX];

	/* c == NULL: the SAM's own decision (expiry sweep) */
	audit_record("key.destroy", c ? audit_actor_peer(actor, c) :
	    AUDIT_ACTOR_SAM, ok, why, "cred", cred_text(cred_id), NULL);
}

void audit_cert_import(const struct srv_ctx *c, const char *cred_id,
    const char *serial, const char *issuer, const char *subject,
    const char *not_after, Inkan__Status st)
{
	char actor[AUDIT_ACTOR_MAX];

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	audit_record("cert.import", audit_actor_peer(actor, c),
	    st == INKAN__STATUS__OK,
	    st == INKAN__STATUS__OK ? NULL : sam_status_name(st),
	    "cred", cred_text(cred_id), "serial", serial, "issuer", issuer,
	    "subject", subject, "not_after", not_after, NULL);
}

/* ---- auditor socket ----------------------------------------------------- */

struct show_state {
	const Inkan__AuditShowReq *req;
	struct audit_filter f;
	uint64_t after;
	uint32_t limit;
	char **out;
	size_t n, cap, bytes;
	uint64_t last_seq;
	bool more;
};

static int show_file(struct show_state *s, int dfd, const char *name)
{
	char *buf = NULL;
	size_t len = 0, pos = 0;
	int r;

	r = audit_read_file(dfd, name, (size_t)1 << 32, &buf, &len);
	if (r < 0)
		return r;
	while (pos < len && !s->more) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		struct audit_rec rec;
		size_t l;

		if (nl == NULL)
			break;
		l = (size_t)(nl - (buf + pos));
		if (audit_parse(buf + pos, l, &rec, NULL, 0) == 0 &&
		    rec.seq > s->after) {
			if (audit_filter_match(&s->f, &rec)) {
				if (s->n >= s->limit ||
				    (s->n > 0 && s->bytes + l > AUDIT_SHOW_BUDGET)) {
					s->more = true;
					break;
				}
				if (s->n == s->cap) {
					size_t cap = s->cap ? 2 * s->cap : 64;
					char **nv = realloc(s->out, cap * sizeof *nv);
					if (nv == NULL) {
						free(buf);
						return -ENOMEM;
					}
					s->out = nv;
					s->cap = cap;
				}
				s->out[s->n] = strndup(buf + pos, l);
				if (s->out[s->n] == NULL) {
					free(buf);
					return -ENOMEM;
				}
				s->n++;
				s->bytes += l + 8;
			}
			s->last_seq = rec.seq;
		}
		pos += l + 1;
	}
	free(buf);
	return 0;
}

static bool clean_filter(const char *v, size_t max)
{
	size_t n = v ? strlen(v) : 0;

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			return false;
	return true;
}

Inkan__Status sam_answer_audit_show(struct srv_ctx *c, const ProtobufCMessage *m)
{
	const Inkan__AuditShowReq *req = (const Inkan__AuditShowReq *)m;
	Inkan__AuditShowRep rep = INKAN__AUDIT_SHOW_REP__INIT;
	struct show_state s;
	char **names = NULL, actor[AUDIT_ACTOR_MAX];
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	int n, dfd = audit_dir_fd();

	memset(&s, 0, sizeof s);
	if (!clean_filter(req->signer, 64) || !clean_filter(req->credential, 64) ||
	    !clean_filter(req->event, AUDIT_KEY_MAX + 1) ||
	    (req->has_limit && req->limit == 0)) {
		srv_detail(c, "filters: printable ASCII without spaces, at most "
		    "64 bytes; limit >= 1");
		return INKAN__STATUS__INVALID_REQUEST;
	}
	if (dfd < 0)
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	s.f.from_ms = req->has_from_ms ? req->from_ms : 0;
	s.f.to_ms = req->has_to_ms ? req->to_ms : 0;
	s.f.signer = req->signer;
	s.f.credential = req->credential;
	s.f.event = req->event;
	s.after = req->has_after_seq ? req->after_seq : 0;
	s.limit = req->has_limit && req->limit < AUDIT_SHOW_LIMIT ? req->limit :
	    AUDIT_SHOW_LIMIT;
	s.last_seq = s.after;
	n = audit_list_dir(S.dir, &names);
	if (n < 0)
		return INKAN__STATUS__INTERNAL;
	for (int i = 0; i < n && !s.more; i++) {
		uint64_t next = 0;
		/* Skip files that end before the page starts. */
		if (i + 1 < n && audit_file_name(names[i + 1], &next) &&
		    next <= s.after + 1)
			continue;
		if (show_file(&s, dfd, names[i]) < 0)
			goto out;
	}
	rep.n_records = s.n;
	rep.records = s.out;
	rep.more = s.more;
	rep.last_seq = s.last_seq;
	if (s.after == 0)
		audit_record("audit.read", audit_actor_peer(actor, c), true, NULL,
		    "event", req->event && *req->event ? req->event : NULL,
		    "user", req->signer && *req->signer ? req->signer : NULL,
		    "cred", req->credential && *req->credential ?
		    req->credential : NULL, NULL);
	st = srv_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
out:
	for (size_t i = 0; i < s.n; i++)
		free(s.out[i]);
	free(s.out);
	audit_free_list(names, n);
	return st;
}

Inkan__Status sam_answer_audit_verify(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	Inkan__AuditVerifyRep rep = INKAN__AUDIT_VERIFY_REP__INIT;
	struct audit_verifier v;
	char err[256], hh[AUDIT_HEX_LEN + 1], actor[AUDIT_ACTOR_MAX];
	char problem[700], recs[24], cps[24], bad[24];
	uint64_t hseq;
	int r;

	(void)m;
	if (!audit_ready())
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	if (ensure_key(c->app) < 0) {
		srv_detail(c, "the audit public key is not available from "
		    "inkan-scm");
		return INKAN__STATUS__UNAVAILABLE;
	}
	/* Everything so far on disk and under a checkpoint. */
	if (audit_flush("verify") < 0)
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	audit_head(&hseq, hh);
	audit_verify_init(&v, S.pub);
	err[0] = '\0';
	r = audit_verify_path(&v, S.dir, err, sizeof err);
	problem[0] = '\0';
	if (r < 0 && v.failed)
		snprintf(problem, sizeof problem, "%s: %s", v.where, v.problem);
	else if (r < 0)
		snprintf(problem, sizeof problem, "%s", err);
	else if (v.seq != hseq || strcmp(v.head, hh) != 0)
		snprintf(problem, sizeof problem, "the files end at seq %" PRIu64
		    " but inkan-sam's chain is at seq %" PRIu64 " (hash %.16s...): "
		    "records were removed from the end or replaced", v.seq, hseq,
		    hh);
	rep.ok = problem[0] == '\0';
	rep.records = v.records;
	rep.checkpoints = v.checkpoints;
	rep.files = (uint32_t)v.files;
	rep.head_seq = hseq;
	rep.head_hash = hh;
	if (v.bad_seq) {
		rep.has_bad_seq = true;
		rep.bad_seq = v.bad_seq;
	}
	if (!rep.ok)
		rep.problem = problem;
	snprintf(recs, sizeof recs, "%" PRIu64, v.records);
	snprintf(cps, sizeof cps, "%" PRIu64, v.checkpoints);
	snprintf(bad, sizeof bad, "%" PRIu64, v.bad_seq);
	audit_record("audit.verify", audit_actor_peer(actor, c), rep.ok,
	    rep.ok ? NULL : "tampered", "records", recs, "checkpoints", cps,
	    "bad_seq", v.bad_seq ? bad : NULL, "problem",
	    rep.ok ? NULL : problem, NULL);
	if (!rep.ok)
		log_err("audit: verification of the live trail FAILED: %s",
		    problem);
	return audit_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
}

Inkan__Status sam_answer_audit_pubkey(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	Inkan__AuditPubkeyRep rep = INKAN__AUDIT_PUBKEY_REP__INIT;
	unsigned char *der = NULL;
	int n;
	Inkan__Status st;

	(void)m;
	if (ensure_key(c->app) < 0) {
		srv_detail(c, "the audit public key is not available from "
		    "inkan-scm");
		return INKAN__STATUS__UNAVAILABLE;
	}
	n = i2d_PUBKEY(S.pub, &der);
	if (n <= 0)
		return INKAN__STATUS__INTERNAL;
	rep.spki.data = der;
	rep.spki.len = (size_t)n;
	rep.fingerprint = S.fp;
	st = srv_reply(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
	OPENSSL_free(der);
	return st;
}

/* ---- issue 3 events (security officer, locks, integrity alerts) ---------- */

void audit_so_event(const struct srv_ctx *c, const char *event,
    const char *user, const char *cred, const char *key, const char *value)
{
	char actor[AUDIT_ACTOR_MAX];

	audit_record(event, audit_actor_peer(actor, c), true, NULL,
	    "user", user, "cred", cred, key, value, NULL);
}

void audit_lock(const char *user, int64_t failures, int64_t until)
{
	char actor[AUDIT_ACTOR_MAX], f[24], u[AUDIT_TIME_LEN + 1];

	snprintf(f, sizeof f, "%lld", (long long)failures);
	if (until == INT64_MAX)
		snprintf(u, sizeof u, "unlocked");
	else if (audit_time_format(until * 1000, u) < 0)
		u[0] = '\0';
	audit_record("user.lock", audit_actor_signer(actor, user), true,
	    "TOO_MANY_FAILURES", "user", user, "failures", f, "until", u,
	    NULL);
}

void audit_alert(const char *op, const char *user, const char *alert)
{
	audit_record("integrity.alert", AUDIT_ACTOR_SAM, false, "INTEGRITY",
	    "op", op, "user", user && *user && strcmp(user, "-") ? user : NULL,
	    "alert", alert, NULL);
}

/* credentials/extendTransaction: a new SAD for the old one's unused hashes. */
void audit_extend(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__ExtendReq *req, const char *sad, Inkan__Status st)
{
	struct audit_ev *e;
	char oldid[17], newid[17];

	if (st == INKAN__STATUS__AUDIT_UNAVAILABLE)
		return;
	e = signer_event(c, "sad.extend", who);
	audit_ev_add(e, "cred", cred_text(req->credential_id));
	if (who != NULL && who->user_id > 0) {
		audit_ev_add(e, "user", who->name);
		if (sam_auth_string_ok(req->sad)) {
			sad_id(req->sad, oldid);
			audit_ev_add(e, "old_sad", oldid);
		}
	}
	if (st == INKAN__STATUS__OK && sad != NULL && sad[0]) {
		sad_id(sad, newid);
		audit_ev_add(e, "sad", newid);
		audit_ev_release(e);
	}
	audit_ev_end(e, st == INKAN__STATUS__OK,
	    st == INKAN__STATUS__OK ? NULL : sam_status_name(st));
}
